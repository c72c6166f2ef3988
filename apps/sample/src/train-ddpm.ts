import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiffusionTrainer, GaussianDiffusion, type BetaSchedule, type PredictionType } from '@dl/diffusion';
import { CosineWithWarmup, DataLoader, ModuleDict, TensorDataset, loadCheckpoint, readSafetensorsHeader, saveCheckpoint } from '@dl/layers';
import { Generator as RNG, manualSeed, scope, tensor, type GeneratorState } from '@dl/tensor';
import { UNet, type UNetConfig } from '@dl/unet';
import { subset } from './classify.js';
import { writeSamples, type Samples } from './eval/samples.js';
import { fidLine, reportSamples } from './eval/score.js';
import { loadMnist } from './mnist.js';
import { lossCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';

/** Settings of `dl train ddpm-mnist`. */
export interface DdpmMnistOptions {
  /** optimizer steps */
  steps: number;
  batchSize: number;
  /** Adam's peak learning rate */
  lr: number;
  /** the learning rate over training: constant, or cosine (from lr down to 0 at the last step) */
  lrSchedule: 'constant' | 'cosine';
  /** steps of linear warmup from 0 before the cosine (cosine schedule only) */
  warmup: number;
  /** channels of the U-Net's first level */
  base: number;
  /** one U-Net level per entry, base * mult channels; a 2x downsampling between levels */
  mults: number[];
  /** ResBlocks per level on the way down (one more on the way up) */
  resBlocks: number;
  schedule: BetaSchedule;
  prediction: PredictionType;
  /** probability of training a label as "no class" (classifier-free guidance) */
  pUncond: number;
  /** the EMA's largest decay (the samples come from the average) */
  ema: number;
  /** images in samples.safetensors */
  samples: number;
  /** DDIM steps of the closing samples */
  sampleSteps: number;
  /** classifier-free guidance weight of the closing samples */
  guidance: number;
  /** DDIM's eta of the closing samples (0: deterministic) */
  eta: number;
  /** images sampled together (guidance runs the U-Net on twice as many) */
  sampleBatch: number;
  device: string;
  out: string;
  resume: boolean;
  seed: number;
  /** only this many training images (quick checks, tests); the scorer is a quick one then too */
  limit?: number;
  /** the scoring classifier's checkpoint (see eval/classifier.ts) */
  classifier?: string;
}

/**
 * Defaults: a class-conditional DDPM (T = 1000, linear betas, eps-prediction, label dropout 0.1)
 * on a small U-Net, trained for the steps that fit the 30-minute budget on a 2-core CPU with the
 * closing 1,000 samples (DDIM 50 steps, guidance 2); see apps/sample/README.md for the figures.
 */
export const DDPM_MNIST_DEFAULTS: DdpmMnistOptions = {
  steps: 1600,
  batchSize: 64,
  lr: 2e-3,
  lrSchedule: 'constant',
  warmup: 0,
  base: 16,
  mults: [1, 2, 2],
  resBlocks: 1,
  schedule: 'linear',
  prediction: 'epsilon',
  pUncond: 0.1,
  ema: 0.995,
  samples: 1000,
  sampleSteps: 50,
  guidance: 2,
  eta: 0,
  sampleBatch: 50,
  device: 'cpu',
  out: 'runs/ddpm-mnist',
  resume: false,
  seed: 0,
};

/** The task's U-Net: GroupNorm, SiLU, strided-conv down, nearest + conv up, time and class embeddings. */
export function ddpmUNetConfig(o: Pick<DdpmMnistOptions, 'base' | 'mults' | 'resBlocks'>): UNetConfig {
  return { inChannels: 1, baseChannels: o.base, channelMults: o.mults, numResBlocks: o.resBlocks, timeEmbedding: true, numClasses: 10 };
}

/** What a checkpoint holds to rebuild the model and its diffusion (in its metadata). */
interface Settings {
  unet: UNetConfig;
  schedule: BetaSchedule;
  prediction: PredictionType;
  pUncond: number;
}

/** CPU seconds of this process (all threads) since `from`: on a shared machine, closer to the time on idle cores than the wall clock. */
function cpuSeconds(from?: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
}

function diffusionOf(unet: UNet, s: Settings): GaussianDiffusion {
  return new GaussianDiffusion(unet, { imageShape: [1, 28, 28], betaSchedule: s.schedule, predictionType: s.prediction, pUncond: s.pUncond });
}

/**
 * One line redrawn on stderr while sampling (a line every 10% off a terminal):
 * `sampling [#####...........] 250/1000 images, DDIM step 30/50, 11.2 img/s, ETA 1m07s`.
 */
function samplingProgress(total: number, steps: number, stream: NodeJS.WriteStream = process.stderr): (done: number, step: number) => void {
  const t0 = performance.now();
  let last = 0;
  let lastTenth = -1;
  return (done, step) => {
    const frac = (done + step / steps) / total; // images done, counting the batch in flight
    const sec = (performance.now() - t0) / 1000;
    const bar = '#'.repeat(Math.round(24 * frac)).padEnd(24, '.');
    const line = `sampling [${bar}] ${done}/${total} images, DDIM step ${step}/${steps}, ${((frac * total) / sec).toFixed(1)} img/s, ETA ${duration((sec * (1 - frac)) / frac)}`;
    if (stream.isTTY) {
      const now = performance.now();
      if (now - last < 100 && frac < 1) return;
      last = now;
      stream.write(`\r${line}\x1b[K${frac >= 1 ? '\n' : ''}`);
    } else if (Math.floor(frac * 10) > lastTenth) {
      lastTenth = Math.floor(frac * 10);
      stream.write(`${line}\n`);
    }
  };
}

/**
 * n images of the digits 0..9 in turn (image i asks for i % 10), from the diffusion's denoiser
 * (the EMA copy) with DDIM and classifier-free guidance, in batches (small ones: a 28x28 U-Net's
 * activations then stay in cache; 250 a batch cost about 1.5x more per image on the CPU); x_T and
 * any noise from `rng`. Pixel values mapped from [-1, 1] to [0, 1].
 */
export async function generateDigits(
  diffusion: GaussianDiffusion,
  n: number,
  o: { steps: number; guidance: number; eta: number; rng: RNG; device: string; denoiser?: UNet; batch: number; progress?: boolean },
): Promise<Samples> {
  const batch = o.batch;
  const images = new Float32Array(n * 784);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const show = o.progress === false ? null : samplingProgress(n, o.steps);
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const y = tensor(labels.subarray(i, i + m), { dtype: 'int32', device: o.device });
    const x = diffusion.sample(m, {
      steps: o.steps,
      guidanceScale: o.guidance,
      eta: o.eta,
      labels: y,
      generator: o.rng,
      device: o.device,
      denoiser: o.denoiser,
      onProgress: (s) => show?.(i, s),
    }); // (m, 1, 28, 28) in [-1, 1]
    const px = await x.data();
    for (let k = 0; k < px.length; k++) images[i * 784 + k] = Math.min(1, Math.max(0, (px[k] + 1) / 2));
    x.dispose();
    y.dispose();
  }
  show?.(n, 0);
  return { images, labels, length: n };
}

