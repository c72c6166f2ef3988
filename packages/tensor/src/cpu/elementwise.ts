import type { OutInfo, TensorInfo } from '../backend.js';
import { arrayFor, type DType, type TypedArray } from '../dtype.js';
import type { BinaryOp, KernelAttrs, UnaryOp } from '../primitives.js';
import { contiguousStrides, isContiguousLayout, shapesEqual, sizeOf } from '../shape.js';
import { collapse, map, type View } from './map.js';
import { BINARY, UNARY, UNARY_F32 } from './math.js';
import { takeArray } from './pool.js';
import { kernelChoice } from './select.js';
import { contiguousData, gatherRows } from './strided.js';
import { MODE, type BinArg } from './wasm/index.js';

const view = (x: TensorInfo): View => ({ data: x.data as TypedArray, strides: x.strides, offset: x.offset });

/** A new contiguous array of out's shape filled by f over the (strided) inputs. */
function mapNew(f: (...v: number[]) => number, inputs: TensorInfo[], out: OutInfo, costly = false): TypedArray {
  const r = takeArray(out.dtype, sizeOf(out.shape), false);
  map(f, out.shape, { data: r, strides: contiguousStrides(out.shape), offset: 0 }, inputs.map(view), costly);
  return r;
}

/** Unary functions too large to inline four times in an unrolled loop (see map.ts). */
const COSTLY: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['erf', 'gelu', 'geluTanh', 'silu', 'sigmoid', 'softplus', 'round', 'sign']);

/** Same elements (4-byte kinds), read as int32 bits: same offsets and strides. */
const bits = (a: TypedArray): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.length);
const bitView = (x: TensorInfo): View => ({ data: bits(x.data as TypedArray), strides: x.strides, offset: x.offset });

/**
 * relu on float32 bits without a branch: a set sign bit clears the value (so -0 gives +0), except
 * for NaN (exponent all ones, mantissa non-zero), which passes through as PyTorch's relu does.
 */
const reluBits = (b: number): number => b & ~((b >> 31) & ~((0x7f800000 - (b & 0x7fffffff)) >> 31));

/** Below this many elements the JS loop beats the ~1 us of a kernel call with its copies. */
const KERNEL_MIN = 64;

/**
 * op over float32 inputs of out's shape, each contiguous, through the selected CPU kernels'
 * elementwise op (the wasm SIMD kernels), or null where they do not run it (then the JS loops do).
 * `op` names a unary op (inputs [x]) or a gradient op (inputs [g, x]).
 */
export function kernelElementwise(op: string, inputs: readonly TensorInfo[], out: OutInfo): TypedArray | null {
  if (out.dtype !== 'float32') return null;
  const n = sizeOf(out.shape);
  if (n < KERNEL_MIN) return null;
  const k = kernelChoice();
  if (!k.elementwise || !k.elementwiseOps?.(op)) return null;
  for (const x of inputs) {
    if (x.dtype !== 'float32' || !(x.data instanceof Float32Array) || !shapesEqual(x.shape, out.shape) || !isContiguousLayout(x.shape, x.strides)) return null;
  }
  const r = takeArray('float32', n, false) as Float32Array;
  k.elementwise(op, inputs.map((x) => (x.data as Float32Array).subarray(x.offset, x.offset + n)), r);
  return r;
}

export function unaryKernel(op: UnaryOp, inputs: TensorInfo[], out: OutInfo): TypedArray {
  const fast = kernelElementwise(op, inputs, out);
  if (fast) return fast;
  if (op === 'relu' && out.dtype === 'float32') {
    const r = takeArray(out.dtype, sizeOf(out.shape), false);
    map(reluBits, out.shape, { data: bits(r), strides: contiguousStrides(out.shape), offset: 0 }, [bitView(inputs[0])]);
    return r;
  }
  const f = (out.dtype === 'float32' || out.dtype === 'float16') && UNARY_F32[op];
  return mapNew(f || UNARY[op], inputs, out, COSTLY.has(op));
}

/** Shortest row that a broadcast operand's per-row values or a strided operand's copy pays for. */
const ROW_MIN = 8;

/**
 * One operand of a binary op as the kernels' [rows, inner] layout: `st` are its strides over the
 * collapsed dims (the last one inner), `outSt` the output's (contiguous). Null where no layout
 * fits (a stride other than 0 or 1 along the rows, or short rows).
 */
