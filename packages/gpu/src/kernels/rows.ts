import { contiguousStrides } from '@dl/tensor';
import { type TensorInfo } from '@dl/tensor/internal';
import type { ShaderBuilder } from '../wgsl/builder.js';
import { splitDims, stridedOffsetFn, stridedParams } from '../wgsl/strided.js';

/**
 * Row view of a tensor for reductions and row kernels: the kept dims enumerate rows (row j),
 * the listed dims enumerate a row's elements (element k). The generated `xrow(j)` gives the
 * row's base offset and `xcol(k)` the element's offset within it; `orow(j)` (when asked) the base
 * of a contiguous output of the same shape, whose elements are `ost` apart (one dim only).
 */
export interface Rows {
  rows: number;
  len: number;
  outerRank: number;
  innerRank: number;
  params: Record<string, number>;
}

export function rowsOf(x: TensorInfo, dims: readonly number[], withOut = false): Rows {
  const s = splitDims(x.shape, x.strides, dims);
  const params: Record<string, number> = {};
  stridedParams('xrow', 'ro', s.outerShape, s.outerStrides, x.offset, params);
  stridedParams('xcol', 'ri', s.innerShape, s.innerStrides, 0, params);
  if (withOut) {
    const cs = contiguousStrides(x.shape);
    const o = splitDims(x.shape, cs, dims);
    stridedParams('orow', 'ro', o.outerShape, o.outerStrides, 0, params);
    params.ost = dims.length ? cs[dims[0]] : 1;
  }
  let rows = 1;
  for (const d of s.outerShape) rows *= d;
  let len = 1;
  for (const d of s.innerShape) len *= d;
  params.rows = rows;
  params.len = len;
  return { rows, len, outerRank: s.outerShape.length, innerRank: s.innerShape.length, params };
}

/** Declares the row functions in a shader; returns the names of len/rows params as expressions. */
export function declareRows(b: ShaderBuilder, outerRank: number, innerRank: number, withOut = false): { rows: string; len: string; ost: string } {
  stridedOffsetFn(b, 'xrow', outerRank, 'ro');
  stridedOffsetFn(b, 'xcol', innerRank, 'ri');
  if (withOut) stridedOffsetFn(b, 'orow', outerRank, 'ro');
  return { rows: b.param('rows'), len: b.param('len'), ost: withOut ? b.param('ost') : '1' };
}
