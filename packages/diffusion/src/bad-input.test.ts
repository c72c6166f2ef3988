// Bad settings and inputs of @dl/diffusion throw typed errors naming the call, the argument, what
// was expected and what came; none computes something else silently.
import { Linear } from '@dl/layers';
import { DLError, DTypeError, IndexError, ShapeError, randn, tensor, zeros } from '@dl/tensor';
import { runSweep, type SweepCase } from '@dl/tensor/testing';
import { UNet } from '@dl/unet';
import { describe, it } from 'vitest';
import { GaussianDiffusion } from './diffusion.js';
import { EMAModel } from './ema.js';
import { NoiseSchedule, betaSchedule } from './schedule.js';
import { DDIMScheduler, DDPMScheduler } from './schedulers.js';
import { DiffusionTrainer } from './train.js';

const int = (...v: number[]) => tensor(new Int32Array(v));
// two downsamplings: sides divisible by 4
const unet = (extra = {}) => new UNet({ baseChannels: 8, channelMults: [1, 1, 2], numResBlocks: 1, normGroups: 4, timeEmbedding: true, ...extra });
const cond = () => new GaussianDiffusion(unet({ numClasses: 10 }), { imageShape: [1, 8, 8] });
const uncond = () => new GaussianDiffusion(unet(), { imageShape: [1, 8, 8] });
const x8 = () => randn([2, 1, 8, 8]);

