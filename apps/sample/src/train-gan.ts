import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader, ModuleDict, TensorDataset, loadCheckpoint, readSafetensorsHeader, saveCheckpoint } from '@dl/layers';
import { Discriminator, GANTrainer, Generator, type GANLoss } from '@dl/gan';
import { Generator as RNG, manualSeed, scope, tensor, type GeneratorState, type Tensor } from '@dl/tensor';
import { fidLine, reportSamples } from './eval/score.js';
import { imageGridPng } from './eval/grid.js';
import { writeSamples, type Samples } from './eval/samples.js';
import { loadMnist } from './mnist.js';
import { ProgressBar, duration } from './progress.js';
import { subset } from './classify.js';

/** Settings of `dl train gan-mnist`. */
export interface GanMnistOptions {
  /** optimizer steps (one D and one G update each) */
  steps: number;
  batchSize: number;
  /** Adam's learning rate for both nets (betas 0.5, 0.999) */
  lr: number;
  /** the GAN objective */
  loss: GANLoss;
  /** length of z */
  latentDim: number;
  /** channels of G's last hidden layer and of D's first (the DCGAN example's ngf = ndf) */
  width: number;
  /** condition G and D on the digit class (a label embedding in G, a projection discriminator) */
  conditional: boolean;
  /** a sample grid from the fixed z every this many steps */
  gridEvery: number;
  /** images in samples.safetensors */
  samples: number;
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
 * Defaults: the DCGAN recipe of ANCHORS.md (z of 64, Adam 2e-4 (0.5, 0.999), batch 64, the
 * non-saturating loss, unconditional) at half its widths (width 32: G 234,176 and D 36,544
 * parameters), which costs half as much a step on @dl's CPU kernels. 6,000 steps, about 11
 * minutes on 2 idle cores: at 3,000 the rarest digit (a 4) sat at 2.5-4.5% of the samples across
 * seeds, on both sides of the 3% floor, and the score was still falling (PyTorch seed 0:
 * 27.44 -> 19.63 from 3,000 to 6,000); see apps/sample/README.md for the figures.
 */
export const GAN_MNIST_DEFAULTS: GanMnistOptions = {
  steps: 6000,
  batchSize: 64,
  lr: 2e-4,
  loss: 'nonSaturating',
  latentDim: 64,
  width: 32,
  conditional: false,
  gridEvery: 250,
  samples: 2000,
  device: 'cpu',
  out: 'runs/gan-mnist',
  resume: false,
  seed: 0,
};

/** The task's nets for its settings (built after manualSeed, so a seed gives the same nets). */
export function ganMnistNets(o: Pick<GanMnistOptions, 'latentDim' | 'width' | 'conditional'>): { netG: Generator; netD: Discriminator } {
  const numClasses = o.conditional ? 10 : 0;
  return {
    netG: new Generator({ latentDim: o.latentDim, width: o.width, imageSize: 28, channels: 1, numClasses }),
    netD: new Discriminator({ width: o.width, imageSize: 28, channels: 1, numClasses }),
  };
}

/** The settings a checkpoint needs to rebuild its nets (saved in its metadata). */
type NetSettings = Pick<GanMnistOptions, 'latentDim' | 'width' | 'conditional'>;

/** Pixel values in [0, 1] of images in [-1, 1] (the generator's tanh range). */
async function toUnit(images: Tensor): Promise<Float32Array> {
  const out = Float32Array.from(await images.data());
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, (out[i] + 1) / 2));
  return out;
}

/**
 * n images from the generator in eval mode (batch norm on its running statistics), from z drawn
 * from `rng`; a conditional generator gets the classes 0..9 in turn, so every tenth image is a 0.
 */
export async function generate(netG: Generator, n: number, rng: RNG, device: string, batch = 500): Promise<Samples> {
  const images = new Float32Array(n * 784);
  const labels = netG.config.numClasses ? Int32Array.from({ length: n }, (_, i) => i % 10) : undefined;
  const wasTraining = netG.training;
  netG.eval();
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const y = labels ? tensor(labels.subarray(i, i + m), { dtype: 'int32', device }) : undefined;
    const x = netG.sample(m, { generator: rng, labels: y, device }); // (m, 1, 28, 28) in [-1, 1]
    images.set(await toUnit(x), i * 784);
    x.dispose();
    y?.dispose();
  }
  netG.train(wasTraining);
  return labels ? { images, labels, length: n } : { images, length: n };
}

