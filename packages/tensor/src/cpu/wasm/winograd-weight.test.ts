import { describe, expect, it } from 'vitest';
import type { Conv2dParams } from '../conv.js';
import { conv2dBackwardWeightWasm } from './conv.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { conv2dReference as reference, conv3x3Params as params, maxRelErr, onThreads, seeded } from './test-util.js';
import { channelsLast, conv2dWeightWinogradWasm, winogradWeightFits } from './winograd-weight.js';

const CASES: [string, Conv2dParams][] = [
  ['8x8, pad 1, 16 -> 16 channels', params(2, 16, 8, 8, 16, 1)],
  ['odd output 7x9, 20 -> 21 channels (channels padded to whole panels)', params(3, 20, 7, 9, 21, 1)],
  ['no padding, 9x13 input, 16 -> 24 channels', params(2, 16, 9, 13, 24, 0)],
  ['padding 2, 5x6 input, 17 -> 18 channels', params(1, 17, 5, 6, 18, 2)],
  ['eight chunks of several blocks: 32 images of 16x16, 16 -> 20 channels', params(32, 16, 16, 16, 20, 1)],
  ['wide: 7x7, 48 -> 32 channels', params(24, 48, 7, 7, 32, 1)],
];

for (const threads of [1, 2]) {
  describe(`conv2d weight gradient by Winograd F(2x2, 3x3), ${threads} thread(s)`, () => {
    onThreads(threads);
    for (const [what, p] of CASES) {
      it(`matches the float64 sum: ${what}`, () => {
        const r = seeded(13);
        const x = r(p.N * p.C * p.H * p.W), dy = r(p.N * p.O * p.oH * p.oW);
        const gw = new Float32Array(p.O * p.C * 9).fill(Number.NaN);
        expect(conv2dWeightWinogradWasm(p, x, dy, gw)).toBe(true);
        // inputs in [-1, 1): sums of N oH oW products, so a bound in their count
        expect(maxRelErr(gw, reference(p, x, new Float32Array(p.O * p.C * 9), dy).gw)).toBeLessThan(1e-7 * p.N * p.oH * p.oW);
      });
    }

    it('is what conv2d weight gradients take where winogradWeightFits says so', () => {
      const p = params(16, 16, 16, 16, 16, 1);
      expect(winogradWeightFits(p)).toBe(true);
      const r = seeded(4);
      const x = r(p.N * p.C * p.H * p.W), dy = r(p.N * p.O * p.oH * p.oW);
      const viaConv = new Float32Array(p.O * p.C * 9), direct = new Float32Array(p.O * p.C * 9);
      conv2dBackwardWeightWasm(p, x, dy, viaConv);
      expect(conv2dWeightWinogradWasm(p, x, dy, direct)).toBe(true);
      expect(viaConv).toEqual(direct);
    });

    it('declines where an input is not finite, and the weight gradient then gives the direct results', () => {
      const p = params(2, 16, 8, 8, 16, 1);
      const r = seeded(6);
      const x = r(p.N * p.C * p.H * p.W), dy = r(p.N * p.O * p.oH * p.oW);
      x[5 * 64 + 9] = Number.POSITIVE_INFINITY; // image 0, channel 5
      expect(conv2dWeightWinogradWasm(p, x, dy, new Float32Array(p.O * p.C * 9))).toBe(false);
      const gw = new Float32Array(p.O * p.C * 9);
      conv2dBackwardWeightWasm(p, x, dy, gw);
      for (let o = 0; o < p.O; o++) {
        for (let c = 0; c < p.C; c++) {
          for (let k = 0; k < 9; k++) expect(Number.isFinite(gw[(o * p.C + c) * 9 + k]), `o ${o}, c ${c}, tap ${k}`).toBe(c !== 5);
        }
      }
    });
  });
}

