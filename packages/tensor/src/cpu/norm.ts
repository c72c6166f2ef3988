import type { OutInfo, TensorInfo } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import type { KernelAttrs } from '../primitives.js';
import { sizeOf } from '../shape.js';
import { takeArray } from './pool.js';
import { contiguousData } from './strided.js';

/**
 * Mean and 1 / sqrt(var + eps) of the row a[p .. p + len), in float64: two passes (the biased
 * variance of the deviations, so no sum-of-squares cancellation). Writes them to `stats`.
 */
function rowStats(a: TypedArray, p: number, len: number, eps: number, stats: Float64Array): void {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[p + i];
  const mean = s / len;
  let q = 0;
  for (let i = 0; i < len; i++) {
    const d = a[p + i] - mean;
    q += d * d;
  }
  stats[0] = mean;
  stats[1] = 1 / Math.sqrt(q / len + eps);
}

/** Layer norm of each row (the trailing dims from `axis`) times weight plus bias; weight and bias arrive contiguous. */
export function layerNormKernel([x, w, b]: TensorInfo[], { axis, eps }: KernelAttrs['layerNorm'], out: OutInfo): TypedArray {
  const total = sizeOf(out.shape);
  const r = takeArray(out.dtype, total, false); // every output is written
  if (total === 0) return r;
  const len = sizeOf(x.shape.slice(axis));
  const a = contiguousData<TypedArray>(x); // the rows are the trailing dims: contiguous rows after this
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
  const wd = w ? (w.data as TypedArray).subarray(w.offset, w.offset + len) : null;
  const stats = new Float64Array(2);
  const gh = new Float64Array(len);
  for (let p = 0; p < total; p += len) {
    rowStats(a, p, len, eps, stats);
    const mean = stats[0];
    const rstd = stats[1];
    let sg = 0;
    let sgx = 0;
    for (let i = 0; i < len; i++) {
      const v = wd ? gd[p + i] * wd[i] : gd[p + i];
      gh[i] = v;
      sg += v;
      sgx += v * (a[p + i] - mean) * rstd;
    }
    const mg = sg / len;
    const mgx = sgx / len;
    for (let i = 0; i < len; i++) r[p + i] = rstd * (gh[i] - mg - (a[p + i] - mean) * rstd * mgx);
  }
  return r;
}