/**
 * `dl train ddpm-mnist`: a class-conditional DDPM on the 7,996 training digits (scaled to
 * [-1, 1]). An atomic checkpoint (the model, its EMA copy, Adam, the trainer's noise stream, the
 * losses) and loss.png at every epoch end and the last step (`resume` continues from it); then
 * samples.safetensors and samples.png from the EMA weights (DDIM, guidance), scored as by
 * `dl eval-samples`; returns the `fid: X` line.
 */
export async function trainDdpmMnist(o: DdpmMnistOptions, log: (s: string) => void): Promise<string> {
  const t0 = performance.now();
  const train = subset(loadMnist().train, o.limit);
  const images = scope(() => tensor(train.images, { shape: [train.length, 1, 28, 28] }).mul(2).sub(1)); // in [-1, 1]
  const data = new TensorDataset(images, tensor(train.labels, { dtype: 'int32' }));
  log(`data: ${train.length} train images (mnist package, first 80% of each class), scaled to [-1, 1]`);

  manualSeed(o.seed);
  const settings: Settings = { unet: ddpmUNetConfig(o), schedule: o.schedule, prediction: o.prediction, pUncond: o.pUncond };
  const unet = new UNet(settings.unet).to(o.device);
  const averaged = new UNet(settings.unet).to(o.device);
  const diffusion = diffusionOf(unet, settings);
  const trainer = new DiffusionTrainer(diffusion, { lr: o.lr, averaged, ema: { decay: o.ema }, seed: o.seed });
  const ema = trainer.ema!;
  const schedule = o.lrSchedule === 'cosine' ? new CosineWithWarmup(trainer.optimizer, { warmupSteps: o.warmup, totalSteps: o.steps }) : null;
  // a dropped partial batch keeps every step at batchSize, as PyTorch's run
  const loader = new DataLoader(data, { batchSize: o.batchSize, shuffle: true, seed: o.seed, dropLast: true });
  const perEpoch = loader.length;
  if (perEpoch === 0) throw new Error(`--batch-size ${o.batchSize} is larger than the ${train.length} training images`);
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint.safetensors');
  const nets = new ModuleDict({ model: unet, ema: averaged }); // model.conv_in.weight, ema.conv_in.weight, ...

  let step = 0;
  let losses: number[] = [];
  if (o.resume && existsSync(ckpt)) {
    const { step: s, extra } = await loadCheckpoint(ckpt, { model: nets, optimizer: trainer.optimizer });
    step = s;
    trainer.setNoiseState(extra.noise as GeneratorState);
    ema.loadStateDict({ optimizationStep: extra.emaStep as number });
    schedule?.loadStateDict({ lastStep: step });
    losses = (extra.losses as number[]) ?? [];
    log(`resumed from ${ckpt} at step ${step}`);
  }
  const c = unet.config;
  log(
    `model: U-Net ${c.channelMults.map((m) => m * c.baseChannels).join('-')} channels, ${c.numResBlocks} res block(s) a level, time + class embedding, ${unet.numParameters().toLocaleString('en-US')} parameters; ` +
      `DDPM T=${diffusion.config.numTrainTimesteps} ${o.schedule} betas, ${o.prediction}, label dropout ${o.pUncond}; Adam lr ${o.lr}${schedule ? ` (warmup ${o.warmup}, cosine to 0)` : ''}, batch ${o.batchSize}, EMA ${o.ema}, ${o.steps} steps (${(o.steps / perEpoch).toFixed(1)} epochs), device ${o.device}`,
  );
  const save = () =>
    saveCheckpoint(ckpt, {
      model: nets,
      optimizer: trainer.optimizer,
      step,
      extra: { ...settings, noise: trainer.noiseState(), emaStep: ema.optimizationStep, losses, batchSize: o.batchSize, lr: o.lr, lrSchedule: o.lrSchedule, warmup: o.warmup, ema: o.ema, seed: o.seed },
    });

  const bar = new ProgressBar();
  const startStep = step;
  const tTrain = performance.now();
  const cTrain = process.cpuUsage();
  let sum = 0;
  let count = 0;
  while (step < o.steps) {
    const epoch = Math.floor(step / perEpoch);
    loader.setEpoch(epoch);
    let i = 0;
    for (const [x0, labels] of loader) {
      // a resumed run skips the batches of this epoch it already took
      if (i++ < step % perEpoch) {
        x0.dispose();
        labels.dispose();
        continue;
      }
      const [x, y] = [x0.to(o.device), labels.to(o.device)];
      const lr = trainer.optimizer.paramGroups[0].lr; // this step's
      const l = trainer.step(x, y);
      schedule?.step();
      for (const t of new Set([x0, labels, x, y])) t.dispose();
      const loss = (await l.data())[0];
      l.dispose();
      losses.push(loss);
      sum += loss;
      count++;
      step++;
      const elapsed = (performance.now() - tTrain) / 1000;
      const msPerStep = (1000 * elapsed) / (step - startStep);
      bar.update(
        {
          epoch, epochs: Math.ceil(o.steps / perEpoch), step: ((step - 1) % perEpoch) + 1, stepsPerEpoch: perEpoch, globalStep: step - startStep,
          totalSteps: o.steps - startStep, loss, epochLoss: sum / count, samplesPerSec: (1000 * o.batchSize) / msPerStep, msPerStep, elapsedSec: elapsed,
          etaSec: ((o.steps - step) * msPerStep) / 1000, lr,
        },
        sum / count,
      );
      if (step % perEpoch === 0 || step === o.steps) {
        log(`step ${step}/${o.steps} (epoch ${Math.ceil(step / perEpoch)}): loss ${(sum / count).toFixed(4)}, ${duration(elapsed)} (${msPerStep.toFixed(0)} ms/step, batch ${o.batchSize}; cpu ${duration(cpuSeconds(cTrain))})`);
        sum = 0;
        count = 0;
        await save();
        writeFileSync(join(o.out, 'loss.png'), lossCurvePng(losses, perEpoch));
      }
      if (step >= o.steps) break;
    }
  }
  const trainSec = (performance.now() - tTrain) / 1000;
  const trainCpu = cpuSeconds(cTrain);
  const steps = Math.max(1, o.steps - startStep);
  log(
    `training time ${duration(trainSec)}${startStep ? ` (steps ${startStep + 1}-${o.steps})` : ''}, ${((1000 * trainSec) / steps).toFixed(0)} ms/step ` +
      `(cpu ${duration(trainCpu)}, ${((1000 * trainCpu) / steps).toFixed(0)} ms/step); wrote ${ckpt}, ${join(o.out, 'loss.png')}`,
  );
  return closingSamples(diffusion, averaged, o, `@dl/diffusion DDPM, ${o.steps} steps, seed ${o.seed}`, log, t0);
}

