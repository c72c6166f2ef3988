import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '@dl/autograd';
import { Adam, CosineWithWarmup, DataLoader, EMA, TensorDataset, fit, loadCheckpoint, readSafetensorsHeader, saveCheckpoint } from '@dl/layers';
import { Generator, manualSeed, scope, tensor, type GeneratorState, type Tensor } from '@dl/tensor';
import { VAE, type VAEConfig } from '@dl/vae';
import { subset } from './classify.js';
import { EVAL_CLASSIFIER_PATH } from './eval/classifier.js';
import { imageGridPng } from './eval/grid.js';
import { writeSamples, type Samples } from './eval/samples.js';
import { fidLine, reportSamples } from './eval/score.js';
import { loadMnist, type MnistSplit } from './mnist.js';
import { lossCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';

/**
 * `dl train vae-mnist`: a @dl/vae VAE on the 7,996 train digits (grey levels in [0, 1] as
 * Bernoulli targets, as PyTorch's examples/vae), scored by the test negative ELBO in nats per
 * image: summed binary cross-entropy over the 784 pixels + KL, one reparameterised draw per image.
 */
export interface VaeMnistOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  device: string;
  out: string;
  resume: boolean;
  seed: number;
  /** only this many train and test images (quick checks) */
  limit?: number;
  /** encoder and decoder: 'conv' or 'mlp' (784-400-z, PyTorch's examples/vae) */
  arch: 'mlp' | 'conv';
  /** latent size; 2 also draws latent-grid.png */
  latent: number;
  /** weight of the KL term while training (the reported ELBO always weighs it 1) */
  beta: number;
  /** cosine decay of the learning rate to 0 over the run */
  cosine: boolean;
  /** prior samples written to samples.safetensors and scored */
  samples: number;
  /** the scoring classifier's checkpoint (trained there on first use) */
  classifier: string;
}

/** Defaults: at most 112 nats on the test digits in under 5 minutes on 2 CPU cores. */
export const VAE_MNIST_DEFAULTS: VaeMnistOptions = {
  epochs: 15,
  batchSize: 64,
  lr: 2e-3,
  device: 'cpu',
  out: 'runs/vae-mnist',
  resume: false,
  seed: 0,
  arch: 'conv',
  latent: 20,
  beta: 1,
  cosine: true,
  samples: 1000,
  classifier: EVAL_CLASSIFIER_PATH,
};

/** The model of a run: channels 16-32 for the conv net, the MLP of examples/vae otherwise. */
export function vaeConfig(o: Pick<VaeMnistOptions, 'arch' | 'latent' | 'beta'>): Partial<VAEConfig> {
  return { arch: o.arch, latentDim: o.latent, hidden: [400], channels: [16, 32], beta: o.beta };
}

/** Negative ELBO terms averaged over images (nats per image). */
export interface ElboReport {
  nelbo: number;
  reconstruction: number;
  kl: number;
}

/**
 * The negative ELBO of `split` (batches of 500, no grad) with one draw per image from a
 * generator seeded `seed`, so the figure is the same every time for the same weights.
 */
export async function negativeElbo(vae: VAE, split: MnistSplit, device: string, seed = 1234): Promise<ElboReport> {
  const generator = new Generator(seed);
  let rec = 0;
  let kl = 0;
  for (let i = 0; i < split.length; i += 500) {
    const m = Math.min(500, split.length - i);
    const [r, k] = noGrad(() =>
      scope(() => {
        const x = tensor(split.images.subarray(i * 784, (i + m) * 784), { shape: [m, 1, 28, 28] }).to(device);
        const t = vae.elbo(x, { generator });
        return [t.reconstruction.mul(m), t.kl.mul(m)];
      }),
    );
    rec += (await r.data())[0];
    kl += (await k.data())[0];
    r.dispose();
    k.dispose();
  }
  return { nelbo: (rec + kl) / split.length, reconstruction: rec / split.length, kl: kl / split.length };
}

async function hostData(t: Tensor): Promise<Float32Array> {
  const d = Float32Array.from(await t.data());
  t.dispose();
  return d;
}

/** n prior samples (Bernoulli means in [0, 1]), drawn in batches of 500 from a generator seeded `seed`. */
export async function priorSamples(vae: VAE, n: number, seed: number): Promise<Samples> {
  const generator = new Generator(seed);
  const images = new Float32Array(n * 784);
  for (let i = 0; i < n; i += 500) {
    const m = Math.min(500, n - i);
    images.set(await hostData(noGrad(() => vae.sample(m, { generator }))), i * 784);
  }
  return { images, length: n };
}

