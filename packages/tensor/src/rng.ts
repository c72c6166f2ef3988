/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): a counter-based
 * generator, so element i of a random tensor depends only on (key, counter + floor(i/4), lane i%4)
 * and every backend computes the same numbers without sharing state.
 *
 * The counter is a JS integer below 2^53 (the stream lasts 2^55 numbers); Philox sees it as the
 * 128-bit counter (low 32 bits, high bits, 0, 0), so counters below 2^32 give the numbers they
 * always gave.
 */
import { DLError } from './errors.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO32 = 4294967296;

/** High 32 bits of the 64-bit product of two uint32 (Math.imul gives the low half). */
function mulhi(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const ll = aL * bL;
  const lh = aL * bH;
  const hl = aH * bL;
  const hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Writes the 4 uint32 outputs of Philox4x32-10 for `counter` (an integer below 2^53, split into
 * the words (low 32 bits, high bits, 0, 0)) and key (k0, k1).
 *
 *   const r = new Uint32Array(4);
 *   philox(2 ** 32, 1, 2, r); // differs from philox(0, 1, 2, r)
 */
export function philox(counter: number, k0: number, k1: number, out: Uint32Array): void {
  let x0 = counter >>> 0; // ToUint32 keeps the low 32 bits of any integer below 2^53
  let x1 = Math.floor(counter / TWO32) >>> 0;
  let x2 = 0;
  let x3 = 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ k0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ k1) >>> 0;
    x3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/** uint32 -> float in [0, 1) using the top 24 bits, exact in float32 on every backend. */
export function toUniform(u: number): number {
  return (u >>> 8) * 5.960464477539063e-8;
}

/**
 * Fills `out` with uniform [0,1) numbers for elements [0, n) from (key, counter).
 *
 *   fillUniform(new Float32Array(8), [1, 2], 0);
 */
export function fillUniform(out: Float32Array | Float64Array, key: [number, number], counter: number): void {
  const r = new Uint32Array(4);
  const n = out.length;
  for (let i = 0; i < n; i += 4) {
    philox(counter + i / 4, key[0], key[1], r);
    for (let l = 0; l < 4 && i + l < n; l++) out[i + l] = toUniform(r[l]);
  }
}

/**
 * Fills `out` with standard normals by Box-Muller: lanes (0,1) and (2,3) of each counter form pairs.
 *
 *   fillNormal(new Float32Array(8), [1, 2], 0);
 */
export function fillNormal(out: Float32Array | Float64Array, key: [number, number], counter: number): void {
  const r = new Uint32Array(4);
  const n = out.length;
  for (let i = 0; i < n; i += 4) {
    philox(counter + i / 4, key[0], key[1], r);
    for (let p = 0; p < 4; p += 2) {
      // u1 in (0, 1] so log(u1) is finite
      const u1 = ((r[p] >>> 8) + 1) * 5.960464477539063e-8;
      const u2 = toUniform(r[p + 1]);
      const rad = Math.sqrt(-2 * Math.log(u1));
      const th = 6.283185307179586 * u2;
      if (i + p < n) out[i + p] = rad * Math.cos(th);
      if (i + p + 1 < n) out[i + p + 1] = rad * Math.sin(th);
    }
  }
}

/** What `Generator.getState()` returns: plain numbers, so it goes into a JSON checkpoint. */
export interface GeneratorState {
  /** Philox key (two uint32) */
  key: [number, number];
  /** next unused Philox counter (an integer below 2^53) */
  counter: number;
}

const isU32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) < TWO32;
const isCounter = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * A random stream of its own (torch.Generator): a Philox key and the next unused counter. Every
 * random op takes one as `{ generator }`; without it they use the global `generator`, which
 * `manualSeed` seeds. Two generators never disturb each other, whatever order their ops run in.
 *
 *   const g = new Generator(42);
 *   const a = randn([3], { generator: g });
 *   const saved = g.getState();
 *   const b = randn([3], { generator: g });
 *   g.setState(saved);
 *   randn([3], { generator: g }); // same numbers as b
 */
