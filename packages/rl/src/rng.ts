import { philox } from '@dl/tensor';

const TWO32 = 4294967296;

/**
 * A small seeded random stream for environments and agents' host-side choices (reset states,
 * `space.sample()`, epsilon-greedy). It draws from Philox-4x32-10 like @dl/tensor's `Generator`,
 * but returns plain numbers without making tensors.
 *
 *   const r = new Rng(42);
 *   r.uniform(-0.05, 0.05); // the same number for seed 42 on every machine
 *   r.integer(3);           // 0, 1 or 2
 */
export class Rng {
  #key: [number, number];
  #counter = 0;
  #buf = new Uint32Array(4);
  #pos = 4;

  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    this.#key = [seed >>> 0, (Math.floor(seed / TWO32) >>> 0) ^ 0x9e3779b9];
  }

  /** A uniformly random uint32. */
  uint32(): number {
    if (this.#pos === 4) {
      philox(this.#counter++, this.#key[0], this.#key[1], this.#buf);
      this.#pos = 0;
    }
    return this.#buf[this.#pos++];
  }

  /** A uniform double in [low, high), with 53 random bits. */
  uniform(low = 0, high = 1): number {
    const u = ((this.uint32() >>> 5) * 67108864 + (this.uint32() >>> 6)) / 9007199254740992;
    return low + (high - low) * u;
  }

  /** A uniform integer in [0, n). */
  integer(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    const u1 = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** A seed for a child stream (a vector env's copies, an agent's minibatch order). */
  spawn(): number {
    return this.uint32() * 2097152 + (this.uint32() >>> 11);
  }
}
