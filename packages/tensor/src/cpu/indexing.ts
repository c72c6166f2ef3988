import type { OutInfo, TensorInfo } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { IndexError, fmt } from '../errors.js';
import { contiguousStrides, isContiguousLayout, sizeOf, unravelIndex } from '../shape.js';
import { assignKernel, copyKernel } from './elementwise.js';
import { contiguousOffsetsWithLast, offsets, offsetsOf, offsetsWithLast } from './strided.js';
import { takeArray } from './pool.js';

/**
 * `v` when it is a valid position along `dim` of x, else an IndexError naming the value, its place
 * in the index (`pos`: flat, in the index's row-major order), the range and both shapes. Negative
 * values are errors, as in PyTorch's gather/scatter_add/index_select: wrapping them would
 * silently read or write the last entries.
 */
function checked(op: string, v: number, x: TensorInfo, index: TensorInfo, dim: number, pos: number): number {
  if (v >= 0 && v < x.shape[dim]) return v;
  throw new IndexError(op, `index ${v} at ${fmt(unravelIndex(pos, index.shape))} of index ${fmt(index.shape)} is out of range [0, ${x.shape[dim]}) for dim ${dim} of x ${fmt(x.shape)}`);
}

/**
 * The layouts where gather and scatterAdd need no offset tables: contiguous operands (`others` may
 * be absent) and an index as large as x in every dim but `dim`. Returns [outer, inner, rows, picks]:
 * `rows` when the index is constant along the dims after `dim` (an embedding lookup's index
 * expanded over the feature dim), so one index picks a whole contiguous run of `inner` values;
 * `picks` (the checked positions along `dim`) when the index is one vector expanded over every
 * other dim (indexSelect), the same for every outer position.
 */
function blocks(op: string, x: TensorInfo, index: TensorInfo, dim: number, others: TensorInfo[]): [number, number, boolean, Int32Array | null] | null {
  if (!x.shape.length || !isContiguousLayout(x.shape, x.strides)) return null;
  const lead = index.shape.slice(0, dim + 1);
  const rows = !isContiguousLayout(index.shape, index.strides);
  const vector = rows && index.strides.every((st, d) => d === dim || st === 0 || index.shape[d] === 1);
  if (rows && !vector && (!isContiguousLayout(lead, index.strides.slice(0, dim + 1)) || index.strides.some((st, d) => d > dim && st !== 0 && index.shape[d] !== 1))) return null;
  for (const o of others) if (!isContiguousLayout(o.shape, o.strides) || o.shape.some((s, d) => s !== index.shape[d])) return null;
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < x.shape.length; d++) {
    if (d === dim) continue;
    if (index.shape[d] !== x.shape[d]) return null;
    if (d < dim) outer *= x.shape[d];
    else inner *= x.shape[d];
  }
  if (!vector) return [outer, inner, rows, null];
  const idx = index.data as Int32Array;
  const st = index.strides[dim];
  const picks = Int32Array.from({ length: index.shape[dim] }, (_, j) => checked(op, idx[index.offset + j * st], x, index, dim, j * inner));
  return [outer, inner, rows, picks];
}

export function gatherKernel([x, index]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): TypedArray {
  const n = sizeOf(out.shape);
  const r = takeArray(out.dtype, n, false); // every output is written
  const a = x.data as TypedArray;
  const idx = index.data as Int32Array;
  const blk = n ? blocks('gather', x, index, dim, []) : null;
  if (blk) {
    // out[o, j, q] = x[o, index[o, j, q], q]
    const [outer, inner, rows, picks] = blk;
    const J = index.shape[dim];
    const X = x.shape[dim];
    if (picks) {
      for (let o = 0, i = 0; o < outer; o++) {
        const from = x.offset + o * X * inner;
        for (let j = 0; j < J; j++) {
          const at = from + picks[j] * inner;
          for (let q = 0; q < inner; q++, i++) r[i] = a[at + q];
        }
      }
      return r;
    }
    if (rows) {
      for (let o = 0, i = 0; o < outer; o++) {
        for (let j = 0; j < J; j++) {
          const from = x.offset + (o * X + checked('gather', idx[index.offset + o * J + j], x, index, dim, (o * J + j) * inner)) * inner;
          for (let q = 0; q < inner; q++, i++) r[i] = a[from + q];
        }
      }
      return r;
    }
    if (inner === 1) {
      // one value a position (max pooling's winners along a flattened plane): the check inline
      for (let o = 0, i = 0; o < outer; o++) {
        const from = x.offset + o * X;
        for (let j = 0; j < J; j++, i++) {
          const k = idx[index.offset + i];
          r[i] = a[from + (k >= 0 && k < X ? k : checked('gather', k, x, index, dim, i))];
        }
      }
      return r;
    }
    for (let o = 0, i = 0; o < outer; o++) {
      for (let j = 0; j < J; j++) {
        for (let q = 0; q < inner; q++, i++) {
          r[i] = a[x.offset + (o * X + checked('gather', idx[index.offset + i], x, index, dim, i)) * inner + q];
        }
      }
    }
    return r;
  }
  const oi = offsets(index);
  // x's layout over index's shape with the gathered dim pinned at 0
  const xs = [...x.strides];
  xs[dim] = 0;
  const base = offsetsOf(index.shape, xs, x.offset);
  const step = x.strides[dim];
  for (let i = 0; i < n; i++) {
    const k = checked('gather', idx[oi ? oi[i] : index.offset + i], x, index, dim, i);
    r[i] = a[(base ? base[i] : x.offset + i) + k * step];
  }
  return r;
}

