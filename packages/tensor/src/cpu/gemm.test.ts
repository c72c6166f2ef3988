import { describe, expect, it } from 'vitest';
import { gemm, type FloatArray } from './gemm.js';

/** Deterministic uniform values in [-1, 1). */
function rand(n: number, seed: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array): FloatArray {
  let s = seed >>> 0 || 1;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

interface View {
  data: FloatArray;
  off: number;
  rs: number;
  cs: number;
}

/** Reference: plain triple loop in float64. */
function reference(M: number, N: number, K: number, a: View, b: View, c0: FloatArray, cOff: number, accumulate: boolean): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = accumulate ? c0[cOff + i * N + j] : 0;
      for (let k = 0; k < K; k++) s += a.data[a.off + i * a.rs + k * a.cs] * b.data[b.off + k * b.rs + j * b.cs];
      out[i * N + j] = s;
    }
  }
  return out;
}

type Layout = 'rowMajor' | 'transposed' | 'reversed' | 'broadcast' | 'padded';

/** Lays out a rows x cols operand in one of several stride patterns; all read the same logical values. */
function makeView(rows: number, cols: number, layout: Layout, seed: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor): View {
  const logical = rand(rows * cols, seed, Ctor); // row-major values
  switch (layout) {
    case 'rowMajor':
      return { data: logical, off: 0, rs: cols, cs: 1 };
    case 'transposed': {
      const d = new Ctor(rows * cols);
      for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) d[k * rows + i] = logical[i * cols + k];
      return { data: d, off: 0, rs: 1, cs: rows };
    }
    case 'reversed': {
      // rows and columns stored back to front: negative strides
      const d = new Ctor(rows * cols);
      for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) d[(rows - 1 - i) * cols + (cols - 1 - k)] = logical[i * cols + k];
      return { data: d, off: rows * cols - 1, rs: -cols, cs: -1 };
    }
    case 'broadcast': {
      // one stored row repeated for every logical row: row stride 0
      const d = new Ctor(cols + 3);
      for (let k = 0; k < cols; k++) d[3 + k] = logical[k];
      return { data: d, off: 3, rs: 0, cs: 1 };
    }
    case 'padded': {
      // row-major inside a wider buffer, every other column: strided view
      const ld = 2 * cols + 5;
      const d = new Ctor(7 + rows * ld);
      for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) d[7 + i * ld + 2 * k] = logical[i * cols + k];
      return { data: d, off: 7, rs: ld, cs: 2 };
    }
  }
}

function check(got: FloatArray, cOff: number, want: Float64Array, tol: number): void {
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[cOff + i] - want[i]));
  expect(worst / scale).toBeLessThan(tol);
}

const dtypes = [
  { name: 'float32', Ctor: Float32Array, tol: 2e-6 },
  { name: 'float64', Ctor: Float64Array, tol: 1e-13 },
] as const;

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 5],
  [5, 1, 9],
  [3, 3, 3],
  [4, 4, 4],
  [17, 13, 11],
  [33, 29, 31],
  [64, 64, 64],
  [65, 47, 257], // K crosses a packed block boundary
  [70, 9, 300], // M crosses a packed block boundary
  [9, 461, 40], // N crosses a packed block boundary
  [6, 128, 2],
];

