import { beforeAll, describe, expect, it } from 'vitest';
import { gemmBatchedWasm, gemmWasm, getNumThreads, initWasmThreads, setNumThreads, wasmAvailable } from './index.js';
import { DLError } from '../../errors.js';
import { planGemm } from './gemm.js';
import { runtime } from './runtime.js';
import { maxRelErr, seeded } from './test-util.js';

/** C = A @ B (+C) in float64 with the same strided addressing as gemmWasm. */
function reference(
  M: number, N: number, K: number,
  a: Float32Array, aOff: number, aRs: number, aCs: number,
  b: Float32Array, bOff: number, bRs: number, bCs: number,
  c0: Float32Array | null,
): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = c0 ? c0[i * N + j] : 0;
      for (let k = 0; k < K; k++) s += a[aOff + i * aRs + k * aCs] * b[bOff + k * bRs + j * bCs];
      c[i * N + j] = s;
    }
  }
  return c;
}

type Layout = 'row' | 'col' | 'neg' | 'bcast' | 'sparse';

/** Backing array, offset and strides for an r x c matrix stored in `layout`. */
function strided(rand: (n: number) => Float32Array, r: number, c: number, layout: Layout) {
  switch (layout) {
    case 'row':
      return { data: rand(r * c + 5), off: 3, rs: c, cs: 1 };
    case 'col':
      return { data: rand(r * c + 2), off: 1, rs: 1, cs: r };
    case 'neg': // rows reversed
      return { data: rand(r * c), off: (r - 1) * c, rs: -c, cs: 1 };
    case 'bcast': // every row the same
      return { data: rand(c), off: 0, rs: 0, cs: 1 };
    case 'sparse': // every 3rd row, every 2nd column of a bigger array: gathered, not copied whole
      return { data: rand(3 * r * 2 * c), off: 0, rs: 6 * c, cs: 2 };
  }
}

const layouts: Layout[] = ['row', 'col', 'neg', 'bcast', 'sparse'];

function check(rand: (n: number) => Float32Array, M: number, N: number, K: number, la: Layout, lb: Layout, accumulate: boolean) {
  const A = strided(rand, M, K, la);
  const B = strided(rand, K, N, lb);
  const c = rand(M * N + 4);
  const before = c.slice();
  gemmWasm(M, N, K, A.data, A.off, A.rs, A.cs, B.data, B.off, B.rs, B.cs, c, 2, accumulate);
  const want = reference(M, N, K, A.data, A.off, A.rs, A.cs, B.data, B.off, B.rs, B.cs, accumulate ? before.subarray(2) : null);
  expect(maxRelErr(c.subarray(2, 2 + M * N), want), `${M}x${N}x${K} A:${la} B:${lb} acc:${accumulate}`).toBeLessThan(1e-5 * Math.sqrt(K) + 1e-6);
  // untouched outside C
  expect([c[0], c[1], c[M * N + 2], c[M * N + 3]]).toEqual([before[0], before[1], before[M * N + 2], before[M * N + 3]]);
}

