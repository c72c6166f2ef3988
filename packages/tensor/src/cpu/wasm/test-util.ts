// Seeded data and plain-loop references for the wasm kernel tests.
import { afterAll, beforeAll } from 'vitest';
import { getNumThreads, initWasmThreads, setNumThreads } from './pool.js';

/** Uniform values in [-1, 1) from a 32-bit LCG, so failures reproduce. */
export function seeded(seed: number): (n: number) => Float32Array {
  let s = seed >>> 0;
  return (n) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s / 2 ** 31 - 1;
    }
    return out;
  };
}

/** Largest |a[i] - b[i]| relative to max(1, |b[i]|). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return e;
}

/** In a describe block: its tests run on `n` threads (started first), the count set before is restored after. */
export function onThreads(n: number): void {
  let before = 1;
  beforeAll(async () => {
    before = getNumThreads();
    await initWasmThreads(n);
  });
  afterAll(() => setNumThreads(before));
}