export function scatterAddKernel([x, index, src]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): TypedArray {
  const r = copyKernel([x], out);
  const idx = index.data as Int32Array;
  const s = src.data as TypedArray;
  const blk = sizeOf(index.shape) ? blocks('scatterAdd', x, index, dim, [src]) : null;
  if (blk) {
    // r[o, index[o, j, q], q] += src[o, j, q]
    const [outer, inner, rows, picks] = blk;
    const J = index.shape[dim];
    const X = x.shape[dim];
    if (picks) {
      for (let o = 0, i = src.offset; o < outer; o++) {
        const to = o * X * inner;
        for (let j = 0; j < J; j++) {
          const at = to + picks[j] * inner;
          for (let q = 0; q < inner; q++, i++) r[at + q] += s[i];
        }
      }
      return r;
    }
    if (rows) {
      for (let o = 0, i = src.offset; o < outer; o++) {
        for (let j = 0; j < J; j++) {
          const to = (o * X + checked('scatterAdd', idx[index.offset + o * J + j], x, index, dim, (o * J + j) * inner)) * inner;
          for (let q = 0; q < inner; q++, i++) r[to + q] += s[i];
        }
      }
      return r;
    }
    if (inner === 1) {
      for (let o = 0, i = 0; o < outer; o++) {
        const to = o * X;
        for (let j = 0; j < J; j++, i++) {
          const k = idx[index.offset + i];
          r[to + (k >= 0 && k < X ? k : checked('scatterAdd', k, x, index, dim, i))] += s[src.offset + i];
        }
      }
      return r;
    }
    for (let o = 0, i = 0; o < outer; o++) {
      for (let j = 0; j < J; j++) {
        for (let q = 0; q < inner; q++, i++) {
          r[(o * X + checked('scatterAdd', idx[index.offset + i], x, index, dim, i)) * inner + q] += s[src.offset + i];
        }
      }
    }
    return r;
  }
  const oi = offsets(index);
  const os = offsetsOf(index.shape, src.strides, src.offset);
  const rs = contiguousStrides(out.shape);
  const step = rs[dim];
  rs[dim] = 0;
  const base = offsetsOf(index.shape, rs, 0);
  const n = sizeOf(index.shape);
  for (let i = 0; i < n; i++) {
    const k = checked('scatterAdd', idx[oi ? oi[i] : index.offset + i], x, index, dim, i);
    r[(base ? base[i] : i) + k * step] += s[os ? os[i] : src.offset + i];
  }
  return r;
}

/** Stable sort of each row; NaN sorts as the largest value, as in PyTorch. */
export function argsortKernel([x]: TensorInfo[], { dim, descending }: { dim: number; descending: boolean }, out: OutInfo): TypedArray {
  const total = sizeOf(out.shape);
  const r = new Int32Array(total);
  if (total === 0) return r;
  const len = x.shape[dim];
  const a = x.data as TypedArray;
  const src = offsetsWithLast(x, [dim]);
  const dst = contiguousOffsetsWithLast(out.shape, [dim]);
  const order = new Array<number>(len);
  const vals = new Float64Array(len);
  const cmp = (vi: number, vj: number): number => {
    const ni = vi !== vi;
    const nj = vj !== vj;
    if (ni || nj) return (ni ? 1 : 0) - (nj ? 1 : 0);
    return vi < vj ? -1 : vi > vj ? 1 : 0;
  };
  for (let base = 0; base < total; base += len) {
    for (let i = 0; i < len; i++) {
      order[i] = i;
      vals[i] = a[src[base + i]];
    }
    order.sort((i, j) => (descending ? cmp(vals[j], vals[i]) : cmp(vals[i], vals[j])));
    for (let i = 0; i < len; i++) r[dst[base + i]] = order[i];
  }
  return r;
}

export function catKernel(inputs: TensorInfo[], { dim }: { dim: number }, out: OutInfo): TypedArray {
  const r = takeArray(out.dtype, sizeOf(out.shape));
  const rs = contiguousStrides(out.shape);
  // per index of the dims before `dim`, each input fills one contiguous block of the output
  const outer = sizeOf(out.shape.slice(0, dim));
  const outBlock = sizeOf(out.shape.slice(dim));
  let at = 0;
  for (const x of inputs) {
    const block = sizeOf(x.shape.slice(dim));
    if (out.dtype !== 'bool' && x.dtype === out.dtype && isContiguousLayout(x.shape, x.strides) && block >= 16) {
      const src = x.data as TypedArray;
      for (let o = 0; o < outer; o++) r.set(src.subarray(x.offset + o * block, x.offset + (o + 1) * block), o * outBlock + at * rs[dim]);
    } else assignKernel({ data: r, shape: x.shape, strides: rs, offset: at * rs[dim], dtype: out.dtype }, x);
    at += x.shape[dim];
  }
  return r;
}

export function sliceScatterKernel([base, src]: TensorInfo[], { starts, steps }: { starts: number[]; steps: number[] }, out: OutInfo): TypedArray {
  const r = copyKernel([base], out);
  const rs = contiguousStrides(out.shape);
  const offset = starts.reduce((o, s, i) => o + s * rs[i], 0);
  assignKernel({ data: r, shape: src.shape, strides: rs.map((s, i) => s * steps[i]), offset, dtype: out.dtype }, src);
  return r;
}
