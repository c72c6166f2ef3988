import { describe, expect, it } from 'vitest';
import { tensor } from '../index.js';
import { assertClose, assertCloseAsync, maxAbs, maxAbsDiff } from './compare.js';

describe('assertClose', () => {
  it('passes within atol + rtol * |expected|, equal infinities and NaN against NaN', () => {
    assertClose(tensor([1, 2, Infinity, NaN]), tensor([1 + 1e-6, 2.0002, Infinity, NaN]), 'x', { rtol: 1e-4, atol: 1e-6 });
  });

  it('names what, how many fail, the worst element and the shape', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[1, 2.1], [3.5, 4]]);
    expect(() => assertClose(a, b, 'logits')).toThrow('logits: 2 of 4 elements differ beyond rtol 0.0001, atol 0.00001; worst at flat index 2: 3, expected 3.5 (shape [2, 2])');
  });

  it('fails on NaN against a number, a number against NaN and mismatched infinities', () => {
    expect(() => assertClose(tensor([NaN]), tensor([1]))).toThrow('worst at flat index 0: NaN, expected 1');
    expect(() => assertClose(tensor([1]), tensor([NaN]))).toThrow('expected NaN');
    expect(() => assertClose(tensor([Infinity]), tensor([-Infinity]))).toThrow('expected -Infinity');
  });

  it('fails on different shapes with the same number of elements', () => {
    expect(() => assertClose(tensor([1, 2]), tensor([[1, 2]]), 'y')).toThrow('y: shape [2], expected [1, 2]');
  });

  it('has an async form for devices that read asynchronously', async () => {
    await assertCloseAsync(tensor([1, 2]), tensor([1, 2]));
    await expect(assertCloseAsync(tensor([1, 2]), tensor([1, 3]), 'z')).rejects.toThrow('z: 1 of 2');
  });
});

describe('maxAbsDiff and maxAbs', () => {
  it('measure the largest difference and magnitude', () => {
    expect(maxAbsDiff(tensor([1, -2, 3]), tensor([1.5, -2, 0]))).toBe(3);
    expect(maxAbs(tensor([1, -5, 3]))).toBe(5);
    expect(() => maxAbsDiff(tensor([1]), tensor([1, 2]))).toThrow('shapes differ: [1] and [2]');
  });
});
