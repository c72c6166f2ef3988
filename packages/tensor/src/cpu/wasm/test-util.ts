// Seeded data and plain-loop references for the wasm kernel tests.
import { afterAll, beforeAll } from 'vitest';
import type { Conv2dParams } from '../conv.js';
import { getNumThreads, initWasmThreads, setNumThreads } from './pool.js';

/** Uniform values in [-1, 1) from a 32-bit LCG, so failures reproduce. */
export function seeded(seed: number): (n: number) => Float32Array {
  let s = seed >>> 0;
  return (n) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s / 2 ** 31 - 1;
    }
    return out;
  };
}

/** Largest |a[i] - b[i]| relative to max(1, |b[i]|). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return e;
}

/** In a describe block: its tests run on `n` threads (started first), the count set before is restored after. */
export function onThreads(n: number): void {
  let before = 1;
  beforeAll(async () => {
    before = getNumThreads();
    await initWasmThreads(n);
  });
  afterAll(() => setNumThreads(before));
}

/** Conv2d parameters with the output size worked out, PyTorch's defaults for the rest. */
export function convParams(N: number, C: number, H: number, W: number, O: number, kH: number, kW: number, o: Partial<Conv2dParams> = {}): Conv2dParams {
  const p = { N, C, H, W, O, kH, kW, groups: 1, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, oH: 0, oW: 0, ...o };
  p.oH = Math.floor((H + 2 * p.pH - p.dH * (kH - 1) - 1) / p.sH) + 1;
  p.oW = Math.floor((W + 2 * p.pW - p.dW * (kW - 1) - 1) / p.sW) + 1;
  return p;
}

/** Direct loops over every (output, window) pair: conv2d forward and both gradients in float64. */
export function conv2dReference(p: Conv2dParams, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const out = new Float64Array(p.N * p.O * p.oH * p.oW);
  const gx = new Float64Array(x.length), gw = new Float64Array(w.length);
  const Cg = p.C / p.groups, Og = p.O / p.groups;
  for (let n = 0; n < p.N; n++) {
    for (let o = 0; o < p.O; o++) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < p.oH; oh++) {
        for (let ow = 0; ow < p.oW; ow++) {
          const yi = ((n * p.O + o) * p.oH + oh) * p.oW + ow;
          for (let c = 0; c < Cg; c++) {
            for (let kh = 0; kh < p.kH; kh++) {
              for (let kw = 0; kw < p.kW; kw++) {
                const ih = oh * p.sH - p.pH + kh * p.dH, iw = ow * p.sW - p.pW + kw * p.dW;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                const xi = ((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw;
                const wi = ((o * Cg + c) * p.kH + kh) * p.kW + kw;
                out[yi] += x[xi] * w[wi];
                gx[xi] += dy[yi] * w[wi];
                gw[wi] += dy[yi] * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { out, gx, gw };
}

/** A 3x3 conv at unit stride with the same padding each side (the Winograd kernels' case). */
export const conv3x3Params = (N: number, C: number, H: number, W: number, O: number, pad: number): Conv2dParams =>
  convParams(N, C, H, W, O, 3, 3, { pH: pad, pW: pad });
