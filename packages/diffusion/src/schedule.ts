/**
 * Noise schedules and the forward process of a Gaussian diffusion (Ho et al. 2020):
 *
 *   q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),   abar_t = prod_{s <= t} (1 - beta_s)
 *
 * for integer timesteps t in [0, T). The schedule's numbers are computed once on the host in
 * float64 (betas, alphas, alphasCumprod, as diffusers' schedulers hold them) and the two square
 * roots q_sample needs are kept as float32 tensors per device, gathered by timestep on the device.
 *
 * References:
 * 1) "Denoising Diffusion Probabilistic Models", Ho et al. 2020, https://arxiv.org/abs/2006.11239
 * 2) "Improved Denoising Diffusion Probabilistic Models", Nichol & Dhariwal 2021 (the cosine schedule)
 * 3) "Progressive Distillation for Fast Sampling of Diffusion Models", Salimans & Ho 2022 (v-prediction)
 * 4) diffusers' DDPMScheduler / DDIMScheduler (names, config fields, timestep spacing)
 */
import { DLError, DTypeError, DeviceError, IndexError, ShapeError, Tensor, fmt, getBackend, indexSelect, isFloat, keep, tensor } from '@dl/tensor';

/** 'linear': betas evenly from betaStart to betaEnd (DDPM); 'cosine': Nichol & Dhariwal's squared cosine of abar. */
export type BetaSchedule = 'linear' | 'cosine';

/** What the denoiser predicts: the noise (DDPM), or v = sqrt(abar) noise - sqrt(1 - abar) x0 (Salimans & Ho). */
export type PredictionType = 'epsilon' | 'v_prediction';

/** Settings of a noise schedule; every field has a default (diffusers' names, camelCase). */
export interface ScheduleConfig {
  /** 1000; T, the number of diffusion steps (timesteps 0..T-1) */
  numTrainTimesteps: number;
  /** 'linear' */
  betaSchedule: BetaSchedule;
  /** 1e-4; the first beta of the linear schedule */
  betaStart: number;
  /** 0.02; the last beta of the linear schedule */
  betaEnd: number;
  /** 'epsilon' */
  predictionType: PredictionType;
  /** true; samplers clamp the predicted x0 to [-1, 1] (data scaled to [-1, 1]) */
  clipSample: boolean;
}

export type ScheduleOptions = Partial<ScheduleConfig>;

const DEFAULTS: ScheduleConfig = { numTrainTimesteps: 1000, betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, predictionType: 'epsilon', clipSample: true };

/** Timesteps to train or sample at: an int32 (or whole-valued float) tensor [N], or numbers (one per image). */
export type Timesteps = Tensor | readonly number[];

/**
 * The betas of a schedule, float64 [T].
 *
 *   betaSchedule('linear', 1000);          // 1e-4 ... 0.02, as DDPM
 *   betaSchedule('cosine', 1000);          // 1 - abar(t+1) / abar(t), capped at 0.999
 */
export function betaSchedule(kind: BetaSchedule, numTrainTimesteps: number, { betaStart = 1e-4, betaEnd = 0.02, s = 0.008, maxBeta = 0.999 } = {}): Float64Array {
  const T = numTrainTimesteps;
  if (!Number.isInteger(T) || T < 1) throw new DLError('betaSchedule', `numTrainTimesteps must be a positive integer, got ${JSON.stringify(T)}`);
  const betas = new Float64Array(T);
  if (kind === 'linear') {
    if (!(betaStart > 0 && betaEnd < 1 && betaStart <= betaEnd)) throw new DLError('betaSchedule', `linear betas need 0 < betaStart <= betaEnd < 1, got betaStart ${betaStart}, betaEnd ${betaEnd}`);
    // torch.linspace's formula: start + i * step from the start for the first half, end - (T-1-i) * step for the rest
    const step = T > 1 ? (betaEnd - betaStart) / (T - 1) : 0;
    const half = Math.floor(T / 2);
    for (let i = 0; i < T; i++) betas[i] = i < half ? betaStart + i * step : betaEnd - (T - 1 - i) * step;
  } else if (kind === 'cosine') {
    // abar(u) = f(u) / f(0) with f(u) = cos(((u + s) / (1 + s)) * pi / 2)^2; the ratio needs no f(0)
    const f = (u: number) => Math.cos((((u + s) / (1 + s)) * Math.PI) / 2) ** 2;
    for (let i = 0; i < T; i++) betas[i] = Math.min(1 - f((i + 1) / T) / f(i / T), maxBeta);
  } else {
    throw new DLError('betaSchedule', `the schedule must be 'linear' or 'cosine', got ${JSON.stringify(kind)}`);
  }
  return betas;
}

