import { getBackend, getDefaultDevice } from '../backend.js';
import { arrayFor, checkDeviceDType, checkDTypeName, dtypeOfArray, type DType, type NestedArray, type TypedArray } from '../dtype.js';
import { DTypeError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import { checkShape, sizeOf } from '../shape.js';
import { fromHost, Tensor } from '../tensor.js';

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts?: TensorOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Shape of a nested array, rejecting ragged nesting and non-numbers. */
function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  const check = (v: NestedArray, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (Array.isArray(v) || (typeof v !== 'number' && typeof v !== 'boolean')) {
        throw new ShapeError('tensor', `ragged or invalid nested array: element ${path} is ${Array.isArray(v) ? 'an array' : typeof v}, expected a number (inferred shape ${fmt(shape)})`);
      }
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new ShapeError('tensor', `ragged nested array: element ${path || '[]'} has ${Array.isArray(v) ? `length ${v.length}` : 'no length'}, expected ${shape[dim]} (inferred shape ${fmt(shape)})`);
    }
    for (let i = 0; i < v.length; i++) check(v[i], dim + 1, `${path}[${i}]`);
  };
  check(data, 0, '');
  return shape;
}

function flattenInto(data: NestedArray, out: TypedArray, pos: { i: number }): void {
  if (Array.isArray(data)) for (const v of data) flattenInto(v, out, pos);
  else out[pos.i++] = typeof data === 'boolean' ? Number(data) : data;
}

/**
 * Throws a DTypeError when a value cannot be stored as int32 (NaN, infinite or out of range), as
 * PyTorch refuses to build such a tensor; fractions truncate toward zero.
 */
function checkInt32Values(op: string, values: ArrayLike<number>, shape: readonly number[]): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= -2147483648 && v <= 2147483647)) {
      throw new DTypeError(op, `value ${v} at ${i} of ${fmt(shape)} cannot be converted to int32 without overflow (int32 holds -2147483648..2147483647)`);
    }
  }
}

function firstScalar(data: NestedArray): number | boolean | undefined {
  let cur = data;
  while (Array.isArray(cur)) {
    if (cur.length === 0) return undefined;
    cur = cur[0];
  }
  return cur;
}

/**
 * A tensor from nested arrays or a TypedArray (float32 by default; booleans give bool).
 *
 *   tensor([[1, 2], [3, 4]]).shape          // [2, 2]
 *   tensor(new Int32Array([1, 2]))          // int32
 *   tensor(float32Array, { shape: [2, 3] }) // reinterpret a flat array
 */
export function tensor(data: NestedArray | TypedArray, opts: TensorOptions & { shape?: number[] } = {}): Tensor {
  const device = opts.device ?? getDefaultDevice();
  const backend = getBackend(device, 'tensor');
  if (opts.dtype !== undefined) checkDTypeName('tensor', opts.dtype);
  let shape: number[];
  let dtype: DType;
  let values: TypedArray;
  if (ArrayBuffer.isView(data)) {
    dtype = opts.dtype ?? dtypeOfArray(data as TypedArray);
    shape = opts.shape ? checkShape('tensor', opts.shape) : [data.length];
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError('tensor', `shape ${fmt(shape)} holds ${sizeOf(shape)} elements but the array has ${data.length}`);
    }
    if (dtype === 'int32' && !(data instanceof Int32Array)) checkInt32Values('tensor', data, shape);
    values = arrayFor(dtype, data.length);
    if (dtype === 'bool') for (let i = 0; i < data.length; i++) values[i] = data[i] !== 0 ? 1 : 0;
    else values.set(data as ArrayLike<number>);
  } else {
    shape = inferShape(data);
    if (opts.shape) throw new ShapeError('tensor', 'the shape option applies to typed arrays only; nested arrays carry their shape');
    dtype = opts.dtype ?? (typeof firstScalar(data) === 'boolean' ? 'bool' : 'float32');
    const tmp = new Float64Array(sizeOf(shape));
    flattenInto(data, tmp, { i: 0 });
    if (dtype === 'int32') checkInt32Values('tensor', tmp, shape);
    values = arrayFor(dtype, tmp.length);
    if (dtype === 'bool') for (let i = 0; i < tmp.length; i++) values[i] = tmp[i] !== 0 ? 1 : 0;
    else values.set(tmp);
  }
  checkDeviceDType('tensor', device, backend.dtypes, dtype, shape);
  return finish(fromHost(backend.upload(values, dtype), device, shape, dtype), opts);
}

