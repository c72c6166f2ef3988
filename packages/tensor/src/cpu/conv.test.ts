import { describe, expect, it } from 'vitest';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, type Conv2dParams } from './conv.js';
import type { FloatArray } from './gemm.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function rand(n: number, seed: number, C: Ctor): FloatArray {
  let s = seed >>> 0 || 1;
  const out = new C(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

interface Case {
  name: string;
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  k: [number, number];
  groups?: number;
  stride?: [number, number];
  pad?: [number, number];
  dil?: [number, number];
}

function params(c: Case): Conv2dParams {
  const [kH, kW] = c.k;
  const [sH, sW] = c.stride ?? [1, 1];
  const [pH, pW] = c.pad ?? [0, 0];
  const [dH, dW] = c.dil ?? [1, 1];
  const oH = Math.floor((c.H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1;
  const oW = Math.floor((c.W + 2 * pW - dW * (kW - 1) - 1) / sW) + 1;
  return { N: c.N, C: c.C, H: c.H, W: c.W, O: c.O, kH, kW, groups: c.groups ?? 1, sH, sW, pH, pW, dH, dW, oH, oW };
}

/**
 * Calls f(n, o, c, oh, ow, kh, kw, xIndex, yIndex, wIndex) for every valid (output, tap) pair:
 * the three references below are written from this one definition of convolution.
 */
function eachTap(p: Conv2dParams, f: (xi: number, yi: number, wi: number) => void): void {
  const { N, C, H, W, O, kH, kW, groups, sH, sW, pH, pW, dH, dW, oH, oW } = p;
  const Cg = C / groups;
  const Og = O / groups;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < oH; oh++)
        for (let ow = 0; ow < oW; ow++)
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < kH; kh++)
              for (let kw = 0; kw < kW; kw++) {
                const ih = oh * sH - pH + kh * dH;
                const iw = ow * sW - pW + kw * dW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const xi = ((n * C + g * Cg + c) * H + ih) * W + iw;
                const yi = ((n * O + o) * oH + oh) * oW + ow;
                const wi = ((o * Cg + c) * kH + kh) * kW + kw;
                f(xi, yi, wi);
              }
    }
}

function refForward(p: Conv2dParams, x: FloatArray, w: FloatArray): Float64Array {
  const y = new Float64Array(p.N * p.O * p.oH * p.oW);
  eachTap(p, (xi, yi, wi) => (y[yi] += x[xi] * w[wi]));
  return y;
}
function refBackwardInput(p: Conv2dParams, gy: FloatArray, w: FloatArray): Float64Array {
  const gx = new Float64Array(p.N * p.C * p.H * p.W);
  eachTap(p, (xi, yi, wi) => (gx[xi] += gy[yi] * w[wi]));
  return gx;
}
function refBackwardWeight(p: Conv2dParams, x: FloatArray, gy: FloatArray): Float64Array {
  const gw = new Float64Array(p.O * (p.C / p.groups) * p.kH * p.kW);
  eachTap(p, (xi, yi, wi) => (gw[wi] += gy[yi] * x[xi]));
  return gw;
}

function expectClose(got: FloatArray, want: Float64Array, tol: number): void {
  expect(got.length).toBe(want.length);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst / scale).toBeLessThan(tol);
}

const cases: Case[] = [
  { name: '1x1 image and kernel', N: 1, C: 1, H: 1, W: 1, O: 1, k: [1, 1] },
  { name: '3x3 pad 1', N: 2, C: 3, H: 8, W: 8, O: 4, k: [3, 3], pad: [1, 1] },
  { name: '3x3 no pad, odd sizes', N: 3, C: 5, H: 9, W: 7, O: 6, k: [3, 3] },
  { name: '3x3 pad 2', N: 1, C: 2, H: 5, W: 6, O: 3, k: [3, 3], pad: [2, 2] },
  { name: '3x3 asymmetric pad', N: 2, C: 3, H: 10, W: 11, O: 5, k: [3, 3], pad: [0, 1] },
  { name: '3x3 on an image smaller than the kernel', N: 2, C: 2, H: 2, W: 1, O: 3, k: [3, 3], pad: [1, 1] },
  { name: '3x3 many channels', N: 2, C: 19, H: 13, W: 15, O: 21, k: [3, 3], pad: [1, 1] },
  { name: '3x3 groups 2', N: 2, C: 4, H: 9, W: 9, O: 6, k: [3, 3], pad: [1, 1], groups: 2 },
  { name: 'depthwise 3x3', N: 2, C: 5, H: 9, W: 8, O: 5, k: [3, 3], pad: [1, 1], groups: 5 },
  { name: 'depthwise multiplier 2', N: 1, C: 3, H: 7, W: 7, O: 6, k: [3, 3], pad: [1, 1], groups: 3 },
  { name: '1x1 pointwise', N: 2, C: 6, H: 5, W: 7, O: 9, k: [1, 1] },
  { name: '1x1 pointwise groups 3', N: 2, C: 6, H: 5, W: 4, O: 9, k: [1, 1], groups: 3 },
  { name: '1x1 stride 2', N: 2, C: 4, H: 9, W: 8, O: 5, k: [1, 1], stride: [2, 2] },
  { name: '1x1 with padding', N: 1, C: 3, H: 4, W: 4, O: 2, k: [1, 1], pad: [1, 1] },
  { name: '3x3 stride 2 pad 1', N: 2, C: 3, H: 11, W: 10, O: 4, k: [3, 3], stride: [2, 2], pad: [1, 1] },
  { name: 'asymmetric stride', N: 2, C: 3, H: 12, W: 13, O: 4, k: [3, 3], stride: [1, 3], pad: [1, 1] },
  { name: 'dilation 2', N: 2, C: 3, H: 12, W: 11, O: 4, k: [3, 3], dil: [2, 2], pad: [2, 2] },
  { name: 'dilation 2 x 1, stride 2', N: 1, C: 2, H: 13, W: 9, O: 3, k: [3, 2], dil: [2, 1], stride: [2, 2], pad: [1, 0] },
  { name: '5x5 stride 2 pad 2', N: 2, C: 3, H: 14, W: 15, O: 4, k: [5, 5], stride: [2, 2], pad: [2, 2] },
  { name: '7x1 kernel', N: 1, C: 2, H: 10, W: 6, O: 3, k: [7, 1], pad: [3, 0] },
  { name: 'kernel 2x4, stride 3 x 2, groups 2', N: 2, C: 4, H: 11, W: 12, O: 4, k: [2, 4], stride: [3, 2], pad: [1, 2], groups: 2 },
  { name: 'empty batch', N: 0, C: 3, H: 5, W: 5, O: 2, k: [3, 3], pad: [1, 1] },
  // 3x3 / stride 1 / dilation 1 with >= 4 channels per group: the Winograd paths
  { name: 'winograd pad 1, groups 2', N: 2, C: 8, H: 10, W: 9, O: 8, k: [3, 3], pad: [1, 1], groups: 2 },
  { name: 'winograd pad 0, ragged tiles', N: 2, C: 4, H: 13, W: 6, O: 5, k: [3, 3] },
  { name: 'winograd pad 2', N: 1, C: 6, H: 5, W: 7, O: 4, k: [3, 3], pad: [2, 2] },
  { name: 'winograd asymmetric pad', N: 2, C: 5, H: 9, W: 12, O: 7, k: [3, 3], pad: [2, 0] },
  { name: 'winograd pad 3 (input gradient by col2im)', N: 1, C: 4, H: 6, W: 6, O: 4, k: [3, 3], pad: [3, 3] },
  { name: 'winograd over several chunks of tiles', N: 2, C: 64, H: 32, W: 30, O: 8, k: [3, 3], pad: [1, 1] },
];

