/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): a counter-based
 * generator, so element i of a random tensor depends only on (key, counter + floor(i/4), lane i%4)
 * and every backend computes the same numbers without sharing state.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

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

/** Writes the 4 uint32 outputs of Philox4x32-10 for counter (c0, 0, 0, 0) and key (k0, k1). */
export function philox(c0: number, k0: number, k1: number, out: Uint32Array): void {
  let x0 = c0 >>> 0;
  let x1 = 0;
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

/** Fills `out` with uniform [0,1) numbers for elements [0, n) from (key, counter). */
export function fillUniform(out: Float32Array | Float64Array, key: [number, number], counter: number): void {
  const r = new Uint32Array(4);
  const n = out.length;
  for (let i = 0; i < n; i += 4) {
    philox(counter + i / 4, key[0], key[1], r);
    for (let l = 0; l < 4 && i + l < n; l++) out[i + l] = toUniform(r[l]);
  }
}

/** Fills `out` with standard normals by Box-Muller: lanes (0,1) and (2,3) of each counter form pairs. */
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

/** Global generator state: the key from manualSeed, and the next unused counter. */
export const generator = { key: [0x2545f491, 0x4f6cdd1d] as [number, number], counter: 0 };

/** Seeds the global generator; the same seed gives the same numbers on every device. */
export function manualSeed(seed: number): void {
  const s = Math.floor(Math.abs(seed));
  generator.key = [s >>> 0, Math.floor(s / 4294967296) >>> 0];
  generator.counter = 0;
}

/** Reserves counters for n elements and returns the first. */
export function takeCounters(n: number): number {
  const c = generator.counter;
  generator.counter += Math.ceil(n / 4);
  return c;
}
