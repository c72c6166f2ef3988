import { describe, expect, it } from 'vitest';
import { foreachNorm, randn, manualSeed, tensor, zeros, DTypeError, DLError } from '../index.js';

/** the ord-norm of one tensor from its values, in float64 */
function norm(v: ArrayLike<number>, ord: number): number {
  const a = Array.from(v, Math.abs);
  if (ord === Infinity) return a.length ? Math.max(...a) : 0;
  return a.reduce((s, x) => s + x ** ord, 0) ** (1 / ord);
}

describe('foreachNorm', () => {
  it('gives the norm of each tensor for ord 2, 1, Infinity and other p, any shapes', () => {
    manualSeed(3);
    const xs = [randn([7]), randn([3, 5]), randn([2, 3, 4]), zeros([0]), randn([1])];
    for (const ord of [2, 1, Infinity, 3, 0.5]) {
      const got = foreachNorm(xs, ord).toArray() as number[];
      expect(got.length).toBe(xs.length);
      xs.forEach((x, i) => expect(got[i]).toBeCloseTo(norm(x.dataSync(), ord), 4));
    }
    expect(foreachNorm([tensor([3, 4]), tensor([[1, -1], [1, -1]])]).toArray()).toEqual([5, 2]);
  });

  it('reads strided views and keeps the dtype; float64 sums are exact to float64', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]).transpose(0, 1); // not contiguous
    expect(foreachNorm([x], 1).toArray()).toEqual([21]);
    const big = tensor([1e8, 1, -1e8], { dtype: 'float64' });
    const r = foreachNorm([big], 1);
    expect(r.dtype).toBe('float64');
    expect(r.toArray()).toEqual([2e8 + 1]);
  });

  it('lets NaN win, as PyTorch', () => {
    for (const ord of [2, 1, Infinity]) expect(Number.isNaN((foreachNorm([tensor([1, NaN, 5])], ord).toArray() as number[])[0])).toBe(true);
  });

  it('names bad input: no tensors, mixed dtypes, integer tensors, ord <= 0', () => {
    expect(() => foreachNorm([])).toThrow(DLError);
    expect(() => foreachNorm([tensor([1]), tensor([1], { dtype: 'float64' })])).toThrow(/tensors\[1\] is float64 \[1\]/);
    expect(() => foreachNorm([tensor([1], { dtype: 'int32' })])).toThrow(DTypeError);
    expect(() => foreachNorm([tensor([1])], 0)).toThrow(/ord must be a positive number/);
    expect(() => foreachNorm([tensor([1])], -2)).toThrow(/got -2/);
  });
});
