import { DTypeError, IndexError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import { normDim, unravelIndex } from '../shape.js';
import { checkNotDisposed, type Tensor } from '../tensor.js';
import { arange, ones, zeros } from './creation.js';
import { cast } from './elementwise.js';
import { expand, reshape, slice, unsqueeze } from './movement.js';

function checkIndexTensor(op: string, index: Tensor): void {
  checkNotDisposed(op, index, 'index'); // before its values are read for the range check
  if (index.dtype !== 'int32') throw new DTypeError(op, `index must be int32, got ${index.dtype} ${fmt(index.shape)}`);
}

/**
 * The first value of `index` outside [0, n) and its position, on devices with synchronous reads
 * (the CPU; the index is read once, cheap next to the op). Other devices check in their kernels
 * and report at the next read, so this returns null there.
 */
function firstOutOfRange(index: Tensor, n: number): [number, number[]] | null {
  if (!index.storage.backend.readSync) return null;
  const v = index.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= n) return [v[i], unravelIndex(i, index.shape)];
  }
  return null;
}

/**
 * out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (and likewise for other dims);
 * out has index's shape, which may not exceed x's outside `dim`.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexTensor('gather', index);
  const d = normDim('gather', dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d && s > x.shape[i])) {
    throw new ShapeError('gather', `index ${fmt(index.shape)} must have x's rank and fit inside x ${fmt(x.shape)} outside dim ${d}`);
  }
  return runKernel('gather', [x, index], { dim: d }, index.shape, x.dtype);
}

/** Picks entries of x along `dim` by a 1-D int32 index. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexTensor('indexSelect', index);
  if (index.ndim > 1) throw new ShapeError('indexSelect', `index must be 1-D, got ${fmt(index.shape)}`);
  const d = normDim('indexSelect', dim, x.ndim);
  const bad = firstOutOfRange(index, x.shape[d]);
  if (bad) throw new IndexError('indexSelect', `index ${bad[0]} at ${fmt(bad[1])} of index ${fmt(index.shape)} is out of range [0, ${x.shape[d]}) for dim ${d} of x ${fmt(x.shape)}`);
  const shape = [...x.shape];
  shape[d] = index.size;
  const view = x.shape.map((_, i) => (i === d ? index.size : 1));
  // a stride-0 expansion of the index turns this into gather without copying the index
  return gather(x, d, expand(reshape(index, view), shape));
}

/** Copy of x with src added at positions index along dim (duplicates accumulate). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndexTensor('scatterAdd', index);
  const d = normDim('scatterAdd', dim, x.ndim);
  if (index.ndim !== x.ndim || src.ndim !== x.ndim || index.shape.some((s, i) => s > src.shape[i] || (i !== d && s > x.shape[i]))) {
    throw new ShapeError('scatterAdd', `index ${fmt(index.shape)} must have x's rank, fit inside src ${fmt(src.shape)}, and inside x ${fmt(x.shape)} outside dim ${d}`);
  }
  if (src.dtype !== x.dtype) src = cast(src, x.dtype);
  return runKernel('scatterAdd', [x, index, src], { dim: d }, x.shape, x.dtype);
}

/**
 * One-hot encoding of int32 class indices: [...] -> [..., numClasses] (int32, as PyTorch's
 * integer result). A class outside [0, numClasses) is an IndexError (on WebGPU at the next read).
 *
 *   oneHot(tensor(new Int32Array([2, 0])), 3); // [[0, 0, 1], [1, 0, 0]]
 */
export function oneHot(index: Tensor, numClasses: number): Tensor {
  checkIndexTensor('oneHot', index);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ShapeError('oneHot', `numClasses must be a positive integer, got ${numClasses}`);
  const bad = firstOutOfRange(index, numClasses);
  if (bad) throw new IndexError('oneHot', `class ${bad[0]} at ${fmt(bad[1])} of index ${fmt(index.shape)} is out of range [0, ${numClasses}) (numClasses ${numClasses})`);
  // a scatter, not a comparison with arange: the index kernels check the classes on every device
  const device = index.device;
  const base = zeros([...index.shape, numClasses], { dtype: 'int32', device }); // [..., C]
  const one = ones([...index.shape, 1], { dtype: 'int32', device }); // [..., 1]
  const at = unsqueeze(index, -1); // [..., 1]
  const out = scatterAdd(base, -1, at, one);
  for (const t of [base, one, at]) t.dispose();
  return out;
}

/** int32 indices that sort x along `dim` (stable: ties keep their order). */
export function argsort(x: Tensor, dim = -1, descending = false): Tensor {
  const d = normDim('argsort', dim, x.ndim);
  return runKernel('argsort', [x], { dim: d, descending }, x.shape, 'int32');
}

/** Sorted values and their original indices along `dim`. */
export function sort(x: Tensor, dim = -1, descending = false): { values: Tensor; indices: Tensor } {
  const d = normDim('sort', dim, x.ndim);
  if (x.ndim === 0) return { values: x, indices: arange(0, 1, 1, { device: x.device }).reshape([]) };
  const indices = argsort(x, d, descending);
  return { values: gather(x, d, indices), indices };
}

/** The k largest (or smallest) values along `dim`, in sorted order, with their indices. */
export function topk(x: Tensor, k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
  const d = normDim('topk', dim, x.ndim);
  const n = x.ndim === 0 ? 1 : x.shape[d];
  if (!Number.isInteger(k) || k < 0 || k > n) throw new ShapeError('topk', `k (${k}) must be in 0..${n} for dim ${d} of x ${fmt(x.shape)}`);
  const indices = slice(argsort(x, d, largest), d, 0, k);
  return { values: gather(x, d, indices), indices };
}