/** The closing samples from the EMA weights: written, scored, timed; returns the fid line. */
async function closingSamples(
  diffusion: GaussianDiffusion,
  averaged: UNet,
  o: Pick<DdpmMnistOptions, 'samples' | 'sampleSteps' | 'guidance' | 'eta' | 'sampleBatch' | 'seed' | 'device' | 'out' | 'classifier' | 'limit'>,
  model: string,
  log: (s: string) => void,
  t0: number,
): Promise<string> {
  const tSample = performance.now();
  const cSample = process.cpuUsage();
  // their own stream: the samples do not depend on how training was split into runs
  const samples = await generateDigits(diffusion, o.samples, { steps: o.sampleSteps, guidance: o.guidance, eta: o.eta, rng: new RNG(o.seed + 1000), device: o.device, denoiser: averaged, batch: o.sampleBatch });
  const sampleSec = (performance.now() - tSample) / 1000;
  mkdirSync(o.out, { recursive: true });
  const what = `DDIM ${o.sampleSteps} steps${o.eta ? `, eta ${o.eta}` : ''}, guidance ${o.guidance}`;
  const [file, png] = await writeSamples(o.out, samples, { model: `${model}; EMA weights, ${what}`, seconds: sampleSec.toFixed(0) });
  log(`sampled ${samples.length} images (${what}, EMA weights) in ${duration(sampleSec)} (cpu ${duration(cpuSeconds(cSample))}); wrote ${file} and ${png}`);
  const score = await reportSamples(samples, { path: o.classifier, device: o.device, log, limit: o.limit, quickDir: o.out });
  log(`total time ${duration((performance.now() - t0) / 1000)} (cpu ${duration(cpuSeconds())} since the process started)`);
  return fidLine(score);
}

