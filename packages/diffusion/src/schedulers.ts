/**
 * The reverse process, one step at a time, as diffusers' schedulers: `setTimesteps(n)` picks n of
 * the T training timesteps (descending), and `step(modelOutput, t, sample)` goes from x_t to the
 * next of them, the last step to x0.
 *
 * - `DDPMScheduler`: ancestral sampling (Ho et al. eq. 11 with sigma_t^2 = beta~_t, diffusers'
 *   "fixed_small"): the posterior mean of q(x_prev | x_t, x0) at the predicted x0, plus noise.
 * - `DDIMScheduler`: Song et al.'s non-Markovian sampler (eq. 12) for any number of steps;
 *   eta = 0 is deterministic, eta = 1 has DDPM's variance.
 *
 * Each step's coefficients are float64 numbers computed on the host from alphasCumprod, so a step
 * is a handful of elementwise ops on the device.
 */
import { DLError, Tensor, randn, type Generator } from '@dl/tensor';
import { NoiseSchedule, checkSameShape, type ScheduleOptions } from './schedule.js';

/**
 * How `setTimesteps(n)` spaces n timesteps over [0, T) (diffusers' `timestep_spacing`):
 * 'leading': (n-1, ..., 1, 0) * floor(T / n), 980, 960, ..., 0 for T = 1000, n = 50;
 * 'trailing': round(T - i * T / n) - 1, 999, 979, ..., 19 (starts at the noisiest timestep).
 */
export type TimestepSpacing = 'leading' | 'trailing';

/** Where a stochastic step's noise comes from: a generator of its own, or the draw itself (`noise`, diffusers' `variance_noise`). */
export interface StepOptions {
  generator?: Generator;
  /** the standard normal draw to use, of the sample's shape (tests against PyTorch, common random numbers) */
  noise?: Tensor;
}

/** What a step returns: x at the next timestep, and the x0 the model's output implies (clipped to [-1, 1] with clipSample). */
export interface StepOutput {
  prevSample: Tensor;
  predOriginalSample: Tensor;
}

/**
 * n timesteps of [0, T), descending.
 *
 *   spacedTimesteps(1000, 4, 'leading');  // [750, 500, 250, 0]
 *   spacedTimesteps(1000, 4, 'trailing'); // [999, 749, 499, 249]
 */
export function spacedTimesteps(numTrainTimesteps: number, n: number, spacing: TimestepSpacing = 'leading'): number[] {
  const T = numTrainTimesteps;
  if (!Number.isInteger(n) || n < 1 || n > T) throw new DLError('setTimesteps', `the number of inference steps must be an integer in [1, ${T}] (numTrainTimesteps ${T}), got ${JSON.stringify(n)}`);
  if (spacing === 'leading') {
    const r = Math.floor(T / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * r);
  }
  if (spacing === 'trailing') return Array.from({ length: n }, (_, i) => Math.round(T - (i * T) / n) - 1);
  throw new DLError('setTimesteps', `timestep spacing must be 'leading' or 'trailing', got ${JSON.stringify(spacing)}`);
}

/** A schedule with a list of inference timesteps and a step from each to the next. */
export abstract class Scheduler extends NoiseSchedule {
  /** the inference timesteps, descending (all T of them until setTimesteps) */
  timesteps: number[] = [];
  #next = new Map<number, number>();

  constructor(config: ScheduleOptions = {}) {
    super(config);
    this.setTimesteps(this.numTrainTimesteps);
  }

  /** len(timesteps) */
  get numInferenceSteps(): number {
    return this.timesteps.length;
  }

  /**
   * Samples with n steps from now on (1 <= n <= T).
   *
   *   scheduler.setTimesteps(50);           // 980, 960, ..., 0
   *   scheduler.setTimesteps(50, 'trailing');
   */
  setTimesteps(numInferenceSteps: number, spacing: TimestepSpacing = 'leading'): this {
    this.timesteps = spacedTimesteps(this.numTrainTimesteps, numInferenceSteps, spacing);
    this.#next = new Map(this.timesteps.map((t, i) => [t, this.timesteps[i + 1] ?? -1]));
    return this;
  }

  /** The timestep a step from t goes to: the next of `timesteps`, or -1 (x0) after the last. */
  prevTimestep(t: number): number {
    const op = `${this.constructor.name}.step`;
    this.checkTimestep(op, t);
    const p = this.#next.get(t);
    if (p === undefined) {
      const ts = this.timesteps;
      throw new DLError(op, `timestep ${t} is not one of the ${ts.length} inference timesteps (${ts.slice(0, 3).join(', ')}${ts.length > 3 ? `, ..., ${ts[ts.length - 1]}` : ''}); call setTimesteps first`);
    }
    return p;
  }

  /** abar at a timestep, 1 before the first (the step to x0: diffusers' set_alpha_to_one). */
  protected alphaBar(t: number): number {
    return t >= 0 ? this.alphasCumprod[t] : 1;
  }