/**
 * `dl train gan-mnist`: DCGAN on the 7,996 training digits (scaled to [-1, 1]). Writes a sample
 * grid from a fixed z every `gridEvery` steps (grid-<step>.png, and samples-latest.png), an atomic
 * checkpoint (both nets, both Adam states, the noise stream) at every epoch end and at the last
 * step (`resume` continues from it), then samples.safetensors and samples.png, and scores the
 * samples; returns the `fid: X` line.
 */
export async function trainGanMnist(o: GanMnistOptions, log: (s: string) => void): Promise<string> {
  const t0 = performance.now();
  const train = subset(loadMnist().train, o.limit);
  const images = scope(() => tensor(train.images, { shape: [train.length, 1, 28, 28] }).mul(2).sub(1)); // in [-1, 1]
  const data = new TensorDataset(images, tensor(train.labels));
  log(`data: ${train.length} train images (mnist package, first 80% of each class), scaled to [-1, 1]`);

  manualSeed(o.seed);
  const { netG, netD } = ganMnistNets(o);
  netG.to(o.device);
  netD.to(o.device);
  const trainer = new GANTrainer(netG, netD, { lr: o.lr, betas: [0.5, 0.999], loss: o.loss, seed: o.seed });
  // a dropped partial batch keeps every step at batchSize (batch norm on equal batches, as PyTorch's run)
  const loader = new DataLoader(data, { batchSize: o.batchSize, shuffle: true, seed: o.seed, dropLast: true });
  const perEpoch = loader.length;
  if (perEpoch === 0) throw new Error(`--batch-size ${o.batchSize} is larger than the ${train.length} training images`);
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint.safetensors');
  const nets = new ModuleDict({ netG, netD }); // one state dict, `netG.main.0.weight`, ...
  const optimizers = { optG: trainer.optG, optD: trainer.optD };
  const settings: NetSettings = { latentDim: o.latentDim, width: o.width, conditional: o.conditional };

  let step = 0;
  if (o.resume && existsSync(ckpt)) {
    const { step: s, extra } = await loadCheckpoint(ckpt, { model: nets, optimizers });
    step = s;
    trainer.setNoiseState(extra.noise as GeneratorState);
    log(`resumed from ${ckpt} at step ${step}`);
  }
  log(
    `model: DCGAN${o.conditional ? ' (class-conditional: label embedding in G, projection D)' : ''}, G ${netG.numParameters().toLocaleString('en-US')} + D ${netD.numParameters().toLocaleString('en-US')} parameters, z ${o.latentDim}; ` +
      `Adam lr ${o.lr} (0.5, 0.999), ${o.loss} loss, batch ${o.batchSize}, ${o.steps} steps (${(o.steps / perEpoch).toFixed(1)} epochs), device ${o.device}`,
  );

  // the grids' z (and classes: one row per digit) stay fixed over the run
  const gridRng = new RNG(o.seed + 1);
  const gridState = gridRng.getState();
  const writeGrid = async (name: string) => {
    gridRng.setState(gridState);
    const s = await generate(netG, 100, gridRng, o.device);
    const png = imageGridPng(s.images, 100, { labels: s.labels });
    writeFileSync(join(o.out, name), png);
    writeFileSync(join(o.out, 'samples-latest.png'), png);
  };
  const save = () => saveCheckpoint(ckpt, { model: nets, optimizers, step, extra: { ...settings, noise: trainer.noiseState(), batchSize: o.batchSize, lr: o.lr, loss: o.loss } });

  const bar = new ProgressBar();
  const startStep = step;
  const tTrain = performance.now();
  let sum = { d: 0, g: 0, dx: 0, dgz: 0, n: 0 };
  while (step < o.steps) {
    const epoch = Math.floor(step / perEpoch);
    loader.setEpoch(epoch);
    let i = 0;
    for (const [real, labels] of loader) {
      // a resumed run skips the batches of this epoch it already took
      if (i++ < step % perEpoch) {
        real.dispose();
        labels.dispose();
        continue;
      }
      const [x, y] = [real.to(o.device), labels.to(o.device)];
      const r = trainer.step(x, o.conditional ? y : undefined);
      for (const t of new Set([real, labels, x, y])) t.dispose();
      const [d, g, dx, dgz] = await Promise.all([r.lossD, r.lossG, r.dReal, r.dFake].map(async (t) => (await t.data())[0]));
      for (const t of [r.lossD, r.lossG, r.dReal, r.dFake]) t.dispose();
      sum = { d: sum.d + d, g: sum.g + g, dx: sum.dx + dx, dgz: sum.dgz + dgz, n: sum.n + 1 };
      step++;
      const elapsed = (performance.now() - tTrain) / 1000;
      const msPerStep = (1000 * elapsed) / (step - startStep);
      bar.update(
        {
          epoch, epochs: Math.ceil(o.steps / perEpoch), step: ((step - 1) % perEpoch) + 1, stepsPerEpoch: perEpoch, globalStep: step - startStep,
          totalSteps: o.steps - startStep, loss: d, epochLoss: sum.d / sum.n, samplesPerSec: (1000 * o.batchSize) / msPerStep, msPerStep, elapsedSec: elapsed,
          etaSec: ((o.steps - step) * msPerStep) / 1000, lr: o.lr,
        },
        `lossD ${d.toFixed(3)} lossG ${g.toFixed(3)}`,
      );
      if (step % o.gridEvery === 0) await writeGrid(`grid-${String(step).padStart(5, '0')}.png`);
      if (step % perEpoch === 0 || step === o.steps) {
        const k = sum.n;
        log(
          `step ${step}/${o.steps} (epoch ${Math.ceil(step / perEpoch)}): lossD ${(sum.d / k).toFixed(4)} lossG ${(sum.g / k).toFixed(4)} D(x) ${(sum.dx / k).toFixed(3)} D(G(z)) ${(sum.dgz / k).toFixed(3)}, ` +
            `${duration(elapsed)} (${msPerStep.toFixed(0)} ms/step, batch ${o.batchSize})`,
        );
        sum = { d: 0, g: 0, dx: 0, dgz: 0, n: 0 };
        await save();
      }
      if (step >= o.steps) break;
    }
  }
  const trainSec = (performance.now() - tTrain) / 1000;
  if (o.steps % o.gridEvery !== 0) await writeGrid(`grid-${String(step).padStart(5, '0')}.png`);

  // the samples to score: their own z stream, so they do not depend on how the run was split
  const samples = await generate(netG, o.samples, new RNG(o.seed + 1000), o.device);
  const [file, png] = await writeSamples(o.out, samples, { model: `@dl/gan DCGAN${o.conditional ? ' (conditional)' : ''}, ${o.steps} steps, seed ${o.seed}`, seconds: trainSec.toFixed(0) });
  log(`wrote ${ckpt}, ${file} (${samples.length} images), ${png} and the grids (grid-<step>.png)`);
  log(`training time ${duration(trainSec)}${startStep ? ` (steps ${startStep + 1}-${o.steps})` : ''}, ${((1000 * trainSec) / Math.max(1, o.steps - startStep)).toFixed(0)} ms/step`);
  const score = await reportSamples(samples, { path: o.classifier, device: o.device, log, limit: o.limit, quickDir: o.out });
  log(`total time ${duration((performance.now() - t0) / 1000)}`);
  return fidLine(score);
}

