// 2-D convolution kernels for the CPU backend: im2col + GEMM for every shape, with a Winograd
// fast path for the common 3x3 / stride 1 / dilation 1 case when every operand is finite (NaN and
// Inf then reach the outputs they reach in PyTorch: padding is an explicit zero in the forward pass
// and the weight gradient, absent in the input gradient). NCHW activations, PyTorch weight layout
// [O, C/groups, kH, kW], all inputs contiguous. Bias is the caller's.
//
// Scratch is float64 and bounded: im2col works on one image at a time, split into bands of output
// rows when its column matrix would exceed COL_LIMIT elements; Winograd works on chunks of tiles
// sized by WINO_LIMIT.

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

/**
 * true when a[0..n) holds no NaN or +-Inf (v * 0 is NaN exactly for those): the Winograd paths and
 * the unit-stride input gradient take only finite operands, since their transforms and padding would
 * carry a non-finite value to outputs a convolution does not reach (or turn Inf into NaN).
 */
export function allFinite(a: FloatArray, n = a.length): boolean {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * 0;
  return s === 0;
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
  if (winogradEligible(p) && allFinite(x, N * C * H * W) && allFinite(w, O * CKK)) {
    winogradForward(p, x, w, out);
    return;
  }
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
 * dilation works; a Winograd-sized case with unit stride runs instead as the forward convolution of
 * gy with the flipped kernel (no scatter).
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
  const t = transposedAsForward(p);
  // the forward form reads zero padding, which an infinite weight would turn into NaN (PyTorch sums
  // real taps only); a non-finite gy is fine there (conv2dForward itself then skips Winograd)
  if (winogradEligible(t) && allFinite(w, O * CKK)) {
    conv2dForward(t, gy, flipWeights(p, w), gx);
    return;
  }
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
  if (winogradEligible(p) && N > 0 && allFinite(x, N * C * H * W) && allFinite(gy, N * O * P)) {
    winogradBackwardWeight(p, x, gy, gw);
    return;
  }
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

/**
 * With unit stride, the input gradient is itself a convolution: gy padded by d*(k-1)-p, correlated
 * with the spatially flipped kernel whose in/out channels are swapped. Returns its parameters, or
 * null when the padding would be negative or the stride is not 1.
 */
function transposedAsForward(p: Conv2dParams): Conv2dParams | null {
  const pH = p.dH * (p.kH - 1) - p.pH;
  const pW = p.dW * (p.kW - 1) - p.pW;
  if (p.sH !== 1 || p.sW !== 1 || pH < 0 || pW < 0) return null;
  return { ...p, C: p.O, H: p.oH, W: p.oW, O: p.C, pH, pW, oH: p.H, oW: p.W };
}

/** w [O, Cg, kH, kW] -> w' [C, Og, kH, kW] with w'[g*Cg + c, o, i, j] = w[g*Og + o, c, kH-1-i, kW-1-j]. */
function flipWeights(p: Conv2dParams, w: FloatArray): Float64Array {
  const { C, O, kH, kW, groups: G } = p;
  const Cg = C / G;
  const Og = O / G;
  const KK = kH * kW;
  const f = new Float64Array(C * Og * KK);
  for (let g = 0; g < G; g++)
    for (let o = 0; o < Og; o++)
      for (let c = 0; c < Cg; c++) {
        const src = ((g * Og + o) * Cg + c) * KK;
        const dst = ((g * Cg + c) * Og + o) * KK;
        for (let k = 0; k < KK; k++) f[dst + k] = w[src + KK - 1 - k];
      }
  return f;
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

// Winograd F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
// Each 4x4 output tile comes from a 6x6 input tile: Y = A^T [(G g G^T) * (B^T d B)] A, so the
// channel sum becomes 36 independent GEMMs  M[xi] (Og x T) = U[xi] (Og x Cg) @ V[xi] (Cg x T)
// over T tiles, with 4x fewer multiplies than direct 3x3 convolution. The transforms run in float64
// (JS numbers), so the larger transform constants cost no float32 accuracy.

const WINO_LIMIT = 1 << 17; // elements of the V or M scratch per chunk of tiles (1 MiB, fits L2)

let wU = new Float64Array(0);
let wV = new Float64Array(0);
let wM = new Float64Array(0);

/** 3x3, unit stride and dilation, outputs of at least one tile, and enough channels for the GEMMs to pay for the transforms. */
function winogradEligible(p: Conv2dParams | null): p is Conv2dParams {
  return (
    p !== null && p.kH === 3 && p.kW === 3 && p.sH === 1 && p.sW === 1 && p.dH === 1 && p.dW === 1 &&
    p.oH >= 4 && p.oW >= 4 && p.C / p.groups >= 4 && p.O / p.groups >= 4
  );
}

/**
 * Number of 4x4 output tiles, and tiles per chunk: as many as keep V and M under WINO_LIMIT, but at
 * least 64 so that wide layers still give GEMMs long enough to amortise packing U each time.
 */
function tilePlan(p: Conv2dParams): [number, number] {
  const tiles = p.N * Math.ceil(p.oH / 4) * Math.ceil(p.oW / 4);
  const widest = Math.max(p.C, p.O) / p.groups;
  return [tiles, Math.min(tiles, Math.max(64, Math.floor(WINO_LIMIT / (36 * widest))))];
}

function winogradScratch(Og: number, Cg: number, T: number): void {
  if (wU.length < 36 * Og * Cg) wU = new Float64Array(36 * Og * Cg);
  if (wV.length < 36 * Cg * T) wV = new Float64Array(36 * Cg * T);
  if (wM.length < 36 * Og * T) wM = new Float64Array(36 * Og * T);
}

function winogradForward(p: Conv2dParams, x: FloatArray, w: FloatArray, out: FloatArray): void {
  const { C, O, groups: G } = p;
  const Cg = C / G;
  const Og = O / G;
  const [tiles, T] = tilePlan(p);
  winogradScratch(Og, Cg, T);
  for (let g = 0; g < G; g++) {
    transformWeights(w, g * Og * Cg * 9, Og, Cg, wU);
    for (let t0 = 0; t0 < tiles; t0 += T) {
      const nt = Math.min(T, tiles - t0);
      transformInput(p, x, g * Cg, t0, nt, wV);
      for (let xi = 0; xi < 36; xi++) {
        gemm(Og, nt, Cg, wU, xi * Og * Cg, Cg, 1, wV, xi * Cg * nt, nt, 1, wM, xi * Og * nt);
      }
      transformOutput(p, wM, g * Og, t0, nt, out);
    }
  }
}

/**
 * gw = dL/dw through the same tile formula: with V = B^T d B and Z = A dY A^T for each tile,
 * dL/dg = G^T [sum over tiles of Z * V] G, and the tile sum is one GEMM per xi with the
 * tiles as the inner dimension: S[xi] (Og x Cg) += Z[xi] (Og x T) @ V[xi]^T (T x Cg).
 */
function winogradBackwardWeight(p: Conv2dParams, x: FloatArray, gy: FloatArray, gw: FloatArray): void {
  const { C, O, groups: G } = p;
  const Cg = C / G;
  const Og = O / G;
  const [tiles, T] = tilePlan(p);
  winogradScratch(Og, Cg, T);
  const S = wU;
  for (let g = 0; g < G; g++) {
    for (let t0 = 0; t0 < tiles; t0 += T) {
      const nt = Math.min(T, tiles - t0);
      transformInput(p, x, g * Cg, t0, nt, wV);
      transformGradOutput(p, gy, g * Og, t0, nt, wM);
      for (let xi = 0; xi < 36; xi++) {
        gemm(Og, Cg, nt, wM, xi * Og * nt, nt, 1, wV, xi * Cg * nt, 1, nt, S, xi * Og * Cg, t0 > 0);
      }
    }
    untransformWeights(S, Og, Cg, gw, g * Og * Cg * 9);
  }
}

/** Z[xi][o][t] = (A dY A^T)[xi] for the 4x4 tiles of gy (zero past the edge), outputs o0..o0+Og. */
function transformGradOutput(p: Conv2dParams, gy: FloatArray, o0: number, t0: number, nt: number, Z: Float64Array): void {
  const { O, groups, oH, oW } = p;
  const Og = O / groups;
  const tH = Math.ceil(oH / 4);
  const tW = Math.ceil(oW / 4);
  const plane = Og * nt;
  const z = new Float64Array(24); // A applied along each row: 4 x 6
  for (let t = 0; t < nt; t++) {
    const tile = t0 + t;
    const n = Math.floor(tile / (tH * tW));
    const th = Math.floor(tile / tW) % tH;
    const tw = tile % tW;
    const oh0 = 4 * th;
    const ow0 = 4 * tw;
    const rows = Math.min(4, oH - oh0);
    const cols = Math.min(4, oW - ow0);
    for (let o = 0; o < Og; o++) {
      const y = ((n * O + o0 + o) * oH + oh0) * oW + ow0;
      for (let a = 0; a < 4; a++) {
        const r = y + a * oW;
        const ok = a < rows;
        const y0 = ok ? gy[r] : 0;
        const y1 = ok && cols > 1 ? gy[r + 1] : 0;
        const y2 = ok && cols > 2 ? gy[r + 2] : 0;
        const y3 = ok && cols > 3 ? gy[r + 3] : 0;
        const q = 6 * a;
        z[q] = y0;
        z[q + 1] = y0 + y1 + y2 + y3;
        z[q + 2] = y0 - y1 + y2 - y3;
        z[q + 3] = y0 + 2 * y1 + 4 * y2 + 8 * y3;
        z[q + 4] = y0 - 2 * y1 + 4 * y2 - 8 * y3;
        z[q + 5] = y3;
      }
      let q = o * nt + t;
      for (let s = 0; s < 6; s++, q += plane) {
        const y0 = z[s], y1 = z[6 + s], y2 = z[12 + s], y3 = z[18 + s];
        Z[q] = y0;
        Z[q + 6 * plane] = y0 + y1 + y2 + y3;
        Z[q + 12 * plane] = y0 - y1 + y2 - y3;
        Z[q + 18 * plane] = y0 + 2 * y1 + 4 * y2 + 8 * y3;
        Z[q + 24 * plane] = y0 - 2 * y1 + 4 * y2 - 8 * y3;
        Z[q + 30 * plane] = y3;
      }
    }
  }
}

/** gw[wOff + (o*Cg + c)*9 ..] = G^T S[:, o, c] G, the 3x3 filter gradient from its 6x6 transform. */
function untransformWeights(S: Float64Array, Og: number, Cg: number, gw: FloatArray, wOff: number): void {
  const plane = Og * Cg;
  const t = new Float64Array(18); // G^T applied down each column: 3 x 6
  for (let oc = 0; oc < plane; oc++) {
    for (let j = 0; j < 6; j++) {
      const q = oc + j * plane;
      const s0 = S[q], s1 = S[q + 6 * plane], s2 = S[q + 12 * plane];
      const s3 = S[q + 18 * plane], s4 = S[q + 24 * plane], s5 = S[q + 30 * plane];
      t[j] = s0 / 4 - (s1 + s2) / 6 + (s3 + s4) / 24;
      t[6 + j] = (s2 - s1) / 6 + (s3 - s4) / 12;
      t[12 + j] = (s3 + s4 - s1 - s2) / 6 + s5;
    }
    const f = wOff + oc * 9;
    for (let i = 0; i < 3; i++) {
      const r = 6 * i;
      const s0 = t[r], s1 = t[r + 1], s2 = t[r + 2], s3 = t[r + 3], s4 = t[r + 4], s5 = t[r + 5];
      gw[f + 3 * i] = s0 / 4 - (s1 + s2) / 6 + (s3 + s4) / 24;
      gw[f + 3 * i + 1] = (s2 - s1) / 6 + (s3 - s4) / 12;
      gw[f + 3 * i + 2] = (s3 + s4 - s1 - s2) / 6 + s5;
    }
  }
}

/** U[xi][o][c] = (G g G^T)[xi] for the Og x Cg 3x3 filters of one group starting at w[wOff]. */
function transformWeights(w: FloatArray, wOff: number, Og: number, Cg: number, U: Float64Array): void {
  const plane = Og * Cg;
  const t = new Float64Array(18); // G g, 6 x 3
  for (let o = 0; o < Og; o++) {
    for (let c = 0; c < Cg; c++) {
      const f = wOff + (o * Cg + c) * 9;
      for (let j = 0; j < 3; j++) {
        const g0 = w[f + j], g1 = w[f + 3 + j], g2 = w[f + 6 + j];
        t[j] = g0 / 4;
        t[3 + j] = -(g0 + g1 + g2) / 6;
        t[6 + j] = -(g0 - g1 + g2) / 6;
        t[9 + j] = g0 / 24 + g1 / 12 + g2 / 6;
        t[12 + j] = g0 / 24 - g1 / 12 + g2 / 6;
        t[15 + j] = g2;
      }
      let q = o * Cg + c;
      for (let i = 0; i < 6; i++) {
        const g0 = t[3 * i], g1 = t[3 * i + 1], g2 = t[3 * i + 2];
        U[q] = g0 / 4;
        U[q + plane] = -(g0 + g1 + g2) / 6;
        U[q + 2 * plane] = -(g0 - g1 + g2) / 6;
        U[q + 3 * plane] = g0 / 24 + g1 / 12 + g2 / 6;
        U[q + 4 * plane] = g0 / 24 - g1 / 12 + g2 / 6;
        U[q + 5 * plane] = g2;
        q += 6 * plane;
      }
    }
  }
}

/** V[xi][c][t] = (B^T d B)[xi] for channels c0..c0+Cg of tiles t0..t0+nt (tiles run over n, row, col). */
function transformInput(p: Conv2dParams, x: FloatArray, c0: number, t0: number, nt: number, V: Float64Array): void {
  const { C, H, W, groups, pH, pW, oH, oW } = p;
  const Cg = C / groups;
  const tH = Math.ceil(oH / 4);
  const tW = Math.ceil(oW / 4);
  const plane = Cg * nt;
  const d = new Float64Array(36);
  for (let t = 0; t < nt; t++) {
    const tile = t0 + t;
    const n = Math.floor(tile / (tH * tW));
    const th = Math.floor(tile / tW) % tH;
    const tw = tile % tW;
    const ih0 = 4 * th - pH;
    const iw0 = 4 * tw - pW;
    const inside = ih0 >= 0 && iw0 >= 0 && ih0 + 6 <= H && iw0 + 6 <= W;
    for (let c = 0; c < Cg; c++) {
      const xc = ((n * C + c0 + c) * H + ih0) * W + iw0;
      // rows: d[r][:] = B^T applied along the row of the 6x6 patch
      for (let r = 0; r < 6; r++) {
        let x0: number, x1: number, x2: number, x3: number, x4: number, x5: number;
        const xr = xc + r * W;
        if (inside) {
          x0 = x[xr]; x1 = x[xr + 1]; x2 = x[xr + 2]; x3 = x[xr + 3]; x4 = x[xr + 4]; x5 = x[xr + 5];
        } else {
          const ih = ih0 + r;
          const rowOk = ih >= 0 && ih < H;
          x0 = rowOk && iw0 >= 0 && iw0 < W ? x[xr] : 0;
          x1 = rowOk && iw0 + 1 >= 0 && iw0 + 1 < W ? x[xr + 1] : 0;
          x2 = rowOk && iw0 + 2 >= 0 && iw0 + 2 < W ? x[xr + 2] : 0;
          x3 = rowOk && iw0 + 3 >= 0 && iw0 + 3 < W ? x[xr + 3] : 0;
          x4 = rowOk && iw0 + 4 >= 0 && iw0 + 4 < W ? x[xr + 4] : 0;
          x5 = rowOk && iw0 + 5 >= 0 && iw0 + 5 < W ? x[xr + 5] : 0;
        }
        const q = r * 6;
        d[q] = 4 * x0 - 5 * x2 + x4;
        d[q + 1] = x3 + x4 - 4 * (x1 + x2);
        d[q + 2] = 4 * (x1 - x2) + x4 - x3;
        d[q + 3] = 2 * (x3 - x1) + x4 - x2;
        d[q + 4] = 2 * (x1 - x3) + x4 - x2;
        d[q + 5] = 4 * x1 - 5 * x3 + x5;
      }
      // columns: V[i*6 + s] = B^T applied down column s
      let q = c * nt + t;
      for (let s = 0; s < 6; s++, q += plane) {
        const x0 = d[s], x1 = d[6 + s], x2 = d[12 + s], x3 = d[18 + s], x4 = d[24 + s], x5 = d[30 + s];
        V[q] = 4 * x0 - 5 * x2 + x4;
        V[q + 6 * plane] = x3 + x4 - 4 * (x1 + x2);
        V[q + 12 * plane] = 4 * (x1 - x2) + x4 - x3;
        V[q + 18 * plane] = 2 * (x3 - x1) + x4 - x2;
        V[q + 24 * plane] = 2 * (x1 - x3) + x4 - x2;
        V[q + 30 * plane] = 4 * x1 - 5 * x3 + x5;
      }
    }
  }
}

/** out tiles = A^T M[:, o, t] A for outputs o0..o0+Og of tiles t0..t0+nt, clipped at the image edge. */
function transformOutput(p: Conv2dParams, M: Float64Array, o0: number, t0: number, nt: number, out: FloatArray): void {
  const { O, groups, oH, oW } = p;
  const Og = O / groups;
  const tH = Math.ceil(oH / 4);
  const tW = Math.ceil(oW / 4);
  const plane = Og * nt;
  const p6 = 6 * plane;
  for (let t = 0; t < nt; t++) {
    const tile = t0 + t;
    const n = Math.floor(tile / (tH * tW));
    const th = Math.floor(tile / tW) % tH;
    const tw = tile % tW;
    const oh0 = 4 * th;
    const ow0 = 4 * tw;
    const rows = Math.min(4, oH - oh0);
    const cols = Math.min(4, oW - ow0);
    for (let o = 0; o < Og; o++) {
      // A^T applied down column s of the 6x6 tile M[i*6 + s] gives r0s..r3s
      let q = o * nt + t;
      const u00 = M[q], u01 = M[q + p6], u02 = M[q + 2 * p6], u03 = M[q + 3 * p6], u04 = M[q + 4 * p6], u05 = M[q + 5 * p6];
      const r00 = u00 + u01 + u02 + u03 + u04, r10 = u01 - u02 + 2 * (u03 - u04);
      const r20 = u01 + u02 + 4 * (u03 + u04), r30 = u01 - u02 + 8 * (u03 - u04) + u05;
      q += plane;
      const u10 = M[q], u11 = M[q + p6], u12 = M[q + 2 * p6], u13 = M[q + 3 * p6], u14 = M[q + 4 * p6], u15 = M[q + 5 * p6];
      const r01 = u10 + u11 + u12 + u13 + u14, r11 = u11 - u12 + 2 * (u13 - u14);
      const r21 = u11 + u12 + 4 * (u13 + u14), r31 = u11 - u12 + 8 * (u13 - u14) + u15;
      q += plane;
      const u20 = M[q], u21 = M[q + p6], u22 = M[q + 2 * p6], u23 = M[q + 3 * p6], u24 = M[q + 4 * p6], u25 = M[q + 5 * p6];
      const r02 = u20 + u21 + u22 + u23 + u24, r12 = u21 - u22 + 2 * (u23 - u24);
      const r22 = u21 + u22 + 4 * (u23 + u24), r32 = u21 - u22 + 8 * (u23 - u24) + u25;
      q += plane;
      const u30 = M[q], u31 = M[q + p6], u32 = M[q + 2 * p6], u33 = M[q + 3 * p6], u34 = M[q + 4 * p6], u35 = M[q + 5 * p6];
      const r03 = u30 + u31 + u32 + u33 + u34, r13 = u31 - u32 + 2 * (u33 - u34);
      const r23 = u31 + u32 + 4 * (u33 + u34), r33 = u31 - u32 + 8 * (u33 - u34) + u35;
      q += plane;
      const u40 = M[q], u41 = M[q + p6], u42 = M[q + 2 * p6], u43 = M[q + 3 * p6], u44 = M[q + 4 * p6], u45 = M[q + 5 * p6];
      const r04 = u40 + u41 + u42 + u43 + u44, r14 = u41 - u42 + 2 * (u43 - u44);
      const r24 = u41 + u42 + 4 * (u43 + u44), r34 = u41 - u42 + 8 * (u43 - u44) + u45;
      q += plane;
      const u50 = M[q], u51 = M[q + p6], u52 = M[q + 2 * p6], u53 = M[q + 3 * p6], u54 = M[q + 4 * p6], u55 = M[q + 5 * p6];
      const r05 = u50 + u51 + u52 + u53 + u54, r15 = u51 - u52 + 2 * (u53 - u54);
      const r25 = u51 + u52 + 4 * (u53 + u54), r35 = u51 - u52 + 8 * (u53 - u54) + u55;
      const y = ((n * O + o0 + o) * oH + oh0) * oW + ow0;
      // A^T applied along each row a gives output row oh0 + a
      writeRow(out, y, cols, r00, r01, r02, r03, r04, r05);
      if (rows > 1) writeRow(out, y + oW, cols, r10, r11, r12, r13, r14, r15);
      if (rows > 2) writeRow(out, y + 2 * oW, cols, r20, r21, r22, r23, r24, r25);
      if (rows > 3) writeRow(out, y + 3 * oW, cols, r30, r31, r32, r33, r34, r35);
    }
  }
}

/** out[y .. y+cols) = the first `cols` entries of A^T m for one row m of the column-transformed tile. */
function writeRow(out: FloatArray, y: number, cols: number, m0: number, m1: number, m2: number, m3: number, m4: number, m5: number): void {
  out[y] = m0 + m1 + m2 + m3 + m4;
  if (cols > 1) out[y + 1] = m1 - m2 + 2 * (m3 - m4);
  if (cols > 2) out[y + 2] = m1 + m2 + 4 * (m3 + m4);
  if (cols > 3) out[y + 3] = m1 - m2 + 8 * (m3 - m4) + m5;
}
