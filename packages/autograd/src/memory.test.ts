import { manualSeed, memory, randn, scope, type Tensor } from '@dl/tensor';
import { expect, test } from 'vitest';
import { grad, noGrad } from './api.js';
import { backward } from './engine.js';
import { Parameter } from './parameter.js';

manualSeed(3);
const x = randn([16, 8]);
const y = randn([16, 2]);

function model() {
  const p = { w1: new Parameter(randn([8, 12]).mul(0.3)), b1: new Parameter(randn([12])), w2: new Parameter(randn([12, 2]).mul(0.3)) };
  const forward = (w1: Tensor): Tensor => {
    const h = x.matmul(w1).add(p.b1).relu().softmax(-1); // [16, 12]
    const d = h.matmul(p.w2).sub(y); // [16, 2]
    return d.mul(d).mean();
  };
  return { p, forward };
}

function sgd(params: Tensor[], lr: number): void {
  noGrad(() => {
    for (const q of params) q.sub_(q.grad!.mul(lr));
  });
}

test('memory stays flat over 1,000 forward/backward/SGD steps inside scope()', () => {
  const { p, forward } = model();
  const params = Object.values(p);
  const step = (): number =>
    scope(() => {
      for (const q of params) q.grad?.zero_();
      const loss = forward(p.w1);
      backward(loss);
      sgd(params, 0.05);
      return loss.item();
    });
  const first = step(); // creates the .grad tensors, which live on
  const before = memory();
  let last = first;
  for (let i = 1; i < 1000; i++) last = step();
  const after = memory();
  console.log(`memory over 1,000 steps: before ${before.tensors} tensors / ${before.bytes} B, after ${after.tensors} tensors / ${after.bytes} B; loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
  expect(after.tensors).toBe(before.tensors);
  expect(after.bytes).toBe(before.bytes);
  expect(last).toBeLessThan(first);
});

test('memory stays flat over 200 steps with a gradient penalty (second order)', () => {
  const { p, forward } = model();
  const params = Object.values(p);
  const step = (): void =>
    scope(() => {
      for (const q of params) q.grad?.zero_();
      const loss = forward(p.w1);
      const penalty = grad(forward)(p.w1).pow(2).sum(); // connected to p.w1: createGraph
      backward(loss.add(penalty.mul(0.1)));
      sgd(params, 0.05);
    });
  step();
  const before = memory();
  for (let i = 1; i < 200; i++) step();
  const after = memory();
  expect(after.tensors).toBe(before.tensors);
  expect(after.bytes).toBe(before.bytes);
});

test('forward passes that are never backpropagated free their saved tensors when their scope ends', () => {
  const { p, forward } = model();
  scope(() => void forward(p.w1)); // warm-up: anything made once (cached constants) is made now
  const before = memory();
  for (let i = 0; i < 50; i++) scope(() => void forward(p.w1));
  expect(memory().tensors - before.tensors).toBe(0);
  expect(memory().bytes).toBe(before.bytes);
});

test('a returned output keeps its graph until it is disposed, then the graph is freed', () => {
  const { p, forward } = model();
  const before = memory();
  const loss = scope(() => forward(p.w1)); // the intermediates are gone; their nodes still hold what backward needs
  expect(memory().tensors).toBeGreaterThan(before.tensors + 1);
  loss.dispose();
  expect(memory()).toEqual(before);
  // the same output, backpropagated after its scope ended
  const again = scope(() => forward(p.w1));
  backward(again);
  expect(p.w1.grad!.isDisposed).toBe(false);
  for (const q of Object.values(p)) {
    q.grad?.dispose();
    q.grad = null;
  }
  again.dispose();
  expect(memory()).toEqual(before);
});

test('retainGraph and createGraph graphs are freed once every tensor that reaches them is disposed', () => {
  const { p, forward } = model();
  const clear = (): void => {
    for (const q of Object.values(p)) {
      q.grad?.dispose();
      q.grad = null;
    }
  };
  const before = memory();
  const loss = scope(() => forward(p.w1));
  backward(loss, { retainGraph: true });
  backward(loss); // the graph is still there
  clear();
  loss.dispose();
  expect(memory()).toEqual(before);
  // a gradient with a graph (createGraph) keeps the forward nodes it reaches until it goes
  const g = scope(() => grad(forward, { createGraph: true })(p.w1));
  expect(g.requiresGrad).toBe(true);
  scope(() => backward(g.pow(2).sum())); // second order through the kept forward graph
  expect(p.w2.grad).not.toBe(null);
  clear();
  g.dispose();
  expect(memory()).toEqual(before);
});
