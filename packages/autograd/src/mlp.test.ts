import { scope, type Tensor } from '@dl/tensor';
import { expect, test } from 'vitest';
import { noGrad } from './api.js';
import { backward } from './engine.js';
import { decode, expectClose, loadFixture, type Encoded } from './fixtures.js';
import { Parameter } from './parameter.js';

interface MlpFixture {
  lr: number;
  x: Encoded;
  y: Encoded;
  init: Record<'w1' | 'b1' | 'w2' | 'b2', Encoded>;
  losses: number[];
  final: Record<'w1' | 'b1' | 'w2' | 'b2', Encoded>;
}

test('a two-layer MLP trained with SGD follows PyTorch loss curve (20 steps, 1e-4 relative)', () => {
  const fx = loadFixture<MlpFixture>('mlp-sgd.json');
  const x = decode(fx.x);
  const y = decode(fx.y);
  const p = {
    w1: new Parameter(decode(fx.init.w1)), // [16, 4] as nn.Linear
    b1: new Parameter(decode(fx.init.b1)),
    w2: new Parameter(decode(fx.init.w2)), // [1, 16]
    b2: new Parameter(decode(fx.init.b2)),
  };
  const params = Object.values(p);
  const losses: number[] = [];
  for (let step = 0; step < 20; step++) {
    scope(() => {
      for (const q of params) {
        q.grad?.dispose();
        q.grad = null;
      }
      const h = x.matmul(p.w1.T).add(p.b1).tanh(); // [32, 16]
      const out = h.matmul(p.w2.T).add(p.b2); // [32, 1]
      const d = out.sub(y);
      const loss = d.mul(d).mean();
      backward(loss);
      losses.push(loss.item());
      noGrad(() => {
        for (const q of params) q.sub_(q.grad!.mul(fx.lr));
      });
    });
  }
  const rel = losses.map((l, i) => Math.abs(l - fx.losses[i]) / Math.abs(fx.losses[i]));
  const worst = Math.max(...rel);
  console.log(`MLP loss curve: max relative error vs PyTorch ${worst.toExponential(2)} (loss ${fx.losses[0].toFixed(4)} -> ${fx.losses[19].toFixed(4)})`);
  expect(worst).toBeLessThanOrEqual(1e-4);
  expect(fx.losses[19]).toBeLessThan(fx.losses[0] * 0.9); // the task is learned, not a flat curve
  for (const k of Object.keys(p) as (keyof typeof p)[]) expectClose(p[k] as Tensor, fx.final[k], `final ${k}`, 1e-5, 1e-4);
});
