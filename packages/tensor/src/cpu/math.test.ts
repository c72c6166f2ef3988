import { describe, expect, it } from 'vitest';
import { tensor } from '../index.js';
import { exp32 } from './math.js';

describe('exp32 (float32 sigmoid and silu)', () => {
  it('is within one float32 ulp of Math.exp across the float range, with its edges', () => {
    let worst = 0;
    for (let v = -104; v <= 88.7; v += 0.001237) { // float32 overflows past 88.72
      const want = Math.fround(Math.exp(v));
      const got = Math.fround(exp32(v));
      if (want < 1.1754944e-38) {
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1.5e-45); // denormals: within one step of the smallest one
        continue;
      }
      worst = Math.max(worst, Math.abs(got - want) / want);
    }
    expect(worst).toBeLessThan(1.2e-7); // one ulp of float32 is 2^-23 = 1.19e-7 relative
    expect(exp32(0)).toBe(1);
    expect(exp32(Infinity)).toBe(Infinity);
    expect(exp32(-Infinity)).toBe(0);
    expect(exp32(NaN)).toBeNaN();
    expect(exp32(800)).toBe(Infinity);
    expect(exp32(-800)).toBe(0);
  });

  it('sigmoid and silu in float32 agree with the float64 kernels and keep PyTorch special values', () => {
    const xs = Array.from({ length: 2001 }, (_, i) => Math.fround((i - 1000) / 37)); // float32 inputs for both
    for (const op of ['sigmoid', 'silu'] as const) {
      const f32 = tensor(xs)[op]().toArray() as number[];
      const f64 = tensor(xs, { dtype: 'float64' })[op]().toArray() as number[];
      f32.forEach((v, i) => expect(Math.abs(v - f64[i])).toBeLessThanOrEqual(2.4e-7 * Math.abs(f64[i]) + 1.5e-45));
    }
    const special = [Infinity, -Infinity, NaN, 0, -0, 100, -100];
    const sig = tensor(special).sigmoid().toArray() as number[];
    expect(sig.slice(0, 6)).toEqual([1, 0, NaN, 0.5, 0.5, 1]);
    expect(sig[6]).toBeLessThan(1e-43); // a float32 denormal (PyTorch flushes it to 0)
    const silu = tensor(special).silu().toArray() as number[];
    expect(silu.slice(0, 2)).toEqual([Infinity, NaN]); // -inf * sigmoid(-inf) = -inf * 0, as PyTorch
    expect(silu[2]).toBeNaN();
    expect(Object.is(silu[3], 0) && Object.is(silu[4], -0)).toBe(true);
    expect(silu[5]).toBe(100);
    expect(silu[6]).toBeCloseTo(0, 40);
  });
});
