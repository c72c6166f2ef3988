import type { AdamHyper } from '../backend.js';
import { isFloat, promoteTypes, promoteWithScalar, type DType } from '../dtype.js';
import { DLError, DTypeError, DeviceError, ShapeError, fmt } from '../errors.js';
import { isRecording, runKernel } from '../dispatch.js';
import { COMPARE_OPS, type BinaryOp, type UnaryOp } from '../primitives.js';
import { broadcastShapes, shapesEqual, unravelIndex } from '../shape.js';
import { Tensor, checkNotDisposed, type TensorLike } from '../tensor.js';
import { full } from './creation.js';
import { expand } from './movement.js';

/** A scalar as a 0-d tensor on `ref`'s device. */
export function scalarTensor(v: number | boolean, dtype: DType, ref: Tensor): Tensor {
  return full([], Number(v), { dtype, device: ref.device });
}

/** Returns x in `dtype` (x itself when it already is). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return runKernel('cast', [x], { dtype }, x.shape, dtype);
}

/** Broadcasts tensors to one shape with stride-0 views (no copies). */
export function broadcastTo(op: string, ...xs: Tensor[]): Tensor[] {
  const shape = broadcastShapes(op, ...xs.map((x) => x.shape));
  return xs.map((x) => (shapesEqual(x.shape, shape) ? x : expand(x, shape)));
}

function resultType(op: BinaryOp, a: TensorLike, b: TensorLike): DType {
  let t: DType;
  if (a instanceof Tensor && b instanceof Tensor) t = promoteTypes(a.dtype, b.dtype);
  else if (a instanceof Tensor) t = promoteWithScalar(a.dtype, b as number);
  else if (b instanceof Tensor) t = promoteWithScalar(b.dtype, a as number);
  else throw new DLError(op, 'at least one argument must be a Tensor');
  // true division and real powers of integers give floats, as in PyTorch
  if (op === 'div' && !isFloat(t)) t = 'float32';
  if (t === 'bool' && !COMPARE_OPS.includes(op)) t = 'int32';
  return t;
}

function asTensor(v: TensorLike, dtype: DType, ref: Tensor): Tensor {
  return v instanceof Tensor ? cast(v, dtype) : scalarTensor(v, dtype, ref);
}

/**
 * Runs a binary primitive with promotion and broadcasting. A JS number or boolean operand goes to
 * the kernel as an attribute (`binaryScalar`): no tensor, no buffer, no extra dispatch.
 */
export function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  if (isBool(a) && isBool(b)) {
    // as PyTorch: bool + bool is or, bool * bool is and (max/min likewise), all bool; bool - bool has no meaning
    const logical = BOOL_OPS[op];
    if (logical) return binary(logical, a, b);
    if (op === 'sub') throw new DTypeError('sub', `subtraction of two bools is not supported, as in PyTorch; use logicalXor (ne) or logicalNot (a ${describe(a)}, b ${describe(b)})`);
  }
  const t = resultType(op, a, b);
  if ((op === 'mod' || op === 'pow') && !isFloat(t)) checkIntOperands(op, a, b);
  const outType = COMPARE_OPS.includes(op) ? 'bool' : t;
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) {
    const reversed = !(a instanceof Tensor);
    const x = cast((reversed ? b : a) as Tensor, t);
    return runKernel('binaryScalar', [x], { op, value: Number(reversed ? a : b), reversed }, x.shape, outType);
  }
  const [x, y] = broadcastTo(op, cast(a, t), cast(b, t));
  return runKernel(op, [x, y], {}, x.shape, outType);
}

const BOOL_OPS: Partial<Record<BinaryOp, BinaryOp>> = { add: 'logicalOr', maximum: 'logicalOr', mul: 'logicalAnd', minimum: 'logicalAnd' };
const isBool = (v: TensorLike): boolean => (v instanceof Tensor ? v.dtype === 'bool' : typeof v === 'boolean');

const describe = (v: TensorLike): string => (v instanceof Tensor ? `${v.dtype} ${fmt(v.shape)}` : String(v));

/**
 * Integer remainder by zero and integers to negative integer powers have no integer result: PyTorch
 * raises (the kernels would give 0). A number operand is checked on the host; a tensor divisor or
 * exponent where the device reads synchronously (the CPU, as PyTorch checks on its CPU).
 */
function checkIntOperands(op: 'mod' | 'pow', a: TensorLike, b: TensorLike): void {
  const bad = op === 'mod' ? (v: number) => v === 0 : (v: number) => v < 0;
  const name = op === 'mod' ? 'remainder' : 'pow';
  const what = (v: number) => (op === 'mod' ? 'integer remainder by zero' : `integers to negative integer powers are not allowed, got exponent ${v}`);
  if (!(b instanceof Tensor)) {
    if (bad(Number(b))) throw new DLError(name, `${what(Number(b))} (x ${describe(a)})`);
    return;
  }
  if (!b.storage.backend.readSync) return;
  const v = b.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (bad(v[i])) throw new DLError(name, `${what(v[i])} at ${fmt(unravelIndex(i, b.shape))} of the ${op === 'mod' ? 'divisor' : 'exponent'} ${describe(b)}`);
  }
}

