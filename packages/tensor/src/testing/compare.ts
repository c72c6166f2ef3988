import type { Tensor } from '../tensor.js';

/** Tolerances of assertClose: |actual - expected| <= atol + rtol * |expected|, as torch.testing. */
export interface CloseOptions {
  rtol?: number;
  atol?: number;
}

/**
 * Throws unless `actual` and `expected` have the same shape and every element is within
 * `atol + rtol * |expected|` (equal values, infinities included, and NaN against NaN pass). The
 * message names `what`, the worst element, its index, the shape and how many elements fail.
 * Synchronous: both tensors must be readable with dataSync (read WebGPU tensors with `.to('cpu')`
 * after `await` or use `assertCloseAsync`).
 *
 *   assertClose(model.forward(x), fixture.y, 'logits', { atol: 1e-5 });
 */
export function assertClose(actual: Tensor, expected: Tensor, what = 'tensor', opts: CloseOptions = {}): void {
  const problem = closeProblem(actual.shape, actual.dataSync(), expected.shape, expected.dataSync(), what, opts);
  if (problem) throw new Error(problem);
}

/** assertClose for tensors on a device that reads asynchronously (WebGPU). */
export async function assertCloseAsync(actual: Tensor, expected: Tensor, what = 'tensor', opts: CloseOptions = {}): Promise<void> {
  const problem = closeProblem(actual.shape, await actual.data(), expected.shape, await expected.data(), what, opts);
  if (problem) throw new Error(problem);
}

/** Largest |a - b| over all elements; throws when the shapes differ. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`maxAbsDiff: shapes differ: [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** Largest |t| over all elements (0 for an empty tensor). */
export function maxAbs(t: Tensor): number {
  let m = 0;
  for (const v of t.dataSync()) m = Math.max(m, Math.abs(v));
  return m;
}

function closeProblem(shapeA: readonly number[], a: ArrayLike<number>, shapeB: readonly number[], b: ArrayLike<number>, what: string, { rtol = 1e-4, atol = 1e-5 }: CloseOptions): string | null {
  if (shapeA.join() !== shapeB.join()) return `${what}: shape [${shapeA.join(', ')}], expected [${shapeB.join(', ')}]`;
  let worst = -1;
  let excess = 0;
  let failing = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const d = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (d <= 0) continue;
    failing++;
    const e = Number.isNaN(d) ? Infinity : d;
    if (worst < 0 || e > excess) [worst, excess] = [i, e];
  }
  if (worst < 0) return null;
  return `${what}: ${failing} of ${a.length} elements differ beyond rtol ${rtol}, atol ${atol}; worst at flat index ${worst}: ${a[worst]}, expected ${b[worst]} (shape [${shapeA.join(', ')}])`;
}
