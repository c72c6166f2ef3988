import { backward, gradcheck } from '@dl/autograd';
import { DTypeError, ShapeError, manualSeed, rand, randn, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { selectiveScan, selectiveScanRef } from './index.js';

const f64 = { dtype: 'float64' as const };

/** Inputs like Mamba's: dt around softplus(-1..1), A negative (S4D-real), B/C input-dependent or fixed. */
function inputs(batch: number, D: number, L: number, N: number, opts: { varB?: boolean; varC?: boolean; dtype?: 'float32' | 'float64' } = {}) {
  const o = { dtype: opts.dtype ?? 'float64' };
  return {
    u: randn([batch, D, L], o),
    delta: randn([batch, D, L], o).mul(0.5),
    A: rand([D, N], o).mul(-2).sub(0.2),
    B: opts.varB === false ? randn([D, N], o) : randn([batch, N, L], o),
    C: opts.varC === false ? randn([D, N], o) : randn([batch, N, L], o),
    D: randn([D], o),
    z: randn([batch, D, L], o),
    deltaBias: randn([D], o).mul(0.3),
  };
}

function expectClose(a: Tensor, b: Tensor, tol: number, what: string): void {
  expect(a.shape, what).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < y.length; i++) {
    if (!(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])))) expect(x[i], `${what}[${i}]`).toBe(y[i]);
  }
}

describe('selectiveScan (CPU kernel)', () => {
  for (const variant of [
    { name: 'input-dependent B and C, z, deltaBias, softplus', varB: true, varC: true, z: true, softplus: true },
    { name: 'fixed B, input-dependent C, no z, no softplus', varB: false, varC: true, z: false, softplus: false },
    { name: 'input-dependent B, fixed C, z, softplus', varB: true, varC: false, z: true, softplus: true },
  ]) {
    it(`matches the reference composed of primitives, values and every gradient: ${variant.name}`, () => {
      manualSeed(1);
      const x = inputs(2, 3, 7, 4, variant);
      const opts = { z: variant.z ? x.z : null, deltaBias: x.deltaBias, deltaSoftplus: variant.softplus };
      const params = [x.u, x.delta, x.A, x.B, x.C, x.D, x.z, x.deltaBias].map((t) => t.requiresGrad_());
      const w = randn([2, 3, 7], f64);
      const ws = randn([2, 3, 4], f64);
      const fused = selectiveScan(x.u, x.delta, x.A, x.B, x.C, x.D, { ...opts, returnLastState: true });
      const ref = selectiveScanRef(x.u, x.delta, x.A, x.B, x.C, x.D, opts);
      expectClose(fused.y, ref.y, 1e-10, 'y');
      expectClose(fused.lastState, ref.lastState, 1e-10, 'lastState');
      const grads = (y: Tensor, s: Tensor): Tensor[] => {
        params.forEach((p) => (p.grad = null));
        backward(y.mul(w).sum().add(s.mul(ws).sum()));
        return params.map((p) => p.grad!);
      };
      const gf = grads(fused.y, fused.lastState);
      const gr = grads(ref.y, ref.lastState);
      ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias'].forEach((n, i) => {
        if (n === 'z' && !variant.z) return;
        expectClose(gf[i], gr[i], 1e-9, `d${n}`);
      });
    });
  }

  it('passes gradcheck in float64 (y alone, without D or deltaBias)', () => {
    manualSeed(2);
    const x = inputs(1, 2, 5, 3);
    const r = gradcheck((u, delta, A, B, C, z) => selectiveScan(u, delta, A, B, C, null, { z, deltaSoftplus: true }), [x.u, x.delta, x.A, x.B, x.C, x.z]);
    expect(r.ok, r.message).toBe(true);
  });

  it('runs in float32 close to float64', () => {
    manualSeed(3);
    const x = inputs(2, 4, 9, 8);
    const y64 = selectiveScan(x.u, x.delta, x.A, x.B, x.C, x.D, { z: x.z, deltaBias: x.deltaBias, deltaSoftplus: true });
    const f = (t: Tensor) => t.cast('float32');
    const y32 = selectiveScan(f(x.u), f(x.delta), f(x.A), f(x.B), f(x.C), f(x.D), { z: f(x.z), deltaBias: f(x.deltaBias), deltaSoftplus: true });
    expect(y32.dtype).toBe('float32');
    expectClose(y32, y64.cast('float32'), 1e-5, 'y float32');
  });

  it('names the argument and every shape when shapes or dtypes do not match', () => {
    const x = inputs(2, 3, 5, 4);
    expect(() => selectiveScan(x.u, x.delta, x.A, randn([2, 4, 6], f64), x.C, x.D)).toThrow(
      new ShapeError('selectiveScan', 'B must be (batch, N, L) = [2,4,5] (input-dependent) or (D, N) = [3,4], got [2,4,6]; u=[2,3,5] delta=[2,3,5] A=[3,4] B=[2,4,6] C=[2,4,5] D=[3] deltaBias=[3]'),
    );
    expect(() => selectiveScan(x.u, x.delta.narrow(2, 0, 4), x.A, x.B, x.C, x.D)).toThrow(/delta must have u's shape \[2,3,5\], got \[2,3,4\]; u=\[2,3,5\] delta=\[2,3,4\] A=\[3,4\]/);
    expect(() => selectiveScan(x.u, x.delta, randn([4, 4], f64), x.B, x.C, x.D)).toThrow(/A must be \(D, N\) with D = u.shape\[1\] \(3\), got \[4,4\]/);
    expect(() => selectiveScan(x.u, x.delta, x.A, x.B, x.C, randn([2], f64))).toThrow(/D must be \(D\) = \[3\], got \[2\]/);
    expect(() => selectiveScan(x.u, x.delta, x.A, x.B, x.C, x.D, { z: randn([2, 3, 4], f64) })).toThrow(/z must have u's shape \[2,3,5\], got \[2,3,4\]/);
    expect(() => selectiveScan(x.u, x.delta, x.A, x.B, x.C, x.D, { deltaBias: randn([1, 3], f64) })).toThrow(/deltaBias must be \(D\) = \[3\], got \[1,3\]/);
    expect(() => selectiveScan(x.u.cast('float32'), x.delta, x.A, x.B, x.C, x.D)).toThrow(DTypeError);
    expect(() => selectiveScan(randn([3, 5], f64), x.delta, x.A, x.B, x.C, x.D)).toThrow(/u must be \(batch, D, L\), got \[3,5\]/);
  });
});
