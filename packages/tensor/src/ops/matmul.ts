import { isFloat, promoteTypes } from '../dtype.js';
import { DTypeError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import { broadcastShapes, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { expand, squeeze, unsqueeze } from './movement.js';

/**
 * Matrix product with PyTorch's rules: 1-D operands are promoted to a row/column and the added
 * dim removed again; batch dims broadcast.
 *
 *   matmul(a [2,3], b [3,4])        // [2,4]
 *   matmul(a [8,1,2,3], b [5,3,4])  // [8,5,2,4]
 */
function broadcastTo(x: Tensor, shape: number[]): Tensor {
  return shapesEqual(x.shape, shape) ? x : expand(x, shape);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError('matmul', `both arguments need at least 1 dim; a=${fmt(a.shape)} b=${fmt(b.shape)}`);
  }
  const dtype = promoteTypes(a.dtype, b.dtype);
  if (!isFloat(dtype) && dtype !== 'int32') throw new DTypeError('matmul', `unsupported dtype ${dtype}; a=${fmt(a.shape)} b=${fmt(b.shape)}`);
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const [m, k] = a2.shape.slice(-2);
  const [k2, n] = b2.shape.slice(-2);
  if (k !== k2) {
    throw new ShapeError('matmul', `a.shape[-1] (${a.shape[a.ndim - 1]}) must equal b.shape[${b.ndim === 1 ? -1 : -2}] (${b.shape[Math.max(0, b.ndim - 2)]}); a=${fmt(a.shape)} b=${fmt(b.shape)}`);
  }
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const ae = broadcastTo(cast(a2, dtype), [...batch, m, k]);
  const be = broadcastTo(cast(b2, dtype), [...batch, k, n]);
  let out = runKernel('matmul', [ae, be], {}, [...batch, m, n], dtype);
  if (a.ndim === 1) out = squeeze(out, -2);
  if (b.ndim === 1) out = squeeze(out, -1);
  return out;
}