/** 50 test digits (5 per class) in rows of 10, each row followed by its reconstructions. */
async function reconstructionsPng(vae: VAE, test: MnistSplit, device: string): Promise<Uint8Array> {
  const pick: number[] = [];
  for (let k = 0; k < 5; k++) {
    for (let d = 0; d < 10; d++) {
      const idx = Array.from(test.labels.keys()).filter((i) => test.labels[i] === d);
      if (idx.length) pick.push(idx[Math.floor((k * idx.length) / 5)]);
    }
  }
  const orig = new Float32Array(pick.length * 784);
  pick.forEach((i, j) => orig.set(test.images.subarray(i * 784, (i + 1) * 784), j * 784));
  const rec = await hostData(noGrad(() => vae.reconstruct(tensor(orig, { shape: [pick.length, 1, 28, 28] }).to(device))));
  const rows = new Float32Array(2 * orig.length);
  for (let r = 0; r * 10 < pick.length; r++) {
    const a = r * 10 * 784;
    const len = Math.min(10, pick.length - r * 10) * 784;
    rows.set(orig.subarray(a, a + len), 2 * a);
    rows.set(rec.subarray(a, a + len), 2 * a + 10 * 784);
  }
  return imageGridPng(rows, rows.length / 784);
}

/**
 * The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9): where
 * the latent grid puts its points, so equal areas of the prior get equal cells.
 *
 *   normalQuantile(0.975); // 1.95996...
 */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** A 2-d latent space decoded on a side x side grid at the prior's quantiles 0.05..0.95 (z1 across, z2 down). */
async function latentGridPng(vae: VAE, side = 20): Promise<Uint8Array> {
  const z = new Float32Array(side * side * 2);
  for (let r = 0; r < side; r++) {
    for (let col = 0; col < side; col++) {
      z[(r * side + col) * 2] = normalQuantile(0.05 + (0.9 * col) / (side - 1));
      z[(r * side + col) * 2 + 1] = normalQuantile(0.95 - (0.9 * r) / (side - 1));
    }
  }
  const images = await hostData(noGrad(() => vae.decodeMean(tensor(z, { shape: [side * side, 2] }).to(vae.device))));
  return imageGridPng(images, side * side, { cols: side, scale: 1 });
}

/** Writes reconstructions.png, samples.safetensors + samples.png, latent-grid.png (2-d latent); scores the samples; returns the fid line. */
async function pictures(vae: VAE, o: VaeMnistOptions, test: MnistSplit, log: (s: string) => void): Promise<string> {
  const wrote = [join(o.out, 'reconstructions.png')];
  writeFileSync(wrote[0], await reconstructionsPng(vae, test, o.device));
  const samples = await priorSamples(vae, o.samples, o.seed + 2);
  wrote.push(...(await writeSamples(o.out, samples, { model: `@dl/vae VAE ${JSON.stringify(vae.config)}`, seed: String(o.seed) })));
  if (vae.config.latentDim === 2) {
    wrote.push(join(o.out, 'latent-grid.png'));
    writeFileSync(wrote[wrote.length - 1], await latentGridPng(vae));
  }
  log(`wrote ${wrote.join(', ')}`);
  const score = await reportSamples(samples, { path: o.classifier, device: o.device, log, limit: o.limit });
  return fidLine(score);
}

/**
 * Trains the VAE: checkpoints every epoch (atomic; `resume` continues from one, the draws'
 * generator included), writes loss.png and the pictures, scores the prior samples with the
 * scoring classifier, returns the test negative ELBO (nats per image).
 */
