import { DTypeError, Tensor, memory, randn, scope, tensor } from '@dl/tensor';
import { describe, expect, test } from 'vitest';
import { grad, noGrad, valueAndGrad } from './api.js';
import { customGrad } from './custom.js';
import { backward } from './engine.js';
import { InplaceModificationError, NonScalarBackwardError } from './errors.js';
import { gradcheck } from './gradcheck.js';
import { Parameter, isParameter, parameter } from './parameter.js';

describe('grad and valueAndGrad', () => {
  test('grad of the first argument by default', () => {
    expect(grad((x: Tensor) => x.mul(x).sum())(tensor([1, 2, 3])).toArray()).toEqual([2, 4, 6]);
  });

  test('several argnums, non-tensor arguments, and zeros for an unused argument', () => {
    const f = (a: Tensor, k: number, b: Tensor, c: Tensor): Tensor => a.mul(b).sum().mul(k).add(c.mul(0).sum().detach());
    const [ga, gb, gc] = grad(f, { argnums: [0, 2, 3] })(tensor([1, 2]), 3, tensor([5, 7]), tensor([9]));
    expect(ga.toArray()).toEqual([15, 21]);
    expect(gb.toArray()).toEqual([3, 6]);
    expect(gc.toArray()).toEqual([0]);
  });

  test('valueAndGrad returns the value too', () => {
    const { value, grads } = valueAndGrad((x: Tensor) => x.mul(x).sum())(tensor([1, 2, 3]));
    expect(value.item()).toBe(14);
    expect(grads.toArray()).toEqual([2, 4, 6]);
  });

  test('leaves the arguments and the .grad of closed-over parameters alone', () => {
    const w = new Parameter(tensor([2, 3]));
    const x = tensor([1, 1]);
    const gx = grad((v: Tensor) => v.mul(w).sum())(x);
    expect(gx.toArray()).toEqual([2, 3]);
    expect(w.grad).toBe(null);
    expect(x.requiresGrad).toBe(false);
  });

  test('nests for higher derivatives', () => {
    const f = (x: Tensor): Tensor => x.pow(4).sum();
    const d1 = grad(f);
    const d2 = grad((x: Tensor) => d1(x).sum());
    const d3 = grad((x: Tensor) => d2(x).sum());
    const x = tensor([1, 2]);
    expect(d2(x).toArray()).toEqual([12, 48]); // 12x²
    expect(d3(x).toArray()).toEqual([24, 48]); // 24x
  });

  test('a gradient of a gradient mixes with backward() on parameters', () => {
    const w = new Parameter(tensor([1, 2]));
    const penalty = grad((v: Tensor) => v.pow(3).sum())(w).sum(); // Σ 3w²
    backward(penalty);
    expect(w.grad!.toArray()).toEqual([6, 12]);
  });

  test('f must return one element', () => {
    expect(() => grad((x: Tensor) => x.mul(2))(tensor([1, 2]))).toThrow(NonScalarBackwardError);
  });

  test('only float arguments can be differentiated', () => {
    expect(() => grad((x: Tensor) => x.sum())(tensor([1, 2], { dtype: 'int32' }))).toThrow(DTypeError);
  });

  test('frees the graph f built, including branches that lead only to closed-over parameters', () => {
    const w = new Parameter(randn([4]));
    const x = randn([4]);
    const before = memory();
    scope(() => {
      grad((v: Tensor) => v.exp().mul(w.exp()).sum())(x);
    });
    expect(memory()).toEqual(before);
  });
});