/**
 * `dl sample gan-mnist --checkpoint FILE`: samples.safetensors and samples.png from a saved
 * generator (its settings from the checkpoint), scored as at the end of training.
 */
export async function sampleGanMnist(
  o: { checkpoint: string; samples: number; out: string; seed: number; device: string; classifier?: string; limit?: number },
  log: (s: string) => void,
): Promise<string> {
  const meta = readSafetensorsHeader(new Uint8Array(readFileSync(o.checkpoint))).metadata;
  const extra = (meta.extra ? JSON.parse(meta.extra) : {}) as Partial<NetSettings>;
  const d = GAN_MNIST_DEFAULTS;
  const { netG, netD } = ganMnistNets({ latentDim: extra.latentDim ?? d.latentDim, width: extra.width ?? d.width, conditional: extra.conditional ?? d.conditional });
  await loadCheckpoint(o.checkpoint, { model: new ModuleDict({ netG, netD }) });
  netG.to(o.device);
  log(`loaded ${o.checkpoint} (step ${meta.step})`);
  const samples = await generate(netG, o.samples, new RNG(o.seed + 1000), o.device);
  mkdirSync(o.out, { recursive: true });
  const [file, png] = await writeSamples(o.out, samples, { model: `@dl/gan DCGAN from ${o.checkpoint}, seed ${o.seed}` });
  log(`wrote ${file} (${samples.length} images) and ${png}`);
  return fidLine(await reportSamples(samples, { path: o.classifier, device: o.device, log, limit: o.limit, quickDir: o.out }));
}
