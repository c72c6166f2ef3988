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
