import { getBackend, getDefaultDevice } from '../backend.js';
import { checkDTypeName, isFloat, type DType } from '../dtype.js';
import { DLError, DTypeError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import { scope } from '../memory.js';
import { generator as globalGenerator, type Generator } from '../rng.js';
import { checkShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { arange, tensor, type TensorOptions } from './creation.js';
import { where } from './elementwise.js';
import { topk } from './indexing.js';
import { argmax, cumsum } from './reduce.js';

/** Options of the random ops: `generator` draws from a stream of its own instead of the global one. */
export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

function random(kind: 'randomUniform' | 'randomNormal', op: string, shape: readonly number[], opts: RandomOptions): Tensor {
  const s = checkShape(op, shape);
  const dtype = opts.dtype ?? 'float32';
  checkDTypeName(op, dtype);
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16') throw new DTypeError(op, `dtype must be a float type, got ${dtype}`);
  const device = opts.device ?? getDefaultDevice();
  const gen = opts.generator ?? globalGenerator;
  const counter = gen.takeCounters(sizeOf(s));
  const attrs = { shape: s, dtype, device, key: [gen.key[0], gen.key[1]] as [number, number], counter };
  return finish(runKernel(kind, [], attrs, s, dtype, device), opts);
}

/**
 * Uniform [0, 1) numbers from the seeded counter-based generator (see manualSeed, Generator).
 *
 *   rand([2, 3]);
 *   rand([4], { generator: new Generator(1), device: 'webgpu' });
 */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return random('randomUniform', 'rand', shape, opts);
}

/**
 * Standard normal numbers from the seeded counter-based generator.
 *
 *   randn([2, 3]);
 *   randn([4], { generator: g });
 */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return random('randomNormal', 'randn', shape, opts);
}

/**
 * Integers uniform in [low, high), int32.
 *
 *   randint(0, 10, [5]);
 */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ShapeError('randint', `expected integers low < high, got low=${low} high=${high}`);
  }
  if (opts.dtype !== undefined) checkDTypeName('randint', opts.dtype);
  const u = rand(shape, { device: opts.device, generator: opts.generator });
  const r = u.mul(high - low).floor().add(low);
  u.dispose();
  const out = r.cast(opts.dtype ?? 'int32');
  if (out !== r) r.dispose();
  return out;
}

/**
 * A random permutation of 0..n-1 (int32), drawn on the host from the generator (see
 * Generator.permutation), so it is the same on every device.
 *
 *   randperm(5); // e.g. [3, 0, 4, 1, 2]
 */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  checkShape('randperm', [n], 'n');
  const p = (opts.generator ?? globalGenerator).permutation(n);
  return tensor(p, { dtype: opts.dtype ?? 'int32', device: opts.device, requiresGrad: opts.requiresGrad });
}

