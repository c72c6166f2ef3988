import { beforeAll, describe, expect, it } from 'vitest';
import { type Conv2dParams, conv2dBackwardInputWasm, conv2dBackwardWeightWasm, conv2dForwardWasm, initWasmThreads, setNumThreads } from './index.js';
import { runtime } from './runtime.js';
import { conv2dReference as reference, convParams as params, maxRelErr, seeded } from './test-util.js';


const cases: [string, Conv2dParams][] = [
  ['3x3 pad 1', params(2, 3, 7, 9, 4, 3, 3, { pH: 1, pW: 1 })],
  ['stride 2, groups 2', params(1, 4, 8, 8, 6, 3, 3, { groups: 2, sH: 2, sW: 2, pH: 1, pW: 1 })],
  ['dilation 2, 2x3 kernel', params(3, 5, 6, 11, 7, 2, 3, { dH: 2, dW: 2 })],
  ['depthwise', params(2, 6, 9, 9, 6, 3, 3, { groups: 6, pH: 1, pW: 1 })],
  ['1x1', params(2, 2, 5, 5, 3, 1, 1)],
  ['asymmetric stride and padding', params(1, 3, 10, 7, 5, 5, 3, { sH: 3, sW: 1, pH: 2, pW: 1 })],
  ['padding wider than the kernel reach', params(1, 2, 3, 3, 2, 2, 2, { pH: 3, pW: 2 })],
  ['larger (threads take part)', params(4, 16, 14, 14, 8, 3, 3, { pH: 1, pW: 1 })],
  ['many output columns', params(3, 4, 33, 31, 9, 3, 3, { sH: 1, sW: 2, pH: 1, pW: 0 })],
  ['long batch (weight gradient split over N*oH*oW)', params(4, 3, 24, 24, 5, 3, 3, { pH: 1, pW: 1 })],
  ['many channels, wide rows (im2col forward at unit stride)', params(2, 3, 20, 22, 52, 3, 3, { pH: 1, pW: 1 })],
  ['1x1, many channels, wide rows (im2col forward at unit stride)', params(2, 5, 4, 22, 20, 1, 1)],
  // direct forward and input gradient over 28-wide rows: three 8-wide tiles and a 4-wide one
  ['28-wide rows (a 4-wide last tile)', params(3, 5, 6, 28, 12, 3, 3, { pH: 1, pW: 1 })],
  // the direct weight gradient: O = 10 spans two 8-column panels, C*kH*kW = 27 leaves a partial
  // 4-row panel, rows stride 2 and taps dilation 2, images in chunks (2 threads)
  ['weight gradient over image chunks, odd panels', params(8, 3, 15, 17, 10, 3, 3, { sH: 2, sW: 1, pH: 1, pW: 2, dW: 2 })],
  // a 1x1 output: the input gradient (a GAN's first transposed conv) takes col2im, not the flipped conv
  ['kernel as large as the input', params(3, 5, 7, 7, 4, 7, 7)],
  // outputs of at most 25 pixels: the weight gradient is one GEMM over N*oH*oW (a ResNet's last stage)
  ['4x4 outputs, many channels', params(16, 24, 4, 4, 20, 3, 3, { pH: 1, pW: 1 })],
  ['stride 2 from 7x7 to 4x4', params(16, 12, 7, 7, 20, 3, 3, { sH: 2, sW: 2, pH: 1, pW: 1 })],
];

describe('conv2d wasm kernels', () => {
  beforeAll(async () => {
    await initWasmThreads(2);
  });

  for (const threads of [1, 2]) {
    for (const [name, p] of cases) {
      it(`${name} (${threads} thread${threads > 1 ? 's' : ''})`, () => {
        setNumThreads(threads);
        checkConv(p, threads);
      });
    }
  }

  it('splits the batch when one call would not fit the scratch limit', () => {
    const rt = runtime();
    const limit = rt.maxScratch;
    rt.maxScratch = 64 * 1024;
    try {
      checkConv(params(6, 3, 12, 12, 4, 3, 3, { pH: 1, pW: 1 }), 7); // direct forward
      checkConv(params(6, 3, 12, 26, 52, 3, 3, { pH: 1, pW: 1 }), 8); // im2col forward
      checkConv(params(5, 3, 12, 12, 4, 3, 3, { sH: 2, sW: 2, pH: 1, pW: 1 }), 9); // col2im backward
    } finally {
      rt.maxScratch = limit;
    }
  });
});

/** Forward and both gradients of one convolution against the direct-loop reference. */
function checkConv(p: Conv2dParams, seed: number): void {
  const rand = seeded(p.N * 1000 + p.C * 100 + p.kH + seed);
  const x = rand(p.N * p.C * p.H * p.W);
  const w = rand(p.O * (p.C / p.groups) * p.kH * p.kW);
  const dy = rand(p.N * p.O * p.oH * p.oW);
  const want = reference(p, x, w, dy);
  const out = new Float32Array(dy.length).fill(Number.NaN);
  conv2dForwardWasm(p, x, w, out);
  expect(maxRelErr(out, want.out)).toBeLessThan(1e-5);
  const gx = new Float32Array(x.length).fill(Number.NaN);
  conv2dBackwardInputWasm(p, dy, w, gx);
  expect(maxRelErr(gx, want.gx)).toBeLessThan(1e-5);
  const gw = new Float32Array(w.length).fill(Number.NaN);
  conv2dBackwardWeightWasm(p, x, dy, gw);
  expect(maxRelErr(gw, want.gw)).toBeLessThan(1e-4);
}
