import { ShapeError } from '@dl/tensor';

/**
 * Checks a layer's size argument (features, channels, heads): a positive integer, else a
 * ShapeError naming the layer and the argument.
 *
 *   checkSize('Linear', 'inFeatures', 0); // ShapeError: Linear: inFeatures must be a positive integer, got 0
 */
export function checkSize(layer: string, arg: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ShapeError(layer, `${arg} must be a positive integer, got ${JSON.stringify(v)}`);
}

/**
 * Checks a per-dim argument (kernel size, stride, padding, dilation): a number or a `dims`-long
 * array of integers >= `min` (0 or 1), else a ShapeError naming the layer and the argument (`or`:
 * the other values it may take). Returns the per-dim values.
 *
 *   checkDims('Conv2d', 'kernelSize', 0, 2, 1); // ShapeError: Conv2d: kernelSize must be positive integers, got 0
 */
export function checkDims(layer: string, arg: string, v: number | readonly number[], dims: number, min: 0 | 1, or = ''): number[] {
  const all = typeof v === 'number' ? new Array<number>(dims).fill(v) : Array.isArray(v) ? [...v] : [];
  if (all.length !== dims || !all.every((x) => Number.isInteger(x) && x >= min)) {
    const one = dims === 1;
    const what = min ? (one ? 'a positive integer' : 'positive integers') : one ? 'a non-negative integer' : 'non-negative integers';
    throw new ShapeError(layer, `${arg} must be ${what}${or}, got ${JSON.stringify(v)}`);
  }
  return all;
}