export class Generator {
  /** Philox key, set from the seed */
  key: [number, number] = [0x2545f491, 0x4f6cdd1d];
  /** next unused Philox counter; each counter gives 4 numbers */
  counter = 0;

  /** Without a seed, the generator starts where an unseeded global generator starts. */
  constructor(seed?: number) {
    if (seed !== undefined) this.manualSeed(seed);
  }

  /**
   * Restarts the stream from `seed` (a finite number; its integer magnitude below 2^53 is used).
   *
   *   new Generator().manualSeed(7);
   */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new DLError('manualSeed', `seed must be a finite number, got ${seed}`);
    const s = Math.floor(Math.abs(seed));
    this.key = [s >>> 0, Math.floor(s / TWO32) >>> 0];
    this.counter = 0;
    return this;
  }

  /**
   * Seeds from a non-deterministic source (crypto) and returns the seed, as torch.Generator.seed().
   *
   *   const s = g.seed(); // log s to reproduce the run with g.manualSeed(s)
   */
  seed(): number {
    const w = new Uint32Array(2);
    globalThis.crypto.getRandomValues(w);
    const s = w[0] + (w[1] & 0x1fffff) * TWO32; // below 2^53
    this.manualSeed(s);
    return s;
  }

  /** A copy of the key and counter, for checkpoints (see setState). */
  getState(): GeneratorState {
    return { key: [this.key[0], this.key[1]], counter: this.counter };
  }

  /**
   * Restores a state from getState(), so the stream continues exactly where it was.
   *
   *   g.setState(JSON.parse(json));
   */
  setState(state: GeneratorState): this {
    const { key, counter } = state ?? ({} as GeneratorState);
    if (!Array.isArray(key) || key.length !== 2 || !key.every(isU32) || !isCounter(counter)) {
      throw new DLError('Generator.setState', `expected { key: [uint32, uint32], counter: integer in [0, 2^53) }, got ${JSON.stringify(state)}`);
    }
    this.key = [key[0], key[1]];
    this.counter = counter;
    return this;
  }

  /**
   * Reserves the counters for n numbers and returns the first (4 numbers per counter).
   *
   *   const c = g.takeCounters(10); // c, c + 1, c + 2 are now used
   */
  takeCounters(n: number): number {
    const c = this.counter;
    if (!isCounter(c)) throw new DLError('Generator', `counter must be an integer in [0, 2^53), got ${c}`);
    const next = c + Math.ceil(n / 4);
    if (!isCounter(next)) throw new DLError('Generator', `the stream is exhausted: counter ${c} + ${Math.ceil(n / 4)} passes 2^53`);
    this.counter = next;
    return c;
  }

  /**
   * A random permutation of 0..n-1 computed on the host (Fisher-Yates; the swap at position i
   * uses the first word of counter c + i), the same on every machine; `randperm` and `DataLoader`
   * shuffling use it.
   *
   *   new Generator(0).permutation(5); // Int32Array [ ... 0..4 in random order ]
   */
  permutation(n: number): Int32Array {
    if (!Number.isSafeInteger(n) || n < 0 || n >= 2 ** 31) throw new DLError('permutation', `n must be an integer in [0, 2^31), got ${n}`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    const base = this.takeCounters(4 * n);
    const r = new Uint32Array(4);
    for (let i = n - 1; i > 0; i--) {
      philox(base + i, this.key[0], this.key[1], r);
      const j = Math.floor((r[0] / TWO32) * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/** The global generator that random ops use when given none (seeded by manualSeed). */
export const generator = new Generator();

/**
 * Seeds the global generator; the same seed gives the same numbers on every device.
 *
 *   manualSeed(0);
 *   randn([2, 2]); // the same on CPU and WebGPU, run after run
 */
export function manualSeed(seed: number): void {
  generator.manualSeed(seed);
}
