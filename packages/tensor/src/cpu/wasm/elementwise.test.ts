import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erfSeries } from '../math.js';
import { elementwiseWasm, getNumThreads, initWasmThreads, setNumThreads, type EwOp } from './index.js';

const f32 = Math.fround;

/** Distance in float32 units in the last place (same-sign finite values; 0 when both NaN or equal). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  if (a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b) || Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  // order float bit patterns as integers (negative values mirrored)
  const ord = (i: number) => (i < 0 ? -(i & 0x7fffffff) : i);
  return Math.abs(ord(bits[0]) - ord(bits[1]));
}

/** Every float32 in [lo, hi] stepping by `step` ulps, plus the given extras. */
function sweep(lo: number, hi: number, n: number, extras: number[] = []): Float32Array {
  const xs: number[] = [...extras];
  for (let i = 0; i <= n; i++) xs.push(f32(lo + ((hi - lo) * i) / n));
  return Float32Array.from(xs);
}

const EDGES = [0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 88.72, 88.7228, 88.72284, 88.73, 89, 100, 1e30, -87.33, -87.34, -100, -103.9, -103.97, -103.98, -104, -1e30, Infinity, -Infinity, NaN];

function run(op: EwOp, ins: Float32Array[]): Float32Array {
  const out = new Float32Array(ins[ins.length - 1].length);
  elementwiseWasm(op, ins, out);
  return out;
}

function maxUlps(got: Float32Array, want: (i: number) => number): { worst: number; at: number } {
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    const u = ulps(got[i], f32(want(i)));
    if (u > worst) (worst = u), (at = i);
  }
  return { worst, at };
}

