// NaN and +-Inf reach exactly the outputs a direct convolution reaches, on every kernel set:
// Winograd's tile transforms mix a whole 6x6 input tile into each 4x4 output tile, so a
// non-finite value there would spread past its receptive field (and Inf - Inf would give NaN).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, setCpuKernels, tensor } from '../index.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, type Conv2dParams } from './conv.js';
import { kernelChoice } from './select.js';
import { conv2dBackwardInputWasm, conv2dBackwardWeightWasm, conv2dForwardWasm, initWasmThreads } from './wasm/index.js';
import { seeded } from './wasm/test-util.js';

function params(N: number, C: number, H: number, W: number, O: number, pad: number): Conv2dParams {
  const oH = H + 2 * pad - 2, oW = W + 2 * pad - 2;
  return { N, C, H, W, O, kH: 3, kW: 3, groups: 1, sH: 1, sW: 1, pH: pad, pW: pad, dH: 1, dW: 1, oH, oW };
}

/**
 * Direct loops in float64 with PyTorch's semantics for padding: the forward pass and the weight
 * gradient multiply padded taps by an explicit zero (im2col), so an infinite weight or output
 * gradient meets 0 there and gives NaN; the input gradient sums real taps only (col2im).
 */
function reference(p: Conv2dParams, x: ArrayLike<number>, w: ArrayLike<number>, gy: ArrayLike<number>) {
  const y = new Float64Array(p.N * p.O * p.oH * p.oW), gx = new Float64Array(x.length), gw = new Float64Array(w.length);
  for (let n = 0; n < p.N; n++)
    for (let o = 0; o < p.O; o++)
      for (let oh = 0; oh < p.oH; oh++)
        for (let ow = 0; ow < p.oW; ow++)
          for (let c = 0; c < p.C; c++)
            for (let kh = 0; kh < 3; kh++)
              for (let kw = 0; kw < 3; kw++) {
                const ih = oh - p.pH + kh, iw = ow - p.pW + kw;
                const yi = ((n * p.O + o) * p.oH + oh) * p.oW + ow, wi = ((o * p.C + c) * 3 + kh) * 3 + kw;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) {
                  y[yi] += 0 * w[wi];
                  gw[wi] += gy[yi] * 0;
                  continue;
                }
                const xi = ((n * p.C + c) * p.H + ih) * p.W + iw;
                y[yi] += x[xi] * w[wi];
                gx[xi] += gy[yi] * w[wi];
                gw[wi] += gy[yi] * x[xi];
              }
  return { y, gx, gw };
}

/** 'nan', '+inf', '-inf' or 'finite' per element, so patterns compare as arrays. */
const kinds = (a: ArrayLike<number>) =>
  Array.from(a, (v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? '+inf' : v === -Infinity ? '-inf' : 'finite'));

const count = (a: string[], k: string) => a.filter((v) => v === k).length;

type ConvFn = (p: Conv2dParams, a: Float32Array, b: Float32Array, out: Float32Array) => void;
interface KernelSet {
  name: string;
  forward: ConvFn;
  backwardInput: ConvFn;
  backwardWeight: ConvFn;
}
const sets: KernelSet[] = [
  { name: 'js (Winograd)', forward: conv2dForward, backwardInput: conv2dBackwardInput, backwardWeight: conv2dBackwardWeight },
  { name: 'wasm', forward: conv2dForwardWasm, backwardInput: conv2dBackwardInputWasm, backwardWeight: conv2dBackwardWeightWasm },
];

// 4 input and 4 output channels, 3x3, stride 1: the shape Winograd takes
const shapes: [string, Conv2dParams][] = [
  ['pad 1', params(2, 4, 12, 12, 4, 1)],
  ['pad 0', params(1, 4, 10, 9, 4, 0)],
];

