import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Adam, CosineWithWarmup, DataLoader, EMA, TensorDataset, correctCount, crossEntropy, evaluate, fit, loadCheckpoint, randomCrop, saveCheckpoint } from '@dl/layers';
import { noGrad } from '@dl/autograd';
import { generator, manualSeed, scope, tensor, type GeneratorState, type Tensor } from '@dl/tensor';
import { loadMnist, type MnistSplit } from './mnist.js';
import { MnistCnn } from './model.js';
import { digitGridPng, lossCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  device: string;
  out: string;
  resume: boolean;
  seed: number;
  /** random shifts of up to this many pixels (0 = none) */
  shift: number;
  /** cosine decay of the learning rate to 0 over the run */
  cosine: boolean;
  /** crossEntropy's labelSmoothing */
  labelSmoothing: number;
  /** use only this many training and test images, spread evenly over each split (quick checks) */
  limit?: number;
}

/** Defaults that reach >= 97% test accuracy on the 7,996/2,004 split in a few minutes on 2 CPU cores. */
export const MNIST_DEFAULTS: TrainOptions = { epochs: 8, batchSize: 64, lr: 2e-3, device: 'cpu', out: 'runs/mnist-cnn', resume: false, seed: 0, shift: 1, cosine: true, labelSmoothing: 0.1 };

function dataset(s: MnistSplit): TensorDataset {
  return new TensorDataset(tensor(s.images, { shape: [s.length, 1, 28, 28] }), tensor(s.labels));
}

/** At most n images of a split, evenly spaced (the splits are ordered by class, so every class stays). */
function subset(s: MnistSplit, n: number | undefined): MnistSplit {
  if (n === undefined || n >= s.length) return s;
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = Math.floor((i * s.length) / n);
    images.set(s.images.subarray(j * 784, (j + 1) * 784), i * 784);
    labels[i] = s.labels[j];
  }
  return { images, labels, length: n };
}

/** Test accuracy of `model` over `split` (batches of 500, eval mode, no grad). */
export async function testAccuracy(model: MnistCnn, split: TensorDataset, device: string): Promise<number> {
  const loader = new DataLoader(split, { batchSize: 500 });
  const { correct, count } = await evaluate(model, loader, ([x, y]: Tensor[]) => ({
    correct: correctCount(model.forward(x.to(device)), y.to(device)),
    count: y.shape[0],
  }));
  return correct / count;
}

async function predictions(model: MnistCnn, x: Tensor, device: string): Promise<number[]> {
  model.eval();
  const pred = noGrad(() => scope(() => model.forward(x.to(device)).argmax(-1)));
  model.train();
  const out = Array.from(await pred.data());
  pred.dispose();
  return out;
}

