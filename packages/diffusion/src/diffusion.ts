/**
 * A Gaussian diffusion model around any denoiser (x_t, t, y) -> prediction: the training loss
 * (epsilon- or v-prediction, with the label dropout of classifier-free guidance) and sampling
 * with DDPM or DDIM steps and classifier-free guidance (Ho & Salimans 2022):
 *
 *   prediction = uncond + w * (cond - uncond)
 *
 * where cond is the denoiser's output for the requested classes and uncond for the null class
 * (index numClasses); w = 1 is plain conditional sampling. Both halves come from one forward of
 * the batch twice.
 */
import { noGrad } from '@dl/autograd';
import { mseLoss, Module } from '@dl/layers';
import { DLError, DTypeError, DeviceError, IndexError, ShapeError, Tensor, cat, fmt, full, getBackend, getDefaultDevice, isFloat, rand, randint, randn, scope, tensor, where, type Generator } from '@dl/tensor';
import { UNet } from '@dl/unet';
import { NoiseSchedule, type ScheduleConfig, type ScheduleOptions } from './schedule.js';
import { DDIMScheduler, DDPMScheduler, Scheduler, type TimestepSpacing } from './schedulers.js';

/**
 * What a diffusion model denoises with: x_t [N, C, H, W], the timesteps t (int32 [N]) and, for a
 * class-conditional denoiser, the labels y (int32 [N], numClasses meaning "no class") -> the
 * prediction (noise or v) [N, C, H, W]. A @dl/unet `UNet` with `timeEmbedding` is one; so is any
 * object with this `forward` (a `Module` to be trained).
 */
export interface Denoiser {
  forward(x: Tensor, t: Tensor, y?: Tensor): Tensor;
}

/** Settings of a GaussianDiffusion: the schedule's, and the images and classes. */
export interface DiffusionConfig extends ScheduleConfig {
  /** [1, 28, 28]; (C, H, W) of the images */
  imageShape: [number, number, number];
  /** classes of a conditional denoiser, whose index numClasses means "no class"; a UNet's own numClasses by default, else 0 (unconditional) */
  numClasses: number;
  /** 0.1 when conditional; the probability that training replaces a label by the null class (classifier-free guidance) */
  pUncond: number;
}

export type DiffusionOptions = Partial<DiffusionConfig>;

/** Options of `GaussianDiffusion.loss`. */
export interface LossOptions {
  /** the images' classes, int32 [N] (conditional models; left out: every image is trained as "no class") */
  labels?: Tensor;
  /** where t, the noise and the label dropout are drawn from (the global generator when absent) */
  generator?: Generator;
  /** the timesteps to use instead of drawing them uniformly, int32 [N] or numbers */
  t?: Tensor | readonly number[];
  /** the standard normal draw to use, of x0's shape */
  noise?: Tensor;
}

/** Options of `GaussianDiffusion.sample`. */
export interface SampleOptions {
  /** 'ddim' (default); 'ddpm': ancestral steps; or a scheduler of your own, with its timesteps set */
  sampler?: 'ddim' | 'ddpm' | Scheduler;
  /** inference steps: 50 for DDIM, T for DDPM */
  steps?: number;
  /** 'leading' (diffusers' default) or 'trailing' */
  spacing?: TimestepSpacing;
  /** 0; DDIM's noise weight (0 deterministic, 1 DDPM's variance) */
  eta?: number;
  /**
   * true; DDIM steps derive their noise again from the clipped x0 (DDIMStepOptions); false is
   * diffusers' DDIMScheduler default. On MNIST with guidance 2 this is the difference between 98%
   * and 48% of samples of the requested class (apps/sample/README.md, `dl train ddpm-mnist`).
   */
  useClippedModelOutput?: boolean;
  /** the requested classes, int32 [n] (conditional models); left out, images are sampled as "no class" */
  labels?: Tensor;
  /** 1; classifier-free guidance weight w: uncond + w (cond - uncond) */
  guidanceScale?: number;
  /** draws x_T and each stochastic step's noise (the global generator when absent) */
  generator?: Generator;
  /** x_T to start from, [n, C, H, W], instead of a draw */
  noise?: Tensor;
  /** the denoiser's device, or the default device */
  device?: string;
  /** another denoiser to sample with (the EMA copy of the trained one) */
  denoiser?: Denoiser;
  /** called after each step with (steps done, total) */
  onProgress?: (step: number, total: number) => void;
}

const isUNet = (d: unknown): d is UNet => d instanceof UNet;