function binArg(x: TensorInfo, shape: readonly number[], st: readonly number[], outSt: readonly number[], n: number): BinArg | null {
  const data = x.data as Float32Array;
  const last = shape.length - 1;
  const inner = shape[last];
  if (st[last] === 1) {
    let full = true;
    let shared = true;
    for (let d = 0; d < last; d++) {
      full &&= st[d] === outSt[d];
      shared &&= st[d] === 0;
    }
    if (full) return { mode: MODE.FULL, data: data.subarray(x.offset, x.offset + n) };
    if (shared) return { mode: MODE.COL, data: data.subarray(x.offset, x.offset + inner) };
    // rows anywhere (a slice, an expanded middle dim): one copy of whole rows, then every element
    if (inner < ROW_MIN) return null;
    const e: TensorInfo = { ...x, shape, strides: st };
    return { mode: MODE.FULL, data: contiguousData<Float32Array>(e) };
  }
  if (st[last] !== 0 || (inner < ROW_MIN && last > 0)) return null;
  // constant along each row: its value per row, walking the outer dims like an odometer
  const rows = n / inner;
  const v = new Float32Array(rows);
  const idx = new Array<number>(last).fill(0);
  let p = x.offset;
  for (let r = 0; r < rows; r++) {
    v[r] = data[p];
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      p += st[d];
      if (idx[d] < shape[d]) break;
      p -= st[d] * shape[d];
      idx[d] = 0;
    }
  }
  return { mode: MODE.ROW, data: v };
}

/**
 * add/sub/mul/div of float32 inputs through the selected kernels' SIMD binary op, or null where
 * it does not run (then the JS loops do): the dims are collapsed and each input mapped to every
 * element, one value per row or one shared row of the innermost dim.
 */
function kernelBinary(op: BinaryOp, [x, y]: TensorInfo[], out: OutInfo): TypedArray | null {
  if (out.dtype !== 'float32' || x.dtype !== 'float32' || y.dtype !== 'float32') return null;
  const n = sizeOf(out.shape);
  if (n < KERNEL_MIN) return null;
  const k = kernelChoice();
  if (!k.binary || !k.binaryOps?.(op) || !(x.data instanceof Float32Array) || !(y.data instanceof Float32Array)) return null;
  const c = collapse(out.shape, [{ strides: contiguousStrides(out.shape) }, x, y]);
  const inner = c.shape[c.shape.length - 1];
  const a = binArg(x, c.shape, c.strides[1], c.strides[0], n);
  if (!a) return null;
  const b = binArg(y, c.shape, c.strides[2], c.strides[0], n);
  if (!b) return null;
  const r = takeArray('float32', n, false) as Float32Array;
  k.binary(op, a, b, r, n / inner, inner);
  return r;
}

/** Inputs arrive expanded to the output shape (stride 0 where broadcast). */
export function binaryKernel(op: BinaryOp, inputs: TensorInfo[], out: OutInfo): TypedArray {
  const fast = kernelBinary(op, inputs, out);
  if (fast) return fast;
  // a double product of two int32 values past 2^53 loses the low bits that int32 wrapping keeps
  if (op === 'mul' && out.dtype === 'int32') return mapNew(Math.imul, inputs, out);
  return mapNew(BINARY[op], inputs, out);
}

/**
 * A scalar as an input of out's shape: one element of dtype's storage kind (rounded as storing it
 * in a tensor rounds it) read through stride 0, which the map loops load once per row.
 */
function scalarInput(value: number, dtype: DType, shape: readonly number[]): TensorInfo {
  const data = arrayFor(dtype, 1);
  data[0] = dtype === 'bool' ? +(value !== 0) : value;
  return { data, shape, strides: shape.map(() => 0), offset: 0, dtype };
}

/** x op value, or value op x when reversed: the binary loop with a constant operand. */
export function binaryScalarKernel([x]: TensorInfo[], { op, value, reversed }: KernelAttrs['binaryScalar'], out: OutInfo): TypedArray {
  const s = scalarInput(value, x.dtype, out.shape);
  return binaryKernel(op, reversed ? [s, x] : [x, s], out);
}

