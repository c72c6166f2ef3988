import { DLError, ShapeError, cpuBackend, memory, ones, randn, scope, tensor, zeros, type Tensor } from '@dl/tensor';
import { type KernelTable } from '@dl/tensor/internal';
import { describe, expect, test } from 'vitest';
import { enableGrad, isGradEnabled, noGrad } from './api.js';
import { backward } from './engine.js';
import { AsyncCallbackError, FreedGraphError, InplaceModificationError, NonScalarBackwardError, RequiresGradError } from './errors.js';
import { Parameter } from './parameter.js';

const leaf = (v: number[]): Tensor => tensor(v).requiresGrad_();

describe('backward', () => {
  test('accumulates into .grad in place across calls', () => {
    const x = leaf([1, 2, 3]);
    backward(x.mul(x).sum());
    const g = x.grad!;
    expect(g.toArray()).toEqual([2, 4, 6]);
    backward(x.mul(3).sum());
    expect(x.grad).toBe(g); // same tensor, updated in place (optimizers may hold it)
    expect(g.toArray()).toEqual([5, 7, 9]);
  });

  test('sums the gradient of a leaf used along several paths', () => {
    const x = leaf([2]);
    const y = x.mul(x).mul(x).add(x.exp()).add(x); // x³ + eˣ + x
    backward(y.sum());
    expect(x.grad!.item()).toBeCloseTo(3 * 4 + Math.exp(2) + 1, 4);
  });

  test('reduces broadcast gradients to each input shape (the expand rule)', () => {
    const a = randn([3, 1]).requiresGrad_();
    const b = randn([4]).requiresGrad_();
    backward(a.add(b).mul(2).sum());
    expect(a.grad!.shape).toEqual([3, 1]);
    expect(a.grad!.toArray()).toEqual([[8], [8], [8]]);
    expect(b.grad!.toArray()).toEqual([6, 6, 6, 6]);
  });

  test('gives a leaf a contiguous gradient of its own even when the gradient is a stride-0 view', () => {
    const x = leaf([1, 2, 3]);
    backward(x.sum()); // d/dx = ones expanded from a scalar
    expect(x.grad!.isContiguous()).toBe(true);
    expect(x.grad!.strides).toEqual([1]);
    backward(x.sum());
    expect(x.grad!.toArray()).toEqual([2, 2, 2]);
  });

  test('copies a seed gradient rather than adopting the caller tensor', () => {
    const x = leaf([1, 2]);
    const seed = tensor([5, 7]);
    backward(x, { grad: seed });
    expect(x.grad).not.toBe(seed);
    seed.fill_(0);
    expect(x.grad!.toArray()).toEqual([5, 7]);
  });

  test('takes a seed gradient for a non-scalar output', () => {
    const x = leaf([1, 2, 3]);
    backward(x.mul(x), { grad: tensor([1, 0, 2]) });
    expect(x.grad!.toArray()).toEqual([2, 0, 12]);
  });

  test('loss.backward() works once @dl/autograd is loaded', () => {
    const x = leaf([3]);
    x.mul(x).sum().backward();
    expect(x.grad!.item()).toBe(6);
  });

  test('only leaves get .grad; integer and bool results never require grad', () => {
    const x = leaf([1, -2, 3]);
    const y = x.mul(2);
    expect(y.isLeaf).toBe(false);
    expect(x.argmax().requiresGrad).toBe(false);
    expect(x.gt(0).requiresGrad).toBe(false);
    expect(x.cast('int32').requiresGrad).toBe(false);
    backward(y.sum());
    expect(y.grad).toBe(null);
  });

  test('detach() cuts the graph', () => {
    const x = leaf([1, 2]);
    const y = x.mul(x.detach()); // d/dx = x (the detached factor is a constant)
    backward(y.sum());
    expect(x.grad!.toArray()).toEqual([1, 2]);
  });

  test('gradients flow through views into the viewed leaf', () => {
    const x = randn([3, 4]).requiresGrad_();
    backward(x.T.slice(0, 1, 3).reshape([-1]).mul(tensor([1, 2, 3, 4, 5, 6])).sum());
    // x.T[1:3] = x[:, 1:3] transposed: element (r, c) of the slice is x[c, r + 1]
    expect(x.grad!.toArray()).toEqual([
      [0, 1, 4, 0],
      [0, 2, 5, 0],
      [0, 3, 6, 0],
    ]);
  });

  test('createGraph makes .grad differentiable', () => {
    const x = leaf([1, 2]);
    backward(x.pow(3).sum(), { createGraph: true });
    const g = x.grad!; // 3x²
    expect(g.requiresGrad).toBe(true);
    x.grad = null;
    backward(g.sum()); // d/dx Σ 3x² = 6x
    expect(x.grad!.toArray()).toEqual([6, 12]);
  });
});

describe('gradient layout', () => {
  test('a weight used as w.T (a Linear layer) gets a contiguous gradient without a copy kernel', () => {
    const w = new Parameter(randn([5, 4]));
    const x = randn([3, 4]);
    const kernels = cpuBackend.kernels as { -readonly [K in keyof KernelTable]: KernelTable[K] };
    const copy = kernels.copy;
    let copies = 0;
    kernels.copy = (...args) => (copies++, copy(...args));
    try {
      backward(x.matmul(w.T).sum());
    } finally {
      kernels.copy = copy;
    }
    expect(copies).toBe(0);
    expect(w.grad!.isContiguous()).toBe(true);
    // d/dw sum(x wᵀ) = column sums of x, one row per output
    const cs = x.sum(0).dataSync();
    const g = w.grad!.dataSync();
    for (let i = 0; i < 20; i++) expect(g[i]).toBeCloseTo(cs[i % 4], 5);
  });
});

