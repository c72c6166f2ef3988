import { backward } from '@dl/autograd';
import { clipGradNorm, type Module, type Optimizer } from '@dl/layers';
import { memory, scope, type Tensor } from '@dl/tensor';
import { startRun, stopRequested, yieldToEvents, type Emit } from './registry.js';

/** A model and its optimizer on one device: what every training section keeps between runs. */
export interface Trainee<M extends Module = Module> {
  model: M;
  optimizer: Optimizer;
  device: string;
  /** optimizer steps taken so far */
  step: number;
}

/**
 * One optimizer step: zero the gradients, `loss()` (its temporaries freed), backward, clip the
 * gradient norm to `gradClip` (0: no clipping), step; returns the loss tensor and the other
 * tensors `loss` returned with it (the caller reads and disposes them).
 */
export function optimizerStep(t: Trainee, loss: () => [Tensor, ...Tensor[]], gradClip = 0): Tensor[] {
  return scope(() => {
    t.optimizer.zeroGrad();
    const out = loss();
    backward(out[0]);
    if (gradClip > 0) clipGradNorm(t.model.parameters(), gradClip);
    t.optimizer.step();
    return out;
  });
}

/** Reads a one-element tensor and frees it. */
export async function readScalar(t: Tensor): Promise<number> {
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

/**
 * Runs `steps` steps of `step` (or until the page sends stop for `name`), posting each step's
 * figures with the steps per second over the run; yields between steps so the page's other
 * requests (a prediction, a stop, another model's run) are answered while it trains. Steps per
 * second count only the time inside `step` (reading the loss included), so two runs taking
 * turns (GPT and Mamba side by side) each report their own speed.
 */
export async function trainRun(name: string, t: { step: number }, steps: number, emit: Emit, step: () => Promise<Record<string, number> & { loss: number }>): Promise<{ steps: number; stepsPerSec: number; loss: number }> {
  startRun(name);
  let busy = 0;
  let done = 0;
  let loss = NaN;
  while (done < steps && !stopRequested(name)) {
    const t0 = performance.now();
    const r = await step();
    busy += performance.now() - t0;
    if (!Number.isFinite(r.loss)) throw new Error(`${name}: the training loss is ${r.loss} at step ${t.step + 1}`);
    t.step++;
    done++;
    loss = r.loss;
    const m = memory();
    emit({ ...r, step: t.step, stepsPerSec: (1000 * done) / busy, tensors: m.tensors, bytes: m.bytes });
    await yieldToEvents();
  }
  return { steps: done, stepsPerSec: done ? (1000 * done) / busy : 0, loss };
}

/** Frees a trainee's parameters, buffers, gradients and optimizer state (the memory readout drops). */
export function disposeTrainee(t: Trainee | null): void {
  if (!t) return;
  t.model.zeroGrad();
  for (const st of t.optimizer.state.values()) for (const v of Object.values(st)) if (typeof v === 'object' && v !== null && 'dispose' in v) (v as Tensor).dispose();
  t.optimizer.state.clear();
  for (const p of [...t.model.parameters(), ...t.model.buffers()]) p.dispose();
}
