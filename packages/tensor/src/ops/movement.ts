import { promoteTypes } from '../dtype.js';
import { DLError, IndexError, ShapeError, fmt } from '../errors.js';
import { runKernel, runView } from '../dispatch.js';
import { checkShape, contiguousStrides, normDim, normDims, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { arange, full } from './creation.js';
import { cast, where } from './elementwise.js';

/**
 * Strides that view (oldShape, oldStrides) as newShape without copying, or null when the layout
 * forbids it (the same rule as PyTorch's computeStride: merged dims must be contiguous chunks).
 */
function viewStrides(oldShape: readonly number[], oldStrides: readonly number[], newShape: readonly number[]): number[] | null {
  if (sizeOf(oldShape) === 0 || oldShape.length === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let base = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * base)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * base;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        base = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

/** Resolves one -1 entry and checks the element count. */
function inferShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg !== s.lastIndexOf(-1)) throw new ShapeError(op, `only one dim can be -1, got ${fmt(shape)}`);
  if (neg >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== neg));
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError(op, `cannot infer -1 in ${fmt(shape)} for x ${fmt(x.shape)} (${x.size} elements)`);
    s[neg] = x.size / rest;
  }
  checkShape(op, s);
  if (sizeOf(s) !== x.size) throw new ShapeError(op, `shape ${fmt(shape)} is invalid for x ${fmt(x.shape)} (${x.size} elements)`);
  return s;
}

/** A tensor with x's elements in `shape` (one dim may be -1); a view when strides allow, else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape('reshape', x, shape);
  let strides = viewStrides(x.shape, x.strides, s);
  if (strides === null) {
    x = contiguous(x);
    strides = contiguousStrides(s);
  }
  return runView('reshape', x, { shape: s }, s, strides, x.offset);
}

/** Like reshape, but never copies: throws when the layout forbids a view. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape('view', x, shape);
  const strides = viewStrides(x.shape, x.strides, s);
  if (strides === null) {
    throw new ShapeError('view', `x ${fmt(x.shape)} with strides ${fmt(x.strides)} cannot be viewed as ${fmt(s)}; use reshape() or contiguous() first`);
  }
  return runView('reshape', x, { shape: s }, s, strides, x.offset);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) throw new ShapeError('permute', `dims [${dims.join(',')}] must name each of the ${x.ndim} dims of x ${fmt(x.shape)}`);
  const d = dims.map((v) => normDim('permute', v, x.ndim));
  if (new Set(d).size !== d.length) throw new IndexError('permute', `dims [${dims.join(',')}] repeat a dim (x ${fmt(x.shape)})`);
  return runView('permute', x, { dims: d }, d.map((i) => x.shape[i]), d.map((i) => x.strides[i]), x.offset);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normDim('transpose', dim0, x.ndim, 'dim0');
  const b = normDim('transpose', dim1, x.ndim, 'dim1');
  const dims = [...Array(x.ndim).keys()];
  if (x.ndim === 0) return x;
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

/** Broadcasts size-1 dims (and new leading dims) to `shape` with stride 0; -1 keeps a dim. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) throw new ShapeError('expand', `target ${fmt(shape)} has fewer dims than x ${fmt(x.shape)}`);
  const lead = shape.length - x.ndim;
  const out: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const src = i < lead ? 1 : x.shape[i - lead];
    const t = shape[i] === -1 ? src : shape[i];
    if (i < lead && shape[i] === -1) throw new ShapeError('expand', `-1 is not allowed for new leading dim ${i} (target ${fmt(shape)})`);
    if (src !== t && src !== 1) throw new ShapeError('expand', `x ${fmt(x.shape)} cannot expand to ${fmt(shape)} (dim ${i}: ${src} vs ${t})`);
    out.push(t);
    strides.push(i < lead || (src === 1 && t !== 1) ? 0 : x.strides[i - lead]);
  }
  checkShape('expand', out);
  return runView('expand', x, { shape: out }, out, strides, x.offset);
}

/** Removes size-1 dims (all of them, or the given ones when they have size 1). */
export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  const dims = dim === undefined ? x.shape.map((_, i) => i).filter((i) => x.shape[i] === 1) : normDims('squeeze', dim, x.ndim).filter((i) => x.shape[i] === 1);
  const shape = x.shape.filter((_, i) => !dims.includes(i));
  const strides = x.strides.filter((_, i) => !dims.includes(i));
  return runView('reshape', x, { shape }, shape, strides, x.offset);
}

