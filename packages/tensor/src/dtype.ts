import { DTypeError } from './errors.js';

/**
 * Element types. `float64` exists on the CPU backend for numerical gradient checks;
 * `float16` is a storage type on backends that support it (WebGPU with `shader-f16`).
 */
export type DType = 'float32' | 'float64' | 'float16' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;

/** Nested JS arrays as accepted by `tensor()` and returned by `array()`. */
export type NestedArray = number | boolean | NestedArray[];

export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'int32', 'bool'];

const BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int32: 4, bool: 1 };

export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** The host array type that holds values of `dtype` when read back (float16 reads back as float32). */
export function arrayFor(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
    case 'float16':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  throw new DTypeError('tensor', `unsupported typed array ${(a as object).constructor.name}`);
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3, float64: 4 };

/** PyTorch-style promotion between tensor dtypes: bool < int32 < float16 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Promotion of a tensor dtype with a JS number scalar (the scalar never widens a float tensor). */
export function promoteWithScalar(t: DType, s: number | boolean): DType {
  if (typeof s === 'boolean') return t;
  if (isFloat(t)) return t;
  return Number.isInteger(s) ? (t === 'bool' ? 'int32' : t) : 'float32';
}

/** PyTorch / NumPy names that are not @dl dtypes, and what to use instead. */
const NAME_HINTS: Record<string, string> = {
  int64: "use 'int32'",
  long: "use 'int32'",
  int: "use 'int32'",
  int16: "use 'int32'",
  int8: "use 'int32'",
  uint8: "use 'int32' or 'bool'",
  uint32: "use 'int32'",
  float: "use 'float32'",
  double: "use 'float64'",
  half: "use 'float16'",
  bfloat16: "use 'float16' or 'float32'",
  boolean: "use 'bool'",
};

/**
 * Throws a DTypeError unless `dtype` names a @dl dtype (with a hint for PyTorch's names).
 *
 *   checkDTypeName('tensor', 'int64'); // DTypeError: tensor: unknown dtype 'int64': @dl has no int64; use 'int32' (...)
 */
export function checkDTypeName(op: string, dtype: unknown): asserts dtype is DType {
  if (typeof dtype === 'string' && Object.hasOwn(BYTES, dtype)) return;
  const hint = typeof dtype === 'string' && Object.hasOwn(NAME_HINTS, dtype) ? `: @dl has no ${dtype}; ${NAME_HINTS[dtype]}` : '';
  throw new DTypeError(op, `unknown dtype ${typeof dtype === 'string' ? `'${dtype}'` : String(dtype)}${hint} (dtypes: ${DTYPES.join(', ')})`);
}

/**
 * Throws a DTypeError when a device (`holds`: its dtypes) cannot store `dtype`, naming the shape
 * and suggesting a conversion on the source device: WebGPU has no float64, and reinterpreting
 * float64 bytes as float32 would give wrong numbers.
 *
 *   checkDeviceDType('to', 'webgpu', ['float32', 'int32', 'bool'], 'float64', [2]);
 *   // DTypeError: to: device 'webgpu' has no float64 (it holds float32, int32, bool); tensor [2] is float64: convert it first, e.g. x.float().to('webgpu')
 */
export function checkDeviceDType(op: string, device: string, holds: readonly DType[], dtype: DType, shape?: readonly number[]): void {
  checkDTypeName(op, dtype);
  if (holds.includes(dtype)) return;
  const what = shape ? `tensor [${shape.join(',')}] is ${dtype}` : `${dtype} requested`;
  const fix = isFloat(dtype) && holds.includes('float32') ? `: convert it first, e.g. x.float().to('${device}')` : '';
  throw new DTypeError(op, `device '${device}' has no ${dtype} (it holds ${holds.join(', ')}); ${what}${fix}`);
}

export function checkDType(op: string, arg: string, dtype: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(dtype)) {
    throw new DTypeError(op, `${arg} has dtype ${dtype}; expected one of ${allowed.join(', ')}`);
  }
}
