import { manualSeed, memory, randn, scope, tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Sequential } from './container.js';
import { DataLoader, TensorDataset } from './data.js';
import { Linear } from './linear.js';
import { crossEntropy } from './loss.js';
import { RunningMean, accuracy, correctCount } from './metrics.js';
import { Adam } from './optim/adam.js';
import { ReLU } from './activation.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d } from './norm.js';
import { Flatten, MaxPool2d } from './pool.js';
import { evaluate, fit, type TrainProgress } from './train.js';

describe('fit and evaluate', () => {
  it('learns a separable problem and reports progress every step', async () => {
    manualSeed(0);
    const x = randn([64, 2]);
    const y = x.select(1, 0).gt(0).int(); // class = sign of the first feature
    const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 16, shuffle: true });
    const model = new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 2));
    const optimizer = new Adam(model.parameters(), { lr: 0.05 });
    const seen: TrainProgress[] = [];
    const epochs: number[] = [];
    const { losses } = await fit({
      model,
      optimizer,
      loader,
      epochs: 10,
      loss: ([xb, yb]) => crossEntropy(model.forward(xb), yb),
      onProgress: (p) => seen.push(p),
      onEpochEnd: (e) => void epochs.push(e.epoch),
    });
    expect(losses.length).toBe(40);
    expect(seen.length).toBe(40);
    expect(seen[39]).toMatchObject({ epoch: 9, step: 4, stepsPerEpoch: 4, globalStep: 40, totalSteps: 40, etaSec: 0 });
    expect(seen[0].samplesPerSec).toBeGreaterThan(0);
    expect(epochs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(losses[39]).toBeLessThan(losses[0] / 3);

    const { correct, count } = await evaluate(model, new DataLoader(new TensorDataset(x, y), { batchSize: 32 }), ([xb, yb]) => ({
      correct: correctCount(model.forward(xb), yb),
      count: yb.shape[0],
    }));
    expect(count).toBe(64);
    expect(correct / count).toBeGreaterThan(0.9);
    expect(model.training).toBe(true);
  });
});

describe('fit and evaluate own only what the loader makes', () => {
  const data = (): { model: Sequential; batches: [Tensor, Tensor][] } => {
    manualSeed(2);
    const x = randn([24, 2]);
    const y = x.select(1, 0).gt(0).int();
    const batches = [0, 8, 16].map((s) => [x.narrow(0, s, 8), y.narrow(0, s, 8)] as [Tensor, Tensor]);
    return { model: new Sequential(new Linear(2, 8), new ReLU(), new Linear(8, 2)), batches };
  };

  it('trains two epochs over an array of batches and leaves the batches alive', async () => {
    const { model, batches } = data();
    const optimizer = new Adam(model.parameters(), { lr: 0.05 });
    const { losses } = await fit({ model, optimizer, loader: batches, epochs: 2, loss: ([xb, yb]) => crossEntropy(model.forward(xb), yb) });
    expect(losses.length).toBe(6);
    expect(batches.flat().filter((t) => t.isDisposed)).toEqual([]);
    const { count } = await evaluate(model, batches, ([, yb]) => ({ count: yb.shape[0] }));
    expect(count).toBe(24);
    expect(batches.flat().filter((t) => t.isDisposed)).toEqual([]);
  });

  it('frees the batches a DataLoader makes: memory is the same after one more fit', async () => {
    const { model, batches } = data();
    const loader = new DataLoader(new TensorDataset(batches[0][0], batches[0][1]), { batchSize: 4 });
    const optimizer = new Adam(model.parameters(), { lr: 0.05 });
    const run = (): Promise<unknown> => fit({ model, optimizer, loader, epochs: 2, loss: ([xb, yb]) => crossEntropy(model.forward(xb), yb) });
    await run(); // grads and optimizer state now exist
    const before = memory();
    await run();
    await evaluate(model, loader, ([xb]) => ({ n: xb.shape[0] }));
    expect(memory()).toEqual(before);
  });
});

describe('memory in loops', () => {
  it('a 3,000-step grad-on inference loop of a small CNN inside scope() stays exactly flat', async () => {
    manualSeed(4);
    // gradients on (no noGrad): every forward is recorded, and nothing backpropagates it
    const cnn = new Sequential(new Conv2d(1, 2, 3, { padding: 1 }), new BatchNorm2d(2), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(2 * 2 * 2, 3)).eval();
    const x = randn([2, 1, 4, 4]);
    const step = async (i: number): Promise<void> => {
      // odd steps return a float result with its recorded graph, even ones an int result (the
      // graph ends with the scope); only promises are awaited, so finalizers never run
      const out = scope(() => (i % 2 ? cnn.forward(x).softmax(1) : cnn.forward(x).argmax(1))); // [2, 3] or [2]
      await out.data();
      out.dispose();
    };
    await step(0);
    await step(1);
    const before = memory();
    for (let i = 0; i < 3000; i++) await step(i);
    expect(memory()).toEqual(before);
  });
});

describe('metrics', () => {
  it('accuracy compares argmax with the targets', () => {
    const logits = tensor([[0, 1], [1, 0], [0.2, 0.1], [0, 3]]);
    const y = tensor([1, 1, 0, 1], { dtype: 'int32' });
    expect(accuracy(logits, y).item()).toBe(0.75);
    expect(() => accuracy(logits, tensor([1], { dtype: 'int32' }))).toThrow(/without the last dim/);
  });
  it('RunningMean weights updates', () => {
    expect(new RunningMean().update(1, 3).update(5, 1).mean).toBe(2);
    expect(Number.isNaN(new RunningMean().mean)).toBe(true);
  });
});
