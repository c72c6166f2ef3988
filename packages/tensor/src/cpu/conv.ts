// 2-D convolution kernels for the CPU backend: im2col + GEMM for every shape, with a Winograd
// fast path for the common 3x3 / stride 1 / dilation 1 case. NCHW activations, PyTorch weight layout
// [O, C/groups, kH, kW], all inputs contiguous. Bias is the caller's.
//
// Scratch is float64 and bounded: images are processed one at a time, and an image whose column
// matrix would exceed COL_LIMIT elements is split into bands of output rows.

import { gemm, type FloatArray } from './gemm.js';

export interface Conv2dParams {
  /** input x [N, C, H, W] */
  N: number;
  C: number;
  H: number;
  W: number;
  /** weight [O, C/groups, kH, kW] */
  O: number;
  kH: number;
  kW: number;
  groups: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  dH: number;
  dW: number;
  /** output [N, O, oH, oW], computed by the caller */
  oH: number;
  oW: number;
}

const COL_LIMIT = 1 << 20; // elements of one column band (8 MiB)

let colBuf = new Float64Array(0);
let tmpBuf = new Float64Array(0);
let accBuf = new Float64Array(0);

function col(n: number): Float64Array {
  if (colBuf.length < n) colBuf = new Float64Array(n);
  return colBuf;
}
function tmp(n: number): Float64Array {
  if (tmpBuf.length < n) tmpBuf = new Float64Array(n);
  return tmpBuf;
}
function acc(n: number): Float64Array {
  if (accBuf.length < n) accBuf = new Float64Array(n);
  return accBuf;
}

/** Output rows per column band, so that CKK x (rows * oW) stays under COL_LIMIT (at least one row). */
function bandRows(ckk: number, oH: number, oW: number): number {
  return Math.max(1, Math.min(oH, Math.floor(COL_LIMIT / Math.max(1, ckk * oW))));
}

/** A 1x1 kernel with unit stride and no padding reads x as-is: the column matrix is x itself. */
function isPointwise(p: Conv2dParams): boolean {
  return p.kH === 1 && p.kW === 1 && p.sH === 1 && p.sW === 1 && p.pH === 0 && p.pW === 0;
}

/**
 * out [N,O,oH,oW] = conv2d(x [N,C,H,W], w [O,C/groups,kH,kW]), no bias.
 *
 * @example
 * conv2dForward({ N: 1, C: 1, H: 3, W: 3, O: 1, kH: 2, kW: 2, groups: 1, sH: 1, sW: 1,
 *   pH: 0, pW: 0, dH: 1, dW: 1, oH: 2, oW: 2 }, x, w, out);
 */
export function conv2dForward(p: Conv2dParams, x: FloatArray, w: FloatArray, out: FloatArray): void {
  const { N, C, H, W, O, kH, kW, groups: G, oH, oW } = p;
  const Cg = C / G;
  const Og = O / G;
  const CKK = Cg * kH * kW;
  const P = oH * oW;
  if (N * O * P === 0) return;
  const rows = bandRows(CKK, oH, oW);
  const pointwise = isPointwise(p);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const wOff = g * Og * CKK;
      const xOff = (n * C + g * Cg) * H * W;
      const yOff = (n * O + g * Og) * P;
      if (pointwise) {
        gemm(Og, P, Cg, w, wOff, Cg, 1, x, xOff, P, 1, out, yOff);
        continue;
      }
      for (let oh0 = 0; oh0 < oH; oh0 += rows) {
        const r = Math.min(rows, oH - oh0);
        const Pc = r * oW;
        const cb = col(CKK * Pc);
        im2col(p, x, xOff, oh0, r, cb);
        if (Pc === P) {
          gemm(Og, P, CKK, w, wOff, CKK, 1, cb, 0, P, 1, out, yOff);
        } else {
          const t = tmp(Og * Pc);
          gemm(Og, Pc, CKK, w, wOff, CKK, 1, cb, 0, Pc, 1, t, 0);
          for (let o = 0; o < Og; o++) {
            const dst = yOff + o * P + oh0 * oW;
            for (let j = 0; j < Pc; j++) out[dst + j] = t[o * Pc + j];
          }
        }
      }
    }
  }
}

/**
 * gx [N,C,H,W] = gradient of conv2d wrt x (a transposed convolution of gy [N,O,oH,oW] with w),
 * overwriting gx. Columns W^T @ gy are scattered back with col2im, so any stride, padding and
 * dilation works.
 *
 * @example
 * conv2dBackwardInput(p, gy, w, gx);
 */
export function conv2dBackwardInput(p: Conv2dParams, gy: FloatArray, w: FloatArray, gx: FloatArray): void {
  const { N, C, H, W, O, kH, kW, groups: G, oH, oW } = p;
  const Cg = C / G;
  const Og = O / G;
  const CKK = Cg * kH * kW;
  const P = oH * oW;
  const HW = H * W;
  if (N * C * HW === 0) return;
  const rows = bandRows(CKK, oH, oW);
  const pointwise = isPointwise(p);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const wOff = g * Og * CKK;
      const xOff = (n * C + g * Cg) * HW;
      const yOff = (n * O + g * Og) * P;
      if (pointwise) {
        // gx_g [Cg, HW] = W_g^T [Cg, Og] @ gy_g [Og, HW]
        gemm(Cg, P, Og, w, wOff, 1, Cg, gy, yOff, P, 1, gx, xOff);
        continue;
      }
      const img = acc(Cg * HW);
      img.fill(0, 0, Cg * HW);
      for (let oh0 = 0; oh0 < oH; oh0 += rows) {
        const r = Math.min(rows, oH - oh0);
        const Pc = r * oW;
        const cb = col(CKK * Pc);
        // cols [CKK, Pc] = W_g^T [CKK, Og] @ gy_g[:, band] [Og, Pc]
        gemm(CKK, Pc, Og, w, wOff, 1, CKK, gy, yOff + oh0 * oW, P, 1, cb, 0);
        col2im(p, cb, oh0, r, img);
      }
      for (let i = 0; i < Cg * HW; i++) gx[xOff + i] = img[i];
    }
  }
}

