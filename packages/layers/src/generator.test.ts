import { Generator, arange, manualSeed, rand, randn, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Dropout, ReLU, dropout } from './activation.js';
import { Sequential } from './container.js';
import { DataLoader, TensorDataset } from './data.js';
import { Linear } from './linear.js';
import { mseLoss } from './loss.js';
import { SGD } from './optim/sgd.js';

// Generator objects in the layers that draw random numbers: Dropout and DataLoader shuffling.
describe('generators in layers', () => {
  it('dropout and Dropout draw their masks from the generator given, not from the global stream', () => {
    const x = randn([4, 50]);
    const a = dropout(x, 0.5, true, new Generator(1));
    const b = new Dropout(0.5, { generator: new Generator(1) }).forward(x);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    manualSeed(1);
    const global = dropout(x, 0.5);
    manualSeed(1);
    const g = new Generator(1);
    g.counter = 1000; // a different place in the same stream
    dropout(x, 0.5, true, g);
    expect(Array.from(dropout(x, 0.5).dataSync())).toEqual(Array.from(global.dataSync()));
    // kept elements are scaled by 2, the rest are 0, about half each
    const v = a.dataSync();
    const xs = x.dataSync();
    let kept = 0;
    v.forEach((y, i) => {
      if (y !== 0) kept++;
      expect(y === 0 || Math.abs(y - 2 * xs[i]) < 1e-6).toBe(true);
    });
    expect(Math.abs(kept / v.length - 0.5)).toBeLessThan(0.1); // sd 0.035
  });

  it('DataLoader shuffles with orders drawn from its generator, resumable by its state', () => {
    const ds = new TensorDataset(arange(10));
    const order = (dl: DataLoader<Tensor[]>) => [...dl].flatMap(([y]) => y.toArray() as number[]);
    const g = new Generator(3);
    const dl = new DataLoader(ds, { batchSize: 4, shuffle: true, generator: g });
    const e0 = order(dl);
    const saved = g.getState();
    const e1 = order(dl);
    expect([...e0].sort((p, q) => p - q)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(e1).not.toEqual(e0);
    expect(order(new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(3) }))).toEqual(e0);
    const resumed = new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator().setState(saved) });
    expect(order(resumed)).toEqual(e1);
    // the global generator is not used
    manualSeed(0);
    const next = rand([2]).dataSync()[0];
    manualSeed(0);
    order(dl);
    expect(rand([2]).dataSync()[0]).toBe(next);
    expect(() => new DataLoader(ds, { shuffle: true, seed: 1, generator: g })).toThrow(/seed or generator, not both/);
  });

  it('two training loops interleaved with await, each with its own generator, do not affect each other', async () => {
    manualSeed(0);
    const x = randn([24, 3]);
    const y = x.sum(1, true).tanh();
    const ds = new TensorDataset(x, y);

    /** Trains a fresh model (same initial weights every time) with dropout and shuffling from `seed`'s generator. */
    async function train(seed: number, log: string[]): Promise<number[]> {
      manualSeed(100);
      const g = new Generator(seed);
      const model = new Sequential(new Linear(3, 16), new ReLU(), new Dropout(0.3, { generator: g }), new Linear(16, 1));
      const opt = new SGD(model.parameters(), { lr: 0.1 });
      const loader = new DataLoader(ds, { batchSize: 6, shuffle: true, generator: g });
      const losses: number[] = [];
      for (let epoch = 0; epoch < 2; epoch++) {
        for (const [xb, yb] of loader) {
          const loss = mseLoss(model.forward(xb), yb);
          opt.zeroGrad();
          loss.backward();
          opt.step();
          log.push(`${seed}`);
          losses.push((await loss.data())[0]); // the other loop runs here
          rand([5]); // unrelated draws from the global generator between steps
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      return losses;
    }

    const aloneA = await train(1, []);
    const aloneB = await train(2, []);
    expect(aloneA).not.toEqual(aloneB);
    const log: string[] = [];
    const [a, b] = await Promise.all([train(1, log), train(2, log)]);
    expect(log.slice(0, 4)).toEqual(['1', '2', '1', '2']); // the loops really alternate
    expect(a).toEqual(aloneA);
    expect(b).toEqual(aloneB);
  });
});