/** Fills in defaults and checks every field. */
function resolveSchedule(op: string, c: ScheduleOptions): ScheduleConfig {
  const r = { ...DEFAULTS, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) } as ScheduleConfig;
  if (r.predictionType !== 'epsilon' && r.predictionType !== 'v_prediction') {
    throw new DLError(op, `predictionType must be 'epsilon' or 'v_prediction', got ${JSON.stringify(r.predictionType)}`);
  }
  if (typeof r.clipSample !== 'boolean') throw new DLError(op, `clipSample must be true or false, got ${JSON.stringify(r.clipSample)}`);
  return r;
}

/**
 * A noise schedule: `betas`, `alphas` = 1 - betas and `alphasCumprod` (abar), float64 on the host,
 * and the forward process. The samplers (`DDPMScheduler`, `DDIMScheduler`) extend it.
 *
 *   const s = new NoiseSchedule({ betaSchedule: 'cosine' });
 *   s.alphasCumprod[999];                         // ~0: x_999 is almost pure noise
 *   const xt = s.qSample(x0, t, randn(x0.shape)); // x0 [N, C, H, W] in [-1, 1], t int32 [N]
 */
export class NoiseSchedule {
  readonly config: ScheduleConfig;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;
  // per device: sqrt(abar) and sqrt(1 - abar) as float32 [T], for gathering by timestep
  #tables = new Map<string, [Tensor, Tensor]>();

  constructor(config: ScheduleOptions = {}) {
    const c = resolveSchedule(new.target.name, config);
    this.config = c;
    this.betas = betaSchedule(c.betaSchedule, c.numTrainTimesteps, { betaStart: c.betaStart, betaEnd: c.betaEnd });
    this.alphas = this.betas.map((b) => 1 - b);
    this.alphasCumprod = new Float64Array(this.betas.length);
    let p = 1;
    this.alphas.forEach((a, i) => (this.alphasCumprod[i] = p *= a));
  }

  /** T: timesteps run from 0 to T - 1. */
  get numTrainTimesteps(): number {
    return this.config.numTrainTimesteps;
  }

  /**
   * x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, one timestep per image: x0 and noise
   * [N, ...], t [N] (int32 tensor or numbers) in [0, T).
   *
   *   const xt = schedule.qSample(x0, randint(0, 1000, [8]), randn(x0.shape));
   */
  qSample(x0: Tensor, t: Timesteps, noise: Tensor): Tensor {
    const [a, s] = this.#gather('qSample', x0, t, noise, 'noise');
    return x0.mul(a).add(noise.mul(s)); // (N, ...)
  }

  /**
   * diffusers' `add_noise(original_samples, noise, timesteps)`: qSample with its arguments in
   * diffusers' order.
   *
   *   scheduler.addNoise(x0, noise, t);
   */
  addNoise(x0: Tensor, noise: Tensor, t: Timesteps): Tensor {
    return this.qSample(x0, t, noise);
  }

  /**
   * The v-prediction target v = sqrt(abar_t) noise - sqrt(1 - abar_t) x0 (diffusers' `get_velocity`).
   *
   *   const v = schedule.getVelocity(x0, noise, t); // [N, ...]
   */
  getVelocity(x0: Tensor, noise: Tensor, t: Timesteps): Tensor {
    const [a, s] = this.#gather('getVelocity', x0, t, noise, 'noise');
    return noise.mul(a).sub(x0.mul(s));
  }

  /**
   * What the denoiser is trained to output for x_t = qSample(x0, t, noise): the noise
   * ('epsilon') or v ('v_prediction').
   *
   *   mseLoss(model.forward(xt, t, y), schedule.target(x0, noise, t));
   */
  target(x0: Tensor, noise: Tensor, t: Timesteps): Tensor {
    return this.config.predictionType === 'epsilon' ? noise : this.getVelocity(x0, noise, t);
  }

  /**
   * The predicted x0 and noise from a denoiser's output at one timestep t for the whole batch:
   * for 'epsilon', x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar); for 'v_prediction',
   * x0 = sqrt(abar) x_t - sqrt(1 - abar) v and eps = sqrt(abar) v + sqrt(1 - abar) x_t.
   *
   *   const { x0, eps } = schedule.predictOriginal(model.forward(xt, 500, y), xt, 500);
   */
  predictOriginal(modelOutput: Tensor, sample: Tensor, t: number): { x0: Tensor; eps: Tensor } {
    const op = `${this.constructor.name}.predictOriginal`;
    this.checkTimestep(op, t);
    checkSameShape(op, 'modelOutput', modelOutput, 'sample', sample);
    const a = this.alphasCumprod[t];
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    if (this.config.predictionType === 'epsilon') return { x0: sample.sub(modelOutput.mul(sb)).div(sa), eps: modelOutput };
    return { x0: sample.mul(sa).sub(modelOutput.mul(sb)), eps: modelOutput.mul(sa).add(sample.mul(sb)) };
  }