describe('grad mode', () => {
  test('noGrad records nothing; enableGrad inside it records again', () => {
    const x = leaf([1]);
    expect(isGradEnabled()).toBe(true);
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2);
    });
    expect(y.requiresGrad).toBe(false);
    const z = noGrad(() => enableGrad(() => x.mul(2)));
    expect(z.requiresGrad).toBe(true);
    expect(isGradEnabled()).toBe(true);
  });

  test('restores the mode when fn throws', () => {
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });

  test('refuses async callbacks with a typed error, restoring the mode and leaving no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const x = leaf([1]);
      let late: Tensor | undefined;
      // the code after the first await would run with grad mode already restored: recorded
      expect(() =>
        noGrad(async () => {
          await null;
          late = x.mul(2);
          throw new Error('rejected later');
        }),
      ).toThrow(AsyncCallbackError);
      expect(isGradEnabled()).toBe(true);
      expect(() => noGrad(() => enableGrad(() => Promise.resolve(x.mul(2))))).toThrow(/enableGrad: fn returned a Promise/);
      expect(isGradEnabled()).toBe(true);
      noGrad(() => {
        expect(() => enableGrad(async () => 1)).toThrow(AsyncCallbackError);
        expect(isGradEnabled()).toBe(false);
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(late).toBeDefined();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('in-place updates of a tensor that requires grad need noGrad (optimizer steps)', () => {
    const w = new Parameter(ones([2]));
    expect(() => w.sub_(1)).toThrow(DLError);
    noGrad(() => w.sub_(tensor([0.5, 0.25])));
    expect(w.toArray()).toEqual([0.5, 0.75]);
    expect(w.isLeaf && w.requiresGrad).toBe(true);
  });
});

describe('errors', () => {
  test('backward on a non-scalar without grad names the shape and the fix', () => {
    const y = leaf([1, 2]).mul(2);
    expect(() => backward(y)).toThrow(NonScalarBackwardError);
    expect(() => backward(y)).toThrow(/shape \[2\].*loss\.sum\(\)/);
  });

  test('backward on a tensor that does not require grad', () => {
    expect(() => backward(tensor([1]).mul(2).sum())).toThrow(RequiresGradError);
    const x = leaf([1]);
    expect(() => backward(noGrad(() => x.mul(2)).sum())).toThrow(/does not require grad/);
  });

  test('a seed of the wrong shape', () => {
    expect(() => backward(leaf([1, 2]).mul(2), { grad: zeros([3]) })).toThrow(ShapeError);
  });

  test('a second backward through a freed graph, and retainGraph', () => {
    const x = leaf([1, 2]);
    const y = x.mul(x).sum();
    backward(y);
    expect(() => backward(y)).toThrow(FreedGraphError);
    expect(() => backward(y)).toThrow(/'mul'.*retainGraph: true/);

    const z = x.mul(x).sum();
    x.grad = null;
    backward(z, { retainGraph: true });
    backward(z);
    expect(x.grad!.toArray()).toEqual([4, 8]);
  });

  test('an in-place change to a saved tensor is detected by its version', () => {
    const x = leaf([1, 2]);
    const c = tensor([3, 4]);
    const y = x.mul(c).sum(); // mul saves c for x's gradient
    c.add_(1); // c does not require grad, so this is allowed here
    expect(() => backward(y)).toThrow(InplaceModificationError);
    expect(() => backward(leaf([1]).mul(c).sum())).not.toThrow(); // saved after the change: fine
  });

  test('an optimizer step between forward and backward is detected', () => {
    const w = new Parameter(tensor([1, 2]));
    const loss = w.exp().mul(w).sum(); // mul saves w (and exp's output)
    noGrad(() => w.sub_(0.1));
    expect(() => backward(loss)).toThrow(/saved by 'mul' was modified in place.*version 0 -> 1/);
  });
});

describe('memory', () => {
  test('backward frees saved tensors and intermediate gradients', () => {
    const x = randn([8, 8]).requiresGrad_();
    backward(x.sum()); // x.grad exists from here on
    const before = memory();
    scope(() => backward(x.matmul(x).tanh().softmax(-1).mul(x).sum()));
    expect(memory()).toEqual(before);
  });

  test('retainGraph keeps saved tensors until a later backward frees them', () => {
    const x = randn([4]).requiresGrad_();
    backward(x.sum());
    const before = memory();
    const y = scope(() => x.exp().mul(x).sum()); // the graph saved exp's output and x
    const withGraph = memory();
    expect(withGraph.tensors).toBe(before.tensors + 1 + 3); // y, and aliases of x (twice) and exp(x)
    scope(() => backward(y, { retainGraph: true }));
    expect(memory()).toEqual(withGraph);
    scope(() => backward(y));
    y.dispose();
    expect(memory()).toEqual(before);
  });
});