const KEEPS_INT: readonly UnaryOp[] = ['neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round'];

/** Runs a unary primitive; float-only functions of integer tensors compute in float32. */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  if (op === 'logicalNot') return runKernel(op, [x], {}, x.shape, 'bool');
  if (op === 'neg' && x.dtype === 'bool') {
    throw new DTypeError('neg', `negation (the - operator) of a bool tensor is not supported, as in PyTorch; use logicalNot() (x bool ${fmt(x.shape)})`);
  }
  if (!isFloat(x.dtype) && !KEEPS_INT.includes(op)) x = cast(x, 'float32');
  if (x.dtype === 'bool') x = cast(x, 'int32');
  return runKernel(op, [x], {}, x.shape, x.dtype);
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
/** Python-style modulo: the result has the sign of the divisor (PyTorch's remainder). */
export const remainder = (a: TensorLike, b: TensorLike): Tensor => binary('mod', a, b);
/**
 * Elementwise max; NaN wins. At ties two tensors share the gradient (torch.maximum); with a number
 * it all goes to the tensor, as torch.clamp(x, min) gives it.
 *
 *   maximum(x, y); x.maximum(0)
 */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** Elementwise min; the tie rules of `maximum`. `minimum(x, 1)` */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);
export const logicalAnd = (a: TensorLike, b: TensorLike): Tensor => binary('logicalAnd', a, b);
export const logicalOr = (a: TensorLike, b: TensorLike): Tensor => binary('logicalOr', a, b);

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const log1p = (x: Tensor): Tensor => unary('log1p', x);
export const expm1 = (x: Tensor): Tensor => unary('expm1', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** GELU; `approximate: 'tanh'` is the tanh formula used by GPT-2. */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => unary(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const softplus = (x: Tensor): Tensor => unary('softplus', x);
export const erf = (x: Tensor): Tensor => unary('erf', x);
export const floor = (x: Tensor): Tensor => unary('floor', x);
export const ceil = (x: Tensor): Tensor => unary('ceil', x);
export const round = (x: Tensor): Tensor => unary('round', x);
export const logicalNot = (x: Tensor): Tensor => unary('logicalNot', x);
export const square = (x: Tensor): Tensor => mul(x, x);

/**
 * Elementwise cond ? a : b, broadcasting all three. `cond` must be bool, as in PyTorch (a float
 * mask would silently mean "nonzero"): compare first, `where(x.gt(0), x, 0)`.
 *
 *   where(scores.gt(0), scores, 0); where(mask, -Infinity, scores)
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') {
    const shapes = [a, b].map((v) => (v instanceof Tensor ? fmt(v.shape) : String(v))).join(', ');
    throw new DTypeError('where', `condition must be bool, got ${cond.dtype} ${fmt(cond.shape)} (values ${shapes}); compare first, e.g. cond.gt(0), or .bool()`);
  }
  let t: DType;
  if (a instanceof Tensor && b instanceof Tensor) t = promoteTypes(a.dtype, b.dtype);
  else if (a instanceof Tensor) t = promoteWithScalar(a.dtype, b as number);
  else if (b instanceof Tensor) t = promoteWithScalar(b.dtype, a as number);
  else t = Number.isInteger(a) && Number.isInteger(b) ? 'int32' : 'float32';
  if (a instanceof Tensor !== b instanceof Tensor) {
    // one scalar side travels as an attribute (whereScalar), as in binary()
    const fillWhen = !(a instanceof Tensor);
    const [c, x] = broadcastTo('where', cond, cast((fillWhen ? b : a) as Tensor, t));
    return runKernel('whereScalar', [c, x], { value: Number(fillWhen ? a : b), fillWhen }, c.shape, t);
  }
  const [c, x, y] = broadcastTo('where', cond, asTensor(a, t, cond), asTensor(b, t, cond));
  return runKernel('where', [c, x, y], {}, c.shape, t);
}

/**
 * Limits values to [min, max]; either bound may be omitted; NaN in x or in a bound gives NaN.
 * Gradients are PyTorch's: x's flows where min <= x <= max (the bounds included), a tensor
 * bound's where x lies beyond it.
 *
 *   clamp(x, 0, 1); x.clamp(undefined, maxNorm); clamp(x, lo, hi)
 */
export function clamp(x: Tensor, min?: number | Tensor, max?: number | Tensor): Tensor {
  let y = x;
  // a number bound: maximum/minimum with a scalar give x the whole gradient at a tie. A tensor
  // bound: x where it is within (ties included), else maximum/minimum, where the bound wins
  // strictly (or NaN propagates)
  if (min !== undefined) y = min instanceof Tensor ? where(ge(y, min), y, maximum(y, min)) : maximum(y, min);
  if (max !== undefined) y = max instanceof Tensor ? where(le(y, max), y, minimum(y, max)) : minimum(y, max);
  return y;
}

/** where(mask, value, x): fills positions where mask is true. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (mask.dtype !== 'bool') throw new DTypeError('maskedFill', `mask must be bool, got ${mask.dtype} (mask ${fmt(mask.shape)}, x ${fmt(x.shape)})`);
  // the result has x's shape, as PyTorch's fill of a copy of x: the mask may not widen it
  const k = x.ndim - mask.ndim;
  if (k < 0 || !mask.shape.every((d, i) => d === 1 || d === x.shape[k + i])) {
    throw new ShapeError('maskedFill', `mask ${fmt(mask.shape)} must broadcast to x ${fmt(x.shape)}`);
  }
  return where(mask, value, x);
}

/** In-place updates of tensors that require grad would corrupt a recorded graph: refused while recording. */
function checkInPlace(op: string, target: Tensor, ts: readonly Tensor[]): void {
  if (isRecording() && ts.some((t) => t.requiresGrad)) {
    throw new DLError(op, `tensor ${fmt(target.shape)} requires grad; in-place updates of it must run inside noGrad()`);
  }
}

/**
 * dst = dst op other in one kernel where dst's backend has one (`Backend.binaryInPlace`; WebGPU),
 * for a float dst and a number or a tensor of its dtype in other storage; false otherwise, having
 * written nothing. The in-place methods (`mul_`, ...) try it before computing out of place and
 * assigning, which costs a second kernel. The caller has checked the operands (see Tensor).
 */
export function binaryInPlace(op: 'add' | 'sub' | 'mul' | 'div', dst: Tensor, other: TensorLike): boolean {
  const backend = dst.storage.backend;
  if (!backend.binaryInPlace || !isFloat(dst.dtype)) return false;
  let arg: number | Tensor;
  if (typeof other === 'number') arg = other;
  else if (other instanceof Tensor && other.dtype === dst.dtype && other.device === dst.device && other.storage !== dst.storage) {
    arg = shapesEqual(other.shape, dst.shape) ? other : expand(other, dst.shape);
  } else return false;
  checkInPlace('in-place op', dst, arg instanceof Tensor ? [dst, arg] : [dst]);
  const done = backend.binaryInPlace(op, dst.info(), arg instanceof Tensor ? arg.info() : arg);
  if (arg !== other && arg instanceof Tensor) arg.dispose();
  if (done) dst.storage.version++;
  return done;
}

/**
 * In place: writes `src` (broadcast to dst's shape, cast to dst's dtype) into dst's storage.
 * Refused while autograd records and either side requires grad — do it inside noGrad().
 */
export function assign<T extends Tensor>(dst: T, src: TensorLike): T {
  checkNotDisposed('copy_', dst);
  checkNotDisposed('copy_', src, 'src');
  const s = src instanceof Tensor ? src : scalarTensor(src, dst.dtype, dst);
  checkInPlace('in-place op', dst, [dst, s]);
  let v = cast(s, dst.dtype);
  if (!shapesEqual(v.shape, dst.shape)) {
    const shape = broadcastShapes('copy_', dst.shape, v.shape);
    if (!shapesEqual(shape, dst.shape)) {
      throw new ShapeError('copy_', `src ${fmt(v.shape)} does not broadcast to dst ${fmt(dst.shape)}`);
    }
    v = expand(v, shape);
  }
  if (v.device !== dst.device) {
    throw new DeviceError('copy_', `src ${fmt(v.shape)} is on ${v.device}, dst ${fmt(dst.shape)} on ${dst.device}; move src with .to('${dst.device}')`);
  }
  dst.storage.backend.assign(dst.info(), v.info());
  dst.storage.version++;
  return dst;
}

/**
 * One Adam step in place, as one fused pass where the device has a kernel for it (PyTorch's
 * `fused=True`): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g², p = decay p - stepSize m / (√v / sqrtBc2 + eps)
 * (decay = 1 - lr * weightDecay is AdamW's decoupled decay).
 * Returns false, having written nothing, when it does not apply (no fused kernel on this device,
 * not float32, strided views, or a buffer the kernel cannot bind); callers then run the same
 * update as separate ops. L2 weight decay, maximize and amsgrad are the caller's.
 *
 *   if (!adamStep_(p, grad, m, v, { beta1: 0.9, beta2: 0.999, stepSize, sqrtBc2, eps: 1e-8, decay: 1 })) ...
 */
export function adamStep_(p: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamHyper): boolean {
  const ts = [p, grad, m, v];
  ts.forEach((t, i) => checkNotDisposed('adamStep_', t, ['p', 'grad', 'm', 'v'][i]));
  checkInPlace('adamStep_', p, ts);
  const backend = p.storage.backend;
  if (!backend.adamStep) return false;
  if (ts.some((t) => t.device !== p.device || t.dtype !== 'float32' || !t.isContiguous() || !shapesEqual(t.shape, p.shape))) return false;
  if (!backend.adamStep(p.info(), grad.info(), m.info(), v.info(), h)) return false;
  for (const t of [p, m, v]) t.storage.version++;
  return true;
}