function checkFloat(op: string, name: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new DTypeError(op, `${name} must be a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
}

/** Host values of x when its device reads synchronously; WebGPU skips value checks (no stall). */
function hostValues(x: Tensor): ArrayLike<number> | undefined {
  return getBackend(x.device, 'random').readSync ? x.dataSync() : undefined;
}

/**
 * 1 with probability p, else 0, elementwise (torch.bernoulli); the result has p's shape and dtype.
 * On devices that read synchronously (CPU), p outside [0, 1] throws.
 *
 *   bernoulli(full([3, 3], 0.2));                 // about 20% ones
 *   bernoulli(p, { generator: new Generator(0) });
 */
export function bernoulli(p: Tensor, opts: { generator?: Generator } = {}): Tensor {
  checkFloat('bernoulli', 'p', p);
  const v = hostValues(p);
  if (v) {
    for (let i = 0; i < v.length; i++) {
      if (!(v[i] >= 0 && v[i] <= 1)) throw new DLError('bernoulli', `p must be in [0, 1]; element ${i} of p ${fmt(p.shape)} is ${v[i]}`);
    }
  }
  return scope(() => {
    const u = rand(p.shape, { device: p.device, dtype: p.dtype, generator: opts.generator });
    return u.lt(p.detach()).cast(p.dtype);
  });
}

export interface MultinomialOptions {
  /** draw with replacement (default false, as torch.multinomial) */
  replacement?: boolean;
  generator?: Generator;
  /** int32 (default) or another dtype for the indices */
  dtype?: DType;
}

/** Value checks of multinomial's rows (R, C) on the host: torch's errors, same conditions. */
function checkRows(v: ArrayLike<number>, rows: number, cats: number, numSamples: number, replacement: boolean, shape: readonly number[]): void {
  for (let r = 0; r < rows; r++) {
    let total = 0;
    let positive = 0;
    for (let c = 0; c < cats; c++) {
      const x = v[r * cats + c];
      if (!(x >= 0) || x === Infinity) throw new DLError('multinomial', `probabilities must be finite and non-negative; row ${r} of probs ${fmt(shape)} has ${x} at ${c}`);
      total += x;
      if (x > 0) positive++;
    }
    if (total === 0) throw new DLError('multinomial', `row ${r} of probs ${fmt(shape)} sums to 0`);
    if (!replacement && positive < numSamples) {
      throw new DLError('multinomial', `row ${r} of probs ${fmt(shape)} has ${positive} non-zero categories, fewer than numSamples (${numSamples}) without replacement`);
    }
  }
}

/**
 * Draws `numSamples` category indices per row of `probs` (1-D [C] or 2-D [R, C]; rows need not sum
 * to 1), as torch.multinomial: int32 [numSamples] or [R, numSamples]. Without replacement each row
 * gives distinct categories. Built from existing primitives, so it runs on every backend; on
 * devices that read synchronously (CPU), negative or non-finite probabilities, rows summing to 0
 * and too few non-zero categories throw, as in PyTorch. With replacement every draw is compared
 * with every running total, R * numSamples * C booleans: draw very many samples in slices.
 *
 *   multinomial(tensor([0.1, 0.6, 0.3]), 4, { replacement: true }); // e.g. [1, 1, 2, 1]
 *   multinomial(tensor([[1, 1, 0, 2]]), 2);                          // two distinct of {0, 1, 3}
 */
export function multinomial(probs: Tensor, numSamples: number, opts: MultinomialOptions = {}): Tensor {
  const { replacement = false, generator } = opts;
  checkFloat('multinomial', 'probs', probs);
  if (probs.ndim !== 1 && probs.ndim !== 2) throw new ShapeError('multinomial', `probs must be 1-D or 2-D, got ${fmt(probs.shape)}`);
  const rows = probs.ndim === 2 ? probs.shape[0] : 1;
  const cats = probs.shape[probs.ndim - 1];
  if (cats === 0) throw new ShapeError('multinomial', `probs ${fmt(probs.shape)} has no categories`);
  if (!Number.isInteger(numSamples) || numSamples < 1) throw new ShapeError('multinomial', `numSamples must be a positive integer, got ${numSamples}`);
  if (!replacement && numSamples > cats) {
    throw new ShapeError('multinomial', `cannot draw numSamples (${numSamples}) > categories (${cats}) without replacement; probs ${fmt(probs.shape)}`);
  }
  const v = hostValues(probs);
  if (v) checkRows(v, rows, cats, numSamples, replacement, probs.shape);
  const device = probs.device;
  const idx = scope(() => {
    const p = probs.detach().reshape([rows, cats]); // (R, C)
    const positive = p.gt(0);
    let out: Tensor;
    if (replacement) {
      // inverse CDF: sample s of row r is the first category whose running total passes u*total
      const cdf = cumsum(p, 1); // (R, C)
      const total = cdf.slice(1, cats - 1, cats); // (R, 1)
      const x = rand([rows, numSamples], { device, dtype: cdf.dtype, generator }).mul(total); // (R, S)
      // A parallel scan may round a zero step up or the total past the last non-zero running
      // total, so the pick is made robust rather than counted: among non-zero categories, the first
      // whose total passes x scores highest (2C - c), else the last one does (c).
      const col = arange(cats, undefined, 1, { device }); // (C)
      const passes = cdf.unsqueeze(1).gt(x.unsqueeze(2)); // (R, S, C)
      const score = where(passes, col.neg().add(2 * cats), col); // (R, S, C)
      out = argmax(where(positive.unsqueeze(1), score, -1), 2); // (R, S)
    } else {
      // exponential race (Gumbel-top-k): category c arrives at E_c / p_c with E_c ~ Exp(1); the
      // first numSamples arrivals are a draw without replacement. -log(1 - u) is in [0, 16.7].
      const u = rand([rows, cats], { device, dtype: p.dtype, generator }); // (R, C)
      const e = u.neg().add(1).log().neg(); // (R, C)
      // a zero-probability category ranks last even when p/E underflows or is 0/0
      const key = where(positive, p.div(e), -1); // (R, C)
      out = topk(key, numSamples, 1).indices; // (R, S)
    }
    const shaped = probs.ndim === 1 ? out.reshape([numSamples]) : out;
    return shaped.cast(opts.dtype ?? 'int32');
  });
  return idx;
}
