import { existsSync } from 'node:fs';
import { backward } from '@dl/autograd';
import { clipGradNorm, loadCheckpoint, type LRScheduler, type Module, type Optimizer } from '@dl/layers';
import { scope, type Generator, type GeneratorState, type Tensor } from '@dl/tensor';
import type { ProgressBar } from './progress.js';

/** What `optimizerStep` updates. */
export interface StepTarget {
  model: Module;
  optimizer: Optimizer;
  schedule: LRScheduler;
  /** largest gradient norm (0 = no clipping) */
  gradClip: number;
  /** names the model in the error for a non-finite loss (`scratch: the training loss is NaN ...`) */
  label?: string;
}

/**
 * One optimizer step of the step-based tasks (gpt-char, mamba-char, bert-mlm, bert-spam): zero
 * the gradients, `loss()` (its temporaries freed), backward, clip the gradient norm, step the
 * optimizer and the schedule; returns the loss, and throws on a non-finite one (`step`, 1-based,
 * is named in the message).
 */
export async function optimizerStep({ model, optimizer, schedule, gradClip, label }: StepTarget, step: number, loss: () => Tensor): Promise<number> {
  const l = scope(() => {
    optimizer.zeroGrad();
    const value = loss();
    backward(value);
    if (gradClip > 0) clipGradNorm(model.parameters(), gradClip);
    optimizer.step();
    return value;
  });
  schedule.step();
  const value = (await l.data())[0];
  l.dispose();
  if (!Number.isFinite(value)) throw new Error(`${label ? `${label}: ` : ''}the training loss is ${value} at step ${step}; try a smaller --lr`);
  return value;
}

/** Where a run of `steps` optimizer steps (resumed at `start`) stands after step `step` (1-based). */
export interface StepRun {
  step: number;
  start: number;
  steps: number;
  /** time spent in the steps so far */
  trainMs: number;
  /** samples (tokens, messages) per step, for the bar's rate */
  perStep: number;
  loss: number;
  lr: number;
}

/** Draws `bar` for a run counted in steps (one "epoch" of `steps`). */
export function updateStepBar(bar: ProgressBar, r: StepRun, smoothLoss: number | string): void {
  const done = r.step - r.start;
  const msPerStep = r.trainMs / done;
  bar.update(
    { epoch: 0, epochs: 1, step: r.step, stepsPerEpoch: r.steps, globalStep: done, totalSteps: r.steps - r.start, loss: r.loss, epochLoss: r.loss, samplesPerSec: (1000 * r.perStep) / msPerStep, msPerStep, elapsedSec: r.trainMs / 1000, etaSec: ((r.steps - r.step) * msPerStep) / 1000, lr: r.lr },
    smoothLoss,
  );
}

/**
 * Where a step-based run starts: step 0 with no losses, or (with `resume` and a checkpoint at
 * `ckpt`) the saved step, with the model, optimizer, schedule, loss history and batch generator
 * restored from it.
 */
export async function resumeStepRun(
  ckpt: string,
  { model, optimizer, schedule }: Pick<StepTarget, 'model' | 'optimizer' | 'schedule'>,
  batches: Generator,
  resume: boolean,
  log: (s: string) => void,
): Promise<{ start: number; losses: number[] }> {
  if (!resume || !existsSync(ckpt)) return { start: 0, losses: [] };
  const { step, extra } = await loadCheckpoint(ckpt, { model, optimizer });
  batches.setState(extra.batches as GeneratorState);
  schedule.loadStateDict({ lastStep: step });
  log(`resumed from ${ckpt} at step ${step}`);
  return { start: step, losses: (extra.losses as number[]) ?? [] };
}
