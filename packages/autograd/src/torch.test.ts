import { layerNorm, type Tensor } from '@dl/tensor';
import { describe, test } from 'vitest';
import { grad } from './api.js';
import { backward } from './engine.js';
import { decode, expectClose, loadFixture, type Encoded } from './fixtures.js';

interface Case {
  inputs: Record<string, Encoded>;
  loss: number;
  grads: Record<string, Encoded>;
}
const { cases } = loadFixture<{ cases: Record<string, Case> }>('torch-grads.json');

/** Decodes a case's inputs, marking `leaves` as requiring grad; `ints` are int32. */
function inputs(c: Case, leaves: string[], ints: string[] = [], bools: string[] = []): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) {
    out[k] = decode(v, ints.includes(k) ? 'int32' : bools.includes(k) ? 'bool' : 'float32');
    if (leaves.includes(k)) out[k].requiresGrad_();
  }
  return out;
}

/** backward(loss) and compare the leaves' .grad and the loss with PyTorch. */
function check(name: string, leaves: string[], loss: (t: Record<string, Tensor>) => Tensor, ints: string[] = [], bools: string[] = []): void {
  const c = cases[name];
  const t = inputs(c, leaves, ints, bools);
  const l = loss(t);
  expectClose(l, { shape: [], data: [c.loss] }, `${name} loss`);
  backward(l);
  for (const k of leaves) expectClose(t[k].grad!, c.grads[k], `${name} d/d${k}`);
}

describe('gradients match PyTorch 1.13', () => {
  test('softmax + NLL', () => {
    check('softmaxNll', ['logits'], ({ logits, target }) => logits.logSoftmax(1).gather(1, target.unsqueeze(1)).neg().mean(), ['target']);
  });

  test('layer norm written from primitives', () => {
    check('layerNorm', ['x', 'weight', 'bias'], ({ x, weight, bias, r }) => {
      const mu = x.mean(-1, true);
      const xc = x.sub(mu);
      const variance = xc.mul(xc).mean(-1, true);
      return xc.mul(variance.add(1e-5).rsqrt()).mul(weight).add(bias).mul(r).sum();
    });
  });

  test('fused layerNorm (the same fixture)', () => {
    check('layerNorm', ['x', 'weight', 'bias'], ({ x, weight, bias, r }) => layerNorm(x, 6, weight, bias, 1e-5).mul(r).sum());
  });

  test('conv2d with stride 2, padding 1, groups 2 and bias', () => {
    check('conv2d', ['x', 'weight', 'bias'], ({ x, weight, bias, r }) => x.conv2d(weight, { stride: 2, padding: 1, groups: 2, bias }).mul(r).sum());
  });

  test('maxPool2d 3x3, stride 2, padding 1', () => {
    check('maxPool2d', ['x'], ({ x, r }) => x.maxPool2d(3, { stride: 2, padding: 1 }).mul(r).sum());
  });

  test('batched matmul with broadcast batch dims', () => {
    check('batchedMatmul', ['a', 'b'], ({ a, b, r }) => a.matmul(b).mul(r).sum());
  });

  test('gather and indexSelect', () => {
    check('gatherIndexSelect', ['x'], ({ x, index, rows, r, s }) => x.gather(1, index).mul(r).sum().add(x.indexSelect(0, rows).mul(s).sum()), ['index', 'rows']);
  });

  test('cumsum', () => {
    check('cumsum', ['x'], ({ x, r }) => x.cumsum(1).mul(r).sum());
  });

  test('where with broadcasting', () => {
    check('where', ['a', 'b'], ({ cond, a, b, r }) => a.where(cond, b).mul(r).sum(), [], ['cond']);
  });

  const gradNorm = ({ w, x }: Record<string, Tensor>): Tensor => {
    const gw = grad((w2: Tensor) => x.matmul(w2).tanh().pow(2).sum())(w);
    return gw.pow(2).sum();
  };

  test('second order: gradient of a gradient norm, through nested grad()', () => {
    check('gradOfGradNorm', ['w', 'x'], gradNorm);
  });

  test('second order: gradient of a gradient norm, through backward({ createGraph })', () => {
    const c = cases.gradOfGradNorm;
    const { w, x } = inputs(c, ['w', 'x']);
    backward(x.matmul(w).tanh().pow(2).sum(), { createGraph: true });
    const gw = w.grad!;
    // the first backward also left dloss/dx in x.grad; start the second-order sums from zero
    w.grad = null;
    x.grad = null;
    const gn = gw.pow(2).sum();
    expectClose(gn, { shape: [], data: [c.loss] }, 'gradient norm');
    backward(gn);
    expectClose(w.grad!, c.grads.w, 'd|g|²/dw');
    expectClose(x.grad!, c.grads.x, 'd|g|²/dx');
  });
});
