import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, adamStep_, tensor, where, zeros } from '../index.js';

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