describe('elementwiseWasm', () => {
  it('exp is within 2 ulp of Math.exp rounded to float32 over a dense sweep, subnormals and edges included', () => {
    const x = sweep(-104, 89, 400_003, EDGES);
    const got = run('exp', [x]);
    const { worst, at } = maxUlps(got, (i) => Math.exp(x[i]));
    expect(worst, `x = ${x[at]}: ${got[at]} vs ${f32(Math.exp(x[at]))}`).toBeLessThanOrEqual(2);
    // the edges, exactly as Math.exp gives them
    const e = run('exp', [Float32Array.from([-Infinity, Infinity, NaN, 89, 1e30, -104, -1e30, 0, -0])]);
    expect(Array.from(e)).toEqual([0, Infinity, NaN, Infinity, Infinity, 0, 0, 1, 1]);
  });

  it('reluGrad passes g exactly where x > 0 and gives +0 elsewhere (x = ±0 or NaN, g NaN or infinite included)', () => {
    const x = Float32Array.from([...EDGES, ...EDGES.map((v) => -v)]);
    const g = Float32Array.from(x, (_, i) => [NaN, Infinity, -Infinity, -2.5, 0, 7][i % 6]);
    const got = run('reluGrad', [g, x]);
    got.forEach((v, i) => expect(Object.is(v, x[i] > 0 ? g[i] : 0), `x ${x[i]} g ${g[i]}: ${v}`).toBe(true));
  });

  it('softplus is within 3 ulp of float64 log1p(exp(x)) rounded to float32 (x itself above 20), subnormal results and edges included', () => {
    const x = sweep(-104, 30, 400_003, [...EDGES, 20, Math.fround(20.000002), 19.999998, -20, 1e-8, -1e-8]);
    const want = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
    const got = run('softplus', [x]);
    const { worst, at } = maxUlps(got, (i) => want(x[i]));
    expect(worst, `x = ${x[at]}: ${got[at]} vs ${f32(want(x[at]))}`).toBeLessThanOrEqual(3);
    const e = run('softplus', [Float32Array.from([-Infinity, Infinity, NaN, 0, -0, 21, -200])]);
    expect(Array.from(e)).toEqual([0, Infinity, NaN, f32(Math.LN2), f32(Math.LN2), 21, 0]);
  });

  it('relu passes x where x > 0 or NaN and gives +0 elsewhere (-0 and -Infinity included), bit for bit', () => {
    const x = Float32Array.from([...EDGES, ...EDGES.map((v) => -v), 1.4e-45, -1.4e-45, 3.4e38, -3.4e38]);
    const got = run('relu', [x]);
    got.forEach((v, i) => expect(Object.is(v, x[i] > 0 || Number.isNaN(x[i]) ? x[i] : 0), `relu(${x[i]}) = ${v}`).toBe(true));
    // a NaN keeps its payload and sign
    const nan = new Float32Array(new Uint32Array([0xffc00001, 0x7fa00000]).buffer);
    expect(Array.from(new Uint32Array(run('relu', [nan]).buffer))).toEqual([0xffc00001, 0x7fa00000]);
  });

  it('exp is within 2 ulp near 0 and across the subnormal range, where the result scale changes', () => {
    for (const [lo, hi] of [[-1, 1], [-0.35, 0.35], [-103.98, -87], [87, 88.73]]) {
      const x = sweep(lo, hi, 100_001);
      const got = run('exp', [x]);
      const { worst, at } = maxUlps(got, (i) => Math.exp(x[i]));
      expect(worst, `x = ${x[at]}`).toBeLessThanOrEqual(2);
    }
  });

  it('sigmoid, silu and siluGrad match their float64 forms within a few ulp', () => {
    const x = sweep(-120, 120, 200_001, EDGES);
    const g = Float32Array.from(x, (_, i) => f32(Math.sin(i) * 3));
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    // scale: the size of the terms summed. siluGrad's 1 + x (1 - s) cancels near x = -1.28, and
    // 1 - s carries s's rounding (6e-8) times x for large x, as in PyTorch's float32 kernel, so its
    // error is measured against the terms, not the result
    const cases: [EwOp, Float32Array[], (i: number) => number, (i: number) => number, number][] = [
      ['sigmoid', [x], (i) => sig(x[i]), (i) => sig(x[i]), 4e-7],
      ['silu', [x], (i) => x[i] / (1 + Math.exp(-x[i])), (i) => Math.abs(x[i] / (1 + Math.exp(-x[i]))), 4e-7],
      [
        'siluGrad',
        [g, x],
        (i) => { const s = sig(x[i]); return g[i] * (s * (x[i] * (1 - s) + 1)); },
        (i) => { const s = sig(x[i]); return Math.abs(g[i]) * s * (Math.abs(x[i]) * (1 - s) + 1); },
        2e-6,
      ],
    ];
    for (const [op, ins, want, scale, tol] of cases) {
      const got = run(op, ins);
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        const w = f32(want(i));
        if (!Number.isFinite(w)) {
          expect(got[i], `${op}(${x[i]})`).toBe(w);
          continue;
        }
        const sc = scale(i);
        if (sc < 1e-30) {
          expect(Math.abs(got[i]), `${op}(${x[i]})`).toBeLessThan(1e-30);
          continue;
        }
        worst = Math.max(worst, Math.abs(got[i] - w) / sc);
      }
      expect(worst, op).toBeLessThan(tol);
    }
    const edge = run('silu', [Float32Array.from([Infinity, -Infinity, NaN, 0, -200, 200, 0, 0])]);
    expect(Array.from(edge.subarray(0, 6))).toEqual([Infinity, NaN, NaN, 0, -0, 200]);
    // the lower tail down to the subnormals (exp(-x) itself would overflow there)
    const tail = Float32Array.from([-88, -90, -95, -100, -103]);
    const st = run('sigmoid', [tail]);
    const lt = run('silu', [Float32Array.from([-85, -87, -88, -89, -95])]);
    for (let i = 0; i < tail.length; i++) {
      expect(st[i]).toBeGreaterThan(0);
      expect(ulps(st[i], f32(1 / (1 + Math.exp(-tail[i]))))).toBeLessThanOrEqual(2);
    }
    [-85, -87, -88, -89, -95].forEach((v, i) => expect(ulps(lt[i], f32(v / (1 + Math.exp(-v))))).toBeLessThanOrEqual(3));
    const s = run('sigmoid', [Float32Array.from([Infinity, -Infinity, NaN, 0, -200, 200, 0, 0])]);
    expect(Array.from(s.subarray(0, 6))).toEqual([1, 0, NaN, 0.5, 0, 1]);
  });

  it('tanh, gelu, geluGrad and the tanh forms of gelu and geluGrad match float64 references within a few float32 roundings', () => {
    const x = sweep(-14, 14, 200_001, EDGES);
    const g = Float32Array.from(x, (_, i) => f32(Math.cos(i) * 2));
    // Phi(v) in float64: 0.5 erfc(-v / sqrt 2); erfc by its continued fraction in the tails
    const erfc = (z: number): number => {
      if (z < 2.5) return 1 - erfSeries(z);
      let k = z;
      for (let n = 80; n >= 1; n--) k = z + n / 2 / k;
      return Math.exp(-z * z) / Math.sqrt(Math.PI) / k;
    };
    const Phi = (v: number) => (v < 0 ? 0.5 * erfc(-v * Math.SQRT1_2) : 1 - 0.5 * erfc(v * Math.SQRT1_2));
    const dens = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
    const c = Math.sqrt(2 / Math.PI);
    const sgu = (v: number) => 1 / (1 + Math.exp(-2 * c * (v + 0.044715 * v * v * v)));
    const du = (v: number) => 2 * c * (1 + 3 * 0.044715 * v * v);
    const u2 = (v: number) => Math.abs(2 * c * (v + 0.044715 * v * v * v));
    const cases: [EwOp, Float32Array[], (i: number) => number, (i: number) => number, number][] = [
      ['tanh', [x], (i) => Math.tanh(x[i]), (i) => Math.abs(Math.tanh(x[i])), 3e-7],
      ['gelu', [x], (i) => x[i] * Phi(x[i]), (i) => Math.abs(x[i] * Phi(x[i])), 1e-6],
      // the terms' size: Phi + x phi cancels near x = -0.75
      ['geluGrad', [g, x], (i) => g[i] * (Phi(x[i]) + x[i] * dens(x[i])), (i) => Math.abs(g[i]) * (Phi(x[i]) + Math.abs(x[i]) * dens(x[i])), 1e-6],
      // tanh form: 0.5 x (1 + tanh u) = x sigmoid(2u); its derivative s (1 + x (1 - s) 2u'). u is
      // computed in float32, and e^(-2u) turns its rounding into a relative error of ~|2u| ulp
      // in the tail, as in any float32 evaluation: the scale carries that factor
      ['geluTanh', [x], (i) => x[i] * sgu(x[i]), (i) => Math.abs(x[i] * sgu(x[i])) * (1 + u2(x[i])), 1e-6],
      ['geluTanhGrad', [g, x], (i) => { const v = x[i], q = sgu(v); return g[i] * q * (1 + v * (1 - q) * du(v)); }, (i) => { const v = x[i], q = sgu(v); return Math.abs(g[i]) * q * (1 + Math.abs(v) * (1 - q) * du(v)) * (1 + u2(v)); }, 2e-6],
    ];
    for (const [op, ins, want, scale, tol] of cases) {
      const got = run(op, ins);
      let worst = 0, at = 0;
      for (let i = 0; i < got.length; i++) {
        const w = want(i);
        if (!Number.isFinite(w)) {
          expect(got[i], `${op}(${x[i]})`).toBe(w);
          continue;
        }
        const sc = scale(i);
        // results below the float32 normal range: absolute (the tanh form's 1 + e^(-2u) overflows
        // to inf there, so its results flush to 0)
        const tiny = op.startsWith('geluTanh') ? Math.abs(w) < 1e-36 : sc < 1e-36;
        const e = tiny ? Math.abs(got[i] - w) * 1e30 : Math.abs(got[i] - w) / sc;
        if (e > worst) (worst = e), (at = i);
      }
      expect(worst, `${op}(${x[at]}) = ${run(op, ins.map((a) => a.subarray(at, at + 1)))[0]}, want ${want(at)}`).toBeLessThan(tol);
    }
    const edges = Float32Array.from([Infinity, -Infinity, NaN, 0, -0, 1e-30, -1e-30, 100]);
    expect(Array.from(run('tanh', [edges]))).toEqual([1, -1, NaN, 0, -0, 1e-30, -1e-30, 1].map(f32));
    const ge = run('gelu', [edges]);
    expect(Array.from(ge.subarray(0, 5))).toEqual([Infinity, NaN, NaN, 0, -0]);
    expect(ge[5] / 5e-31).toBeCloseTo(1, 6);
    expect(ge[6] / -5e-31).toBeCloseTo(1, 6);
    expect(ge[7]).toBe(100);
  });

  it('handles lengths that are not whole vectors without touching the output past its end', () => {
    for (const n of [1, 3, 5, 8191, 8193]) {
      const x = Float32Array.from({ length: n }, (_, i) => (i % 17) - 8);
      const out = new Float32Array(n + 3).fill(7);
      elementwiseWasm('exp', [x], out.subarray(0, n));
      expect(Array.from(out.subarray(n))).toEqual([7, 7, 7]);
      for (let i = 0; i < n; i++) expect(ulps(out[i], f32(Math.exp(x[i])))).toBeLessThanOrEqual(2);
    }
  });

  describe('on 2 threads', () => {
    let before = 1;
    beforeAll(async () => {
      before = getNumThreads();
      await initWasmThreads(2);
    });
    afterAll(() => setNumThreads(before));

    it('gives the same bits as one thread on a large array', () => {
      const n = 300_001;
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 30);
      const g = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
      for (const op of ['silu', 'siluGrad'] as EwOp[]) {
        const ins = op === 'siluGrad' ? [g, x] : [x];
        const two = run(op, ins);
        setNumThreads(1);
        const one = run(op, ins);
        setNumThreads(2);
        let differ = 0;
        for (let i = 0; i < n; i++) differ += +!Object.is(two[i], one[i]);
        expect(differ, op).toBe(0);
      }
    });
  });
});
