import { isFloat, type DType } from '../dtype.js';
import { DLError, DTypeError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import type { ReduceAttrs } from '../primitives.js';
import { normDim, normDims } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast, exp, log, logicalNot, sqrt, sub, where } from './elementwise.js';
import { ones } from './creation.js';
import { contiguous, reshape } from './movement.js';

type Dims = number | readonly number[] | undefined;

function reducedShape(shape: readonly number[], dims: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!dims.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

function reduce(prim: 'sum' | 'prod' | 'max' | 'min', x: Tensor, dim: Dims, keepdim: boolean, dtype: DType): Tensor {
  const dims = normDims(prim, dim, x.ndim).filter((d) => d < x.ndim); // a 0-d tensor accepts dim 0 and has no dim to reduce
  const attrs: ReduceAttrs = { dims, keepdim };
  return runKernel(prim, [x], attrs, reducedShape(x.shape, dims, keepdim), dtype);
}

function count(x: Tensor, dim: Dims): number {
  return normDims('count', dim, x.ndim).reduce((n, d) => n * (x.shape[d] ?? 1), 1);
}

const accType = (d: DType): DType => (isFloat(d) ? d : 'int32');

/** Sum over `dim` (one dim, several, or all when omitted). Integer and bool sums are int32. */
export function sum(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  return reduce('sum', x, dim, keepdim, accType(x.dtype));
}

export function prod(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  return reduce('prod', x, dim, keepdim, accType(x.dtype));
}

export function mean(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  normDims('mean', dim, x.ndim); // errors name mean, not the sum inside
  const xf = isFloat(x.dtype) ? x : cast(x, 'float32');
  return sum(xf, dim, keepdim).div(count(x, dim));
}

/** Variance; `unbiased` divides by n - 1 (Bessel's correction) as PyTorch does by default. */
export function variance(x: Tensor, dim?: number | readonly number[], unbiased = true, keepdim = false): Tensor {
  normDims('var', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : cast(x, 'float32');
  const d = sub(xf, mean(xf, dim, true));
  return sum(d.mul(d), dim, keepdim).div(Math.max(0, count(x, dim) - (unbiased ? 1 : 0)));
}

export function std(x: Tensor, dim?: number | readonly number[], unbiased = true, keepdim = false): Tensor {
  normDims('std', dim, x.ndim);
  return sqrt(variance(x, dim, unbiased, keepdim));
}

function checkNonEmpty(op: string, x: Tensor, dim: Dims): void {
  for (const d of normDims(op, dim, x.ndim)) {
    if (x.shape[d] === 0) throw new ShapeError(op, `cannot reduce over dim ${d} of size 0 (x ${fmt(x.shape)})`);
  }
  if (dim === undefined && x.size === 0) throw new ShapeError(op, `cannot reduce an empty tensor (x ${fmt(x.shape)})`);
}

/** Maximum values over `dim` (all when omitted). Gradient is shared among tied maxima. */
export function max(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  checkNonEmpty('max', x, dim);
  return reduce('max', x, dim, keepdim, x.dtype === 'bool' ? 'int32' : x.dtype);
}

export function min(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  checkNonEmpty('min', x, dim);
  return reduce('min', x, dim, keepdim, x.dtype === 'bool' ? 'int32' : x.dtype);
}

function argReduce(prim: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  checkNonEmpty(prim, x, dim);
  if (dim === undefined) {
    const flat = reshape(x, [x.size]);
    const r = runKernel(prim, [flat], { dim: 0, keepdim: false }, [], 'int32');
    return keepdim ? reshape(r, x.shape.map(() => 1)) : r;
  }
  const d = normDim(prim, dim, x.ndim);
  return runKernel(prim, [x], { dim: d, keepdim }, reducedShape(x.shape, [d], keepdim), 'int32');
}

/** Index of the first maximum along `dim` (of the flattened tensor when omitted), int32. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce('argmax', x, dim, keepdim);
}
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce('argmin', x, dim, keepdim);
}

/** log(sum(exp(x))) computed stably by subtracting the (detached) max first. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  const dims = normDims('logsumexp', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : cast(x, 'float32');
  const m = max(xf.detach(), dim, true);
  // an all -inf row would give -inf - -inf = NaN; shift by 0 there instead
  const shift = where(m.abs().eq(Infinity), 0, m);
  const s = log(sum(exp(sub(xf, shift)), dim, true)).add(shift);
  return keepdim ? s : reshape(s, reducedShape(x.shape, dims, false));
}

/** Running sum along `dim`. */
export function cumsum(x: Tensor, dim: number): Tensor {
  const d = normDim('cumsum', dim, x.ndim);
  return runKernel('cumsum', [x], { dim: d }, x.shape, accType(x.dtype));
}

/**
 * softmax along `dim`, computed in one fused kernel per row. A fully masked row (all -Infinity)
 * gives zeros, not NaN, as PyTorch's scaled_dot_product_attention, and a zero gradient.
 *
 *   softmax(scores.maskedFill(mask, -Infinity), -1); // attention weights; rows with no key are 0
 */
export function softmax(x: Tensor, dim: number): Tensor {
  const xf = isFloat(x.dtype) ? x : cast(x, 'float32');
  return runKernel('softmax', [xf], { dim: normDim('softmax', dim, x.ndim) }, x.shape, xf.dtype);
}

/**
 * log(softmax(x)) along `dim`, fused and stable. A fully masked row (all -Infinity) stays
 * -Infinity (PyTorch gives NaN); losses that ignore such rows select them out with `where`.
 *
 *   logSoftmax(logits, 1); // [N, C] log-probabilities
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  const xf = isFloat(x.dtype) ? x : cast(x, 'float32');
  return runKernel('logSoftmax', [xf], { dim: normDim('logSoftmax', dim, x.ndim) }, x.shape, xf.dtype);
}

/** True when every element is non-zero (0-d bool). */
export function all(x: Tensor): Tensor {
  return sum(logicalNot(x)).eq(0);
}
/** True when any element is non-zero (0-d bool). */
export function any(x: Tensor): Tensor {
  return sum(cast(x, 'bool')).gt(0);
}

/**
 * Layer normalisation over the trailing dims `normalizedShape` of x, as PyTorch's
 * `F.layer_norm`: (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.
 * One fused kernel per row computes the statistics, the normalisation and the affine map.
 *
 *   layerNorm(x, [128], w, b); // x [B, T, 128], w and b [128]
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  const op = 'layerNorm';
  const norm = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const axis = x.ndim - norm.length;
  if (norm.length === 0 || axis < 0 || norm.some((d, i) => d !== x.shape[axis + i])) {
    throw new ShapeError(op, `normalizedShape ${fmt(norm)} must be non-empty and match the last dims of x ${fmt(x.shape)}`);
  }
  if (!isFloat(x.dtype)) throw new DTypeError(op, `expected a float tensor x, got ${x.dtype} ${fmt(x.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (!t) continue;
    if (t.shape.length !== norm.length || t.shape.some((d, i) => d !== norm[i])) {
      throw new ShapeError(op, `${name} must have normalizedShape ${fmt(norm)}, got ${fmt(t.shape)} (x ${fmt(x.shape)})`);
    }
    if (t.dtype !== x.dtype) throw new DTypeError(op, `${name} is ${t.dtype} ${fmt(t.shape)} but x is ${x.dtype} ${fmt(x.shape)}`);
  }
  if (!Number.isFinite(eps)) throw new DLError(op, `eps must be a finite number, got ${eps}`);
  // the kernel takes weight before bias: a bias alone comes with a weight of ones
  const w = weight ?? (bias ? ones(norm, { dtype: x.dtype, device: x.device }) : null);
  const inputs = [x, ...(w ? [contiguous(w)] : []), ...(bias ? [contiguous(bias)] : [])];
  return runKernel('layerNorm', inputs, { axis, eps }, x.shape, x.dtype);
}