/** DTypeError naming `op` for an unknown dtype or one the device cannot hold (float64 on WebGPU). */
function checkDTypeOn(op: string, dtype: DType, device: string, shape: readonly number[]): void {
  checkDeviceDType(op, device, getBackend(device, op).dtypes, dtype, shape);
}

/**
 * A tensor of `shape` filled with `value` (float32 for numbers, bool for booleans).
 *
 *   full([2, 3], 0.5); // float32 [2, 3] of 0.5
 */
export function full(shape: readonly number[], value: number | boolean, opts: TensorOptions = {}): Tensor {
  const s = checkShape('full', shape);
  const dtype = opts.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  const device = opts.device ?? getDefaultDevice();
  checkDTypeOn('full', dtype, device, s);
  if (dtype === 'int32') checkInt32Values('full', [Number(value)], s);
  return finish(runKernel('full', [], { shape: s, value: Number(value), dtype, device }, s, dtype, device), opts);
}

/** Zeros of `shape`: `zeros([2, 3], { dtype: 'int32' })`. */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}
/** Ones of `shape`: `ones([4], { device: 'webgpu' })`. */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}
function likeOpts(t: Tensor, opts: TensorOptions): TensorOptions {
  return { dtype: t.dtype, device: t.device, ...opts };
}
/** Zeros with t's shape, dtype and device (each overridable): `zerosLike(x)`. */
export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return full(t.shape, 0, likeOpts(t, opts));
}
/** Ones with t's shape, dtype and device (each overridable): `onesLike(x, { dtype: 'bool' })`. */
export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return full(t.shape, 1, likeOpts(t, opts));
}
/** `value` with t's shape, dtype and device (each overridable): `fullLike(x, -Infinity)`. */
export function fullLike(t: Tensor, value: number, opts: TensorOptions = {}): Tensor {
  return full(t.shape, value, likeOpts(t, opts));
}

/**
 * Values from `start` to `end` (exclusive) by `step`; `arange(n)` is 0..n-1.
 * int32 when every argument is an integer, else float32.
 *
 *   arange(5);          // int32 [0, 1, 2, 3, 4]
 *   arange(0, 1, 0.25); // float32 [0, 0.25, 0.5, 0.75]
 */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (![start, end, step].every(Number.isFinite) || step === 0) {
    throw new ShapeError('arange', `start (${start}), end (${end}) and step (${step}) must be finite, step non-zero`);
  }
  if ((end - start) * step < 0) throw new ShapeError('arange', `end (${end}) lies behind start (${start}) for step ${step}: the step's sign must point from start to end`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  const device = opts.device ?? getDefaultDevice();
  checkDTypeOn('arange', dtype, device, [n]);
  return finish(runKernel('arange', [], { start, step, n, dtype, device }, [n], dtype, device), opts);
}

/**
 * `steps` evenly spaced values from start to end inclusive (PyTorch's symmetric formula).
 *
 *   linspace(0, 1, 5); // float32 [0, 0.25, 0.5, 0.75, 1]
 */
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  checkShape('linspace', [steps], 'steps');
  checkDTypeOn('linspace', opts.dtype ?? 'float32', opts.device ?? getDefaultDevice(), [steps]);
  const v = new Float64Array(steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) v[i] = i < half || steps === 1 ? start + step * i : end - step * (steps - 1 - i);
  return tensor(v, { dtype: 'float32', ...opts });
}

/**
 * Identity matrix [n, m].
 *
 *   eye(3);                       // float32 [3, 3]
 *   eye(2, 4, { dtype: 'int32' }); // int32 [2, 4]
 */
export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  checkShape('eye', [n, m]);
  checkDTypeOn('eye', opts.dtype ?? 'float32', opts.device ?? getDefaultDevice(), [n, m]);
  const v = new Float32Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) v[i * m + i] = 1;
  return tensor(v, { dtype: 'float32', ...opts, shape: [n, m] });
}