/**
 * A Gaussian diffusion (DDPM) of images [N, C, H, W] scaled to [-1, 1], around a denoiser.
 *
 *   const unet = new UNet({ baseChannels: 32, channelMults: [1, 2, 2], numResBlocks: 1, timeEmbedding: true, numClasses: 10 });
 *   const diffusion = new GaussianDiffusion(unet, { imageShape: [1, 28, 28] });  // T = 1000, linear betas, eps-prediction, pUncond 0.1
 *   backward(diffusion.loss(x0, { labels: y }));                                  // x0 [N, 1, 28, 28] in [-1, 1]
 *   const images = diffusion.sample(16, { steps: 50, guidanceScale: 2, labels });  // DDIM, [16, 1, 28, 28]
 */
export class GaussianDiffusion {
  readonly config: DiffusionConfig;
  readonly schedule: NoiseSchedule;

  constructor(
    readonly denoiser: Denoiser,
    options: DiffusionOptions = {},
  ) {
    const op = 'GaussianDiffusion';
    if (!denoiser || typeof (denoiser as Denoiser).forward !== 'function') throw new DLError(op, `the denoiser must have forward(x, t, y?), got ${denoiser === null ? 'null' : typeof denoiser}`);
    const { imageShape = [1, 28, 28], numClasses, pUncond, ...schedule } = options;
    if (!Array.isArray(imageShape) || imageShape.length !== 3 || !imageShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(op, `imageShape must be [C, H, W] of positive integers, got ${JSON.stringify(imageShape)}`);
    }
    const classes = numClasses ?? (isUNet(denoiser) ? denoiser.config.numClasses : 0);
    if (!Number.isInteger(classes) || classes < 0) throw new DLError(op, `numClasses must be an integer >= 0 (0: unconditional), got ${JSON.stringify(classes)}`);
    const p = pUncond ?? (classes > 0 ? 0.1 : 0);
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new DLError(op, `pUncond must be in [0, 1], got ${JSON.stringify(p)}`);
    if (p > 0 && classes === 0) throw new DLError(op, `pUncond ${p} drops class labels, but the diffusion is unconditional (numClasses 0)`);
    if (isUNet(denoiser)) checkUNet(denoiser, imageShape, classes);
    this.schedule = new NoiseSchedule(schedule);
    this.config = { ...this.schedule.config, imageShape: [...imageShape] as [number, number, number], numClasses: classes, pUncond: p };
  }

  /** The label that means "no class": numClasses. */
  get nullClass(): number {
    return this.config.numClasses;
  }

  /**
   * The training loss of a batch x0 [N, C, H, W] in [-1, 1]: for t uniform in [0, T) and
   * noise ~ N(0, I) per image, the mean squared error between the denoiser's output at
   * x_t = qSample(x0, t, noise) and the target (the noise, or v). With `labels`, each label is
   * replaced by the null class with probability pUncond. Draws, in order: t, the noise, the
   * dropout's uniform numbers.
   *
   *   const loss = diffusion.loss(x0, { labels, generator }); // 0-d
   */
  loss(x0: Tensor, { labels, generator, t, noise }: LossOptions = {}): Tensor {
    const op = 'GaussianDiffusion.loss';
    this.#checkImages(op, 'x0', x0);
    const N = x0.shape[0];
    const device = x0.device;
    const steps = t ?? randint(0, this.schedule.numTrainTimesteps, [N], { generator, device }); // (N)
    const z = noise ?? randn(x0.shape, { generator, device, dtype: x0.dtype }); // (N, C, H, W)
    let y: Tensor | undefined;
    if (labels !== undefined) {
      this.#checkLabels(op, labels, N, device, true);
      y = labels;
      if (this.config.pUncond > 0) {
        const drop = rand([N], { generator, device }).lt(this.config.pUncond); // (N) bool
        y = where(drop, this.nullClass, labels).cast('int32');
      }
    }
    const xt = this.schedule.qSample(x0, steps, z); // checks t and the noise's shape
    const tt = steps instanceof Tensor ? steps.cast('int32') : tensor(Int32Array.from(steps), { dtype: 'int32', device }); // (N)
    const out = this.#forward(this.denoiser, xt, tt, y);
    return mseLoss(out, this.schedule.target(x0, z, steps));
  }

