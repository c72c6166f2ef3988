import { DLError, keep, memory, scope, tensor, zeros, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Linear } from '../linear.js';
import { Module, param } from '../module.js';
import { assertClose, fixture, under } from '../test-helpers.js';
import { Adam, AdamW } from './adam.js';
import { clipGradNorm } from './clip.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

const fx = () => fixture('optim');

/** Three steps from PyTorch's fixture with fixed gradients; compares the parameter after each. */
function check(name: string, make: (p: Tensor) => Optimizer<{ lr: number }>): void {
  const f = fx();
  const p = param(f.p0.clone());
  const opt = make(p);
  ['g1', 'g2', 'g3'].forEach((g, i) => {
    p.grad = f[g].clone();
    opt.step();
    assertClose(p, under(f, name)[`p${i + 1}`], `${name}: parameter after step ${i + 1}`, { rtol: 1e-5, atol: 1e-6 });
  });
}

describe('optimizers match PyTorch over three steps', () => {
  it('SGD', () => check('sgd', (p) => new SGD([p], { lr: 0.1 })));
  it('SGD with momentum and weight decay', () => check('sgd_momentum_wd', (p) => new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })));
  it('SGD with Nesterov momentum', () => check('sgd_nesterov', (p) => new SGD([p], { lr: 0.05, momentum: 0.8, nesterov: true })));
  it('SGD with dampening', () => check('sgd_dampening', (p) => new SGD([p], { lr: 0.05, momentum: 0.8, dampening: 0.3 })));
  it('Adam', () => check('adam', (p) => new Adam([p], { lr: 0.01 })));
  it('Adam with L2 weight decay and AMSGrad', () => check('adam_wd_amsgrad', (p) => new Adam([p], { lr: 0.01, betas: [0.8, 0.9], weightDecay: 0.1, amsgrad: true })));
  it('AdamW', () => check('adamw', (p) => new AdamW([p], { lr: 0.01, weightDecay: 0.1 })));
  it('RMSprop', () => check('rmsprop', (p) => new RMSprop([p], { lr: 0.01 })));
  it('RMSprop centered with momentum and weight decay', () => check('rmsprop_centered_momentum', (p) => new RMSprop([p], { lr: 0.01, momentum: 0.5, centered: true, weightDecay: 0.05 })));
});

describe('Optimizer', () => {
  it('resumes from stateDict exactly where it left off', () => {
    const f = fx();
    const a = param(f.p0.clone());
    const optA = new Adam([a], { lr: 0.01 });
    a.grad = f.g1.clone();
    optA.step();
    const b = param(a.clone());
    const optB = new Adam([b], { lr: 0.5 });
    optB.loadStateDict(optA.stateDict());
    expect(optB.paramGroups[0].lr).toBe(0.01);
    a.grad = f.g2.clone();
    b.grad = f.g2.clone();
    optA.step();
    optB.step();
    assertClose(b, a, 'resumed parameter', { rtol: 0, atol: 0 });
  });

  it('applies per-group options over the defaults', () => {
    const p1 = param(tensor([1]));
    const p2 = param(tensor([1]));
    const opt = new SGD([{ params: [p1] }, { params: [p2], lr: 0.5 }], { lr: 0.1 });
    p1.grad = tensor([1]);
    p2.grad = tensor([1]);
    opt.step();
    expect(p1.item()).toBeCloseTo(0.9, 6);
    expect(p2.item()).toBeCloseTo(0.5, 6);
  });

  it('zeroGrad drops gradients and a step skips parameters without one', () => {
    const p = param(tensor([1, 2]));
    const opt = new SGD([p], { lr: 1 });
    p.grad = tensor([1, 1]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    opt.step();
    expect(p.toArray()).toEqual([1, 2]);
  });

  it('keeps its state tensors alive across scopes and frees step temporaries', () => {
    const p = param(zeros([10]));
    const opt = new Adam([p]);
    p.grad = keep(tensor(new Float32Array(10).fill(1)));
    scope(() => opt.step());
    const before = memory().tensors;
    scope(() => opt.step());
    expect(memory().tensors).toBe(before);
    expect((opt.state.get(p)!.exp_avg as Tensor).isDisposed).toBe(false);
  });

  it('takes the same Adam and AdamW steps on the fused CPU path and the generic tensor path', () => {
    for (const make of [(p: Tensor) => new Adam([p], { lr: 0.1 }), (p: Tensor) => new AdamW([p], { lr: 0.1, weightDecay: 0.5 })]) {
      const a = param(tensor([[1, -2, 3]]));
      const b = param(tensor([[1, -2, 3]]));
      const [optA, optB] = [make(a), make(b)];
      for (let i = 0; i < 3; i++) {
        a.grad = tensor([[0.5, -1, 2]]).add(i);
        b.grad = tensor([[0.5, 9], [-1, 9], [2, 9]]).add(i).select(1, 0).unsqueeze(0); // stride 2: generic path
        expect(b.grad.isContiguous()).toBe(false);
        optA.step();
        optB.step();
      }
      assertClose(b, a, `generic vs fused ${optA.constructor.name}`, { rtol: 1e-6, atol: 1e-7 });
    }
  });

  it('refuses an empty parameter list, naming #private fields as a likely cause', () => {
    class Hidden extends Module {
      #fc = new Linear(2, 2); // JavaScript cannot enumerate #private fields: the walk never sees it
      forward(x: Tensor): Tensor {
        return this.#fc.forward(x);
      }
    }
    const m = new Hidden();
    expect(m.parameters()).toEqual([]);
    for (const make of [() => new SGD(m.parameters(), { lr: 0.1 }), () => new Adam(m.parameters()), () => new AdamW([]), () => new RMSprop([{ params: [] }])]) {
      expect(make).toThrow(DLError);
      expect(make).toThrow(/got an empty parameter list.*#private/);
    }
  });

  it('rejects a parameter listed twice', () => {
    const p = param(tensor([1]));
    expect(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 1 })).toThrow(/more than one group/);
  });
});

