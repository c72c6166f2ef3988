import type { OutInfo, TensorInfo } from '../backend.js';
import { arrayFor, type TypedArray } from '../dtype.js';
import type { BinaryOp, UnaryOp } from '../primitives.js';
import { sizeOf } from '../shape.js';
import { BINARY, UNARY } from './math.js';
import { offsets } from './strided.js';

export function unaryKernel(op: UnaryOp, [x]: TensorInfo[], out: OutInfo): TypedArray {
  const f = UNARY[op];
  const n = sizeOf(out.shape);
  const r = arrayFor(out.dtype, n);
  const a = x.data as TypedArray;
  const offs = offsets(x);
  if (offs === null) for (let i = 0, o = x.offset; i < n; i++) r[i] = f(a[o + i]);
  else for (let i = 0; i < n; i++) r[i] = f(a[offs[i]]);
  return r;
}

/** Inputs arrive expanded to the output shape; a stride-0 scalar operand takes the fast path. */
export function binaryKernel(op: BinaryOp, [x, y]: TensorInfo[], out: OutInfo): TypedArray {
  const f = BINARY[op];
  const n = sizeOf(out.shape);
  const r = arrayFor(out.dtype, n);
  const a = x.data as TypedArray;
  const b = y.data as TypedArray;
  const oa = offsets(x);
  const ob = offsets(y);
  const bScalar = y.strides.every((s) => s === 0);
  if (oa === null && ob === null) {
    for (let i = 0, p = x.offset, q = y.offset; i < n; i++) r[i] = f(a[p + i], b[q + i]);
  } else if (oa === null && bScalar) {
    const bv = b[y.offset];
    for (let i = 0, p = x.offset; i < n; i++) r[i] = f(a[p + i], bv);
  } else {
    for (let i = 0; i < n; i++) r[i] = f(a[oa ? oa[i] : x.offset + i], b[ob ? ob[i] : y.offset + i]);
  }
  return r;
}

export function whereKernel([c, x, y]: TensorInfo[], out: OutInfo): TypedArray {
  const n = sizeOf(out.shape);
  const r = arrayFor(out.dtype, n);
  const cd = c.data as TypedArray;
  const a = x.data as TypedArray;
  const b = y.data as TypedArray;
  const oc = offsets(c);
  const oa = offsets(x);
  const ob = offsets(y);
  for (let i = 0; i < n; i++) {
    const cond = cd[oc ? oc[i] : c.offset + i];
    r[i] = cond ? a[oa ? oa[i] : x.offset + i] : b[ob ? ob[i] : y.offset + i];
  }
  return r;
}

/** Casts; float -> int truncates toward zero (NaN -> 0), anything -> bool is "non-zero". */
export function castKernel([x]: TensorInfo[], out: OutInfo): TypedArray {
  const n = sizeOf(out.shape);
  const r = arrayFor(out.dtype, n);
  const a = x.data as TypedArray;
  const offs = offsets(x);
  if (out.dtype === 'bool') {
    for (let i = 0; i < n; i++) r[i] = a[offs ? offs[i] : x.offset + i] !== 0 ? 1 : 0;
  } else if (offs === null) {
    r.set(a.subarray(x.offset, x.offset + n));
  } else {
    for (let i = 0; i < n; i++) r[i] = a[offs[i]];
  }
  return r;
}

export function copyKernel([x]: TensorInfo[], out: OutInfo): TypedArray {
  return castKernel([x], out);
}

/** In-place strided write of src into dst. */
export function assignKernel(dst: TensorInfo, src: TensorInfo): void {
  const n = sizeOf(dst.shape);
  const d = dst.data as TypedArray;
  // a source aliasing the destination is read from a snapshot, so overlap cannot corrupt it
  const s = src.data === dst.data ? (src.data as TypedArray).slice() : (src.data as TypedArray);
  const od = offsets(dst);
  const os = offsets(src);
  const bool = dst.dtype === 'bool';
  for (let i = 0; i < n; i++) {
    const v = s[os ? os[i] : src.offset + i];
    d[od ? od[i] : dst.offset + i] = bool ? (v !== 0 ? 1 : 0) : v;
  }
}
