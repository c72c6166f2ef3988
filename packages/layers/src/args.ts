import { DLError, ShapeError } from '@dl/tensor';

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

/** A value as messages show it: strings quoted, arrays bracketed (`[0.9,2]`), the rest as String(v). */
export function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.map(show).join(',')}]` : String(v);
}

/**
 * Checks a numeric argument (eps, momentum, a learning rate, a factor): a finite number in the
 * range from `lo` to `hi`, `bounds` saying which ends are included; else a DLError naming the
 * function or layer and the argument.
 *
 *   checkNumber('Adam', 'betas[0]', 1.5, 0, 1, '[)'); // DLError: Adam: betas[0] must be in [0, 1), got 1.5
 *   checkNumber('SGD', 'lr', -1);                   // DLError: SGD: lr must be a finite number >= 0, got -1
 */
export function checkNumber(op: string, name: string, v: unknown, lo = 0, hi = Infinity, bounds: '[]' | '[)' | '(]' = '[]'): void {
  if (typeof v === 'number' && Number.isFinite(v) && (bounds === '(]' ? v > lo : v >= lo) && (bounds === '[)' ? v < hi : v <= hi)) return;
  let range: string;
  if (hi === Infinity) range = lo === -Infinity ? 'a finite number' : `a finite number ${bounds === '(]' ? '>' : '>='} ${lo}`;
  else range = `in ${bounds[0]}${lo}, ${hi}${bounds[1]}`;
  throw new DLError(op, `${name} must be ${range}, got ${show(v)}`);
}

/** Checks a count (steps, patience, a seed): an integer >= min (0 or 1), else a DLError naming the argument. */
export function checkInt(op: string, name: string, v: unknown, min: 0 | 1 = 0): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new DLError(op, `${name} must be a ${min ? 'positive' : 'non-negative'} integer, got ${show(v)}`);
  }
}

/** Checks a flag: true or false (a string 'false' would read as true), else a DLError naming it. */
export function checkFlag(op: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new DLError(op, `${name} must be true or false, got ${show(v)}`);
}

/** Checks an option with named values: `mode must be 'min' or 'max', got 'avg'`. */
export function checkChoice(op: string, name: string, v: unknown, choices: readonly string[]): void {
  if (typeof v === 'string' && choices.includes(v)) return;
  const list = choices.map((c) => `'${c}'`);
  throw new DLError(op, `${name} must be ${list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}` : list[0]}, got ${show(v)}`);
}
