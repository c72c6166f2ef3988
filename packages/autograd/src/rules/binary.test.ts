import { clamp, maximum, minimum, type Tensor } from '@dl/tensor';
import { describe, test } from 'vitest';
import { backward } from '../engine.js';
import { decode, expectClose, loadFixture, type Encoded } from '../fixtures.js';

interface Case {
  inputs: Record<string, Encoded>;
  loss: number;
  grads: Record<string, Encoded>;
}
const { cases } = loadFixture<{ cases: Record<string, Case> }>('torch-grads.json');

/** backward((f(inputs) * r).sum()) and compare the leaves' gradients with PyTorch's (fixtures/generate.py). */
function check(name: string, leaves: string[], f: (t: Record<string, Tensor>) => Tensor): void {
  const c = cases[name];
  const t = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, decode(v)]));
  for (const k of leaves) t[k].requiresGrad_();
  const loss = f(t).mul(t.r).sum();
  expectClose(loss, { shape: [], data: [c.loss] }, `${name} loss`);
  backward(loss);
  for (const k of leaves) expectClose(t[k].grad!, c.grads[k], `${name} d/d${k}`);
}

// inputs sit exactly on the bounds: the gradient there is PyTorch's (all of g), not a tie's half
describe('clamp gradients match PyTorch 1.13 at the bounds', () => {
  test('number bounds: x at min and at max gets the whole gradient', () => {
    check('clampNumbers', ['x'], ({ x }) => clamp(x, -1, 1));
  });

  test('one number bound, as clamp and as maximum / minimum with a number', () => {
    check('clampMin', ['x'], ({ x }) => x.clamp(0.5));
    check('clampMin', ['x'], ({ x }) => maximum(x, 0.5));
    check('clampMin', ['x'], ({ x }) => maximum(0.5, x));
    check('clampMax', ['x'], ({ x }) => x.clamp(undefined, -0.5));
    check('clampMax', ['x'], ({ x }) => minimum(x, -0.5));
  });

  test('tensor bounds: x inside (bounds included), a bound where x is beyond it, min > max', () => {
    check('clampTensors', ['x', 'lo', 'hi'], ({ x, lo, hi }) => clamp(x, lo, hi));
  });

  test('a tensor min with a number max', () => {
    check('clampTensorMin', ['x', 'lo'], ({ x, lo }) => clamp(x, lo, 1));
  });
});