export async function trainVaeMnist(o: VaeMnistOptions, log: (s: string) => void): Promise<number> {
  const t0 = performance.now();
  const all = loadMnist();
  const train = subset(all.train, o.limit);
  const test = subset(all.test, o.limit);
  log(`data: ${train.length} train / ${test.length} test images (mnist package, first 80% of each class for training; grey levels as Bernoulli targets)`);

  // initial weights from the seed; the reparameterisation draws from their own generator
  manualSeed(o.seed);
  const vae = new VAE(vaeConfig(o)).to(o.device);
  const optimizer = new Adam(vae.parameters(), { lr: o.lr });
  const draws = new Generator(o.seed + 1);
  const loader = new DataLoader(new TensorDataset(tensor(train.images, { shape: [train.length, 1, 28, 28] })), { batchSize: o.batchSize, shuffle: true, seed: o.seed });
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint.safetensors');

  let startEpoch = 0;
  let losses: number[] = [];
  if (o.resume && existsSync(ckpt)) {
    const { extra } = await loadCheckpoint(ckpt, { model: vae, optimizer });
    startEpoch = Number(extra.epoch) + 1;
    losses = (extra.losses as number[]) ?? [];
    draws.setState(extra.draws as GeneratorState);
    log(`resumed from ${ckpt} after epoch ${startEpoch}`);
  }
  const { arch, latentDim, channels, hidden } = vae.config;
  log(
    `model: VAE (${arch === 'conv' ? `conv ${channels.join('-')}` : `MLP 784-${hidden.join('-')}`}, latent ${latentDim}, Bernoulli decoder), ${vae.numParameters().toLocaleString('en-US')} parameters; ` +
      `Adam lr ${o.lr}${o.cosine ? ' with cosine decay' : ''}, batch ${o.batchSize}, ${o.epochs} epochs${o.beta !== 1 ? `, beta ${o.beta}` : ''}, device ${o.device}`,
  );

  const totalSteps = o.epochs * loader.length;
  const schedule = o.cosine ? new CosineWithWarmup(optimizer, { warmupSteps: 0, totalSteps }) : null;
  schedule?.loadStateDict({ lastStep: startEpoch * loader.length });
  const bar = new ProgressBar();
  const ema = new EMA(0.95);
  const last: { report?: ElboReport } = {};
  let lastMsPerStep = NaN;
  await fit({
    model: vae,
    optimizer,
    loader,
    epochs: o.epochs,
    startEpoch,
    loss: ([x]: Tensor[]) => vae.elbo(x.to(o.device), { generator: draws }).loss,
    afterStep: () => schedule?.step(),
    onProgress: (p) => {
      losses.push(p.loss);
      lastMsPerStep = p.msPerStep;
      bar.update(p, ema.update(p.loss));
    },
    onEpochEnd: async (e) => {
      const report = await negativeElbo(vae, test, o.device);
      last.report = report;
      log(
        `epoch ${e.epoch + 1}/${o.epochs}: train loss ${e.loss.toFixed(2)}, test negative ELBO ${report.nelbo.toFixed(2)} ` +
          `(reconstruction ${report.reconstruction.toFixed(2)} + KL ${report.kl.toFixed(2)}), ${e.seconds.toFixed(1)} s (${lastMsPerStep.toFixed(0)} ms/step)`,
      );
      const extra = { epoch: e.epoch, losses, draws: draws.getState(), config: vae.config, testNegativeElbo: report.nelbo, batchSize: o.batchSize, lr: o.lr, seed: o.seed };
      await saveCheckpoint(ckpt, { model: vae, optimizer, step: (e.epoch + 1) * loader.length, extra });
      writeFileSync(join(o.out, 'loss.png'), lossCurvePng(losses, loader.length));
    },
  });
  const final = last.report ?? (await negativeElbo(vae, test, o.device));
  log(`wrote ${ckpt}, ${join(o.out, 'loss.png')}; training took ${duration((performance.now() - t0) / 1000)}`);
  log(await pictures(vae, o, test, log));
  log(`total time ${duration((performance.now() - t0) / 1000)}`);
  return final.nelbo;
}

/** A VAE rebuilt from a vae-mnist checkpoint (its config is in the metadata), weights loaded. */
export async function loadVaeCheckpoint(checkpoint: string, device: string): Promise<{ vae: VAE; extra: Record<string, unknown> }> {
  const meta = readSafetensorsHeader(new Uint8Array(readFileSync(checkpoint))).metadata;
  const config = (meta.extra ? (JSON.parse(meta.extra) as { config?: VAEConfig }).config : undefined) ?? {};
  const vae = new VAE(config).to(device);
  const { extra } = await loadCheckpoint(checkpoint, { model: vae });
  return { vae, extra };
}

/** `dl eval vae-mnist --checkpoint FILE`: the test negative ELBO of a saved model. */
export async function evalVaeMnist(checkpoint: string, device: string, log: (s: string) => void): Promise<ElboReport> {
  const { vae, extra } = await loadVaeCheckpoint(checkpoint, device);
  log(`loaded ${checkpoint} (epoch ${Number(extra.epoch) + 1})`);
  return negativeElbo(vae, loadMnist().test, device);
}

/** `dl sample vae-mnist --checkpoint FILE`: prior samples and pictures of a saved model, scored; returns the fid line. */
export async function sampleVaeMnist(checkpoint: string, o: Pick<VaeMnistOptions, 'out' | 'samples' | 'seed' | 'device' | 'classifier' | 'limit'>, log: (s: string) => void): Promise<string> {
  const { vae, extra } = await loadVaeCheckpoint(checkpoint, o.device);
  log(`loaded ${checkpoint} (epoch ${Number(extra.epoch) + 1})`);
  mkdirSync(o.out, { recursive: true });
  const full: VaeMnistOptions = { ...VAE_MNIST_DEFAULTS, ...o, arch: vae.config.arch, latent: vae.config.latentDim };
  return pictures(vae, full, subset(loadMnist().test, o.limit), log);
}