const dtypes = [
  { name: 'float32', Ctor: Float32Array, tol: 3e-6 },
  { name: 'float64', Ctor: Float64Array, tol: 1e-12 },
] as const;

describe.each(dtypes)('conv2d $name', ({ Ctor, tol }) => {
  describe.each(cases)('$name', (c) => {
    const p = params(c);
    const x = rand(p.N * p.C * p.H * p.W, 1, Ctor);
    const w = rand(p.O * (p.C / p.groups) * p.kH * p.kW, 2, Ctor);
    const gy = rand(p.N * p.O * p.oH * p.oW, 3, Ctor);

    it('forward', () => {
      const y = new Ctor(gy.length).fill(NaN);
      conv2dForward(p, x, w, y);
      expectClose(y, refForward(p, x, w), tol);
    });

    it('backward input', () => {
      const gx = new Ctor(x.length).fill(NaN);
      conv2dBackwardInput(p, gy, w, gx);
      expectClose(gx, refBackwardInput(p, gy, w), tol);
    });

    it('backward weight', () => {
      const gw = new Ctor(w.length).fill(NaN);
      conv2dBackwardWeight(p, x, gy, gw);
      expectClose(gw, refBackwardWeight(p, x, gy), tol);
    });
  });
});

describe('conv2d on an image whose column matrix is split into bands', () => {
  // C*kH*kW*oH*oW = 64*9*48*40 > 2^20, so every kernel works on row bands of the output
  const c: Case = { name: 'big', N: 2, C: 64, H: 48, W: 40, O: 3, k: [3, 3], pad: [1, 1] };
  const strided: Case = { ...c, stride: [1, 2], pad: [1, 1] };
  for (const cs of [c, strided]) {
    const p = params(cs);
    const x = rand(p.N * p.C * p.H * p.W, 4, Float64Array);
    const w = rand(p.O * p.C * p.kH * p.kW, 5, Float64Array);
    const gy = rand(p.N * p.O * p.oH * p.oW, 6, Float64Array);
    it(`forward, backward input and backward weight (stride ${p.sH}x${p.sW})`, () => {
      const y = new Float64Array(gy.length);
      conv2dForward(p, x, w, y);
      expectClose(y, refForward(p, x, w), 1e-12);
      const gx = new Float64Array(x.length);
      conv2dBackwardInput(p, gy, w, gx);
      expectClose(gx, refBackwardInput(p, gy, w), 1e-12);
      const gw = new Float64Array(w.length);
      conv2dBackwardWeight(p, x, gy, gw);
      expectClose(gw, refBackwardWeight(p, x, gy), 1e-12);
    });
  }
});

describe('conv2d gradients are adjoint to the forward map', () => {
  it('<conv(x, w), gy> = <x, gradInput(gy, w)> = <w, gradWeight(x, gy)>', () => {
    const p = params({ name: 'adj', N: 2, C: 4, H: 9, W: 10, O: 6, k: [3, 3], pad: [1, 1], groups: 2, stride: [2, 1] });
    const x = rand(p.N * p.C * p.H * p.W, 7, Float64Array);
    const w = rand(p.O * (p.C / p.groups) * p.kH * p.kW, 8, Float64Array);
    const gy = rand(p.N * p.O * p.oH * p.oW, 9, Float64Array);
    const y = new Float64Array(gy.length);
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    conv2dForward(p, x, w, y);
    conv2dBackwardInput(p, gy, w, gx);
    conv2dBackwardWeight(p, x, gy, gw);
    const dot = (a: FloatArray, b: FloatArray) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i] * b[i];
      return s;
    };
    const ref = dot(y, gy);
    expect(dot(x, gx)).toBeCloseTo(ref, 10);
    expect(dot(w, gw)).toBeCloseTo(ref, 10);
  });
});
