import { DispatchListenerError, addDispatchListener, defineOp, manualSeed, ones, randn, sizeOf, tensor, type HostInput, type Tensor } from '@dl/tensor';
import { type OutInfo } from '@dl/tensor/internal';
import { describe, expect, it } from 'vitest';
import { grad, noGrad } from './api.js';
import { backward } from './engine.js';
import { InplaceModificationError } from './errors.js';
import { gradcheck } from './gradcheck.js';

// Autograd finds a custom op's rule through the dispatch listener: no entry in its rule table.

const elementwise = (f: (a: number, b: number) => number) => ([a, b]: readonly HostInput[], _attrs: unknown, out: OutInfo) => {
  const r = out.dtype === 'float64' ? new Float64Array(sizeOf(out.shape)) : new Float32Array(sizeOf(out.shape));
  for (let i = 0; i < r.length; i++) r[i] = f(a.data[i], b.data[i]);
  return r;
};

/** a² b, saving both inputs; each gradient is computed only when asked for */
let backwardNeeds: boolean[][] = [];
const sqMul = defineOp<Record<string, never>, 2>({
  name: 'test.sqMul',
  inputs: 2,
  inferOutput: ([a]) => ({ shape: a.shape, dtype: a.dtype }),
  cpu: elementwise((a, b) => a * a * b),
  save: ([a, b]) => [a, b],
  backward: (g, { saved: [a, b], needs }) => {
    backwardNeeds.push([...needs]);
    return [needs[0] ? g.mul(a).mul(b).mul(2) : null, needs[1] ? g.mul(a).mul(a) : null];
  },
});

/** 1 where a > b: no gradient */
const greater = defineOp<Record<string, never>, 2>({
  name: 'test.greater',
  inputs: 2,
  differentiable: false,
  inferOutput: ([a]) => ({ shape: a.shape, dtype: a.dtype }),
  cpu: elementwise((a, b) => +(a > b)),
});

const f64 = { dtype: 'float64' as const };

describe('custom ops under autograd', () => {
  it('are differentiated by their own rule: gradcheck first and second order', () => {
    manualSeed(1);
    const a = randn([3, 4], f64);
    const b = randn([3, 4], f64);
    const f = (a: Tensor, b: Tensor): Tensor => sqMul([a, b.transpose(0, 1).transpose(0, 1)]);
    const first = gradcheck(f, [a, b]);
    expect(first.ok, first.message).toBe(true);
    const r = randn([3, 4], f64);
    const df = (a: Tensor, b: Tensor): Tensor => {
      const [ga, gb] = grad((a: Tensor, b: Tensor) => f(a, b).mul(r).sum(), { argnums: [0, 1] })(a, b);
      return ga.add(gb);
    };
    const second = gradcheck(df, [a, b]);
    expect(second.ok, second.message).toBe(true);
  });

  it('tell backward which inputs need a gradient', () => {
    const a = tensor([1, 2]).requiresGrad_();
    const b = tensor([3, 4]);
    backwardNeeds = [];
    backward(sqMul([a, b]).sum());
    expect(backwardNeeds).toEqual([[true, false]]);
    expect(a.grad!.toArray()).toEqual([6, 16]);
  });

  it('record nothing when non-differentiable, or under noGrad', () => {
    const a = tensor([1, 2]).requiresGrad_();
    const b = tensor([0, 3]);
    const m = greater([a, b]);
    expect(m.requiresGrad).toBe(false);
    expect(m.toArray()).toEqual([1, 0]);
    expect(noGrad(() => sqMul([a, b])).requiresGrad).toBe(false);
    expect(sqMul([a, b]).requiresGrad).toBe(true);
  });

  it('keep saved tensors checked for in-place changes', () => {
    const a = tensor([1, 2]).requiresGrad_();
    const b = tensor([3, 4]);
    const y = sqMul([a, b]).sum();
    b.add_(1);
    expect(() => backward(y)).toThrow(InplaceModificationError);
    expect(() => backward(sqMul([a, b]).sum())).not.toThrow();
  });
});

describe('dispatch listeners next to autograd', () => {
  it('a profiler counts ops while autograd records, and is removed without affecting it', () => {
    const w = tensor([1, 2, 3]).requiresGrad_();
    const x = tensor([4, 5, 6]);
    const counts = new Map<string, number>();
    const remove = addDispatchListener((op) => void counts.set(op, (counts.get(op) ?? 0) + 1), { name: 'profiler' });
    const loss = sqMul([w, x]).sum();
    const forward = new Map(counts);
    backward(loss);
    remove();
    expect([...forward]).toEqual([
      ['test.sqMul', 1],
      ['sum', 1],
    ]);
    // the backward pass runs ops too, which the profiler saw
    expect([...counts.values()].reduce((s, n) => s + n, 0)).toBeGreaterThan(2);
    expect(w.grad!.toArray()).toEqual([8, 20, 36]);
    // removed: the profiler sees nothing more, autograd still records
    const total = [...counts.values()].reduce((s, n) => s + n, 0);
    const v = ones([2]).requiresGrad_();
    backward(v.mul(v).sum());
    expect([...counts.values()].reduce((s, n) => s + n, 0)).toBe(total);
    expect(v.grad!.toArray()).toEqual([2, 2]);
  });

  it('an exception in a listener surfaces as a DispatchListenerError naming the op and the listener', () => {
    const w = ones([2]).requiresGrad_();
    const remove = addDispatchListener(
      (op) => {
        if (op === 'exp') throw new Error('disk full');
      },
      { name: 'logger' },
    );
    try {
      expect(() => w.exp()).toThrow(DispatchListenerError);
      expect(() => w.exp()).toThrow("exp: dispatch listener 'logger' threw Error: disk full");
    } finally {
      remove();
    }
    const y = w.exp().sum();
    backward(y);
    expect(w.grad!.toArray()).toEqual([Math.E, Math.E].map((v) => Math.fround(v)));
  });
});