  /**
   * The denoiser's prediction at x_t [n, C, H, W] and one timestep t, guided: for a guidance
   * scale w != 1, uncond + w (cond - uncond) from one forward of [x, x] with [labels, null].
   *
   *   const eps = diffusion.guidedOutput(x, 500, { labels, guidanceScale: 2 });
   */
  guidedOutput(x: Tensor, t: number, { labels, guidanceScale = 1, denoiser = this.denoiser }: Pick<SampleOptions, 'labels' | 'guidanceScale' | 'denoiser'> = {}): Tensor {
    const op = 'GaussianDiffusion.guidedOutput';
    this.#checkImages(op, 'x', x);
    this.#checkGuidance(op, guidanceScale, labels, x.shape[0], x.device);
    const n = x.shape[0];
    const steps = (m: number) => full([m], t, { dtype: 'int32', device: x.device });
    if (guidanceScale === 1) return this.#forward(denoiser, x, steps(n), labels);
    const none = full([n], this.nullClass, { dtype: 'int32', device: x.device });
    const out = this.#forward(denoiser, cat([x, x], 0), steps(2 * n), cat([labels!, none], 0)); // (2n, C, H, W)
    const cond = out.narrow(0, 0, n);
    const uncond = out.narrow(0, n, n);
    return uncond.add(cond.sub(uncond).mul(guidanceScale));
  }

  /**
   * n images [n, C, H, W] (in [-1, 1] with clipSample): from x_T ~ N(0, I), DDIM (default, 50
   * steps) or DDPM (T steps) steps, guided with `guidanceScale` for conditional models. No
   * gradients are recorded; each step frees what it made.
   *
   *   const x = diffusion.sample(100, { labels, guidanceScale: 2, generator: new Generator(1), onProgress: (i, n) => bar(i, n) });
   *   const images = x.add(1).div(2);                        // [100, 1, 28, 28] in [0, 1]
   */
  sample(n: number, options: SampleOptions = {}): Tensor {
    const op = 'GaussianDiffusion.sample';
    const { sampler = 'ddim', spacing = 'leading', eta = 0, useClippedModelOutput = true, labels, guidanceScale = 1, generator, noise, onProgress, denoiser = this.denoiser } = options;
    if (!Number.isInteger(n) || n < 1) throw new DLError(op, `n must be a positive integer, got ${JSON.stringify(n)}`);
    const device = options.device ?? noise?.device ?? deviceOf(denoiser);
    const shape = [n, ...this.config.imageShape];
    if (noise) this.#checkImages(op, 'noise', noise, n);
    this.#checkGuidance(op, guidanceScale, labels, n, device);
    const scheduler = this.#scheduler(op, sampler, options.steps, spacing);
    if (!(scheduler instanceof DDIMScheduler) && eta !== 0) throw new DLError(op, `eta is DDIM's; the ${scheduler.constructor.name} has no eta (got ${eta})`);
    let x = noise ?? randn(shape, { generator, device }); // x_T (n, C, H, W)
    const total = scheduler.timesteps.length;
    scheduler.timesteps.forEach((t, i) => {
      const next = noGrad(() =>
        scope(() => {
          const out = this.guidedOutput(x, t, { labels, guidanceScale, denoiser });
          const opts = { generator, eta, useClippedModelOutput };
          return scheduler.step(out, t, x, opts).prevSample;
        }),
      );
      if (x !== noise) x.dispose();
      x = next;
      onProgress?.(i + 1, total);
    });
    return x;
  }