describe('the Winograd weight gradient past the kernel memory', () => {
  onThreads(2);
  it('sums the halves of the batch', () => {
    const p = params(6, 16, 10, 10, 16, 1);
    const r = seeded(12);
    const x = r(p.N * p.C * p.H * p.W), dy = r(p.N * p.O * p.oH * p.oW);
    const rt = runtime();
    const limit = rt.maxScratch;
    rt.maxScratch = 256 * 1024; // about two images' worth
    const gw = new Float32Array(p.O * p.C * 9);
    try {
      expect(conv2dWeightWinogradWasm(p, x, dy, gw)).toBe(true);
    } finally {
      rt.maxScratch = limit;
    }
    expect(maxRelErr(gw, reference(p, x, new Float32Array(p.O * p.C * 9), dy).gw)).toBeLessThan(1e-7 * p.N * p.oH * p.oW);
  });
});

describe('the Winograd weight gradient across thread counts', () => {
  it('gives the same bits on 1 and 2 threads (chunks fixed by the shape, summed in order)', async () => {
    const p = params(32, 16, 16, 16, 24, 1);
    const r = seeded(9);
    const x = r(p.N * p.C * p.H * p.W), dy = r(p.N * p.O * p.oH * p.oW);
    const { initWasmThreads, getNumThreads, setNumThreads } = await import('./pool.js');
    const before = getNumThreads();
    const out: Float32Array[] = [];
    for (const n of [1, 2]) {
      await initWasmThreads(n);
      const gw = new Float32Array(p.O * p.C * 9);
      expect(conv2dWeightWinogradWasm(p, x, dy, gw)).toBe(true);
      out.push(gw);
    }
    setNumThreads(before);
    expect(out[1]).toEqual(out[0]);
  });
});

describe('channelsLast', () => {
  onThreads(2);
  it('copies [N][C][H][W] into zero-padded [N][Hp][Wp][Cp], with whole 4x4 blocks and the tails', () => {
    const [N, C, Cp, H, W, Hp, Wp, pH, pW] = [2, 7, 12, 5, 9, 8, 12, 1, 2];
    const src = seeded(2)(N * C * H * W);
    scratch.reset();
    const srcAt = scratch.alloc(4 * src.length), dstAt = scratch.alloc(4 * N * Hp * Wp * Cp);
    scratch.reserve();
    heapF32().set(src, srcAt / 4);
    heapF32().fill(Number.NaN, dstAt / 4, dstAt / 4 + N * Hp * Wp * Cp);
    channelsLast(srcAt, dstAt, N, C, Cp, H, W, Hp, Wp, pH, pW);
    const got = heapF32().slice(dstAt / 4, dstAt / 4 + N * Hp * Wp * Cp);
    const want = new Float32Array(N * Hp * Wp * Cp);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) want[((n * Hp + y + pH) * Wp + x + pW) * Cp + c] = src[((n * C + c) * H + y) * W + x];
    expect(got).toEqual(want);
  });
});

describe('winogradWeightFits', () => {
  it('takes 3x3, unit stride and dilation, one group, 16 to 512 channels a side and at least 1024 tiles', () => {
    expect(winogradWeightFits(params(16, 16, 16, 16, 16, 1))).toBe(true); // 16 x 8 x 8 tiles
    expect(winogradWeightFits(params(15, 16, 16, 16, 16, 1))).toBe(false);
    expect(winogradWeightFits(params(16, 8, 16, 16, 16, 1))).toBe(false);
    expect(winogradWeightFits(params(16, 16, 16, 16, 600, 1))).toBe(false);
    expect(winogradWeightFits({ ...params(16, 16, 16, 16, 16, 1), sW: 2 })).toBe(false);
    expect(winogradWeightFits({ ...params(16, 16, 16, 16, 16, 1), groups: 2 })).toBe(false);
    expect(winogradWeightFits({ ...params(16, 16, 16, 16, 16, 1), dH: 2 })).toBe(false);
  });
});
