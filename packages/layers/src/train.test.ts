import { manualSeed, randn, tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Sequential } from './container.js';
import { DataLoader, TensorDataset } from './data.js';
import { Linear } from './linear.js';
import { crossEntropy } from './loss.js';
import { RunningMean, accuracy, correctCount } from './metrics.js';
import { Adam } from './optim/adam.js';
import { ReLU } from './activation.js';
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
