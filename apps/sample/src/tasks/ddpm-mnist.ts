import type { BetaSchedule, PredictionType } from '@dl/diffusion';
import { SCORING_OPTIONS, classifierPath } from '../eval/command.js';
import { DDPM_MNIST_DEFAULTS, sampleDdpmMnist, trainDdpmMnist } from '../train-ddpm.js';
import { TRAIN_OPTIONS, num, numIn, pick, required, seed, text } from './args.js';
import type { OptionValues, Task } from './task.js';

const D = DDPM_MNIST_DEFAULTS;

function choice<T extends string>(v: OptionValues, name: string, fallback: T, options: readonly T[]): T {
  const s = text(v, name, fallback);
  if (!options.includes(s as T)) throw new Error(`--${name} must be ${options.join(' or ')}, got '${s}'`);
  return s as T;
}

/** `--mults 1,2,2`: positive numbers. */
function mults(v: OptionValues): number[] {
  const s = text(v, 'mults', D.mults.join(','));
  const m = s.split(',').map(Number);
  if (!m.length || m.some((x) => !(x > 0))) throw new Error(`--mults must be comma-separated positive numbers (one U-Net level each), got '${s}'`);
  return m;
}

const limit = (v: OptionValues) => (v.limit === undefined ? undefined : num(v, 'limit', 0, true));

/** The closing samples' settings, shared by train (--sample-steps) and sample (--steps). */
function sampling(v: OptionValues, stepsOption: string) {
  return {
    samples: numIn(v, 'samples', D.samples, 2, 1e7, true),
    sampleSteps: numIn(v, stepsOption, D.sampleSteps, 1, 1001, true),
    guidance: numIn(v, 'guidance', D.guidance, 0, 100),
    eta: numIn(v, 'eta', D.eta, 0, 10),
    sampleBatch: num(v, 'sample-batch', D.sampleBatch, true),
    out: text(v, 'out', D.out),
    seed: seed(v),
    classifier: classifierPath(v),
    limit: limit(v),
  };
}

/** `dl train ddpm-mnist`: a class-conditional DDPM (@dl/diffusion on a @dl/unet U-Net), sampled with DDIM and guidance. */
export const ddpmMnist: Task = {
  name: 'ddpm-mnist',
  summary: 'class-conditional DDPM (@dl/diffusion, @dl/unet) on the 7,996 MNIST training digits; samples with DDIM and classifier-free guidance into samples.safetensors, last line `fid: X`',
  options: {
    ...pick(TRAIN_OPTIONS, 'batch-size', 'lr', 'out', 'resume', 'seed', 'limit', 'checkpoint'),
    steps: { type: 'string', help: 'train: optimizer steps; sample: DDIM steps', default: `${D.steps} / ${D.sampleSteps}` },
    'lr-schedule': { type: 'string', help: 'learning rate over training: constant, or cosine (down to 0 at the last step)', default: D.lrSchedule },
    warmup: { type: 'string', help: 'steps of linear warmup before the cosine (fewer than --steps)', default: String(D.warmup) },
    base: { type: 'string', help: "channels of the U-Net's first level", default: String(D.base) },
    mults: { type: 'string', help: 'channel multiplier of each U-Net level (a 2x downsampling between levels)', default: D.mults.join(',') },
    'res-blocks': { type: 'string', help: 'ResBlocks per level on the way down (one more up)', default: String(D.resBlocks) },
    schedule: { type: 'string', help: 'noise schedule: linear (DDPM) or cosine (Nichol & Dhariwal)', default: D.schedule },
    prediction: { type: 'string', help: 'what the U-Net predicts: epsilon or v_prediction', default: D.prediction },
    'p-uncond': { type: 'string', help: 'probability of training a label as "no class" (for guidance)', default: String(D.pUncond) },
    ema: { type: 'string', help: "the weights' moving average decay (samples come from it)", default: String(D.ema) },
    samples: { type: 'string', help: 'images in samples.safetensors (classes 0..9 in turn)', default: String(D.samples) },
    'sample-steps': { type: 'string', help: 'train: DDIM steps of the closing samples', default: String(D.sampleSteps) },
    guidance: { type: 'string', help: 'classifier-free guidance weight w: uncond + w (cond - uncond)', default: String(D.guidance) },
    eta: { type: 'string', help: "DDIM's noise weight (0 deterministic, 1 DDPM's variance)", default: String(D.eta) },
    'sample-batch': { type: 'string', help: 'images sampled at once (guidance runs the U-Net on twice as many)', default: String(D.sampleBatch) },
    ...SCORING_OPTIONS,
  },
  commands: {
    async train(v, { device, log }) {
      const steps = num(v, 'steps', D.steps, true);
      return trainDdpmMnist(
        {
          ...sampling(v, 'sample-steps'),
          steps,
          batchSize: num(v, 'batch-size', D.batchSize, true),
          lr: num(v, 'lr', D.lr),
          lrSchedule: choice(v, 'lr-schedule', D.lrSchedule, ['constant', 'cosine'] as const),
          warmup: numIn(v, 'warmup', D.warmup, 0, steps - 1, true),
          base: num(v, 'base', D.base, true),
          mults: mults(v),
          resBlocks: num(v, 'res-blocks', D.resBlocks, true),
          schedule: choice<BetaSchedule>(v, 'schedule', D.schedule, ['linear', 'cosine']),
          prediction: choice<PredictionType>(v, 'prediction', D.prediction, ['epsilon', 'v_prediction']),
          pUncond: numIn(v, 'p-uncond', D.pUncond, 0, 1),
          ema: numIn(v, 'ema', D.ema, 0, 1),
          device,
          resume: v.resume === true,
        },
        log,
      );
    },
    async sample(v, { device, log }) {
      return sampleDdpmMnist({ ...sampling(v, 'steps'), checkpoint: required(v, 'checkpoint', 'dl sample ddpm-mnist'), device }, log);
    },
  },
};
