import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '@dl/autograd';
import {
  CosineWithWarmup,
  DataLoader,
  EMA,
  TensorDataset,
  correctCount,
  crossEntropy,
  evaluate,
  fit,
  loadCheckpoint,
  randomCrop,
  readSafetensorsHeader,
  saveCheckpoint,
  type Module,
  type Optimizer,
} from '@dl/layers';
import { generator, manualSeed, scope, tensor, type GeneratorState, type Tensor } from '@dl/tensor';
import { loadMnist, type MnistSplit } from './mnist.js';
import { digitGridPng, lossCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';

/**
 * Training and evaluation of a digit classifier on the fixed MNIST split, shared by the
 * classification tasks (`dl train mnist-cnn`, `dl train resnet-mnist`): each supplies its model
 * and optimizer, this runs the loop (augmentation, cosine schedule, checkpoints, resume, pictures).
 */

/** A model mapping images (N, 1, 28, 28) to logits (N, 10). */
export type Classifier = Module & { forward(x: Tensor): Tensor };

/** Options every classification task takes. */
export interface ClassifierOptions {
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

/** What a task trains: built after the seed is set, so the same seed gives the same weights. */
export interface ClassifierRun {
  model: Classifier;
  optimizer: Optimizer;
  /** the model in the log line: `MnistCnn` */
  name: string;
  /** the optimizer in the log line: `Adam lr 0.002` */
  optimizerText: string;
  /** saved in each checkpoint's metadata (what `dl eval` needs to rebuild the model) */
  extra?: Record<string, unknown>;
}

/** A split as a TensorDataset of images (N, 1, 28, 28) and int32 labels (N). */
export function dataset(s: MnistSplit): TensorDataset {
  return new TensorDataset(tensor(s.images, { shape: [s.length, 1, 28, 28] }), tensor(s.labels));
}

/** At most n images of a split, evenly spaced (the splits are ordered by class, so every class stays). */
export function subset(s: MnistSplit, n: number | undefined): MnistSplit {
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
export async function testAccuracy(model: Classifier, split: TensorDataset, device: string): Promise<number> {
  const loader = new DataLoader(split, { batchSize: 500 });
  const { correct, count } = await evaluate(model, loader, ([x, y]: Tensor[]) => ({
    correct: correctCount(model.forward(x.to(device)), y.to(device)),
    count: y.shape[0],
  }));
  return correct / count;
}

/** Predicted classes of x (N, 1, 28, 28), in eval mode. */
export async function predictions(model: Classifier, x: Tensor, device: string): Promise<number[]> {
  const wasTraining = model.training;
  model.eval();
  const pred = noGrad(() => scope(() => model.forward(x.to(device)).argmax(-1)));
  model.train(wasTraining);
  const out = Array.from(await pred.data());
  pred.dispose();
  return out;
}

/** A PNG of 50 test digits, 5 per class, with the predicted labels. */
async function testDigitsPng(model: Classifier, test: MnistSplit, device: string): Promise<Uint8Array> {
  const pick: number[] = [];
  for (let d = 0; d < 10; d++) {
    const idx = Array.from(test.labels.keys()).filter((i) => test.labels[i] === d);
    for (let k = 0; k < 5; k++) pick.push(idx[Math.floor((k * idx.length) / 5)]);
  }
  const imgs = new Float32Array(pick.length * 784);
  pick.forEach((i, j) => imgs.set(test.images.subarray(i * 784, (i + 1) * 784), j * 784));
  const preds = await predictions(model, tensor(imgs, { shape: [pick.length, 1, 28, 28] }), device);
  return digitGridPng(imgs, preds, pick.map((i) => test.labels[i]));
}

/**
 * Trains the task's model on the split: checkpoints every epoch (atomic; `resume` continues from
 * one, RNG position included), writes loss.png and test-digits.png, returns the test accuracy.
 */
export async function trainClassifier(o: ClassifierOptions, build: () => ClassifierRun, log: (s: string) => void): Promise<number> {
  const t0 = performance.now();
  const all = loadMnist();
  const train = subset(all.train, o.limit);
  const test = subset(all.test, o.limit);
  log(`data: ${train.length} train / ${test.length} test images (mnist package, first 80% of each class for training)`);
  const trainDs = dataset(train);
  const testDs = dataset(test);

  manualSeed(o.seed);
  const { model, optimizer, name, optimizerText, extra: runExtra = {} } = build();
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
    `model: ${name}, ${model.numParameters().toLocaleString('en-US')} parameters; ${optimizerText}${o.cosine ? ' with cosine decay' : ''}, batch ${o.batchSize}, ${o.epochs} epochs, ` +
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
      const extra = { ...runExtra, epoch: e.epoch, losses, testAccuracy: acc, batchSize: o.batchSize, lr: o.lr, rng: generator.getState() };
      await saveCheckpoint(ckpt, { model, optimizer, step: (e.epoch + 1) * loader.length, extra });
      writeFileSync(join(o.out, 'loss.png'), lossCurvePng(losses, loader.length));
    },
  });
  if (Number.isNaN(acc)) acc = await testAccuracy(model, testDs, o.device);

  writeFileSync(join(o.out, 'test-digits.png'), await testDigitsPng(model, test, o.device));
  log(`wrote ${ckpt}, ${join(o.out, 'loss.png')}, ${join(o.out, 'test-digits.png')}`);
  log(`total time ${duration((performance.now() - t0) / 1000)}`);
  return acc;
}

/**
 * `dl eval <task> --checkpoint FILE`: test accuracy of a saved model. `build` makes the model
 * from the checkpoint's metadata (its settings), before the weights are loaded.
 */
export async function evalClassifier(checkpoint: string, build: (extra: Record<string, unknown>) => Classifier, device: string, log: (s: string) => void): Promise<number> {
  const { test } = loadMnist();
  const meta = readSafetensorsHeader(new Uint8Array(readFileSync(checkpoint))).metadata;
  const model = build(meta.extra ? (JSON.parse(meta.extra) as Record<string, unknown>) : {}).to(device);
  const { extra } = await loadCheckpoint(checkpoint, { model });
  log(`loaded ${checkpoint} (epoch ${Number(extra.epoch) + 1})`);
  return testAccuracy(model, dataset(test), device);
}