/** x, w, gy with one value replaced: where, and by what. */
interface Poison {
  name: string;
  at: 'x' | 'w' | 'gy';
  index: (p: Conv2dParams) => number;
  value: number;
}
const poisons: Poison[] = [
  { name: 'one NaN input pixel', at: 'x', index: (p) => ((p.N - 1) * p.C + 1) * p.H * p.W + 5 * p.W + 6, value: NaN },
  { name: '+Inf input pixel', at: 'x', index: (p) => 2 * p.H * p.W + 4 * p.W + 4, value: Infinity },
  { name: 'NaN in a corner pixel', at: 'x', index: () => 0, value: NaN },
  { name: '-Inf centre weight', at: 'w', index: (p) => (p.C + 1) * 9 + 4, value: -Infinity },
  { name: '+Inf corner weight (meets padding)', at: 'w', index: (p) => (2 * p.C + 3) * 9, value: Infinity },
  { name: 'NaN output gradient', at: 'gy', index: (p) => p.oH * p.oW + 3 * p.oW + 5, value: NaN },
  { name: '+Inf output gradient', at: 'gy', index: (p) => 2 * p.oW + 2, value: Infinity },
  { name: '-Inf output gradient on the border', at: 'gy', index: (p) => 2 * p.oH * p.oW + p.oW - 1, value: -Infinity },
];

describe('conv2d with non-finite values matches the direct convolution', () => {
  beforeAll(async () => {
    await initWasmThreads(2);
  });

  for (const set of sets) {
    for (const [shape, p] of shapes) {
      for (const poison of poisons) {
        it(`${set.name}, ${shape}: ${poison.name}`, () => {
          const rand = seeded(7);
          const data = { x: rand(p.N * p.C * p.H * p.W), w: rand(p.O * p.C * 9), gy: rand(p.N * p.O * p.oH * p.oW) };
          data[poison.at][poison.index(p)] = poison.value;
          const { x, w, gy } = data;
          const want = reference(p, x, w, gy);
          const y = new Float32Array(want.y.length), gx = new Float32Array(x.length), gw = new Float32Array(w.length);
          set.forward(p, x, w, y);
          set.backwardInput(p, gy, w, gx);
          set.backwardWeight(p, x, gy, gw);
          let nonFinite = 0;
          for (const [name, got, ref] of [['forward', y, want.y], ['input gradient', gx, want.gx], ['weight gradient', gw, want.gw]] as const) {
            const k = kinds(ref);
            nonFinite += k.length - count(k, 'finite');
            expect(kinds(got), name).toEqual(k);
          }
          expect(nonFinite).toBeGreaterThan(0);
        });
      }
    }
  }

  it('one NaN pixel reaches 9 outputs per channel (36 here), not a 4x4 tile per channel, on both kernel sets', () => {
    const x = new Float32Array(4 * 12 * 12).fill(1);
    x[5 * 12 + 6] = NaN;
    const w = new Float32Array(4 * 4 * 9).fill(0.5);
    const before = kernelChoice();
    try {
      for (const k of ['js', 'wasm'] as const) {
        setCpuKernels(k);
        for (const dtype of ['float32', 'float64'] as const) {
          const y = conv2d(tensor(x, { shape: [1, 4, 12, 12], dtype }), tensor(w, { shape: [4, 4, 3, 3], dtype }), { padding: 1 });
          expect(count(kinds(y.dataSync()), 'nan'), `${k} ${dtype}`).toBe(36);
          const inf = x.slice();
          inf[5 * 12 + 6] = Infinity;
          const yi = conv2d(tensor(inf, { shape: [1, 4, 12, 12], dtype }), tensor(w, { shape: [4, 4, 3, 3], dtype }), { padding: 1 });
          const ki = kinds(yi.dataSync());
          expect([count(ki, '+inf'), count(ki, 'nan')], `${k} ${dtype}`).toEqual([36, 0]);
        }
      }
    } finally {
      setCpuKernels(before);
    }
  });

  afterAll(() => setCpuKernels('wasm'));
});
