import type { OutInfo, TensorInfo } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import type { KernelAttrs } from '../primitives.js';
import { sizeOf } from '../shape.js';
import { takeArray } from './pool.js';
import { kernelChoice } from './select.js';
import { contiguousData } from './strided.js';

/**
 * Mean and 1 / sqrt(var + eps) of the row a[p .. p + len), in float64: two passes (the biased
 * variance of the deviations, so no sum-of-squares cancellation). Writes them to `stats`. Each
 * sum runs in four interleaved float64 accumulators (elements i mod 4), which breaks the chain of
 * dependent additions a single accumulator waits on; the float64 rounding differences this makes
 * lie far below float32's.
 */
function rowStats(a: TypedArray, p: number, len: number, eps: number, stats: Float64Array): void {
  const end = p + len;
  const vend = p + (len & ~3);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = p;
  for (; i < vend; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  for (; i < end; i++) s0 += a[i];
  const mean = (s0 + s1 + (s2 + s3)) / len;
  let q0 = 0, q1 = 0, q2 = 0, q3 = 0;
  for (i = p; i < vend; i += 4) {
    const d0 = a[i] - mean;
    const d1 = a[i + 1] - mean;
    const d2 = a[i + 2] - mean;
    const d3 = a[i + 3] - mean;
    q0 += d0 * d0;
    q1 += d1 * d1;
    q2 += d2 * d2;
    q3 += d3 * d3;
  }
  for (; i < end; i++) {
    const d = a[i] - mean;
    q0 += d * d;
  }
  stats[0] = mean;
  stats[1] = 1 / Math.sqrt((q0 + q1 + (q2 + q3)) / len + eps);
}

/** Layer norm of each row (the trailing dims from `axis`) times weight plus bias; weight and bias arrive contiguous. */
export function layerNormKernel([x, w, b]: TensorInfo[], { axis, eps }: KernelAttrs['layerNorm'], out: OutInfo): TypedArray {
  const total = sizeOf(out.shape);
  const r = takeArray(out.dtype, total, false); // every output is written
  if (total === 0) return r;
  const len = sizeOf(x.shape.slice(axis));
  const a = contiguousData<TypedArray>(x); // the rows are the trailing dims: contiguous rows after this
  const fast = out.dtype === 'float32' && !w && !b && a instanceof Float32Array ? kernelChoice().layerNormRows : undefined;
  if (fast) {
    fast(a as Float32Array, null, r as Float32Array, total / len, len, eps);
    return r;
  }
  const wd = w ? (w.data as TypedArray).subarray(w.offset, w.offset + len) : null;
  const bd = b ? (b.data as TypedArray).subarray(b.offset, b.offset + len) : null;
  const stats = new Float64Array(2);
  for (let p = 0; p < total; p += len) {
    rowStats(a, p, len, eps, stats);
    const mean = stats[0];
    const rstd = stats[1];
    if (wd && bd) for (let i = 0; i < len; i++) r[p + i] = (a[p + i] - mean) * rstd * wd[i] + bd[i];
    else if (wd) for (let i = 0; i < len; i++) r[p + i] = (a[p + i] - mean) * rstd * wd[i];
    else for (let i = 0; i < len; i++) r[p + i] = (a[p + i] - mean) * rstd;
  }
  return r;
}

/**
 * Gradient of layer norm with respect to x, per row: with xhat = (x - mean) * rstd and
 * gh = g * weight, dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)). Inputs g, x, weight?.
 */
export function layerNormGradInputKernel([g, x, w]: TensorInfo[], { axis, eps }: KernelAttrs['layerNormGradInput'], out: OutInfo): TypedArray {
  const total = sizeOf(out.shape);
  const r = takeArray(out.dtype, total, false);
  if (total === 0) return r;
  const len = sizeOf(x.shape.slice(axis));
  const a = contiguousData<TypedArray>(x);
  const gd = contiguousData<TypedArray>(g);
  const fast = out.dtype === 'float32' && !w && a instanceof Float32Array && gd instanceof Float32Array ? kernelChoice().layerNormRows : undefined;
  if (fast) {
    fast(a as Float32Array, gd as Float32Array, r as Float32Array, total / len, len, eps);
    return r;
  }
  const wd = w ? (w.data as TypedArray).subarray(w.offset, w.offset + len) : null;
  const stats = new Float64Array(2);
  const gh = new Float64Array(w ? len : 0);
  for (let p = 0; p < total; p += len) {
    rowStats(a, p, len, eps, stats);
    const mean = stats[0];
    const rstd = stats[1];
    // gh = g * weight, or g itself (at offset p) when there is no weight (GroupNorm's rows)
    let h: TypedArray = gd;
    let q = p;
    if (wd) {
      for (let k = 0; k < len; k++) gh[k] = gd[p + k] * wd[k];
      h = gh;
      q = 0;
    }
    // two interleaved accumulators per sum (even and odd elements), as in rowStats
    let sg0 = 0, sg1 = 0, sgx0 = 0, sgx1 = 0;
    let i = 0;
    for (; i + 2 <= len; i += 2) {
      const v0 = h[q + i];
      const v1 = h[q + i + 1];
      sg0 += v0;
      sg1 += v1;
      sgx0 += v0 * (a[p + i] - mean) * rstd;
      sgx1 += v1 * (a[p + i + 1] - mean) * rstd;
    }
    if (i < len) {
      sg0 += h[q + i];
      sgx0 += h[q + i] * (a[p + i] - mean) * rstd;
    }
    const mg = (sg0 + sg1) / len;
    const mgx = (sgx0 + sgx1) / len;
    for (let k = 0; k < len; k++) r[p + k] = rstd * (h[q + k] - mg - (a[p + k] - mean) * rstd * mgx);
  }
  return r;
}
