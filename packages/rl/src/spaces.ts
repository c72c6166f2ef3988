import { RLValueError } from './errors.js';
import { Rng } from './rng.js';

/** A set of valid observations or actions, as gymnasium.spaces. */
export interface Space<T> {
  /** a random element (seed the space with `seed()` for a repeatable stream) */
  sample(): T;
  contains(x: unknown): x is T;
  seed(seed: number): void;
  toString(): string;
}

/**
 * The integers start, ..., start + n - 1, as gymnasium.spaces.Discrete.
 *
 *   const s = new Discrete(2);
 *   s.contains(1); // true
 *   s.contains(2); // false
 */
export class Discrete implements Space<number> {
  #rng = new Rng(0);
  constructor(
    readonly n: number,
    readonly start = 0,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RLValueError('Discrete', `n must be a positive integer, got ${n}`);
    if (!Number.isInteger(start)) throw new RLValueError('Discrete', `start must be an integer, got ${start}`);
  }
  sample(): number {
    return this.start + this.#rng.integer(this.n);
  }
  contains(x: unknown): x is number {
    return typeof x === 'number' && Number.isInteger(x) && x >= this.start && x < this.start + this.n;
  }
  seed(seed: number): void {
    this.#rng = new Rng(seed);
  }
  toString(): string {
    return this.start === 0 ? `Discrete(${this.n})` : `Discrete(${this.n}, start=${this.start})`;
  }
}

/**
 * A float32 box low <= x <= high (elementwise; bounds may be infinite), as gymnasium.spaces.Box.
 * Elements are flat Float32Arrays of `shape`'s size.
 *
 *   const s = new Box([-1, -2], [1, 2]);
 *   s.sample();                              // Float32Array(2) inside the bounds
 *   s.contains(new Float32Array([0, 3]));    // false
 */
export class Box implements Space<Float32Array> {
  readonly low: Float32Array;
  readonly high: Float32Array;
  readonly shape: number[];
  #rng = new Rng(0);

  constructor(low: ArrayLike<number> | number, high: ArrayLike<number> | number, shape?: readonly number[]) {
    const size = shape ? shape.reduce((a, b) => a * b, 1) : typeof low === 'number' ? (typeof high === 'number' ? 1 : high.length) : low.length;
    this.shape = shape ? [...shape] : [size];
    this.low = typeof low === 'number' ? new Float32Array(size).fill(low) : Float32Array.from(low);
    this.high = typeof high === 'number' ? new Float32Array(size).fill(high) : Float32Array.from(high);
    if (this.low.length !== size || this.high.length !== size) {
      throw new RLValueError('Box', `low (${this.low.length}) and high (${this.high.length}) must have shape [${this.shape}] (${size} values)`);
    }
    for (let i = 0; i < size; i++) {
      if (!(this.low[i] <= this.high[i])) throw new RLValueError('Box', `low[${i}] (${this.low[i]}) must be <= high[${i}] (${this.high[i]})`);
    }
  }

  get size(): number {
    return this.low.length;
  }

  /** Uniform where both bounds are finite, low + Exp(1) / high - Exp(1) where one is, N(0, 1) where none is. */
  sample(): Float32Array {
    const out = new Float32Array(this.size);
    for (let i = 0; i < out.length; i++) {
      const lo = this.low[i];
      const hi = this.high[i];
      const r = this.#rng;
      if (Number.isFinite(lo) && Number.isFinite(hi)) out[i] = r.uniform(lo, hi);
      else if (Number.isFinite(lo)) out[i] = lo - Math.log(1 - r.uniform());
      else if (Number.isFinite(hi)) out[i] = hi + Math.log(1 - r.uniform());
      else out[i] = r.normal();
      // float32 rounding can step just past a bound
      out[i] = Math.min(Math.max(out[i], lo), hi);
    }
    return out;
  }

  contains(x: unknown): x is Float32Array {
    if (!(x instanceof Float32Array) || x.length !== this.size) return false;
    for (let i = 0; i < x.length; i++) if (!(x[i] >= this.low[i] && x[i] <= this.high[i])) return false;
    return true;
  }

  seed(seed: number): void {
    this.#rng = new Rng(seed);
  }

  toString(): string {
    return `Box([${Array.from(this.low)}], [${Array.from(this.high)}], [${this.shape}])`;
  }
}
