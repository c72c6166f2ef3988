import { backward } from '@dl/autograd';
import type { Module, Optimizer } from '@dl/layers';
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
 * One optimizer step: zero the gradients, `loss()` (its temporaries freed), backward, step;
 * returns the loss tensor and `extra` tensors `loss` returned with it (the caller reads and
 * disposes them).
 */
export function optimizerStep(t: Trainee, loss: () => [Tensor, ...Tensor[]]): Tensor[] {
  return scope(() => {
    t.optimizer.zeroGrad();
    const out = loss();
    backward(out[0]);
    t.optimizer.step();
    return out;
  });
}

/**
 * Runs `steps` steps of `step` (or until the page sends stop for `name`), posting each step's
 * figures with the steps per second over the run; yields between steps so the page's other
 * requests (a prediction, a stop) are answered while it trains.
 */
export async function trainRun(name: string, t: Trainee, steps: number, emit: Emit, step: () => Promise<Record<string, number> & { loss: number }>): Promise<{ steps: number; stepsPerSec: number; loss: number }> {
  startRun(name);
  const t0 = performance.now();
  let done = 0;
  let loss = NaN;
  while (done < steps && !stopRequested(name)) {
    const r = await step();
    if (!Number.isFinite(r.loss)) throw new Error(`${name}: the training loss is ${r.loss} at step ${t.step + 1}`);
    t.step++;
    done++;
    loss = r.loss;
    const m = memory();
    emit({ ...r, step: t.step, stepsPerSec: (1000 * done) / (performance.now() - t0), tensors: m.tensors, bytes: m.bytes });
    await yieldToEvents();
  }
  return { steps: done, stepsPerSec: (1000 * done) / (performance.now() - t0), loss };
}

/** Frees a trainee's parameters, buffers, gradients and optimizer state (the memory readout drops). */
export function disposeTrainee(t: Trainee | null): void {
  if (!t) return;
  t.model.zeroGrad();
  for (const st of t.optimizer.state.values()) for (const v of Object.values(st)) if (typeof v === 'object' && v !== null && 'dispose' in v) (v as Tensor).dispose();
  t.optimizer.state.clear();
  for (const p of [...t.model.parameters(), ...t.model.buffers()]) p.dispose();
}