/** value where cond equals fillWhen, else x: where's loops (and its int32-bits select) with a constant operand. */
export function whereScalarKernel([c, x]: TensorInfo[], { value, fillWhen }: KernelAttrs['whereScalar'], out: OutInfo): TypedArray {
  const s = scalarInput(value, out.dtype, out.shape);
  return whereScalarBlocks(c, x, (s.data as TypedArray)[0], fillWhen, out) ?? whereKernel(fillWhen ? [c, s, x] : [c, x, s], out);
}

/**
 * whereScalar's common case as a plain loop: float32 x contiguous and the condition one contiguous
 * block of the trailing dims, repeated over the leading ones (a causal mask over batch and heads).
 * Selects int32 bits, as whereKernel does, so a NaN keeps its payload. Null for other layouts.
 */
function whereScalarBlocks(c: TensorInfo, x: TensorInfo, value: number, fillWhen: boolean, out: OutInfo): TypedArray | null {
  const shape = out.shape;
  if (out.dtype !== 'float32' || x.dtype !== 'float32' || c.dtype !== 'bool' || !isContiguousLayout(x.shape, x.strides)) return null;
  let lead = 0;
  while (lead < shape.length && (c.strides[lead] === 0 || shape[lead] === 1)) lead++;
  if (!isContiguousLayout(shape.slice(lead), c.strides.slice(lead))) return null;
  const n = sizeOf(shape);
  const inner = sizeOf(shape.slice(lead));
  const r = takeArray('float32', n, false);
  const rb = bits(r), xb = bits(x.data as TypedArray);
  const cd = c.data as Uint8Array;
  const vb = bits(Float32Array.of(value))[0];
  const fill = fillWhen ? 1 : 0;
  for (let b = 0; b < n && inner > 0; b += inner) {
    for (let i = 0, xo = x.offset + b, co = c.offset; i < inner; i++) rb[b + i] = +(cd[co + i] !== 0) === fill ? vb : xb[xo + i];
  }
  return r;
}

const select = (c: number, a: number, b: number): number => (c !== 0 ? a : b);
/** where on int32 bits without a branch: m is an all-ones or all-zeros mask. */
const selectBits = (c: number, a: number, b: number): number => {
  const m = -+(c !== 0);
  return (a & m) | (b & ~m);
};
const identity = (v: number): number => v;
const toBool = (v: number): number => (v !== 0 ? 1 : 0);

export function whereKernel(inputs: TensorInfo[], out: OutInfo): TypedArray {
  if ((out.dtype === 'float32' || out.dtype === 'int32') && inputs[0].dtype === 'bool' && inputs[1].dtype === out.dtype && inputs[2].dtype === out.dtype) {
    const r = takeArray(out.dtype, sizeOf(out.shape), false);
    map(selectBits, out.shape, { data: bits(r), strides: contiguousStrides(out.shape), offset: 0 }, [view(inputs[0]), bitView(inputs[1]), bitView(inputs[2])]);
    return r;
  }
  return mapNew(select, inputs, out);
}

/** Casts; float -> int truncates toward zero (NaN -> 0), anything -> bool is "non-zero". */
export function castKernel(inputs: TensorInfo[], out: OutInfo): TypedArray {
  const [x] = inputs;
  // same storage kind and a contiguous source: a memcpy (TypedArray.set), not a loop
  if (x.dtype === out.dtype && out.dtype !== 'bool') {
    const n = sizeOf(out.shape);
    const r = takeArray(out.dtype, n, false);
    if (isContiguousLayout(x.shape, x.strides)) r.set((x.data as TypedArray).subarray(x.offset, x.offset + n));
    else if (n > 0) gatherRows(x.data as TypedArray, x.shape, x.strides, x.offset, r); // strided: row by row
    return r;
  }
  return mapNew(out.dtype === 'bool' ? toBool : identity, inputs, out);
}

export function copyKernel(inputs: TensorInfo[], out: OutInfo): TypedArray {
  return castKernel(inputs, out);
}

/** In-place strided write of src into dst. */
export function assignKernel(dst: TensorInfo, src: TensorInfo): void {
  // a source aliasing the destination is read from a snapshot, so overlap cannot corrupt it
  const s = src.data === dst.data ? { ...view(src), data: (src.data as TypedArray).slice() } : view(src);
  map(dst.dtype === 'bool' ? toBool : identity, dst.shape, view(dst), [s]);
}
