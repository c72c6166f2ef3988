/**
 * `DiffusionTrainer`: the optimizer, the EMA of the weights and a random stream of its own for
 * everything a training step draws (timesteps, noise, label dropout), so the same seed gives the
 * same run and a checkpoint can hold the stream's position.
 */
import { backward } from '@dl/autograd';
import { Adam, Module, type Optimizer } from '@dl/layers';
import { DLError, Generator as RNG, scope, type GeneratorState, type Tensor } from '@dl/tensor';
import type { GaussianDiffusion } from './diffusion.js';
import { EMAModel, type EMAOptions } from './ema.js';

/** Settings of `DiffusionTrainer`. */
export interface DiffusionTrainerOptions {
  /** 1e-3; Adam's learning rate (used when no optimizer is given) */
  lr?: number;
  /** an optimizer of the denoiser's parameters to use instead of Adam(lr) */
  optimizer?: Optimizer;
  /** a second denoiser of the same architecture to hold the EMA of the weights; none: no EMA */
  averaged?: Module;
  /** the EMA's settings (decay 0.9999 unless given) */
  ema?: EMAOptions;
  /** 0; seed of the trainer's stream (timesteps, noise, label dropout) */
  seed?: number;
}

/**
 * Trains a diffusion model's denoiser: per step, `diffusion.loss` on a batch with draws from the
 * trainer's own stream (`noise`), backward, an optimizer step, then an EMA update. Two trainers
 * with the same seed, on denoisers built after the same `manualSeed`, go through the same steps.
 *
 *   const trainer = new DiffusionTrainer(diffusion, { lr: 2e-3, averaged: new UNet(unet.config), ema: { decay: 0.995 }, seed: 0 });
 *   for (const [x, y] of loader) trainer.step(x.mul(2).sub(1), y).dispose();   // images in [-1, 1]
 *   diffusion.sample(16, { denoiser: trainer.ema!.averaged, labels, guidanceScale: 2 });
 */
export class DiffusionTrainer {
  readonly optimizer: Optimizer;
  readonly ema: EMAModel | null;
  readonly noise: RNG;

  constructor(
    readonly diffusion: GaussianDiffusion,
    { lr = 1e-3, optimizer, averaged, ema, seed = 0 }: DiffusionTrainerOptions = {},
  ) {
    const model = diffusion.denoiser;
    if (!(model instanceof Module)) throw new DLError('DiffusionTrainer', 'the diffusion\'s denoiser must be a Module (its parameters are trained)');
    if (ema && !averaged) throw new DLError('DiffusionTrainer', 'ema settings need `averaged`, a second denoiser of the same architecture to hold the average');
    this.optimizer = optimizer ?? new Adam(model.parameters(), { lr });
    this.ema = averaged ? new EMAModel(model, averaged, ema) : null;
    this.noise = new RNG(seed);
  }

  /**
   * One step on a batch x0 [N, C, H, W] in [-1, 1] (and its labels, int32 [N], for a conditional
   * model). Returns the loss before the update, a 0-d tensor the caller owns.
   *
   *   const loss = trainer.step(x0, labels);
   *   console.log(await loss.item());
   */
  step(x0: Tensor, labels?: Tensor): Tensor {
    const loss = scope(() => {
      this.optimizer.zeroGrad();
      const l = this.diffusion.loss(x0, { labels, generator: this.noise });
      backward(l);
      this.optimizer.step();
      return l.detach();
    });
    this.ema?.step();
    return loss;
  }

  /** The stream's position, for checkpoints. */
  noiseState(): GeneratorState {
    return this.noise.getState();
  }

  /** Continues the stream from a `noiseState()`. */
  setNoiseState(state: GeneratorState): void {
    this.noise.setState(state);
  }
}