  /** The scheduler of a sample() call, its timesteps set. */
  #scheduler(op: string, sampler: SampleOptions['sampler'], steps: number | undefined, spacing: TimestepSpacing): Scheduler {
    const { imageShape: _, numClasses: __, pUncond: ___, ...config } = this.config;
    if (sampler instanceof Scheduler) {
      if (JSON.stringify(sampler.config) !== JSON.stringify(config)) {
        throw new DLError(op, `the scheduler's schedule ${JSON.stringify(sampler.config)} differs from the diffusion's ${JSON.stringify(config)}`);
      }
      return steps === undefined ? sampler : sampler.setTimesteps(steps, spacing);
    }
    if (sampler === 'ddim') return new DDIMScheduler(config).setTimesteps(steps ?? 50, spacing);
    if (sampler === 'ddpm') return new DDPMScheduler(config).setTimesteps(steps ?? config.numTrainTimesteps, spacing);
    throw new DLError(op, `sampler must be 'ddim', 'ddpm' or a Scheduler, got ${JSON.stringify(sampler)}`);
  }

  /** Runs a denoiser and checks that it gave one prediction of x's shape. */
  #forward(denoiser: Denoiser, x: Tensor, t: Tensor, y: Tensor | undefined): Tensor {
    const out = y === undefined ? denoiser.forward(x, t) : denoiser.forward(x, t, y);
    if (!(out instanceof Tensor) || out.ndim !== x.ndim || out.shape.some((d, i) => d !== x.shape[i])) {
      throw new ShapeError('GaussianDiffusion', `the denoiser must return a prediction of its input's shape ${fmt(x.shape)}, got ${out instanceof Tensor ? fmt(out.shape) : typeof out}`);
    }
    return out;
  }

  #checkImages(op: string, name: string, x: Tensor, n?: number): void {
    if (!(x instanceof Tensor)) throw new DLError(op, `${name} must be a tensor, got ${typeof x}`);
    const [C, H, W] = this.config.imageShape;
    const want = `[${n ?? 'N'},${C},${H},${W}]`;
    if (x.ndim !== 4 || x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W || (n !== undefined && x.shape[0] !== n) || x.shape[0] < 1) {
      throw new ShapeError(op, `${name} must be ${want} (imageShape [${C},${H},${W}]), got ${fmt(x.shape)}`);
    }
    if (!isFloat(x.dtype)) throw new DTypeError(op, `${name} must be a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
  }

  /** Labels must be int32 [N] on the images' device, in [0, numClasses) (or the null class where allowed). */
  #checkLabels(op: string, labels: Tensor, N: number, device: string, allowNull: boolean): void {
    const K = this.config.numClasses;
    if (K === 0) throw new DLError(op, `got labels${labels instanceof Tensor ? ` ${fmt(labels.shape)}` : ''}, but the diffusion is unconditional (numClasses 0)`);
    if (!(labels instanceof Tensor)) throw new DLError(op, `labels must be an int32 tensor [${N}], got ${typeof labels}`);
    if (labels.dtype !== 'int32') throw new DTypeError(op, `labels must be int32, got ${labels.dtype} ${fmt(labels.shape)}`);
    if (labels.ndim !== 1 || labels.shape[0] !== N) throw new ShapeError(op, `labels must be [${N}] (one per image), got ${fmt(labels.shape)}`);
    if (labels.device !== device) throw new DeviceError(op, `labels ${fmt(labels.shape)} are on ${labels.device} but the images on ${device}`);
    if (getBackend(device, op).readSync) {
      const hi = allowNull ? K : K - 1;
      const v = labels.dataSync();
      for (let i = 0; i < v.length; i++) {
        if (!(v[i] >= 0 && v[i] <= hi)) throw new IndexError(op, `label ${v[i]} (labels[${i}]) is out of range: classes are 0..${K - 1}${allowNull ? `, ${K} for "no class"` : ''}`);
      }
    }
  }

  #checkGuidance(op: string, w: number, labels: Tensor | undefined, n: number, device: string): void {
    if (!(typeof w === 'number' && Number.isFinite(w))) throw new DLError(op, `guidanceScale must be a finite number, got ${JSON.stringify(w)}`);
    if (w !== 1 && this.config.numClasses === 0) {
      throw new DLError(op, `guidanceScale ${w} needs class conditioning, but the diffusion is unconditional (numClasses 0); train a conditional denoiser (numClasses > 0, pUncond > 0) or leave guidanceScale at 1`);
    }
    if (w !== 1 && labels === undefined) throw new DLError(op, `guidanceScale ${w} needs labels: the classes to guide towards, int32 [${n}]`);
    if (labels !== undefined) this.#checkLabels(op, labels, n, device, false);
  }
}

/** A Module's device (its first parameter's), else the default device. */
function deviceOf(d: Denoiser): string {
  return d instanceof Module ? (d.parameters()[0]?.device ?? getDefaultDevice()) : getDefaultDevice();
}

/** Refuses a U-Net that cannot denoise images of `imageShape` for this diffusion (ShapeError / DLError naming what it expected). */
function checkUNet(unet: UNet, [C, H, W]: readonly number[], numClasses: number): void {
  const op = 'GaussianDiffusion';
  const c = unet.config;
  if (!c.timeEmbedding) throw new DLError(op, `the U-Net has no timestep embedding: build it with timeEmbedding: true to denoise at every timestep`);
  if (c.inChannels !== C || c.outChannels !== C) {
    throw new ShapeError(op, `the U-Net maps ${c.inChannels} to ${c.outChannels} channels, but a denoiser of imageShape [${C},${H},${W}] must map ${C} to ${C}`);
  }
  const f = 2 ** (c.channelMults.length - 1);
  if (H % f || W % f) {
    throw new ShapeError(
      op,
      `the U-Net cannot take ${H}x${W} images: with ${c.channelMults.length - 1} downsamplings (channelMults ${JSON.stringify(c.channelMults)}) height and width must be divisible by ${f}; imageShape [${C},${H},${W}]`,
    );
  }
  if (numClasses !== c.numClasses) throw new DLError(op, `numClasses ${numClasses} differs from the U-Net's class embedding (config.numClasses ${c.numClasses})`);
}