  /** Throws an IndexError naming `op` unless t is an integer timestep in [0, T). */
  protected checkTimestep(op: string, t: number): void {
    const T = this.numTrainTimesteps;
    if (!(Number.isInteger(t) && t >= 0 && t < T)) throw new IndexError(op, `timestep ${t} is out of range: timesteps are integers in [0, ${T}) (numTrainTimesteps ${T})`);
  }

  /** sqrt(abar_t) and sqrt(1 - abar_t) of each image, [N, 1, ...] on x's device, after checking t. */
  #gather(op: string, x: Tensor, t: Timesteps, other: Tensor, otherName: string): [Tensor, Tensor] {
    if (!(x instanceof Tensor) || !isFloat(x.dtype)) throw new DTypeError(op, `x0 must be a float tensor, got ${x instanceof Tensor ? `${x.dtype} ${fmt(x.shape)}` : typeof x}`);
    if (x.ndim < 1) throw new ShapeError(op, `x0 must have a batch dim [N, ...], got ${fmt(x.shape)}`);
    checkSameShape(op, otherName, other, 'x0', x);
    const N = x.shape[0];
    const idx = this.#timesteps(op, t, N, x);
    const [sa, sb] = this.#table(x.device);
    const shape = [N, ...x.shape.slice(1).map(() => 1)];
    return [indexSelect(sa, 0, idx).reshape(shape), indexSelect(sb, 0, idx).reshape(shape)];
  }

  /** t as an int32 [N] tensor on x's device; values checked where the device reads synchronously. */
  #timesteps(op: string, t: Timesteps, N: number, x: Tensor): Tensor {
    const T = this.numTrainTimesteps;
    const bad = (i: number, v: number) => new IndexError(op, `timestep ${v} (t[${i}]) is out of range: timesteps are integers in [0, ${T}) (numTrainTimesteps ${T})`);
    if (!(t instanceof Tensor)) {
      if (!Array.isArray(t)) throw new DLError(op, `t must be an int32 tensor [${N}] or an array of ${N} numbers, got ${typeof t}`);
      if (t.length !== N) throw new ShapeError(op, `t must hold one timestep per image: ${N} for x0 ${fmt(x.shape)}, got ${t.length}`);
      t.forEach((v, i) => {
        if (!(Number.isInteger(v) && v >= 0 && v < T)) throw bad(i, v);
      });
      return tensor(Int32Array.from(t), { dtype: 'int32', device: x.device });
    }
    if (t.dtype === 'bool') throw new DTypeError(op, `t must be int32 timesteps, got bool ${fmt(t.shape)}`);
    if (t.ndim !== 1 || t.shape[0] !== N) throw new ShapeError(op, `t must be [${N}] (one timestep per image of x0 ${fmt(x.shape)}), got ${fmt(t.shape)}`);
    if (t.device !== x.device) throw new DeviceError(op, `t ${fmt(t.shape)} is on ${t.device} but x0 ${fmt(x.shape)} is on ${x.device}`);
    // WebGPU cannot read back here without a stall; its gather raises an IndexError at the next read
    if (getBackend(t.device, op).readSync) {
      const v = t.dataSync();
      for (let i = 0; i < v.length; i++) if (!(Number.isInteger(v[i]) && v[i] >= 0 && v[i] < T)) throw bad(i, v[i]);
    }
    return t.dtype === 'int32' ? t : t.cast('int32');
  }

  #table(device: string): [Tensor, Tensor] {
    let tab = this.#tables.get(device);
    if (!tab) {
      const a = this.alphasCumprod;
      // kept: a cache made inside someone's scope() must outlive it
      tab = [keep(tensor(Float32Array.from(a, (v) => Math.sqrt(v)), { device })), keep(tensor(Float32Array.from(a, (v) => Math.sqrt(1 - v)), { device }))];
      this.#tables.set(device, tab);
    }
    return tab;
  }
}

/** Throws a ShapeError naming both tensors unless they have the same shape. */
export function checkSameShape(op: string, aName: string, a: Tensor, bName: string, b: Tensor): void {
  if (!(a instanceof Tensor)) throw new DLError(op, `${aName} must be a tensor, got ${typeof a}`);
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) throw new ShapeError(op, `${aName} ${fmt(a.shape)} must have the shape of ${bName} ${fmt(b.shape)}`);
}
