import type { OutInfo, TensorInfo } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { sizeOf } from '../shape.js';
import { takeArray } from './pool.js';
import { offsets } from './strided.js';

/**
 * Layer norm of each row (the trailing dims from `axis`) in float64: two passes for the mean and
 * the biased variance (no cancellation from sum-of-squares), a third writes the affine output.
 * weight and bias arrive contiguous.
 */
export function layerNormKernel([x, w, b]: TensorInfo[], { axis, eps }: { axis: number; eps: number }, out: OutInfo): TypedArray {
  const total = sizeOf(out.shape);
  const r = takeArray(out.dtype, total, false); // every output is written
  const len = sizeOf(x.shape.slice(axis));
  if (total === 0) return r;
  const a = x.data as TypedArray;
  // the normalised dims are the trailing ones, so row-major offsets list each row's elements together
  const offs = offsets(x);
  const wd = w?.data as TypedArray | undefined;
  const bd = b?.data as TypedArray | undefined;
  const wo = w?.offset ?? 0;
  const bo = b?.offset ?? 0;
  const row = new Float64Array(len);
  for (let base = 0; base < total; base += len) {
    let s = 0;
    for (let i = 0; i < len; i++) s += row[i] = a[offs ? offs[base + i] : x.offset + base + i];
    const mean = s / len;
    let q = 0;
    for (let i = 0; i < len; i++) q += (row[i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / len + eps);
    for (let i = 0; i < len; i++) {
      let v = (row[i] - mean) * rstd;
      if (wd) v *= wd[wo + i];
      if (bd) v += bd[bo + i];
      r[base + i] = v;
    }
  }
  return r;
}
