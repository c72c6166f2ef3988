import { describe, expect, it } from 'vitest';
import type { Conv2dParams } from '../conv.js';
import { conv2dBackwardInputWasm, conv2dForwardWasm } from './conv.js';
import { conv2dReference as reference, conv3x3Params as params, maxRelErr, onThreads, seeded } from './test-util.js';
import { conv2dWinogradWasm, winogradFits } from './winograd.js';

const CASES: [string, Conv2dParams][] = [
  ['28x28, pad 1, 16 -> 24 channels', params(2, 16, 28, 28, 24, 1)],
  ['odd output 7x7 (a half tile each way), 16 -> 26 channels (a partial row panel)', params(3, 16, 7, 7, 26, 1)],
  ['no padding, 9x13 input (odd output), 20 -> 21 channels', params(2, 20, 9, 13, 21, 0)],
  ['padding 2, 5x6 input', params(1, 16, 5, 6, 24, 2)],
  ['many tile rows per task, 64 images of 4x4', params(64, 24, 4, 4, 16, 1)],
  ['wide: 14x14, 48 -> 32 channels', params(4, 48, 14, 14, 32, 1)],
];

for (const threads of [1, 2]) {
  describe(`conv2d forward by Winograd F(2x2, 3x3), ${threads} thread(s)`, () => {
    onThreads(threads);
    for (const [what, p] of CASES) {
      it(`matches the float64 correlation: ${what}`, () => {
        expect(winogradFits(p)).toBe(true);
        const r = seeded(11);
        const x = r(p.N * p.C * p.H * p.W), w = r(p.O * p.C * 9);
        const out = new Float32Array(p.N * p.O * p.oH * p.oW).fill(Number.NaN);
        expect(conv2dWinogradWasm(p, x, w, out)).toBe(true);
        // inputs in [-1, 1): sums of up to 9 C products, so an absolute bound scaled by C
        expect(maxRelErr(out, reference(p, x, w, new Float32Array(p.N * p.O * p.oH * p.oW)).out)).toBeLessThan(2e-6 * p.C);
      });
    }

    it('declines where an input is not finite, and conv2d then gives the direct results (NaN only where the window reaches it)', () => {
      const p = params(1, 16, 10, 10, 24, 1);
      const r = seeded(5);
      const x = r(p.N * p.C * p.H * p.W), w = r(p.O * p.C * 9);
      x[3 * 100 + 0] = Number.POSITIVE_INFINITY; // channel 3, corner pixel: reaches only outputs (0..1, 0..1)
      expect(conv2dWinogradWasm(p, x, w, new Float32Array(p.N * p.O * p.oH * p.oW))).toBe(false);
      const out = new Float32Array(p.N * p.O * p.oH * p.oW);
      conv2dForwardWasm(p, x, w, out);
      for (let o = 0; o < p.O; o++) {
        for (let i = 0; i < 100; i++) {
          const reached = Math.floor(i / 10) <= 1 && i % 10 <= 1;
          expect(Number.isFinite(out[o * 100 + i]), `output ${o}, pixel ${i}`).toBe(!reached);
        }
      }
    });

    it('runs conv2d input gradients at unit stride (a forward conv of dy with the flipped kernel)', () => {
      const p = params(2, 24, 11, 11, 16, 1);
      const r = seeded(8);
      const dy = r(p.N * p.O * p.oH * p.oW), w = r(p.O * p.C * 9);
      const gx = new Float32Array(p.N * p.C * p.H * p.W);
      conv2dBackwardInputWasm(p, dy, w, gx);
      // gx = conv2d(dy, w flipped and transposed), pad 3 - 1 - 1
      const q = params(p.N, p.O, p.oH, p.oW, p.C, 1);
      const wt = new Float32Array(w.length);
      for (let o = 0; o < p.O; o++) for (let c = 0; c < p.C; c++) for (let t = 0; t < 9; t++) wt[(c * p.O + o) * 9 + t] = w[(o * p.C + c) * 9 + 8 - t];
      expect(maxRelErr(gx, reference(q, dy, wt, new Float32Array(p.N * p.C * p.H * p.W)).out)).toBeLessThan(2e-6 * p.O);
    });
  });
}

describe('winogradFits', () => {
  it('takes 3x3, unit stride and dilation, one group, 16 to 512 channels each side and 40 in all', () => {
    expect(winogradFits(params(1, 16, 5, 5, 24, 1))).toBe(true);
    expect(winogradFits(params(1, 16, 5, 5, 16, 1))).toBe(false);
    expect(winogradFits(params(1, 8, 5, 5, 64, 1))).toBe(false);
    expect(winogradFits({ ...params(1, 32, 5, 5, 32, 1), sH: 2 })).toBe(false);
    expect(winogradFits({ ...params(1, 32, 5, 5, 32, 1), groups: 2 })).toBe(false);
    expect(winogradFits({ ...params(1, 32, 5, 5, 32, 1), kW: 5 })).toBe(false);
  });
});
