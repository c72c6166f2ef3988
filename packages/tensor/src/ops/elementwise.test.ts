import { describe, expect, it } from 'vitest';
import { adamStep_, tensor, zeros } from '../index.js';

describe('adamStep_ (fused Adam, in place)', () => {
  const h = { beta1: 0.9, beta2: 0.999, stepSize: 0.1 / (1 - 0.9), sqrtBc2: Math.sqrt(1 - 0.999), eps: 1e-8, decay: 0.99 };

  it('updates p, m and v as the Adam formulas say, and bumps their versions', () => {
    const p = tensor([1, -2, 3]);
    const g = tensor([0.5, -1, 2]);
    const m = zeros([3]);
    const v = zeros([3]);
    const versions = [p, m, v].map((t) => t.storage.version);
    expect(adamStep_(p, g, m, v, h)).toBe(true);
    const gs = [0.5, -1, 2];
    const ms = gs.map((x) => 0.1 * x);
    const vs = gs.map((x) => 0.001 * x * x);
    const ps = [1, -2, 3].map((x, i) => 0.99 * x - (h.stepSize * ms[i]) / (Math.sqrt(vs[i]) / h.sqrtBc2 + h.eps));
    const close = (a: ArrayLike<number>, b: number[]) => b.forEach((x, i) => expect(a[i]).toBeCloseTo(x, 5));
    close(m.dataSync(), ms);
    close(v.dataSync(), vs);
    close(p.dataSync(), ps);
    expect([p, m, v].map((t) => t.storage.version)).toEqual(versions.map((x) => x + 1));
  });

  it('declines (writing nothing) for strided views, other dtypes and shape mismatches', () => {
    const p = tensor([1, 2, 3, 4]);
    const before = Array.from(p.dataSync());
    expect(adamStep_(p.slice(0, 0, 4, 2), zeros([2]), zeros([2]), zeros([2]), h)).toBe(false);
    expect(adamStep_(p, zeros([4], { dtype: 'float64' }), zeros([4]), zeros([4]), h)).toBe(false);
    expect(adamStep_(p, zeros([2, 2]), zeros([4]), zeros([4]), h)).toBe(false);
    expect(Array.from(p.dataSync())).toEqual(before);
  });
});
