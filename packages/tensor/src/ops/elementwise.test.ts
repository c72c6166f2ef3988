import { describe, expect, it } from 'vitest';
import { DLError, DTypeError, ShapeError, adamStep_, pow, remainder, tensor, where, zeros } from '../index.js';

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

describe('where / maskedFill conditions', () => {
  /** Runs fn and returns what it threw. */
  const caught = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    throw new Error('expected a throw');
  };

  it('a non-bool condition is a DTypeError naming the op, its dtype and shape (as PyTorch)', () => {
    const x = tensor([1, 2, 3]);
    for (const [name, fn, dtype] of [
      ['where', () => where(tensor([1, 0, 1]), x, 0), 'float32'], // one scalar side: whereScalar
      ['where', () => where(tensor([1, 0, 1], { dtype: 'int32' }), x, x.neg()), 'int32'],
      ['where', () => where(zeros([2, 3]), 1, 2), 'float32'],
      ['where', () => x.where(tensor([0.5, 0, 1]), 0), 'float32'],
    ] as const) {
      const e = caught(fn);
      expect(e, name).toBeInstanceOf(DTypeError);
      const m = (e as Error).message;
      expect(m).toMatch(/^where: condition must be bool/);
      expect(m).toContain(dtype);
    }
    expect((caught(() => where(zeros([2, 3]), 1, 2)) as Error).message).toContain('[2,3]');
  });

  it('bool conditions still select', () => {
    const c = tensor([true, false, true]);
    expect(Array.from(where(c, tensor([1, 2, 3]), tensor([4, 5, 6])).dataSync())).toEqual([1, 5, 3]);
    expect(Array.from(where(c, 9, tensor([4, 5, 6])).dataSync())).toEqual([9, 5, 9]);
    expect(Array.from(tensor([1, 2, 3]).maskedFill(c, 0).dataSync())).toEqual([0, 2, 0]);
  });
});

describe('maskedFill shapes and bool arithmetic as PyTorch', () => {
  const caught = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a throw');
  };

  it('maskedFill: a mask that does not broadcast to x names maskedFill and both shapes', () => {
    const e = caught(() => zeros([2, 3]).maskedFill(zeros([2], { dtype: 'bool' }), 0));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('maskedFill: mask [2] must broadcast to x [2,3]');
    // a mask wider than x would widen the result: refused too, as PyTorch's in-place fill
    expect(caught(() => zeros([3]).maskedFill(zeros([2, 3], { dtype: 'bool' }), 0)).message).toBe('maskedFill: mask [2,3] must broadcast to x [3]');
    expect(Array.from(zeros([2, 3]).maskedFill(tensor([true, false, true]), 1).dataSync())).toEqual([1, 0, 1, 1, 0, 1]);
  });

  it('bool: negation is a DTypeError; + and * (max, min) of bools stay bool (or, and)', () => {
    const n = caught(() => tensor([true, false]).neg());
    expect(n).toBeInstanceOf(DTypeError);
    expect(n.message).toMatch(/^neg: .*logicalNot.*bool \[2\]/);
    const a = tensor([true, false]).add(tensor([true, true]));
    expect([a.dtype, Array.from(a.dataSync())]).toEqual(['bool', [1, 1]]);
    const m = tensor([true, false]).mul(tensor([true, true]));
    expect([m.dtype, Array.from(m.dataSync())]).toEqual(['bool', [1, 0]]);
    const k = tensor([true, false]).add(true);
    expect([k.dtype, Array.from(k.dataSync())]).toEqual(['bool', [1, 1]]);
    const i = tensor([true, false]).add(1); // an int scalar promotes to int, as PyTorch
    expect([i.dtype, Array.from(i.dataSync())]).toEqual(['int32', [2, 1]]);
    expect(Array.from(tensor([true, false]).sub(1).dataSync())).toEqual([0, -1]);
    const mx = tensor([true, false]).maximum(tensor([false, false]));
    expect([mx.dtype, Array.from(mx.dataSync())]).toEqual(['bool', [1, 0]]);
  });
});

describe('integer remainder by zero, integers to negative powers, bool - bool (PyTorch refuses each)', () => {
  const caught = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a throw');
  };
  const i32 = (v: number[]) => tensor(new Int32Array(v));

  it('remainder of integers by zero throws instead of giving 0', () => {
    const s = caught(() => i32([7]).remainder(0));
    expect(s).toBeInstanceOf(DLError);
    expect(s.message).toBe('remainder: integer remainder by zero (x int32 [1])');
    expect(caught(() => i32([7, 1]).remainder(i32([2, 0]))).message).toBe('remainder: integer remainder by zero at [1] of the divisor int32 [2]');
    expect(caught(() => remainder(5, i32([1, 0]))).message).toBe('remainder: integer remainder by zero at [1] of the divisor int32 [2]');
    expect(Array.from(i32([7, -7]).remainder(3).dataSync())).toEqual([1, 2]);
    expect(Array.from(tensor([7.5]).remainder(0).dataSync())).toEqual([NaN]); // floats follow IEEE, as PyTorch
  });

  it('integers to negative integer powers throw; a float exponent gives floats', () => {
    expect(caught(() => i32([2]).pow(-1)).message).toBe('pow: integers to negative integer powers are not allowed, got exponent -1 (x int32 [1])');
    expect(caught(() => i32([2, 3]).pow(i32([1, -2]))).message).toBe('pow: integers to negative integer powers are not allowed, got exponent -2 at [1] of the exponent int32 [2]');
    expect(caught(() => pow(2, i32([-1]))).message).toMatch(/^pow: .*exponent -1 at \[0\]/);
    expect(i32([2]).pow(-1.5).dataSync()[0]).toBeCloseTo(2 ** -1.5, 6);
    expect(Array.from(i32([2, -3]).pow(3).dataSync())).toEqual([8, -27]);
  });

  it('bool - bool is a DTypeError naming both operands; bool - 1 is int', () => {
    const e = caught(() => tensor([true]).sub(tensor([true, false])));
    expect(e).toBeInstanceOf(DTypeError);
    expect(e.message).toBe('sub: subtraction of two bools is not supported, as in PyTorch; use logicalXor (ne) or logicalNot (a bool [1], b bool [2])');
    expect(caught(() => tensor([true]).sub(true)).message).toMatch(/\(a bool \[1\], b true\)$/);
    expect(Array.from(tensor([true, false]).sub(1).dataSync())).toEqual([0, -1]);
  });
});
