import { manualSeed, zeros } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import * as init from './init.js';

const stats = (a: ArrayLike<number>) => {
  const n = a.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += a[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i] - m) ** 2;
  return { mean: m, std: Math.sqrt(v / n), max: Math.max(...Array.from(a, Math.abs)) };
};

describe('init', () => {
  it('computes fans and gains as PyTorch', () => {
    expect(init.calculateFanInAndFanOut(zeros([32, 16, 3, 3]))).toEqual({ fanIn: 144, fanOut: 288 });
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(init.calculateGain('leakyRelu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(() => init.calculateFanInAndFanOut(zeros([3]))).toThrow(/at least 2 dims/);
  });

  it('orthogonal gives W W^T = gain^2 I (wide) or W^T W = gain^2 I (tall), seeded', () => {
    for (const [r, c] of [[3, 5], [6, 2], [4, 4]]) {
      manualSeed(1);
      const w = init.orthogonal(zeros([r, c]), 2);
      const a = w.dataSync();
      const small = Math.min(r, c);
      for (let p = 0; p < small; p++) {
        for (let q = 0; q < small; q++) {
          let dot = 0;
          for (let k = 0; k < Math.max(r, c); k++) dot += r < c ? a[p * c + k] * a[q * c + k] : a[k * c + p] * a[k * c + q];
          expect(dot).toBeCloseTo(p === q ? 4 : 0, 5);
        }
      }
      manualSeed(1);
      expect(Array.from(init.orthogonal(zeros([r, c]), 2).dataSync())).toEqual(Array.from(a));
    }
    expect(() => init.orthogonal(zeros([3]))).toThrow(/at least 2 dims/);
  });

  it('draws with the documented bounds and spreads', () => {
    manualSeed(0);
    const w = zeros([256, 128]);
    const xu = stats(init.xavierUniform(w).dataSync());
    expect(xu.max).toBeLessThanOrEqual(Math.sqrt(6 / 384));
    expect(xu.std).toBeCloseTo(Math.sqrt(6 / 384) / Math.sqrt(3), 2);
    const kn = stats(init.kaimingNormal(w, { nonlinearity: 'relu' }).dataSync());
    expect(kn.std).toBeCloseTo(Math.SQRT2 / Math.sqrt(128), 2);
    expect(Math.abs(kn.mean)).toBeLessThan(0.01);
    const ko = stats(init.kaimingUniform(w, { mode: 'fanOut', nonlinearity: 'relu' }).dataSync());
    expect(ko.max).toBeLessThanOrEqual(Math.sqrt(3) * (Math.SQRT2 / Math.sqrt(256)));
    const nm = stats(init.normal(w, 2, 0.5).dataSync());
    expect(nm.mean).toBeCloseTo(2, 1);
    expect(nm.std).toBeCloseTo(0.5, 1);
    expect(Array.from(init.constant(zeros([3]), 7).dataSync())).toEqual([7, 7, 7]);
  });

  it('repeats with the same seed', () => {
    manualSeed(42);
    const a = init.xavierNormal(zeros([4, 4])).toArray();
    manualSeed(42);
    expect(init.xavierNormal(zeros([4, 4])).toArray()).toEqual(a);
  });
});