describe('gemmWasm', () => {
  beforeAll(async () => {
    await initWasmThreads(2);
  });

  it('validates SIMD128 here', () => {
    expect(wasmAvailable()).toBe(true);
  });

  for (const threads of [1, 2]) {
    it(`matches the reference at random shapes and layouts (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNumThreads(threads);
      expect(getNumThreads()).toBe(threads);
      const rand = seeded(threads);
      const pick = (n: number) => 1 + Math.floor(rand(1)[0] * 0.5 * n + 0.5 * n);
      for (let t = 0; t < 40; t++) {
        // mostly small, some past the threading threshold and the KC block
        const big = t % 4 === 0;
        const M = pick(big ? 90 : 13), N = pick(big ? 140 : 21), K = pick(big ? 600 : 40);
        const la = layouts[t % layouts.length], lb = layouts[(t * 3 + 1) % layouts.length];
        check(rand, M, N, K, la, lb, t % 3 === 0);
      }
    });

    it(`handles edge shapes (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNumThreads(threads);
      const rand = seeded(10 + threads);
      // the first three are tiny (the reference kernel's); the last two: small C with a long K
      // (split into chunks across threads)
      for (const [M, N, K] of [[1, 1, 1], [1, 9, 1], [5, 1, 3], [1, 1, 2000], [4, 8, 256], [4, 8, 257], [3, 7, 255], [129, 1, 70], [1, 515, 33], [64, 64, 64], [257, 255, 513], [21, 30, 3001], [8, 8, 4608]]) {
        check(rand, M, N, K, 'row', 'row', false);
        check(rand, M, N, K, 'col', 'col', true);
      }
    });
  }

  it('plans tiles for wide C and K chunks for small C with long K', () => {
    setNumThreads(2);
    const square = planGemm(1024, 1024, 1024);
    expect(square.kTask).toBe(0);
    expect(square.tasks).toBeGreaterThanOrEqual(16);
    const thin = planGemm(21, 30, 3001); // the split-K shape tested above
    expect(thin.kTask).toBeGreaterThan(0);
    expect(thin.tasks).toBeGreaterThanOrEqual(4);
    setNumThreads(1);
    expect(planGemm(21, 30, 3001)).toMatchObject({ kTask: 0, tasks: 1 });
  });

  it('gives bit-identical split-K results run after run (chunks summed in order, whichever thread ran them)', () => {
    setNumThreads(2);
    expect(planGemm(21, 30, 3001).kTask).toBeGreaterThan(0);
    const rand = seeded(91);
    const a = rand(21 * 3001);
    const b = rand(3001 * 30);
    const first = new Float32Array(21 * 30);
    gemmWasm(21, 30, 3001, a, 0, 3001, 1, b, 0, 30, 1, first, 0);
    for (let run = 0; run < 30; run++) {
      const c = new Float32Array(21 * 30);
      gemmWasm(21, 30, 3001, a, 0, 3001, 1, b, 0, 30, 1, c, 0);
      expect(c).toEqual(first);
    }
    setNumThreads(1);
  });

  it('splits problems that would not fit the scratch limit', () => {
    const rt = runtime();
    const limit = rt.maxScratch;
    rt.maxScratch = 128 * 1024; // forces splits by rows, columns and depth
    try {
      const rand = seeded(77);
      for (const [M, N, K] of [[200, 60, 90], [30, 200, 90], [20, 30, 1500]]) {
        check(rand, M, N, K, 'row', 'col', true);
        check(rand, M, N, K, 'col', 'row', false);
      }
    } finally {
      rt.maxScratch = limit;
    }
  });

  it('leaves C alone for empty M or N and zeroes it for K = 0', () => {
    const c = new Float32Array([1, 2, 3, 4]);
    gemmWasm(0, 2, 3, new Float32Array(6), 0, 3, 1, new Float32Array(6), 0, 2, 1, c, 0);
    expect(Array.from(c)).toEqual([1, 2, 3, 4]);
    gemmWasm(2, 2, 0, new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 2, 1, c, 0);
    expect(Array.from(c)).toEqual([0, 0, 0, 0]);
    c.set([1, 2, 3, 4]);
    gemmWasm(2, 2, 0, new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 2, 1, c, 0, true);
    expect(Array.from(c)).toEqual([1, 2, 3, 4]);
  });

  it('rejects thread counts that are not positive integers', () => {
    expect(() => setNumThreads(0)).toThrow(DLError);
    expect(() => setNumThreads(1.5)).toThrow('setNumThreads: n must be a positive integer, got 1.5');
  });
});

describe('gemmBatchedWasm', () => {
  beforeAll(async () => {
    await initWasmThreads(2);
  });

  for (const threads of [1, 2]) {
    it(`matches per-matrix references, shared operands included (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setNumThreads(threads);
      const rand = seeded(100 + threads);
      // [batch, M, N, K, A batch stride 0?, B transposed?]: small (one task per matrix) and large (split per matrix)
      for (const [batch, M, N, K, shareA, tb] of [[5, 3, 7, 9, false, false], [12, 33, 17, 40, true, true], [40, 16, 16, 300, false, true], [3, 70, 130, 120, false, false], [1, 9, 9, 9, false, false]] as const) {
        const aBs = shareA ? 0 : M * K + 1;
        const a = rand(aBs * batch + M * K + 1), b = rand(batch * K * N);
        const [bRs, bCs] = tb ? [1, K] : [N, 1];
        for (const accumulate of [false, true]) {
          const c = rand(batch * M * N + 1);
          const before = c.slice();
          gemmBatchedWasm(batch, M, N, K, a, 1, aBs, K, 1, b, 0, K * N, bRs, bCs, c, 1, accumulate);
          for (let i = 0; i < batch; i++) {
            const want = reference(M, N, K, a, 1 + i * aBs, K, 1, b, i * K * N, bRs, bCs, accumulate ? before.subarray(1 + i * M * N) : null);
            expect(maxRelErr(c.subarray(1 + i * M * N, 1 + (i + 1) * M * N), want), `batch ${batch} item ${i}`).toBeLessThan(1e-5 * Math.sqrt(K) + 1e-6);
          }
          expect(c[0]).toBe(before[0]);
        }
      }
    });
  }
});