/** `dl train mnist-cnn`: trains, checkpoints every epoch, writes PNGs, prints the test accuracy last. */
export async function trainMnist(o: TrainOptions, log: (s: string) => void): Promise<number> {
  const t0 = performance.now();
  const all = loadMnist();
  const train = subset(all.train, o.limit);
  const test = subset(all.test, o.limit);
  log(`data: ${train.length} train / ${test.length} test images (mnist package, first 80% of each class for training)`);
  const trainDs = dataset(train);
  const testDs = dataset(test);

  manualSeed(o.seed);
  const model = new MnistCnn().to(o.device);
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const loader = new DataLoader(trainDs, { batchSize: o.batchSize, shuffle: true, seed: o.seed });
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint.safetensors');

  let startEpoch = 0;
  let losses: number[] = [];
  if (o.resume && existsSync(ckpt)) {
    const { extra } = await loadCheckpoint(ckpt, { model, optimizer });
    startEpoch = Number(extra.epoch) + 1;
    losses = (extra.losses as number[]) ?? [];
    // the global generator's key and position, so augmentation continues as in an uninterrupted run
    if (extra.rng) generator.setState(extra.rng as GeneratorState);
    else if (typeof extra.rngCounter === 'number') generator.counter = extra.rngCounter; // older checkpoints
    log(`resumed from ${ckpt} after epoch ${startEpoch}`);
  }
  log(
    `model: MnistCnn, ${model.numParameters().toLocaleString('en-US')} parameters; Adam lr ${o.lr}${o.cosine ? ' with cosine decay' : ''}, batch ${o.batchSize}, ${o.epochs} epochs, ` +
      `${o.shift ? `random shifts up to ${o.shift} px, ` : ''}${o.labelSmoothing ? `label smoothing ${o.labelSmoothing}, ` : ''}device ${o.device}`,
  );

  const totalSteps = o.epochs * loader.length;
  const schedule = o.cosine ? new CosineWithWarmup(optimizer, { warmupSteps: 0, totalSteps }) : null;
  if (schedule) schedule.loadStateDict({ lastStep: startEpoch * loader.length });
  const augment = o.shift > 0 ? randomCrop(28, { padding: o.shift }) : (x: Tensor) => x;
  const bar = new ProgressBar();
  const ema = new EMA(0.95);
  let acc = NaN;
  let lastMsPerStep = NaN;
  await fit({
    model,
    optimizer,
    loader,
    epochs: o.epochs,
    startEpoch,
    loss: ([x, y]: Tensor[]) => crossEntropy(model.forward(augment(x).to(o.device)), y.to(o.device), { labelSmoothing: o.labelSmoothing }),
    afterStep: () => schedule?.step(),
    onProgress: (p) => {
      losses.push(p.loss);
      lastMsPerStep = p.msPerStep;
      bar.update(p, ema.update(p.loss));
    },
    onEpochEnd: async (e) => {
      acc = await testAccuracy(model, testDs, o.device);
      log(`epoch ${e.epoch + 1}/${o.epochs}: train loss ${e.loss.toFixed(4)}, test accuracy ${acc.toFixed(4)}, ${e.seconds.toFixed(1)} s (${lastMsPerStep.toFixed(0)} ms/step, batch ${o.batchSize})`);
      await saveCheckpoint(ckpt, { model, optimizer, step: (e.epoch + 1) * loader.length, extra: { epoch: e.epoch, losses, testAccuracy: acc, batchSize: o.batchSize, lr: o.lr, rng: generator.getState() } });
      writeFileSync(join(o.out, 'loss.png'), lossCurvePng(losses, loader.length));
    },
  });
  if (Number.isNaN(acc)) acc = await testAccuracy(model, testDs, o.device);

  // a grid of 50 test digits, 5 per class, with the predicted labels
  const pick: number[] = [];
  for (let d = 0; d < 10; d++) {
    const idx = Array.from(test.labels.keys()).filter((i) => test.labels[i] === d);
    for (let k = 0; k < 5; k++) pick.push(idx[Math.floor((k * idx.length) / 5)]);
  }
  const imgs = new Float32Array(pick.length * 784);
  pick.forEach((i, j) => imgs.set(test.images.subarray(i * 784, (i + 1) * 784), j * 784));
  const preds = await predictions(model, tensor(imgs, { shape: [pick.length, 1, 28, 28] }), o.device);
  writeFileSync(join(o.out, 'test-digits.png'), digitGridPng(imgs, preds, pick.map((i) => test.labels[i])));
  log(`wrote ${ckpt}, ${join(o.out, 'loss.png')}, ${join(o.out, 'test-digits.png')}`);
  log(`total time ${duration((performance.now() - t0) / 1000)}`);
  return acc;
}

/** `dl eval mnist-cnn --checkpoint FILE`: test accuracy of a saved model. */
export async function evalMnist(checkpoint: string, device: string, log: (s: string) => void): Promise<number> {
  const { test } = loadMnist();
  const model = new MnistCnn().to(device);
  const { extra } = await loadCheckpoint(checkpoint, { model });
  log(`loaded ${checkpoint} (epoch ${Number(extra.epoch) + 1})`);
  return testAccuracy(model, dataset(test), device);
}
