import { isFloat } from '../dtype.js';
import { DLError, DTypeError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import type { Tensor } from '../tensor.js';
import { ones } from './creation.js';
import { contiguous } from './movement.js';

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