const cases: SweepCase[] = [
  // schedules
  { name: 'an unknown beta schedule', run: () => betaSchedule('sigmoid' as 'linear', 10), throws: DLError, op: 'betaSchedule', says: ["'linear' or 'cosine'", '"sigmoid"'] },
  { name: 'zero timesteps', run: () => new NoiseSchedule({ numTrainTimesteps: 0 }), throws: DLError, op: 'betaSchedule', says: ['numTrainTimesteps', 'positive integer', '0'] },
  { name: 'betaEnd below betaStart', run: () => new NoiseSchedule({ betaStart: 0.02, betaEnd: 1e-4 }), throws: DLError, op: 'betaSchedule', says: ['betaStart 0.02', 'betaEnd 0.0001'] },
  { name: 'an unknown prediction type', run: () => new DDPMScheduler({ predictionType: 'sample' as 'epsilon' }), throws: DLError, op: 'DDPMScheduler', says: ["'epsilon' or 'v_prediction'", '"sample"'] },

  // timesteps out of range
  { name: 'qSample at t = T', run: () => new NoiseSchedule().qSample(x8(), int(3, 1000), x8()), throws: IndexError, op: 'qSample', says: ['timestep 1000', 't[1]', '[0, 1000)'] },
  { name: 'qSample at a negative t given as numbers', run: () => new NoiseSchedule().qSample(x8(), [-1, 3], x8()), throws: IndexError, op: 'qSample', says: ['timestep -1', 't[0]', '[0, 1000)'] },
  { name: 'qSample at a fractional t', run: () => new NoiseSchedule().qSample(x8(), [2.5, 3], x8()), throws: IndexError, op: 'qSample', says: ['timestep 2.5'] },
  { name: 'a DDIM step at t = 1000', run: () => new DDIMScheduler().step(x8(), 1000, x8()), throws: IndexError, op: 'DDIMScheduler.step', says: ['timestep 1000', '[0, 1000)'] },
  { name: 'a DDIM step at a timestep not set', run: () => new DDIMScheduler().setTimesteps(50).step(x8(), 981, x8()), throws: DLError, op: 'DDIMScheduler.step', says: ['timestep 981', '50 inference timesteps', '980, 960, 940', 'setTimesteps'] },
  { name: 'more inference steps than T', run: () => new DDPMScheduler({ numTrainTimesteps: 100 }).setTimesteps(101), throws: DLError, op: 'setTimesteps', says: ['[1, 100]', '101'] },
  { name: 'a loss at t = T', run: () => cond().loss(x8(), { t: [0, 1000] }), throws: IndexError, op: 'qSample', says: ['timestep 1000', '[0, 1000)'] },

  // shapes
  { name: 'noise of another shape than x0', run: () => new NoiseSchedule().qSample(x8(), int(1, 2), randn([2, 1, 4, 4])), throws: ShapeError, op: 'qSample', says: ['noise [2,1,4,4]', 'x0 [2,1,8,8]'] },
  { name: 'one timestep for two images', run: () => new NoiseSchedule().qSample(x8(), int(1), x8()), throws: ShapeError, op: 'qSample', says: ['t must be [2]', 'got [1]'] },
  { name: 'bool timesteps', run: () => new NoiseSchedule().qSample(x8(), zeros([2], { dtype: 'bool' }), x8()), throws: DTypeError, op: 'qSample', says: ['int32 timesteps', 'bool [2]'] },
  { name: 'a model output of another shape than the sample', run: () => new DDPMScheduler().step(randn([2, 1, 4, 4]), 5, x8()), throws: ShapeError, op: 'DDPMScheduler.step', says: ['modelOutput [2,1,4,4]', 'sample [2,1,8,8]'] },
  { name: 'step noise of another shape', run: () => new DDPMScheduler().step(x8(), 5, x8(), { noise: randn([1, 1, 8, 8]) }), throws: ShapeError, op: 'DDPMScheduler.step', says: ['noise [1,1,8,8]', 'sample [2,1,8,8]'] },
  { name: 'a negative eta', run: () => new DDIMScheduler().step(x8(), 5, x8(), { eta: -1 }), throws: DLError, op: 'DDIMScheduler.step', says: ['eta', '-1'] },
  { name: 'images of another size than imageShape', run: () => cond().loss(randn([2, 1, 12, 12])), throws: ShapeError, op: 'GaussianDiffusion.loss', says: ['x0 must be [N,1,8,8]', 'got [2,1,12,12]'] },
  { name: 'images without a batch dim', run: () => cond().loss(randn([1, 8, 8])), throws: ShapeError, op: 'GaussianDiffusion.loss', says: ['[N,1,8,8]', 'got [1,8,8]'] },
  { name: 'int images', run: () => cond().loss(zeros([2, 1, 8, 8], { dtype: 'int32' })), throws: DTypeError, op: 'GaussianDiffusion.loss', says: ['float', 'int32 [2,1,8,8]'] },
  { name: 'noise of the wrong size for sample(n)', run: () => cond().sample(3, { noise: x8() }), throws: ShapeError, op: 'GaussianDiffusion.sample', says: ['noise must be [3,1,8,8]', 'got [2,1,8,8]'] },
  { name: 'one label for two images', run: () => cond().loss(x8(), { labels: int(1) }), throws: ShapeError, op: 'GaussianDiffusion.loss', says: ['labels must be [2]', 'got [1]'] },
  { name: 'float labels', run: () => cond().loss(x8(), { labels: tensor([1, 2]) }), throws: DTypeError, op: 'GaussianDiffusion.loss', says: ['int32', 'float32 [2]'] },
  { name: 'a label out of range', run: () => cond().loss(x8(), { labels: int(1, 11) }), throws: IndexError, op: 'GaussianDiffusion.loss', says: ['label 11', 'labels[1]', '0..9', '10 for "no class"'] },
  { name: 'sampling the null class as a requested class', run: () => cond().sample(2, { labels: int(1, 10), steps: 1 }), throws: IndexError, op: 'GaussianDiffusion.sample', says: ['label 10', '0..9'] },
  { name: 'a denoiser that returns another shape', run: () => new GaussianDiffusion({ forward: (x) => x.narrow(1, 0, 1) }, { imageShape: [2, 4, 4] }).loss(randn([3, 2, 4, 4])), throws: ShapeError, op: 'GaussianDiffusion', says: ["input's shape [3,2,4,4]", 'got [3,1,4,4]'] },

  // guidance without class conditioning
  { name: 'guidance on an unconditional model', run: () => uncond().sample(2, { guidanceScale: 2 }), throws: DLError, op: 'GaussianDiffusion.sample', says: ['guidanceScale 2', 'unconditional (numClasses 0)'] },
  { name: 'guidance without labels', run: () => cond().sample(2, { guidanceScale: 3 }), throws: DLError, op: 'GaussianDiffusion.sample', says: ['guidanceScale 3 needs labels', 'int32 [2]'] },
  { name: 'guidedOutput on an unconditional model', run: () => uncond().guidedOutput(x8(), 5, { guidanceScale: 2 }), throws: DLError, op: 'GaussianDiffusion.guidedOutput', says: ['unconditional'] },
  { name: 'labels for an unconditional model', run: () => uncond().loss(x8(), { labels: int(0, 1) }), throws: DLError, op: 'GaussianDiffusion.loss', says: ['labels [2]', 'unconditional (numClasses 0)'] },
  { name: 'label dropout without classes', run: () => new GaussianDiffusion(unet(), { imageShape: [1, 8, 8], pUncond: 0.1 }), throws: DLError, op: 'GaussianDiffusion', says: ['pUncond 0.1', 'unconditional'] },
  { name: 'a NaN guidance scale', run: () => cond().sample(2, { guidanceScale: NaN, labels: int(0, 1) }), throws: DLError, op: 'GaussianDiffusion.sample', says: ['guidanceScale', 'finite'] },

  // image sizes the U-Net cannot take
  { name: '28x30 images for a U-Net with two downsamplings', run: () => new GaussianDiffusion(unet(), { imageShape: [1, 28, 30] }), throws: ShapeError, op: 'GaussianDiffusion', says: ['cannot take 28x30', 'divisible by 4', 'channelMults [1,1,2]'] },
  { name: 'colour images for a grey U-Net', run: () => new GaussianDiffusion(unet(), { imageShape: [3, 8, 8] }), throws: ShapeError, op: 'GaussianDiffusion', says: ['1 to 1 channels', 'imageShape [3,8,8]'] },
  { name: 'a U-Net without a timestep embedding', run: () => new GaussianDiffusion(new UNet({ baseChannels: 8, normGroups: 4 }), { imageShape: [1, 8, 8] }), throws: DLError, op: 'GaussianDiffusion', says: ['timeEmbedding: true'] },
  { name: 'numClasses other than the U-Net’s', run: () => new GaussianDiffusion(unet({ numClasses: 10 }), { imageShape: [1, 8, 8], numClasses: 5 }), throws: DLError, op: 'GaussianDiffusion', says: ['numClasses 5', 'config.numClasses 10'] },
  { name: 'a bad imageShape', run: () => new GaussianDiffusion(unet(), { imageShape: [1, 8] as never }), throws: ShapeError, op: 'GaussianDiffusion', says: ['[C, H, W]', '[1,8]'] },
  { name: 'sample(0)', run: () => cond().sample(0), throws: DLError, op: 'GaussianDiffusion.sample', says: ['positive integer', '0'] },
  { name: 'eta with the DDPM sampler', run: () => uncond().sample(1, { sampler: 'ddpm', eta: 0.5, steps: 2 }), throws: DLError, op: 'GaussianDiffusion.sample', says: ['DDPMScheduler has no eta', '0.5'] },
  { name: 'a scheduler with another schedule', run: () => uncond().sample(1, { sampler: new DDIMScheduler({ betaSchedule: 'cosine' }) }), throws: DLError, op: 'GaussianDiffusion.sample', says: ['differs', 'cosine'] },

  // EMA and trainer
  { name: 'an EMA of another architecture', run: () => new EMAModel(new Linear(4, 3), new Linear(3, 3)), throws: ShapeError, op: 'EMAModel', says: ['weight', '[3,4]', '[3,3]'] },
  { name: 'an EMA onto the model itself', run: () => { const m = new Linear(2, 2); return new EMAModel(m, m); }, throws: DLError, op: 'EMAModel', says: ['second module'] },
  { name: 'a decay above 1', run: () => new EMAModel(new Linear(2, 2), new Linear(2, 2), { decay: 1.5 }), throws: DLError, op: 'EMAModel', says: ['decay', '1.5'] },
  { name: 'a trainer of a plain-object denoiser', run: () => new DiffusionTrainer(new GaussianDiffusion({ forward: (x) => x }, { imageShape: [1, 4, 4] })), throws: DLError, op: 'DiffusionTrainer', says: ['must be a Module'] },
];

runSweep({ describe, it }, 'bad input to @dl/diffusion', cases);