/** Inserts a size-1 dim at `dim` (in -(ndim+1)..ndim). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d] * x.shape[d] : 1);
  return runView('reshape', x, { shape }, shape, strides, x.offset);
}

/** Merges dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', startDim, x.ndim, 'startDim');
  const e = normDim('flatten', endDim, x.ndim, 'endDim');
  if (s > e) throw new IndexError('flatten', `startDim ${startDim} comes after endDim ${endDim} (x ${fmt(x.shape)})`);
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/**
 * x[start:end:step] along `dim` with Python semantics: negative indices count from the end,
 * out-of-range bounds clamp, a negative step walks backwards.
 */
export function slice(x: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  const d = normDim('slice', dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(step) || step === 0) throw new ShapeError('slice', `step must be a non-zero integer, got ${step}`);
  const norm = (v: number | undefined, dflt: number, lo: number, hi: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v)) throw new IndexError('slice', `bound ${v} must be an integer`);
    if (v < 0) v += n;
    return Math.min(Math.max(v, lo), hi);
  };
  let s: number;
  let len: number;
  if (step > 0) {
    s = norm(start, 0, 0, n);
    const e = norm(end, n, 0, n);
    len = Math.max(0, Math.ceil((e - s) / step));
  } else {
    s = norm(start, n - 1, -1, n - 1);
    const e = norm(end, -1, -1, n - 1);
    len = Math.max(0, Math.ceil((e - s) / step));
  }
  const shape = [...x.shape];
  shape[d] = len;
  const strides = [...x.strides];
  strides[d] = x.strides[d] * step;
  const starts = x.shape.map(() => 0);
  const steps = x.shape.map(() => 1);
  starts[d] = len > 0 ? s : 0;
  steps[d] = step;
  return runView('slice', x, { starts, steps, shape }, shape, strides, x.offset + (len > 0 ? s * x.strides[d] : 0));
}

/** `length` elements of `dim` from `start`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim('narrow', dim, x.ndim);
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || s < 0 || !Number.isInteger(length) || length < 0 || s + length > n) {
    throw new IndexError('narrow', `start ${start} + length ${length} exceeds dim ${d} of size ${n} (x ${fmt(x.shape)})`);
  }
  return slice(x, d, s, s + length);
}

/** x[index] along `dim`, removing that dim. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim('select', dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(index) || index < -n || index >= n) throw new IndexError('select', `index ${index} is out of range for dim ${d} of size ${n} (x ${fmt(x.shape)})`);
  const i = index < 0 ? index + n : index;
  return squeeze(slice(x, d, i, i + 1), d);
}

/** x itself when contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return runKernel('copy', [x], {}, x.shape, x.dtype);
}

/** Always a new contiguous copy. */
export function clone(x: Tensor): Tensor {
  return runKernel('copy', [x], {}, x.shape, x.dtype);
}

/** Reverses the order of elements along `dims` (a view with negative strides). */
export function flip(x: Tensor, dims: number | number[]): Tensor {
  let y = x;
  for (const d of normDims('flip', dims, x.ndim)) y = slice(y, d, undefined, undefined, -1);
  return y;
}