  /** The predicted x0 (clipped with clipSample) and noise of a step, after checking the shapes. */
  protected predict(op: string, modelOutput: Tensor, t: number, sample: Tensor): { x0: Tensor; eps: Tensor } {
    checkSameShape(op, 'modelOutput', modelOutput, 'sample', sample);
    const { x0, eps } = this.predictOriginal(modelOutput, sample, t);
    return { x0: this.config.clipSample ? x0.clamp(-1, 1) : x0, eps };
  }

  /** The step's standard normal draw, after checking a given one's shape. */
  protected draw(op: string, sample: Tensor, { generator, noise }: StepOptions): Tensor {
    if (noise) {
      checkSameShape(op, 'noise', noise, 'sample', sample);
      return noise;
    }
    return randn(sample.shape, { generator, device: sample.device, dtype: sample.dtype });
  }

  /** x_t -> x at the next inference timestep. */
  abstract step(modelOutput: Tensor, t: number, sample: Tensor, options?: StepOptions): StepOutput;
}

/**
 * DDPM's ancestral sampler: x_prev = c0 x0 + ct x_t + sigma z, with the coefficients of the
 * posterior q(x_prev | x_t, x0) and sigma^2 = (1 - abar_prev) / (1 - abar_t) (1 - abar_t / abar_prev);
 * no noise on the step to x0. With fewer inference steps than T, the betas are those of the
 * strided chain, as diffusers does.
 *
 *   const scheduler = new DDPMScheduler();            // T = 1000, linear betas, all 1000 steps
 *   let x = randn([16, 1, 28, 28], { generator });
 *   for (const t of scheduler.timesteps) x = scheduler.step(model.forward(x, t), t, x, { generator }).prevSample;
 */
export class DDPMScheduler extends Scheduler {
  step(modelOutput: Tensor, t: number, sample: Tensor, options: StepOptions = {}): StepOutput {
    const op = 'DDPMScheduler.step';
    const prev = this.prevTimestep(t);
    const { x0 } = this.predict(op, modelOutput, t, sample);
    const aT = this.alphaBar(t);
    const aPrev = this.alphaBar(prev);
    const bT = 1 - aT;
    const bPrev = 1 - aPrev;
    const curAlpha = aT / aPrev;
    const curBeta = 1 - curAlpha;
    const c0 = (Math.sqrt(aPrev) * curBeta) / bT;
    const ct = (Math.sqrt(curAlpha) * bPrev) / bT;
    let prevSample = x0.mul(c0).add(sample.mul(ct));
    if (prev >= 0) {
      const std = Math.sqrt(Math.max((bPrev / bT) * curBeta, 1e-20));
      prevSample = prevSample.add(this.draw(op, sample, options).mul(std));
    }
    return { prevSample, predOriginalSample: x0 };
  }
}

/** Options of a DDIM step. */
export interface DDIMStepOptions extends StepOptions {
  /** 0; the weight of the noise: 0 is deterministic DDIM, 1 has DDPM's variance */
  eta?: number;
  /**
   * false (diffusers' default); with clipSample, the noise of the step is derived again from the
   * clipped x0, eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t) (GLIDE; diffusers'
   * use_clipped_model_output), so that x_prev is made of the x0 the clip kept and the noise that
   * goes with it. With classifier-free guidance the guided x0 leaves [-1, 1] often, and the
   * unclipped eps then carries what the clip removed into the next step.
   */
  useClippedModelOutput?: boolean;
}

/**
 * DDIM (Song et al. 2021): x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z,
 * sigma = eta sqrt((1 - abar_prev) / (1 - abar_t) (1 - abar_t / abar_prev)). Any number of steps.
 *
 *   const scheduler = new DDIMScheduler().setTimesteps(50);
 *   for (const t of scheduler.timesteps) x = scheduler.step(model.forward(x, t), t, x, { eta: 0 }).prevSample;
 */
export class DDIMScheduler extends Scheduler {
  step(modelOutput: Tensor, t: number, sample: Tensor, options: DDIMStepOptions = {}): StepOutput {
    const op = 'DDIMScheduler.step';
    const eta = options.eta ?? 0;
    if (!(typeof eta === 'number' && eta >= 0 && Number.isFinite(eta))) throw new DLError(op, `eta must be a number >= 0 (0: deterministic, 1: DDPM's variance), got ${JSON.stringify(eta)}`);
    const prev = this.prevTimestep(t);
    const predicted = this.predict(op, modelOutput, t, sample);
    const x0 = predicted.x0;
    const aT = this.alphaBar(t);
    const aPrev = this.alphaBar(prev);
    // times the reciprocal, as PyTorch divides a float tensor by a scalar
    const eps = options.useClippedModelOutput && this.config.clipSample ? sample.sub(x0.mul(Math.sqrt(aT))).mul(1 / Math.sqrt(1 - aT)) : predicted.eps;
    const variance = ((1 - aPrev) / (1 - aT)) * (1 - aT / aPrev);
    const std = eta * Math.sqrt(variance);
    let prevSample = x0.mul(Math.sqrt(aPrev)).add(eps.mul(Math.sqrt(Math.max(1 - aPrev - std ** 2, 0))));
    if (eta > 0) prevSample = prevSample.add(this.draw(op, sample, options).mul(std));
    return { prevSample, predOriginalSample: x0 };
  }
}
