import { isFloat, promoteTypes } from '../dtype.js';
import { DTypeError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import { broadcastShapes, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { expand, reshape, squeeze, unsqueeze } from './movement.js';

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

/** True when a's dims before the last merge into one without a copy (a view of [rows, k]). */
function rowsMerge(a: Tensor): boolean {
  if (sizeOf(a.shape) === 0) return false;
  for (let d = 0; d < a.ndim - 2; d++) {
    if (a.shape[d] !== 1 && a.strides[d] !== a.strides[d + 1] * a.shape[d + 1]) return false;
  }
  return true;
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
  // a [..., M, K] @ b [K, N] (a Linear layer): the batch folds into M, as PyTorch does. One larger
  // GEMM, and b's gradient comes out of one product instead of a product per batch entry and a sum.
  if (a.ndim > 2 && b.ndim === 2 && rowsMerge(a)) {
    const lead = a.shape.slice(0, -1);
    return reshape(matmul(reshape(a, [sizeOf(lead), k]), b), [...lead, n]);
  }
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const ae = broadcastTo(cast(a2, dtype), [...batch, m, k]);
  const be = broadcastTo(cast(b2, dtype), [...batch, k, n]);
  let out = runKernel('matmul', [ae, be], {}, [...batch, m, n], dtype);
  if (a.ndim === 1) out = squeeze(out, -2);
  if (b.ndim === 1) out = squeeze(out, -1);
  return out;
}
