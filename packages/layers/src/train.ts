import { backward, noGrad } from '@dl/autograd';
import { Tensor, keep, scope } from '@dl/tensor';
import { created } from '@dl/tensor/internal';
import { RunningMean } from './metrics.js';
import { type Module } from './module.js';
import { clipGradNorm } from './optim/clip.js';
import type { BaseOptions, Optimizer } from './optim/optimizer.js';

/** What the progress callback receives after every step. */
export interface TrainProgress {
  /** 0-based epoch */
  epoch: number;
  epochs: number;
  /** 1-based step within the epoch */
  step: number;
  stepsPerEpoch: number;
  /** steps done since the start of this fit() call */
  globalStep: number;
  totalSteps: number;
  /** this batch's loss */
  loss: number;
  /** mean loss over the epoch so far */
  epochLoss: number;
  /** examples per second of training over this fit() call (onEpochEnd time left out) */
  samplesPerSec: number;
  /** milliseconds per training step over this fit() call (onEpochEnd time left out) */
  msPerStep: number;
  elapsedSec: number;
  /** estimated seconds to the end of training */
  etaSec: number;
  lr: number;
}

export interface EpochEnd {
  epoch: number;
  /** mean training loss of the epoch */
  loss: number;
  seconds: number;
}

export interface FitOptions<B> {
  model: Module;
  optimizer: Optimizer<BaseOptions>;
  /** iterable of batches with a known number of batches (a DataLoader) */
  loader: Iterable<B> & { readonly length: number };
  epochs: number;
  /** resume from this epoch (the loader's shuffles follow the epoch number) */
  startEpoch?: number;
  /** the loss of one batch (forward only; fit() runs backward and the update) */
  loss: (batch: B) => Tensor;
  /** examples in a batch, for throughput (default: first tensor's dim 0) */
  batchSize?: (batch: B) => number;
  /** called after each optimizer step, e.g. an LR schedule's step */
  afterStep?: () => void;
  /** clip the global gradient norm to this value */
  clipGradNorm?: number;
  onProgress?: (p: TrainProgress) => void;
  /** called after each epoch (evaluate, checkpoint, ...); may be async */
  onEpochEnd?: (e: EpochEnd) => void | Promise<void>;
}

function firstTensor(b: unknown): Tensor | null {
  if (b instanceof Tensor) return b;
  if (Array.isArray(b)) for (const v of b) { const t = firstTensor(v); if (t) return t; }
  else if (b && typeof b === 'object') for (const v of Object.values(b)) { const t = firstTensor(v); if (t) return t; }
  return null;
}

function tensorsIn(b: unknown, out: Tensor[] = []): Tensor[] {
  if (b instanceof Tensor) out.push(b);
  else if (Array.isArray(b)) for (const v of b) tensorsIn(v, out);
  else if (b && typeof b === 'object') for (const v of Object.values(b)) tensorsIn(v, out);
  return out;
}

/**
 * The batches of `loader`, each with a function that frees the tensors of it that the loader made
 * while producing it (a DataLoader's gathered batch); tensors it only hands out (an array of
 * batches, a dataset's rows) are the caller's and stay alive for the next epoch.
 */
function* batchesOf<B>(loader: Iterable<B>): Generator<[B, () => void]> {
  const it = loader[Symbol.iterator]();
  let done = false;
  try {
    for (;;) {
      const { result, tensors: made } = created(() => it.next());
      if (result.done) {
        done = true;
        return;
      }
      const batch = result.value;
      yield [batch, () => tensorsIn(batch).forEach((t) => made.has(t) && t.dispose())];
    }
  } finally {
    if (!done) it.return?.(); // stopped early (an error, a break): let the loader clean up
  }
}

/**
 * The standard loop: for each epoch and batch, zero grads, compute the loss, backward, (clip),
 * step; every tensor a step makes is freed when it ends, and so is a batch the loader made for it
 * (a DataLoader's); batches the loader only hands out (an array of batches) are left alive.
 * Progress (loss, throughput, ETA) goes to `onProgress`. Returns the loss of every step.
 *
 *   await fit({
 *     model, optimizer, loader, epochs: 5,
 *     loss: ([x, y]) => crossEntropy(model.forward(x), y),
 *     onProgress: (p) => console.log(p.step, p.loss.toFixed(3), `${p.samplesPerSec.toFixed(0)} img/s`),
 *   });
 */
export async function fit<B>(opts: FitOptions<B>): Promise<{ losses: number[] }> {
  const { model, optimizer, loader, epochs, startEpoch = 0 } = opts;
  const stepsPerEpoch = loader.length;
  const totalSteps = (epochs - startEpoch) * stepsPerEpoch;
  const losses: number[] = [];
  const t0 = performance.now();
  let globalStep = 0;
  let samples = 0;
  let pausedMs = 0;
  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    (loader as { setEpoch?: (e: number) => void }).setEpoch?.(epoch);
    model.train();
    const epochLoss = new RunningMean();
    const te = performance.now();
    let step = 0;
    for (const [batch, free] of batchesOf(loader)) {
      const n = opts.batchSize ? opts.batchSize(batch) : (firstTensor(batch)?.shape[0] ?? 1);
      const lossT = scope(() => {
        optimizer.zeroGrad();
        const l = opts.loss(batch);
        backward(l);
        if (opts.clipGradNorm !== undefined) clipGradNorm(model.parameters(), opts.clipGradNorm);
        optimizer.step();
        return keep(l.detach());
      });
      free();
      const loss = (await lossT.data())[0];
      lossT.dispose();
      opts.afterStep?.();
      losses.push(loss);
      epochLoss.update(loss, n);
      step++;
      globalStep++;
      samples += n;
      // step timing leaves out onEpochEnd (evaluation, checkpoints); the ETA does not
      const elapsedSec = (performance.now() - t0) / 1000;
      const trainSec = elapsedSec - pausedMs / 1000;
      opts.onProgress?.({
        epoch,
        epochs,
        step,
        stepsPerEpoch,
        globalStep,
        totalSteps,
        loss,
        epochLoss: epochLoss.mean,
        samplesPerSec: samples / trainSec,
        msPerStep: (trainSec * 1000) / globalStep,
        elapsedSec,
        etaSec: (elapsedSec / globalStep) * (totalSteps - globalStep),
        lr: optimizer.paramGroups[0].lr,
      });
    }
    const tp = performance.now();
    await opts.onEpochEnd?.({ epoch, loss: epochLoss.mean, seconds: (tp - te) / 1000 });
    pausedMs += performance.now() - tp;
  }
  return { losses };
}

/**
 * Runs `fn` over every batch in eval mode without recording gradients and sums what it returns
 * (numbers or one-element tensors) by key; the model's mode is restored afterwards.
 *
 *   const { correct, count } = await evaluate(model, testLoader, ([x, y]) => ({
 *     correct: correctCount(model.forward(x), y), count: y.shape[0],
 *   }));
 */
export async function evaluate<B, K extends string>(model: Module, loader: Iterable<B>, fn: (batch: B) => Record<K, Tensor | number>): Promise<Record<K, number>> {
  const wasTraining = model.training;
  model.eval();
  const totals = {} as Record<K, number>;
  try {
    for (const [batch, free] of batchesOf(loader)) {
      const out = noGrad(() => scope(() => fn(batch)));
      free();
      for (const [k, v] of Object.entries(out) as [K, Tensor | number][]) {
        const x = v instanceof Tensor ? (await v.data())[0] : v;
        if (v instanceof Tensor) v.dispose();
        totals[k] = (totals[k] ?? 0) + Number(x);
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return totals;
}