describe('customGrad', () => {
  const square = customGrad({
    name: 'square',
    forward: (ctx, x: Tensor) => {
      ctx.save(x);
      return x.mul(x);
    },
    backward: (ctx, g) => [g.mul(ctx.saved[0]).mul(2)],
  });

  test('uses the hand-written gradient', () => {
    const w = new Parameter(tensor([1, -2]));
    const y = square(w);
    expect(y.requiresGrad && !y.isLeaf).toBe(true);
    backward(y.sum());
    expect(w.grad!.toArray()).toEqual([2, -4]);
  });

  test('forward runs without recording, and nothing is recorded when no input requires grad', () => {
    const seen: boolean[] = [];
    const probe = customGrad({
      forward: (_ctx, x: Tensor) => {
        const y = x.mul(2);
        seen.push(y.requiresGrad);
        return y;
      },
      backward: (_ctx, g) => [g.mul(2)],
    });
    probe(tensor([1]).requiresGrad_());
    expect(seen).toEqual([false]);
    expect(probe(tensor([1])).requiresGrad).toBe(false);
  });

  test('a backward written with tensor ops is differentiable (second order)', () => {
    const g2 = grad((x: Tensor) => grad((y: Tensor) => square(y).mul(y).sum())(x).sum())(tensor([1, 3]));
    expect(g2.toArray()).toEqual([6, 18]); // d²(x³)/dx² = 6x
  });

  test('non-tensor arguments and gradients for several inputs', () => {
    const scaledDot = customGrad({
      forward: (ctx, a: Tensor, b: Tensor, k: number) => {
        ctx.save(a, b);
        return a.mul(b).sum().mul(k);
      },
      backward: (ctx, g) => {
        const [a, b] = ctx.saved;
        const k = 2;
        return [ctx.needsInputGrad[0] ? g.mul(b).mul(k) : null, ctx.needsInputGrad[1] ? g.mul(a).mul(k) : null, null];
      },
    });
    const r = gradcheck((a, b) => scaledDot(a, b, 2), [randn([3]), randn([3])]);
    expect(r.ok, r.message).toBe(true);
  });

  test('backward may return tensors it does not own (saved ones, constants)', () => {
    const c = tensor([3, 4]);
    const scale = customGrad({
      forward: (ctx, x: Tensor) => {
        ctx.save(c);
        return x.mul(c);
      },
      backward: (ctx, g) => [g === ctx.saved[0] ? g : ctx.saved[0]], // d/dx = c, for a seed of ones
    });
    const x = new Parameter(tensor([1, 1]));
    const y = scale(x).sum();
    backward(y, { retainGraph: true });
    backward(y); // the saved tensor survived the first backward
    expect(x.grad!.toArray()).toEqual([6, 8]);
    expect(c.isDisposed).toBe(false);
    const identity = customGrad({ forward: (_ctx, v: Tensor) => v.mul(1), backward: () => [c] });
    backward(identity(x).sum());
    expect(c.toArray()).toEqual([3, 4]);
  });

  test('its saved tensors are version-checked', () => {
    const x = new Parameter(tensor([1, 2]));
    const y = square(x);
    noGrad(() => x.add_(1));
    expect(() => backward(y.sum())).toThrow(InplaceModificationError);
    expect(() => backward(square(x).sum())).not.toThrow(); // saved after the change
    const z = square(x);
    noGrad(() => x.mul_(2));
    expect(() => backward(z.sum())).toThrow(/saved by 'square' was modified in place/);
  });
});

describe('gradcheck', () => {
  test('passes a correct gradient and reports the worst element', () => {
    const r = gradcheck((x) => x.tanh().mul(x).sum(1), [randn([3, 4])]);
    expect(r.ok, r.message).toBe(true);
    expect(r.checked).toBe(3 * 12);
    expect(r.worst!.error).toBeLessThanOrEqual(r.worst!.tolerance);
  });

  test('fails a wrong gradient, naming the element', () => {
    const wrong = customGrad({
      forward: (ctx, x: Tensor) => {
        ctx.save(x);
        return x.sin();
      },
      // d sin = cos; this rule is wrong (sign flipped) for the last element only
      backward: (ctx, g) => [g.mul(ctx.saved[0].cos()).mul(tensor([1, 1, -1], { dtype: 'float64' }))],
    });
    const r = gradcheck(wrong, [tensor([0.1, 0.2, 0.3])]);
    expect(r.ok).toBe(false);
    expect(r.worst!.index).toEqual([2]);
    expect(r.worst!.output).toEqual([2]);
    expect(r.message).toMatch(/failed: worst d out\[2\] \/ d input0\[2\]/);
  });

  test('passes integer inputs through and checks float32 inputs in float64', () => {
    const x = randn([3, 4]);
    const idx = tensor([[2, 0, 1, 1]], { dtype: 'int32' });
    const r = gradcheck((a, i) => a.gather(0, i).exp(), [x, idx]);
    expect(r.ok, r.message).toBe(true);
  });

  test('refuses an f that drops to float32', () => {
    expect(() => gradcheck((x) => x.float(), [randn([2])])).toThrow(DTypeError);
  });
});

describe('Parameter', () => {
  test('new Parameter(t) is a leaf that requires grad and shares t’s storage', () => {
    const t = tensor([1, 2]);
    const p = new Parameter(t);
    expect(p).toBeInstanceOf(Tensor);
    expect(p instanceof Parameter).toBe(true);
    expect(t instanceof Parameter).toBe(false);
    expect(isParameter(p)).toBe(true);
    expect(p.requiresGrad && p.isLeaf).toBe(true);
    expect(t.requiresGrad).toBe(false);
    expect(p.storage).toBe(t.storage);
  });

  test('parameter() and a frozen one', () => {
    const p = parameter(tensor([1]), false);
    expect(isParameter(p) && !p.requiresGrad).toBe(true);
    expect(() => new Parameter(tensor([1], { dtype: 'int32' }))).toThrow(DTypeError);
  });

  test('outlives the scope it was made in', () => {
    let unreturned: Tensor | undefined;
    const p = scope(() => {
      unreturned = new Parameter(randn([2])); // not returned: still alive
      return new Parameter(randn([2]));
    });
    expect(p.isDisposed).toBe(false);
    expect(unreturned!.isDisposed).toBe(false);
    expect(unreturned!.toArray()).toHaveLength(2);
    // a parameter made in a nested scope and kept in a field survives both
    const holder: { w?: Tensor } = {};
    scope(() => scope(() => void (holder.w = parameter(randn([3])))));
    expect(holder.w!.isDisposed).toBe(false);
  });
});
