/**
 * @dl/diffusion: Gaussian diffusion models on @dl/layers: noise schedules, the forward process,
 * epsilon- and v-prediction losses, DDPM and DDIM samplers, classifier-free guidance and an EMA
 * of the weights, around a @dl/unet U-Net or any denoiser (x, t, y?) -> prediction.
 */
export {
  NoiseSchedule,
  betaSchedule,
  type BetaSchedule,
  type PredictionType,
  type ScheduleConfig,
  type ScheduleOptions,
  type Timesteps,
} from './schedule.js';
export {
  Scheduler,
  DDPMScheduler,
  DDIMScheduler,
  spacedTimesteps,
  type TimestepSpacing,
  type StepOptions,
  type DDIMStepOptions,
  type StepOutput,
} from './schedulers.js';
export { GaussianDiffusion, type Denoiser, type DiffusionConfig, type DiffusionOptions, type LossOptions, type SampleOptions } from './diffusion.js';
export { EMAModel, type EMAOptions } from './ema.js';
export { DiffusionTrainer, type DiffusionTrainerOptions } from './train.js';