/** Tiles x: `reps` has one entry per dim (more entries add leading dims), as torch.Tensor.repeat. */
export function repeat(x: Tensor, reps: readonly number[]): Tensor {
  if (reps.length < x.ndim) throw new ShapeError('repeat', `reps [${reps.join(',')}] must have at least ${x.ndim} entries for x ${fmt(x.shape)}`);
  checkShape('repeat', reps, 'reps');
  const shape = [...Array(reps.length - x.ndim).fill(1), ...x.shape];
  // view as [1, s0, 1, s1, ...], expand to [r0, s0, r1, s1, ...], then merge pairs
  const inter: number[] = [];
  const expanded: number[] = [];
  shape.forEach((s, i) => {
    inter.push(1, s);
    expanded.push(reps[i], s);
  });
  return reshape(contiguous(expand(reshape(x, inter), expanded)), shape.map((s, i) => s * reps[i]));
}

/** Joins tensors along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('cat', 'expected at least one tensor');
  const ref = tensors[0];
  const d = normDim('cat', dim, ref.ndim);
  let dtype = ref.dtype;
  for (const t of tensors) {
    if (t.ndim !== ref.ndim || t.shape.some((s, i) => i !== d && s !== ref.shape[i])) {
      throw new ShapeError('cat', `tensors must match except in dim ${d}; got ${tensors.map((x) => fmt(x.shape)).join(', ')}`);
    }
    dtype = promoteTypes(dtype, t.dtype);
  }
  if (tensors.length === 1) return tensors[0];
  const shape = [...ref.shape];
  shape[d] = tensors.reduce((n, t) => n + t.shape[d], 0);
  return runKernel('cat', tensors.map((t) => cast(t, dtype)), { dim: d }, shape, dtype);
}

/** Joins tensors of one shape along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack', 'expected at least one tensor');
  const d = normDim('stack', dim, tensors[0].ndim + 1);
  for (const t of tensors) {
    if (t.ndim !== tensors[0].ndim || t.shape.some((s, i) => s !== tensors[0].shape[i])) {
      throw new ShapeError('stack', `all tensors must have one shape; got ${tensors.map((x) => fmt(x.shape)).join(', ')}`);
    }
  }
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Views of consecutive pieces along `dim`: of size `sizeOrSections`, or of the listed sizes. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim('split', dim, x.ndim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0) throw new ShapeError('split', `split size must be a positive integer, got ${sizeOrSections}`);
    sizes = [];
    for (let i = 0; i < n; i += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - i));
    if (n === 0) sizes = [0];
  } else {
    sizes = [...sizeOrSections];
    if (!sizes.every((v) => Number.isInteger(v) && v >= 0)) throw new ShapeError('split', `sections [${sizes.join(',')}] must be integers >= 0`);
    if (sizes.reduce((a, b) => a + b, 0) !== n) throw new ShapeError('split', `sections [${sizes.join(',')}] must sum to dim ${d} of size ${n} (x ${fmt(x.shape)})`);
  }
  let at = 0;
  return sizes.map((s) => {
    const part = slice(x, d, at, at + s);
    at += s;
    return part;
  });
}

/** Splits into `chunks` pieces of size ceil(n / chunks) (the last may be smaller). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ShapeError('chunk', `chunks must be a positive integer, got ${chunks}`);
  const d = normDim('chunk', dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

/**
 * Pads the last dims: `pads` = [left, right] for the last dim, then [top, bottom] for the one
 * before, ... (PyTorch's F.pad order). Modes: constant (with `value`) and reflect.
 */
