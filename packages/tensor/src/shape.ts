import { IndexError, ShapeError, fmt } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor of `shape`. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** True when `strides` address `shape` row-major without gaps (size-1 dims may have any stride). */
export function isContiguousLayout(shape: Shape, strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

/** The most elements a tensor holds: int32 indices (argmax, gather) must address every one. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * Rejects NaN, fractional and negative sizes and more than MAX_ELEMENTS elements, so no op ever
 * allocates from a bad shape: `checkShape('full', [2, -1])` throws a ShapeError naming full.
 */
export function checkShape(op: string, shape: Shape, arg = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new ShapeError(op, `${arg} must be an array of sizes, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(op, `${arg} ${fmt(shape)} has an invalid size ${String(d)}; sizes are integers >= 0`);
    }
  }
  checkNumel(op, shape, arg);
  return [...shape];
}

/**
 * Throws a ShapeError naming `op` when a result of `shape` would hold more than MAX_ELEMENTS:
 * checked before any allocation (a typed array that large could take all the memory there is).
 */
export function checkNumel(op: string, shape: Shape, arg = 'shape'): void {
  const n = sizeOf(shape);
  if (n > MAX_ELEMENTS) throw new ShapeError(op, `${arg} ${fmt(shape)} has ${n} elements; a tensor holds at most ${MAX_ELEMENTS} (2^31 - 1)`);
}

/** NumPy/PyTorch broadcasting of any number of shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let i = 0; i < rank; i++) {
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (out[i] === 1) out[i] = d;
      else if (out[i] !== d) {
        throw new ShapeError(op, `shapes ${shapes.map(fmt).join(' and ')} cannot be broadcast together (dim ${i - rank})`);
      }
    }
  }
  if (sizeOf(out) > MAX_ELEMENTS) {
    throw new ShapeError(op, `shapes ${shapes.map(fmt).join(' and ')} broadcast to ${fmt(out)}, ${sizeOf(out)} elements; a tensor holds at most ${MAX_ELEMENTS} (2^31 - 1)`);
  }
  return out;
}

/** Maps a possibly negative dim into [0, rank). */
export function normDim(op: string, dim: number, rank: number, arg = 'dim'): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new IndexError(op, `${arg} ${dim} is out of range for a tensor of rank ${rank} (expected ${-r}..${r - 1})`);
  }
  return dim < 0 ? dim + r : dim;
}

/** Normalises a dim list (undefined = all dims), sorted and without duplicates. */
export function normDims(op: string, dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return [...Array(rank).keys()];
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normDim(op, d, rank));
  if (new Set(out).size !== out.length) throw new IndexError(op, `dims [${list.join(',')}] contain a repeated dim`);
  return out.sort((a, b) => a - b);
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The coordinates of flat (row-major) position `pos` in `shape`: unravelIndex(5, [2, 3]) is [1, 2]. */
export function unravelIndex(pos: number, shape: Shape): number[] {
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    at[d] = pos % shape[d];
    pos = Math.floor(pos / shape[d]);
  }
  return at;
}