describe('clipGradNorm', () => {
  it('matches torch.nn.utils.clip_grad_norm_', () => {
    const c = under(fx(), 'clip');
    const a = param(zeros([3, 4]));
    const b = param(zeros([5]));
    a.grad = c.ga.clone();
    b.grad = c.gb.clone();
    const norm = clipGradNorm([a, b], 1.5);
    assertClose(norm, c.norm, 'total norm');
    assertClose(a.grad, c.ga_after, 'clipped grad a');
    assertClose(b.grad, c.gb_after, 'clipped grad b');
  });
  it('takes norm types 1 and Infinity, and gradients of mixed dtypes (a norm per dtype, then their norm)', () => {
    const a = param(zeros([2]));
    const b = param(zeros([3], { dtype: 'float64' }));
    for (const [ord, want] of [[1, 15], [Infinity, 5], [2, Math.sqrt(55)]] as const) {
      a.grad = tensor([3, -4]);
      b.grad = tensor([1, 2, -5], { dtype: 'float64' });
      expect(clipGradNorm([a, b], 0.5, ord).item()).toBeCloseTo(want, 5);
      expect((b.grad.toArray() as number[])[2]).toBeCloseTo((-5 * 0.5) / (want + 1e-6), 6);
    }
  });
  it('leaves small gradients alone', () => {
    const a = param(zeros([2]));
    a.grad = tensor([0.3, 0.4]);
    expect(clipGradNorm([a], 1).item()).toBeCloseTo(0.5, 6);
    expect(a.grad.toArray()).toEqual([0.30000001192092896, 0.4000000059604645]);
  });
});