/**
 * `dl sample ddpm-mnist --checkpoint FILE --steps 50 --guidance 2`: samples from a checkpoint's
 * EMA weights (its U-Net and schedule rebuilt from its metadata), written and scored as at the end
 * of training.
 */
export async function sampleDdpmMnist(
  o: Pick<DdpmMnistOptions, 'samples' | 'sampleSteps' | 'guidance' | 'eta' | 'sampleBatch' | 'seed' | 'device' | 'out' | 'classifier' | 'limit'> & { checkpoint: string },
  log: (s: string) => void,
): Promise<string> {
  const t0 = performance.now();
  const meta = readSafetensorsHeader(new Uint8Array(readFileSync(o.checkpoint))).metadata;
  const extra = (meta.extra ? JSON.parse(meta.extra) : {}) as Partial<Settings>;
  const d = DDPM_MNIST_DEFAULTS;
  const settings: Settings = { unet: extra.unet ?? ddpmUNetConfig(d), schedule: extra.schedule ?? d.schedule, prediction: extra.prediction ?? d.prediction, pUncond: extra.pUncond ?? d.pUncond };
  const unet = new UNet(settings.unet);
  const averaged = new UNet(settings.unet);
  await loadCheckpoint(o.checkpoint, { model: new ModuleDict({ model: unet, ema: averaged }) });
  averaged.to(o.device);
  log(`loaded ${o.checkpoint} (step ${meta.step}; EMA weights)`);
  return closingSamples(diffusionOf(averaged, settings), averaged, o, `@dl/diffusion DDPM from ${o.checkpoint}, seed ${o.seed}`, log, t0);
}
