import type { TensorInfo } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { contiguousStrides, isContiguousLayout, sizeOf } from '../shape.js';
import { recycle, takeArray } from './pool.js';

/**
 * Element offsets of a strided view in row-major order, or null when the view is contiguous
 * (element i then sits at offset + i). Every CPU kernel walks views through this one helper.
 */
export function offsetsOf(shape: readonly number[], strides: readonly number[], offset: number): Int32Array | null {
  if (isContiguousLayout(shape, strides)) return null;
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  if (n === 0) return out;
  const last = rank - 1;
  const inner = shape[last];
  const innerStride = strides[last];
  const idx = new Array<number>(rank).fill(0);
  let base = offset;
  for (let o = 0; o < n; o += inner) {
    for (let i = 0, p = base; i < inner; i++, p += innerStride) out[o + i] = p;
    // advance the outer counters like an odometer
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

export function offsets(x: TensorInfo): Int32Array | null {
  return offsetsOf(x.shape, x.strides, x.offset);
}

/** A contiguous copy (or the storage itself when already contiguous from offset 0 with exact length). */
export function contiguousData<T extends TypedArray>(x: TensorInfo): T {
  const data = x.data as T;
  const n = sizeOf(x.shape);
  if (isContiguousLayout(x.shape, x.strides)) return (x.offset === 0 && data.length === n ? data : data.subarray(x.offset, x.offset + n)) as T;
  const out = new (data.constructor as new (n: number) => T)(n);
  gatherRows(data, x.shape, x.strides, x.offset, out);
  return out;
}

/**
 * `contiguousData` for a kernel's own use: a strided view's copy comes from the array pool (no
 * fresh pages to fault in); give it back with `releaseTemp(x, copy)` once the kernel is done.
 */
export function contiguousTemp<T extends TypedArray>(x: TensorInfo): T {
  if (isContiguousLayout(x.shape, x.strides)) return contiguousData<T>(x);
  const out = takeArray(x.dtype, sizeOf(x.shape), false) as T;
  if (out.constructor !== (x.data as TypedArray).constructor) return contiguousData<T>(x);
  if (out.length) gatherRows(x.data as TypedArray, x.shape, x.strides, x.offset, out);
  return out;
}

/** Returns a copy made by `contiguousTemp(x)` to the pool (nothing to do when x was contiguous). */
export function releaseTemp(x: TensorInfo, data: TypedArray): void {
  if (!isContiguousLayout(x.shape, x.strides)) recycle(data);
}

/** Rows of at least this many stride-1 elements are copied with `TypedArray.set` (a memcpy). */
const SET_MIN = 64;

/**
 * Copies the strided view (shape, strides, offset) of `data` into `out` in row-major order, row
 * by row of the innermost dim after merging dims that the view walks contiguously: a slice of
 * channels (a concatenation's gradient) copies whole planes, not one element at a time.
 */
export function gatherRows(data: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, out: TypedArray): void {
  const s: number[] = [];
  const st: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && st[last] === strides[d] * shape[d]) {
      s[last] *= shape[d];
      st[last] = strides[d];
    } else {
      s.push(shape[d]);
      st.push(strides[d]);
    }
  }
  const rank = s.length;
  if (rank === 0) {
    out[0] = data[offset];
    return;
  }
  const n = out.length;
  const inner = s[rank - 1];
  const is = st[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let p = offset;
  for (let o = 0; o < n; o += inner) {
    if (is === 1 && inner >= SET_MIN) out.set(data.subarray(p, p + inner), o);
    else for (let i = 0, q = p; i < inner; i++, q += is) out[o + i] = data[q];
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      p += st[d];
      if (idx[d] < s[d]) break;
      p -= st[d] * s[d];
      idx[d] = 0;
    }
  }
}

/** Offsets of `x` reordered so that `dims` come last (for reductions and row-wise kernels). */
export function offsetsWithLast(x: TensorInfo, dims: readonly number[]): Int32Array {
  const keep = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const order = [...keep, ...dims];
  const shape = order.map((i) => x.shape[i]);
  const strides = order.map((i) => x.strides[i]);
  return offsetsOf(shape, strides, x.offset) ?? identity(sizeOf(shape), x.offset);
}

/** Offsets in a contiguous array of `shape` with `dims` moved last. */
export function contiguousOffsetsWithLast(shape: readonly number[], dims: readonly number[]): Int32Array {
  return offsetsWithLast({ data: null, shape, strides: contiguousStrides(shape), offset: 0, dtype: 'float32' }, dims);
}

export function identity(n: number, offset = 0): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + i;
  return out;
}