describe.each(dtypes)('gemm $name', ({ Ctor, tol }) => {
  it.each(shapes)('matches the reference for M=%i N=%i K=%i', (M, N, K) => {
    const a = makeView(M, K, 'rowMajor', M * 31 + K, Ctor);
    const b = makeView(K, N, 'rowMajor', N * 17 + K, Ctor);
    const c = new Ctor(M * N);
    gemm(M, N, K, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 0);
    check(c, 0, reference(M, N, K, a, b, c, 0, false), tol);
  });

  const layouts: Layout[] = ['rowMajor', 'transposed', 'reversed', 'broadcast', 'padded'];
  for (const la of layouts) {
    for (const lb of layouts) {
      it(`reads A ${la} and B ${lb} through strides`, () => {
        for (const [M, N, K] of [[7, 5, 6], [37, 41, 43]]) {
          const a = makeView(M, K, la, 3 + M, Ctor);
          const b = makeView(K, N, lb, 5 + N, Ctor);
          const c = new Ctor(M * N);
          gemm(M, N, K, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 0);
          check(c, 0, reference(M, N, K, a, b, c, 0, false), tol);
        }
      });
    }
  }

  it.each([[3, 5, 4], [40, 36, 300]])('accumulates into C at an offset when asked (M=%i N=%i K=%i)', (M, N, K) => {
    const a = makeView(M, K, 'rowMajor', 11, Ctor);
    const b = makeView(K, N, 'transposed', 12, Ctor);
    const cOff = 9;
    const c = rand(cOff + M * N + 4, 13, Ctor);
    const before = Ctor.from(c);
    const want = reference(M, N, K, a, b, before, cOff, true);
    gemm(M, N, K, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, cOff, true);
    check(c, cOff, want, tol);
    // elements around C are untouched
    expect(Array.from(c.subarray(0, cOff))).toEqual(Array.from(before.subarray(0, cOff)));
    expect(Array.from(c.subarray(cOff + M * N))).toEqual(Array.from(before.subarray(cOff + M * N)));
  });

  it('overwrites C (ignoring NaN already there) when not accumulating', () => {
    for (const [M, N, K] of [[3, 3, 3], [20, 20, 60]]) {
      const a = makeView(M, K, 'rowMajor', 1, Ctor);
      const b = makeView(K, N, 'rowMajor', 2, Ctor);
      const c = new Ctor(M * N).fill(NaN);
      gemm(M, N, K, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 0);
      check(c, 0, reference(M, N, K, a, b, c, 0, false), tol);
    }
  });

  it('K=0 gives zeros, or leaves C as is when accumulating', () => {
    for (const [M, N] of [[2, 3], [30, 30]]) {
      const c = new Ctor(M * N + 2).fill(5);
      gemm(M, N, 0, new Ctor(0), 0, 0, 1, new Ctor(0), 0, N, 1, c, 1);
      expect(Array.from(c)).toEqual([5, ...new Array(M * N).fill(0), 5]);
      c.fill(5);
      gemm(M, N, 0, new Ctor(0), 0, 0, 1, new Ctor(0), 0, N, 1, c, 1, true);
      expect(Array.from(c)).toEqual(new Array(M * N + 2).fill(5));
    }
  });

  it('M=0 or N=0 writes nothing', () => {
    const c = new Ctor(4).fill(7);
    const a = rand(16, 1, Ctor);
    gemm(0, 4, 4, a, 0, 4, 1, a, 0, 4, 1, c, 0);
    gemm(4, 0, 4, a, 0, 4, 1, a, 0, 4, 1, c, 0);
    expect(Array.from(c)).toEqual([7, 7, 7, 7]);
  });

  it('propagates NaN and Infinity from the inputs', () => {
    const M = 12, N = 12, K = 200; // large enough for the packed path
    const a = makeView(M, K, 'rowMajor', 4, Ctor);
    const b = makeView(K, N, 'rowMajor', 5, Ctor);
    a.data[3 * K + 7] = NaN; // row 3
    b.data[9 * N + 5] = Infinity; // column 5
    const c = new Ctor(M * N);
    gemm(M, N, K, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 0);
    for (let j = 0; j < N; j++) expect(c[3 * N + j]).toBeNaN();
    for (let i = 0; i < M; i++) if (i !== 3) expect(Math.abs(c[i * N + 5])).toBe(Infinity);
    expect(Number.isFinite(c[0])).toBe(true);
  });
});

describe('gemm mixed dtypes across calls', () => {
  it('gives the same results when float32 and float64 calls interleave', () => {
    const M = 23, N = 19, K = 70;
    const a64 = rand(M * K, 8) as Float64Array;
    const b64 = rand(K * N, 9) as Float64Array;
    const a32 = Float32Array.from(a64);
    const b32 = Float32Array.from(b64);
    const c64 = new Float64Array(M * N);
    const c32 = new Float32Array(M * N);
    for (let r = 0; r < 3; r++) {
      gemm(M, N, K, a64, 0, K, 1, b64, 0, N, 1, c64, 0);
      gemm(M, N, K, a32, 0, K, 1, b32, 0, N, 1, c32, 0);
    }
    const want32 = reference(M, N, K, { data: a32, off: 0, rs: K, cs: 1 }, { data: b32, off: 0, rs: N, cs: 1 }, c32, 0, false);
    check(c32, 0, want32, 2e-6);
    check(c64, 0, reference(M, N, K, { data: a64, off: 0, rs: K, cs: 1 }, { data: b64, off: 0, rs: N, cs: 1 }, c64, 0, false), 1e-13);
  });
});
