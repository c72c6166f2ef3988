import { afterAll, describe, expect, it } from 'vitest';
import { getNumThreads, initWasmThreads, setNumThreads, softmaxRowsWasm } from './index.js';

/** softmax / logSoftmax of each row in float64 (the JS kernel's arithmetic), as float32 */
function reference(log: boolean, x: Float32Array, len: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += len) {
    const row = Array.from(x.subarray(b, b + len));
    const m = row.reduce((a, v) => Math.max(a, v), -Infinity);
    if (m === -Infinity) {
      out.fill(log ? -Infinity : 0, b, b + len);
      continue;
    }
    const s = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
    row.forEach((v, i) => (out[b + i] = log ? v - m - Math.log(s) : Math.exp(v - m) / s));
  }
  return out;
}

function run(log: boolean, x: Float32Array, len: number, offset = 0): Float32Array {
  const n = x.length - offset;
  const out = new Float32Array(n);
  softmaxRowsWasm(log, x, offset, out, n / len, len);
  return out;
}

/** random rows, with some entries -inf (masked) */
function rows(n: number, len: number, seed: number, masked = 0.1): Float32Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Float32Array.from({ length: n * len }, () => (rand() < masked ? -Infinity : (rand() - 0.5) * 16));
}

/** checks each value within `rel` of the reference relative to its size, plus `abs`; equal non-finite values (one expect: rows of 2^20) */
function expectClose(got: Float32Array, want: Float32Array, rel: number, abs: number, what: string): void {
  let bad = -1;
  for (let i = 0; i < got.length && bad < 0; i++) {
    const ok = !Number.isFinite(want[i]) || Number.isNaN(want[i]) ? String(got[i]) === String(want[i]) : Math.abs(got[i] - want[i]) <= rel * Math.abs(want[i]) + abs;
    if (!ok) bad = i;
  }
  expect(bad, bad < 0 ? what : `${what} [${bad}]: ${got[bad]} vs ${want[bad]}`).toBe(-1);
}

describe('softmaxRowsWasm', () => {
  const threadsBefore = getNumThreads();
  afterAll(() => setNumThreads(threadsBefore));

  for (const len of [1, 3, 4, 11, 64, 129, 8000]) {
    it(`matches float64 softmax and logSoftmax on rows of ${len} (masked entries, vector and tail lanes)`, () => {
      const x = rows(Math.max(2, Math.ceil(4096 / len)), len, len);
      // softmax: e within 2 ulp, the division and the float32 lane sums add a few more
      expectClose(run(false, x, len), reference(false, x, len), 2e-6, 1e-38, 'softmax');
      // logSoftmax: (x - m) exact, log(sum) rounded once, then a subtraction: a few ulp of the larger term
      const want = reference(true, x, len);
      const got = run(true, x, len);
      for (let i = 0; i < got.length; i++) {
        if (!Number.isFinite(want[i])) expect(String(got[i])).toBe(String(want[i]));
        else expect(Math.abs(got[i] - want[i]), `logSoftmax [${i}]`).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(x[i])) + 2e-6 * Math.abs(want[i]));
      }
    });
  }

  it('gives zeros (softmax) and -Infinity (logSoftmax) on a fully masked row, NaN on a row holding NaN, and reads from an offset', () => {
    const len = 6;
    const x = Float32Array.from([9, 9, ...Array(len).fill(-Infinity), 1, 2, NaN, 3, 4, 5, 0, 1, 2, 3, 4, 5, Infinity, 0, 0, 0, 0, 0]);
    const sm = run(false, x, len, 2);
    const lsm = run(true, x, len, 2);
    expect(Array.from(sm.subarray(0, len))).toEqual(Array(len).fill(0));
    expect(Array.from(lsm.subarray(0, len))).toEqual(Array(len).fill(-Infinity));
    expect(Array.from(sm.subarray(len, 2 * len)).every(Number.isNaN)).toBe(true);
    expect(Array.from(lsm.subarray(len, 2 * len)).every(Number.isNaN)).toBe(true);
    expectClose(sm.subarray(2 * len, 3 * len), reference(false, x.subarray(2 + 2 * len, 2 + 3 * len), len), 2e-6, 0, 'offset row');
    // +inf in a row: inf - inf is NaN, as in the float64 reference
    expect(String(sm[3 * len])).toBe(String(reference(false, x.subarray(2 + 3 * len), len)[0]));
  });

  it('gives the same bits on 1 and 2 threads, across blocks of the kernel memory and for a row longer than a block', async () => {
    for (const [n, len] of [[3000, 400], [1, (1 << 20) + 5]]) {
      const x = rows(n, len, 7, 0.01);
      await initWasmThreads(1);
      const one = [run(false, x, len), run(true, x, len)];
      await initWasmThreads(2);
      const two = [run(false, x, len), run(true, x, len)];
      expect(Buffer.from(two[0].buffer).equals(Buffer.from(one[0].buffer))).toBe(true);
      expect(Buffer.from(two[1].buffer).equals(Buffer.from(one[1].buffer))).toBe(true);
      expectClose(two[0].subarray(0, 4 * len), reference(false, x.subarray(0, 4 * len), len), 2e-6, 1e-38, 'softmax');
    }
  });
});
