import { readFileSync } from 'node:fs';
import { grad } from '@dl/autograd';
import { DTypeError, Generator, ShapeError, manualSeed, rand, tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Categorical, Normal } from './distributions.js';

// torch.distributions values, written by fixtures/gen_distributions.py
const fx = JSON.parse(readFileSync(new URL('../fixtures/distributions.json', import.meta.url), 'utf8'));
const num = (xs: (number | string)[]): number[] => xs.map((v) => (v === '-inf' ? -Infinity : (v as number)));
const t = (xs: (number | string)[], shape?: number[]): Tensor => tensor(Float32Array.from(num(xs)), { shape: shape ?? [xs.length] });
const ints = (xs: number[], shape?: number[]): Tensor => tensor(Int32Array.from(xs), { shape: shape ?? [xs.length] });

function close(actual: Tensor, expected: (number | string)[], what: string, tol = 1e-5): void {
  const a = Array.from(actual.dataSync());
  const e = num(expected);
  expect(a.length, what).toBe(e.length);
  a.forEach((v, i) => {
    if (e[i] === -Infinity) expect(v, `${what}[${i}]`).toBe(-Infinity);
    else expect(Math.abs(v - e[i]), `${what}[${i}]: ${v} vs ${e[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(e[i])));
  });
}

describe('Normal', () => {
  const n = fx.normal;

  it('logProb, entropy and their gradients match torch.distributions.Normal', () => {
    const loc = t(n.loc);
    const scale = t(n.scale);
    const value = t(n.value, n.valueShape);
    const d = new Normal(loc, scale);
    expect(d.batchShape).toEqual([3]);
    close(d.logProb(value), n.logProb, 'logProb');
    close(d.entropy(), n.entropy, 'entropy');
    const [gl, gs] = grad((l: Tensor, s: Tensor) => new Normal(l, s).logProb(value).sum(), { argnums: [0, 1] })(loc, scale);
    close(gl, n.gradLoc, 'grad loc');
    close(gs, n.gradScale, 'grad scale');
  });

  it('numbers and tensors broadcast to the batch shape; mean, stddev and variance', () => {
    const d = new Normal(tensor([[0], [1]]), 2); // [2, 1] with a scalar
    expect(d.batchShape).toEqual([2, 1]);
    expect(Array.from(d.variance.dataSync())).toEqual([4, 4]);
    expect(Array.from(d.mean.dataSync())).toEqual([0, 1]);
    expect(Array.from(d.stddev.dataSync())).toEqual([2, 2]);
    const std = new Normal(0, 1);
    expect(std.batchShape).toEqual([]);
    close(std.logProb(0), [-0.9189385], 'standard logProb at 0');
    expect(() => new Normal(tensor(new Int32Array([1])), 1)).toThrow(DTypeError);
    expect(() => new Normal(tensor([0, 0]), tensor([1, 1, 1]))).toThrow(ShapeError);
  });

  it('samples have the right moments, and a generator fixes them', () => {
    const d = new Normal(tensor([-1, 3]), tensor([0.5, 2]));
    const s = d.sample([4000], { generator: new Generator(1) });
    expect(s.shape).toEqual([4000, 2]);
    const mean = Array.from(s.mean(0).dataSync());
    const std = Array.from(s.std(0).dataSync());
    expect(Math.abs(mean[0] + 1)).toBeLessThan(0.05); // sd of the mean: 0.008 and 0.03
    expect(Math.abs(mean[1] - 3)).toBeLessThan(0.15);
    expect(Math.abs(std[0] - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(std[1] - 2)).toBeLessThan(0.1);
    const again = d.sample([4000], { generator: new Generator(1) });
    expect(Array.from(again.dataSync())).toEqual(Array.from(s.dataSync()));
    // rsample draws the same numbers, with a gradient
    const r = d.rsample([4000], { generator: new Generator(1) });
    expect(Array.from(r.dataSync())).toEqual(Array.from(s.dataSync()));
    expect(() => d.sample([-1])).toThrow(ShapeError);
  });

  it('rsample is reparameterised: d/dloc = 1, d/dscale = eps; sample carries no gradient', () => {
    const loc = tensor([0.5, -1]);
    const scale = tensor([2, 0.1]);
    const eps = d_eps(); // what rsample will draw
    const [gl, gs] = grad((l: Tensor, s: Tensor) => new Normal(l, s).rsample([], { generator: new Generator(5) }).sum(), { argnums: [0, 1] })(loc, scale);
    expect(Array.from(gl.dataSync())).toEqual([1, 1]);
    close(gs, Array.from(eps), 'grad scale = eps');
    const l2 = tensor([0.5, -1]).requiresGrad_(true);
    expect(new Normal(l2, 1).sample().requiresGrad).toBe(false);
    expect(new Normal(l2, 1).rsample().requiresGrad).toBe(true);

    function d_eps(): Float32Array {
      return new Normal(0, 1).sample([2], { generator: new Generator(5) }).dataSync() as Float32Array;
    }
  });
});

describe('Categorical', () => {
  it('from probs: normalised probs, clamped logits, logProb and entropy match torch', () => {
    const c = fx.categoricalProbs;
    const d = new Categorical({ probs: t(c.probsIn, c.shape) });
    expect(d.batchShape).toEqual([2]);
    expect(d.numEvents).toBe(3);
    close(d.probs, c.probs, 'probs');
    close(d.logits, c.logits, 'logits');
    close(d.logProb(ints(c.value, c.valueShape)), c.logProb, 'logProb');
    close(d.entropy(), c.entropy, 'entropy');
  });

  it('from logits (a -inf among them): probs, logits, logProb, entropy and its gradient match torch', () => {
    const c = fx.categoricalLogits;
    const logits = t(c.logitsIn, c.shape);
    const d = new Categorical({ logits });
    close(d.probs, c.probs, 'probs');
    close(d.logits, c.logits, 'logits');
    close(d.logProb(ints(c.value)), c.logProb, 'logProb');
    close(d.entropy(), c.entropy, 'entropy');
    const g = grad((l: Tensor) => new Categorical({ logits: l }).entropy().sum())(logits);
    close(g, c.gradEntropy, 'grad entropy');
  });

  it('samples follow the probabilities, with the shape [...sampleShape, ...batchShape]', () => {
    const d = new Categorical({ probs: tensor([[0.2, 0.8, 0], [0.6, 0.1, 0.3]]) });
    const s = d.sample([50, 60], { generator: new Generator(2) });
    expect(s.shape).toEqual([50, 60, 2]);
    expect(s.dtype).toBe('int32');
    const v = s.dataSync();
    const f = [new Array(3).fill(0), new Array(3).fill(0)];
    for (let i = 0; i < v.length; i++) f[i % 2][v[i]] += 2 / v.length;
    [0.2, 0.8, 0].forEach((p, k) => expect(Math.abs(f[0][k] - p)).toBeLessThan(0.03)); // sd <= 0.009
    [0.6, 0.1, 0.3].forEach((p, k) => expect(Math.abs(f[1][k] - p)).toBeLessThan(0.03));
    const again = d.sample([50, 60], { generator: new Generator(2) });
    expect(Array.from(again.dataSync())).toEqual(Array.from(v));
    expect(new Categorical({ probs: tensor([0, 1]) }).sample().shape).toEqual([]);
    expect(new Categorical({ probs: tensor([0, 1]) }).sample([0]).shape).toEqual([0]);
  });

  it('sampling draws from the global generator when given none', () => {
    const d = new Categorical({ logits: tensor([0, 0, 0, 0]) });
    manualSeed(4);
    const a = Array.from(d.sample([20]).dataSync());
    manualSeed(4);
    const b = Array.from(d.sample([20]).dataSync());
    expect(b).toEqual(a);
    manualSeed(4);
    rand([1]);
    expect(Array.from(d.sample([20]).dataSync())).not.toEqual(a);
  });

  it('rejects bad parameters with typed errors', () => {
    expect(() => new Categorical({} as never)).toThrow(/give exactly one of probs or logits/);
    expect(() => new Categorical({ probs: tensor([1]), logits: tensor([1]) } as never)).toThrow(ShapeError);
    expect(() => new Categorical({ probs: tensor(new Int32Array([1, 2])) })).toThrow(DTypeError);
    expect(() => new Categorical({ logits: tensor(2) })).toThrow(/at least one category/);
  });
});
