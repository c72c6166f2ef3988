import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { frechetDistance, gaussianOf, sqrtPsd, symmetricEigen, traceSqrtProduct } from './frechet.js';

// computed by PyTorch in float64 (../../fixtures/frechet.py), through torch.linalg.eigvals of S1 S2
const fx = parseSafetensors(new Uint8Array(readFileSync(new URL('../../fixtures/frechet.safetensors', import.meta.url)))).tensors;
const rows = (t: Tensor) => ({ data: Array.from(t.dataSync()), n: t.shape[0], d: t.shape[1] });
const stats = (t: Tensor) => {
  const r = rows(t);
  return gaussianOf(r.data, r.n, r.d);
};

/** max |A V - V diag(values)| for a decomposition of the n x n matrix a. */
function residual(a: ArrayLike<number>, n: number, values: Float64Array, vectors: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[j * n + k];
      worst = Math.max(worst, Math.abs(av - values[k] * vectors[i * n + k]));
    }
  }
  return worst;
}

describe('symmetricEigen (Jacobi, float64)', () => {
  it("gives torch.linalg.eigvalsh's eigenvalues (1e-6..40, a triple one) and orthonormal vectors", () => {
    const m = fx['sym.m'].dataSync();
    const { values, vectors } = symmetricEigen(m, 12);
    const want = fx['sym.values'].dataSync();
    for (let i = 0; i < 12; i++) expect(Math.abs(values[i] - want[i]), `eigenvalue ${i}`).toBeLessThan(1e-13);
    expect(residual(m, 12, values, vectors)).toBeLessThan(1e-13);
    for (let a = 0; a < 12; a++) {
      for (let b = 0; b < 12; b++) {
        let dot = 0;
        for (let i = 0; i < 12; i++) dot += vectors[i * 12 + a] * vectors[i * 12 + b];
        expect(Math.abs(dot - (a === b ? 1 : 0)), `v${a} . v${b}`).toBeLessThan(1e-14);
      }
    }
  });

  it('decomposes a 128 x 128 covariance (the size eval-samples uses) to rounding', () => {
    // a covariance of 40 random rows: rank 39, so 89 eigenvalues are 0
    const n = 40;
    const d = 128;
    let s = 1;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    const x = Float64Array.from({ length: n * d }, rnd);
    const { cov } = gaussianOf(x, n, d);
    const { values, vectors } = symmetricEigen(cov, d);
    let scale = 0;
    for (const v of values) scale = Math.max(scale, Math.abs(v));
    expect(residual(cov, d, values, vectors)).toBeLessThan(1e-13 * scale);
    expect(values.filter((v) => Math.abs(v) < 1e-12 * scale).length).toBe(d - (n - 1));
    for (let i = 1; i < d; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
  });

  it('handles diagonal, 1 x 1 and zero matrices, and refuses non-symmetric or non-finite ones', () => {
    expect(Array.from(symmetricEigen([3, 0, 0, -1], 2).values)).toEqual([-1, 3]);
    expect(Array.from(symmetricEigen([5], 1).values)).toEqual([5]);
    expect(Array.from(symmetricEigen([0, 0, 0, 0], 2).values)).toEqual([0, 0]);
    const { values } = symmetricEigen([2, 1, 1, 2], 2);
    expect(values[0]).toBeCloseTo(1, 15);
    expect(values[1]).toBeCloseTo(3, 15);
    expect(() => symmetricEigen([1, 2, 3, 4], 2)).toThrow('symmetricEigen: the matrix is not symmetric: (0, 1) is 2 but (1, 0) is 3');
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).toThrow('symmetricEigen: the matrix holds NaN at (0, 1)');
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow('expected an n x n matrix (2 x 2 = 4 values), got 3 values');
  });
});

describe('the Frechet distance', () => {
  it("mean and covariance are torch.mean and torch.cov's (unbiased)", () => {
    for (const name of ['diff', 'relu']) {
      const g = stats(fx[`${name}.a`]);
      const mean = fx[`${name}.mean_a`].dataSync();
      const cov = fx[`${name}.cov_a`].dataSync();
      for (let i = 0; i < g.dim; i++) expect(Math.abs(g.mean[i] - mean[i])).toBeLessThan(1e-12);
      for (let i = 0; i < g.dim * g.dim; i++) expect(Math.abs(g.cov[i] - cov[i])).toBeLessThan(1e-12);
    }
  });

  for (const name of ['diff', 'rankdef', 'relu', 'same']) {
    it(`${name}: matches PyTorch's distance through eigvals(S1 S2)`, () => {
      const got = frechetDistance(stats(fx[`${name}.a`]), stats(fx[`${name}.b`]));
      const want = fx[`${name}.fid`].item();
      if (name === 'same') expect(Math.abs(got)).toBeLessThan(1e-9);
      else expect(Math.abs(got - want) / want, `${got} vs ${want}`).toBeLessThan(1e-10);
    });
  }

  it('is 0 against itself, symmetric in its arguments, and |mu1 - mu2|^2 for a shift', () => {
    const a = stats(fx['diff.a']);
    const b = stats(fx['diff.b']);
    expect(Math.abs(frechetDistance(a, a))).toBeLessThan(1e-10);
    expect(Math.abs(frechetDistance(a, b) - frechetDistance(b, a))).toBeLessThan(1e-10);
    const r = rows(fx['diff.a']);
    const shifted = r.data.map((v, i) => v + (i % r.d === 0 ? 3 : 0));
    expect(frechetDistance(a, gaussianOf(shifted, r.n, r.d))).toBeCloseTo(9, 9);
  });

  it('traceSqrtProduct and sqrtPsd on diagonal matrices', () => {
    expect(traceSqrtProduct(Float64Array.of(4, 0, 0, 1), Float64Array.of(1, 0, 0, 9), 2)).toBeCloseTo(5, 14);
    expect(Array.from(sqrtPsd(Float64Array.of(4, 0, 0, 9), 2))).toEqual([2, 0, 0, 3]);
    // a rounding-negative eigenvalue counts as 0
    expect(Array.from(sqrtPsd(Float64Array.of(-1e-18, 0, 0, 1), 2))).toEqual([0, 0, 0, 1]);
  });

  it('refuses too few rows and mismatched dimensions', () => {
    expect(() => gaussianOf([1, 2], 1, 2)).toThrow('gaussianOf: needs n >= 2 rows of d >= 1 features (n * d values), got n=1, d=2 and 2 values');
    expect(() => frechetDistance(gaussianOf([1, 2, 3, 4], 2, 2), gaussianOf([1, 2, 3, 4], 4, 1))).toThrow('the two feature sets differ in dimension (2 and 1)');
  });
});