/**
 * gw [O,C/groups,kH,kW] = gradient of conv2d wrt w, summed over the batch (overwrites gw).
 *
 * @example
 * conv2dBackwardWeight(p, x, gy, gw);
 */
export function conv2dBackwardWeight(p: Conv2dParams, x: FloatArray, gy: FloatArray, gw: FloatArray): void {
  const { N, C, H, W, O, kH, kW, groups: G, oH, oW } = p;
  const Cg = C / G;
  const Og = O / G;
  const CKK = Cg * kH * kW;
  const P = oH * oW;
  const size = O * CKK;
  if (size === 0) return;
  const sum = acc(size);
  sum.fill(0, 0, size);
  const rows = bandRows(CKK, oH, oW);
  const pointwise = isPointwise(p);
  for (let n = 0; n < N && P > 0; n++) {
    for (let g = 0; g < G; g++) {
      const wOff = g * Og * CKK;
      const xOff = (n * C + g * Cg) * H * W;
      const yOff = (n * O + g * Og) * P;
      if (pointwise) {
        // gw_g [Og, Cg] += gy_g [Og, P] @ x_g^T [P, Cg]
        gemm(Og, Cg, P, gy, yOff, P, 1, x, xOff, 1, P, sum, wOff, true);
        continue;
      }
      for (let oh0 = 0; oh0 < oH; oh0 += rows) {
        const r = Math.min(rows, oH - oh0);
        const Pc = r * oW;
        const cb = col(CKK * Pc);
        im2col(p, x, xOff, oh0, r, cb);
        // gw_g [Og, CKK] += gy_g[:, band] [Og, Pc] @ cols^T [Pc, CKK]
        gemm(Og, CKK, Pc, gy, yOff + oh0 * oW, P, 1, cb, 0, 1, Pc, sum, wOff, true);
      }
    }
  }
  for (let i = 0; i < size; i++) gw[i] = sum[i];
}

/** First output column whose input column ow*sW - pW + kw*dW is >= 0, and one past the last < W. */
function colRange(p: Conv2dParams, kw: number): [number, number] {
  const shift = kw * p.dW - p.pW; // iw = ow * sW + shift
  const lo = Math.max(0, Math.ceil(-shift / p.sW));
  const hi = Math.min(p.oW, Math.floor((p.W - 1 - shift) / p.sW) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * cols [Cg*kH*kW, r*oW] = the receptive fields of output rows oh0..oh0+r of one image and group,
 * whose channel 0 starts at x[xOff]. Padding reads as zero.
 */
function im2col(p: Conv2dParams, x: FloatArray, xOff: number, oh0: number, r: number, cols: Float64Array): void {
  const { C, H, W, kH, kW, groups, sH, sW, pH, dH, oW } = p;
  const Cg = C / groups;
  let q = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xOff + c * H * W;
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++) {
        const [lo, hi] = colRange(p, kw);
        const shift = kw * p.dW - p.pW;
        for (let oh = oh0; oh < oh0 + r; oh++, q += oW) {
          const ih = oh * sH - pH + kh * dH;
          if (ih < 0 || ih >= H) {
            cols.fill(0, q, q + oW);
            continue;
          }
          const xr = xc + ih * W + shift;
          for (let ow = 0; ow < lo; ow++) cols[q + ow] = 0;
          if (sW === 1) for (let ow = lo; ow < hi; ow++) cols[q + ow] = x[xr + ow];
          else for (let ow = lo; ow < hi; ow++) cols[q + ow] = x[xr + ow * sW];
          for (let ow = hi; ow < oW; ow++) cols[q + ow] = 0;
        }
      }
    }
  }
}

/** Adds cols [Cg*kH*kW, r*oW] (output rows oh0..oh0+r) back onto their input pixels in img [Cg, H, W]. */
function col2im(p: Conv2dParams, cols: Float64Array, oh0: number, r: number, img: Float64Array): void {
  const { C, H, W, kH, kW, groups, sH, sW, pH, dH, oW } = p;
  const Cg = C / groups;
  let q = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = c * H * W;
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++) {
        const [lo, hi] = colRange(p, kw);
        const shift = kw * p.dW - p.pW;
        for (let oh = oh0; oh < oh0 + r; oh++, q += oW) {
          const ih = oh * sH - pH + kh * dH;
          if (ih < 0 || ih >= H) continue;
          const xr = xc + ih * W + shift;
          if (sW === 1) for (let ow = lo; ow < hi; ow++) img[xr + ow] += cols[q + ow];
          else for (let ow = lo; ow < hi; ow++) img[xr + ow * sW] += cols[q + ow];
        }
      }
    }
  }
}