describe('optimizer arguments are checked as PyTorch checks them', () => {
  /** The message make() throws (a DLError naming the optimizer), or fails when it does not throw. */
  const refused = (make: () => unknown): string => {
    try {
      make();
    } catch (e) {
      expect(e).toBeInstanceOf(DLError);
      return (e as Error).message;
    }
    throw new Error('expected the optimizer to refuse its arguments');
  };
  const p = () => param(tensor([1, 2]));

  it('SGD: negative lr, momentum or weightDecay; nesterov without momentum or with dampening', () => {
    expect(refused(() => new SGD([p()], { lr: -0.1 }))).toBe('SGD: lr must be a finite number >= 0, got -0.1');
    expect(refused(() => new SGD([p()], { lr: NaN }))).toMatch(/^SGD: lr .* got NaN/);
    expect(refused(() => new SGD([p()], { lr: Infinity }))).toMatch(/^SGD: lr .* got Infinity/);
    expect(refused(() => new SGD([p()], { lr: '0.1' as never }))).toMatch(/^SGD: lr .* got '0.1'/);
    expect(refused(() => new SGD([p()], {} as never))).toBe('SGD: lr must be a finite number >= 0, got undefined'); // no default lr
    expect(refused(() => new SGD([p()], { lr: 0.1, momentum: -0.9 }))).toMatch(/^SGD: momentum .* got -0.9/);
    expect(refused(() => new SGD([p()], { lr: 0.1, weightDecay: -1e-4 }))).toMatch(/^SGD: weightDecay .* got -0.0001/);
    expect(refused(() => new SGD([p()], { lr: 0.1, nesterov: true }))).toMatch(/^SGD: nesterov .*momentum > 0.*got momentum 0/);
    expect(refused(() => new SGD([p()], { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }))).toMatch(/^SGD: nesterov .*dampening 0.*dampening 0.1/);
    expect(refused(() => new SGD([p()], { lr: 0.1, nesterov: 'yes' as never, momentum: 0.9 }))).toMatch(/^SGD: nesterov must be true or false/);
  });

  it('Adam and AdamW: lr, eps, each beta in [0, 1), weightDecay', () => {
    for (const [Opt, name] of [[Adam, 'Adam'], [AdamW, 'AdamW']] as const) {
      expect(refused(() => new Opt([p()], { lr: -1e-3 }))).toMatch(new RegExp(`^${name}: lr .* got -0.001`));
      expect(refused(() => new Opt([p()], { betas: [1.5, 0.999] }))).toBe(`${name}: betas[0] must be in [0, 1), got 1.5`);
      expect(refused(() => new Opt([p()], { betas: [0.9, 1] }))).toBe(`${name}: betas[1] must be in [0, 1), got 1`);
      expect(refused(() => new Opt([p()], { betas: [-0.1, 0.9] }))).toMatch(/betas\[0\] .* got -0.1/);
      expect(refused(() => new Opt([p()], { betas: [0.9] as never }))).toMatch(/betas must be two numbers, got \[0.9\]/);
      expect(refused(() => new Opt([p()], { eps: -1e-8 }))).toMatch(new RegExp(`^${name}: eps .* got -1e-8`));
      expect(refused(() => new Opt([p()], { weightDecay: -0.01 }))).toMatch(new RegExp(`^${name}: weightDecay .* got -0.01`));
      expect(refused(() => new Opt([p()], { amsgrad: 1 as never }))).toMatch(/amsgrad must be true or false/);
    }
  });

  it('RMSprop: lr, alpha in [0, 1], eps, momentum, weightDecay', () => {
    expect(refused(() => new RMSprop([p()], { lr: -0.01 }))).toMatch(/^RMSprop: lr .* got -0.01/);
    expect(refused(() => new RMSprop([p()], { alpha: 1.5 }))).toBe('RMSprop: alpha must be in [0, 1], got 1.5');
    expect(refused(() => new RMSprop([p()], { alpha: -0.5 }))).toMatch(/alpha .* got -0.5/);
    expect(refused(() => new RMSprop([p()], { eps: -1 }))).toMatch(/^RMSprop: eps/);
    expect(refused(() => new RMSprop([p()], { momentum: -0.1 }))).toMatch(/^RMSprop: momentum/);
    expect(refused(() => new RMSprop([p()], { weightDecay: -0.1 }))).toMatch(/^RMSprop: weightDecay/);
  });

  it('options of a param group (at construction or addParamGroup) name the group', () => {
    expect(refused(() => new SGD([{ params: [p()] }, { params: [p()], lr: -1 }], { lr: 0.1 }))).toBe('SGD: param group 1: lr must be a finite number >= 0, got -1');
    const opt = new Adam([p()]);
    expect(refused(() => opt.addParamGroup({ params: [p()], betas: [0.9, 2] }))).toBe('Adam: param group 1: betas[1] must be in [0, 1), got 2');
    expect(opt.paramGroups.length).toBe(1); // nothing was added
    // an option given as undefined takes the default, as one left out
    const ok = new SGD([{ params: [p()], lr: undefined }], { lr: 0.1 });
    expect(ok.paramGroups[0].lr).toBe(0.1);
  });

  it('edge values PyTorch accepts still work; later changes (schedulers) are not checked, as in PyTorch', () => {
    const q = p();
    const opts = [
      new SGD([q], { lr: 0, momentum: 0, weightDecay: 0 }),
      new Adam([p()], { lr: 0, betas: [0, 0], eps: 0 }),
      new RMSprop([p()], { alpha: 0 }),
      new RMSprop([p()], { alpha: 1 }),
    ];
    expect(opts.length).toBe(4);
    opts[0].paramGroups[0].lr = 0.5; // what an LR scheduler does
    q.grad = tensor([1, 1]);
    opts[0].step();
    expect(q.toArray()).toEqual([0.5, 1.5]);
  });
});
