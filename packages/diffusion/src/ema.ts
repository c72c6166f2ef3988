/**
 * An exponential moving average of a model's weights, as diffusers' EMAModel: after each
 * optimizer step, every averaged parameter moves towards the trained one,
 *
 *   averaged -= (1 - decay) * (averaged - param)
 *
 * with a decay that warms up from 0 ((1 + n) / (10 + n) after n updates, or diffusers'
 * 1 - (1 + n / invGamma)^-power with useEmaWarmup) and is capped at `decay`. Diffusion models are
 * sampled from the average: it is much smoother than the last iterate.
 *
 * The average lives in a second module of the same architecture (`averaged`), so it samples,
 * saves and moves between devices like any model. Buffers (batch-norm statistics) are copied, not
 * averaged. Construction copies the model into `averaged`: to resume, build the EMAModel first,
 * then load the checkpoint into both modules and `loadStateDict` the step counter.
 */
import { noGrad } from '@dl/autograd';
import type { Module } from '@dl/layers';
import { DLError, DeviceError, ShapeError, fmt, scope, type Tensor } from '@dl/tensor';

/** Settings of EMAModel (diffusers' names and defaults). */
export interface EMAOptions {
  /** 0.9999; the largest decay */
  decay?: number;
  /** 0; the smallest decay once updates start */
  minDecay?: number;
  /** 0; optimizer steps before averaging starts (the average copies the model until then) */
  updateAfterStep?: number;
  /** false; diffusers' warm-up 1 - (1 + n / invGamma)^-power instead of (1 + n) / (10 + n) */
  useEmaWarmup?: boolean;
  /** 1 */
  invGamma?: number;
  /** 2 / 3 */
  power?: number;
}

/**
 * The average of `model`'s parameters, kept in `averaged` (a module with the same parameter names
 * and shapes, which starts as a copy of `model`).
 *
 *   const ema = new EMAModel(unet, new UNet(unet.config), { decay: 0.995 });
 *   // after each optimizer.step():
 *   ema.step();
 *   diffusion.sample(16, { denoiser: ema.averaged });
 */
export class EMAModel<M extends Module = Module> {
  /** optimizer steps seen (diffusers' optimization_step); save it with the averaged weights */
  optimizationStep = 0;
  readonly decay: number;
  readonly minDecay: number;
  readonly updateAfterStep: number;
  readonly useEmaWarmup: boolean;
  readonly invGamma: number;
  readonly power: number;
  readonly #pairs: [string, { p: Tensor; s: Tensor }][];

  constructor(
    readonly model: Module,
    readonly averaged: M,
    { decay = 0.9999, minDecay = 0, updateAfterStep = 0, useEmaWarmup = false, invGamma = 1, power = 2 / 3 }: EMAOptions = {},
  ) {
    const op = 'EMAModel';
    if (!(decay >= 0 && decay <= 1)) throw new DLError(op, `decay must be in [0, 1], got ${decay}`);
    if (!(minDecay >= 0 && minDecay <= decay)) throw new DLError(op, `minDecay must be in [0, decay ${decay}], got ${minDecay}`);
    if (!(Number.isInteger(updateAfterStep) && updateAfterStep >= 0)) throw new DLError(op, `updateAfterStep must be an integer >= 0, got ${updateAfterStep}`);
    if (!(invGamma > 0 && power > 0)) throw new DLError(op, `invGamma and power must be positive, got ${invGamma} and ${power}`);
    if (averaged === (model as unknown)) throw new DLError(op, 'averaged must be a second module (a copy of the model), not the model itself');
    this.decay = decay;
    this.minDecay = minDecay;
    this.updateAfterStep = updateAfterStep;
    this.useEmaWarmup = useEmaWarmup;
    this.invGamma = invGamma;
    this.power = power;
    const theirs = new Map(averaged.namedParameters());
    const mine = [...model.namedParameters()];
    const missing = mine.filter(([k]) => !theirs.has(k)).map(([k]) => k);
    const extra = [...theirs.keys()].filter((k) => !mine.some(([m]) => m === k));
    if (missing.length || extra.length) {
      throw new ShapeError(op, `averaged must have the model's parameters: missing ${JSON.stringify(missing.slice(0, 5))}${missing.length > 5 ? ` (+${missing.length - 5})` : ''}, unexpected ${JSON.stringify(extra.slice(0, 5))}`);
    }
    this.#pairs = mine.map(([k, p]) => {
      const s = theirs.get(k)!;
      if (s.ndim !== p.ndim || s.shape.some((d, i) => d !== p.shape[i])) throw new ShapeError(op, `parameter ${k} is ${fmt(p.shape)} in the model but ${fmt(s.shape)} in averaged`);
      return [k, { p, s }];
    });
    averaged.requiresGrad_(false); // sampled under noGrad or not, it never records a graph
    this.copyFromModel();
  }

  /**
   * The decay of optimization step `step` (1 for the first update): 0 until updateAfterStep + 1,
   * then the warm-up, capped at `decay` and at least `minDecay`.
   *
   *   new EMAModel(m, copy, { decay: 0.995 }).getDecay(10); // min(0.995, 10 / 19)
   */
  getDecay(step: number): number {
    const s = Math.max(0, step - this.updateAfterStep - 1);
    if (s <= 0) return 0;
    const d = this.useEmaWarmup ? 1 - (1 + s / this.invGamma) ** -this.power : (1 + s) / (10 + s);
    return Math.max(Math.min(d, this.decay), this.minDecay);
  }

  /**
   * One update after an optimizer step: averaged -= (1 - d) (averaged - param), buffers copied.
   * Returns the decay used.
   *
   *   opt.step(); ema.step();
   */
  step(): number {
    this.optimizationStep++;
    const d = this.getDecay(this.optimizationStep);
    noGrad(() =>
      scope(() => {
        for (const [k, { p, s }] of this.#pairs) {
          checkDevice('EMAModel.step', k, p, s);
          s.sub_(s.sub(p).mul(1 - d));
        }
        this.#copyBuffers();
      }),
    );
    return d;
  }

  /** Makes the average a copy of the model (as at construction). */
  copyFromModel(): void {
    noGrad(() =>
      scope(() => {
        for (const [k, { p, s }] of this.#pairs) {
          checkDevice('EMAModel', k, p, s);
          s.copy_(p.detach());
        }
        this.#copyBuffers();
      }),
    );
  }

  /** The step counter, for a checkpoint (the averaged weights are saved with `averaged`). */
  stateDict(): { optimizationStep: number } {
    return { optimizationStep: this.optimizationStep };
  }

  /** Restores the step counter of `stateDict()`. */
  loadStateDict(state: { optimizationStep: number }): void {
    const n = state?.optimizationStep;
    if (!(Number.isInteger(n) && n >= 0)) throw new DLError('EMAModel.loadStateDict', `expected { optimizationStep: integer >= 0 }, got ${JSON.stringify(state)}`);
    this.optimizationStep = n;
  }

  #copyBuffers(): void {
    const mine = [...this.model.namedBuffers()];
    if (!mine.length) return;
    const theirs = new Map([...this.averaged.namedBuffers()].map(([k, b]) => [k, b]));
    for (const [k, b] of mine) theirs.get(k)?.copy_(b);
  }
}

function checkDevice(op: string, name: string, p: Tensor, s: Tensor): void {
  if (p.device !== s.device) throw new DeviceError(op, `parameter ${name} ${fmt(p.shape)} is on ${p.device} in the model but on ${s.device} in averaged; move both to one device`);
}