export function pad(x: Tensor, pads: readonly number[], mode: 'constant' | 'reflect' = 'constant', value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new ShapeError('pad', `pads [${pads.join(',')}] must hold (before, after) pairs for at most ${x.ndim} dims of x ${fmt(x.shape)}`);
  }
  if (!pads.every(Number.isInteger)) throw new ShapeError('pad', `pads [${pads.join(',')}] must be integers`);
  let y = x;
  // negative pads crop
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.ndim - 1 - i;
    const [lo, hi] = [pads[2 * i], pads[2 * i + 1]];
    if (lo < 0 || hi < 0) y = slice(y, d, Math.max(0, -lo), y.shape[d] - Math.max(0, -hi));
  }
  if (mode === 'reflect') {
    for (let i = 0; i < pads.length / 2; i++) {
      const d = x.ndim - 1 - i;
      const [lo, hi] = [Math.max(0, pads[2 * i]), Math.max(0, pads[2 * i + 1])];
      const n = y.shape[d];
      if (lo >= n || hi >= n) throw new ShapeError('pad', `reflect padding (${lo}, ${hi}) must be smaller than dim ${d} of size ${n} (x ${fmt(x.shape)})`);
      const parts = [];
      if (lo > 0) parts.push(flip(slice(y, d, 1, 1 + lo), d));
      parts.push(y);
      if (hi > 0) parts.push(flip(slice(y, d, n - 1 - hi, n - 1), d));
      y = cat(parts, d);
    }
    return y;
  }
  if (mode !== 'constant') throw new DLError('pad', `unknown mode '${String(mode)}' (constant or reflect)`);
  const shape = [...y.shape];
  const starts = y.shape.map(() => 0);
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.ndim - 1 - i;
    const [lo, hi] = [Math.max(0, pads[2 * i]), Math.max(0, pads[2 * i + 1])];
    shape[d] += lo + hi;
    starts[d] = lo;
  }
  if (starts.every((s) => s === 0) && shape.every((s, i) => s === y.shape[i])) return y;
  const base = full(shape, value, { dtype: y.dtype, device: y.device });
  return runKernel('sliceScatter', [base, y], { starts, steps: shape.map(() => 1) }, shape, y.dtype);
}

function triMask(x: Tensor, k: number, lower: boolean): Tensor {
  if (x.ndim < 2) throw new ShapeError(lower ? 'tril' : 'triu', `x must have at least 2 dims, got ${fmt(x.shape)}`);
  const [m, n] = x.shape.slice(-2);
  const rows = reshape(arange(0, m, 1, { device: x.device }), [m, 1]);
  const cols = reshape(arange(0, n, 1, { device: x.device }), [1, n]);
  const diff = cols.sub(rows); // [m, n]: j - i
  return lower ? diff.le(k) : diff.ge(k);
}

/** Keeps the lower triangle (j - i <= k), zeroing the rest; works on batches of matrices. */
export function tril(x: Tensor, k = 0): Tensor {
  return where(triMask(x, k, true), x, 0);
}
/** Keeps the upper triangle (j - i >= k). */
export function triu(x: Tensor, k = 0): Tensor {
  return where(triMask(x, k, false), x, 0);
}

/**
 * Copy of `base` whose strided region (per-dim `starts` and `steps`, src's shape) holds `src`:
 * the out-of-place form of `base[s0::k0, s1::k1, ...] = src` (the gradient of slicing).
 */
export function sliceScatter(base: Tensor, src: Tensor, starts: readonly number[], steps: readonly number[]): Tensor {
  if (src.ndim !== base.ndim || starts.length !== base.ndim || steps.length !== base.ndim) {
    throw new ShapeError('sliceScatter', `base ${fmt(base.shape)}, src ${fmt(src.shape)}, starts [${starts.join(',')}] and steps [${steps.join(',')}] must have one rank`);
  }
  for (let d = 0; d < base.ndim; d++) {
    const last = starts[d] + (src.shape[d] - 1) * steps[d];
    if (src.shape[d] > 0 && (starts[d] < 0 || starts[d] >= base.shape[d] || last < 0 || last >= base.shape[d])) {
      throw new IndexError('sliceScatter', `region of dim ${d} (start ${starts[d]}, step ${steps[d]}, ${src.shape[d]} items) leaves base ${fmt(base.shape)}`);
    }
  }
  return runKernel('sliceScatter', [base, cast(src, base.dtype)], { starts: [...starts], steps: [...steps] }, base.shape, base.dtype);
}
