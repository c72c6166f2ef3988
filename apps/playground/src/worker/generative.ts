import { noGrad } from '@dl/autograd';
import { DDIMScheduler, DiffusionTrainer, GaussianDiffusion } from '@dl/diffusion';
import { Discriminator, GANTrainer, Generator as GANGenerator } from '@dl/gan';
import { Adam } from '@dl/layers';
import { Generator, manualSeed, randint, randn, scope, tensor, type Tensor } from '@dl/tensor';
import { UNet, type UNetConfig } from '@dl/unet';
import { VAE, type VAEOptions } from '@dl/vae';
import type { Device } from '../protocol.js';
import { loadMnist, type MnistSet } from './data.js';
import { pickDevice } from './devices.js';
import { register, yieldToEvents } from './registry.js';
import { disposeTrainee, optimizerStep, readScalar, trainRun } from './train-loop.js';

/** `dl train ddpm-mnist`'s U-Net: class-conditional, base 16, levels 1-2-2, one ResBlock a level. */
export const DDPM_UNET: UNetConfig = { inChannels: 1, baseChannels: 16, channelMults: [1, 2, 2], numResBlocks: 1, timeEmbedding: true, numClasses: 10 };
/** `dl train vae-mnist --latent 2`: the conv VAE (channels 16-32) with a 2-d latent to drag through. */
export const VAE_2D: VAEOptions = { arch: 'conv', latentDim: 2, hidden: [400], channels: [16, 32], beta: 1 };
/** `dl train gan-mnist`'s DCGAN: latent 64, width 32, unconditional. */
export const GAN_NETS = { latentDim: 64, width: 32, imageSize: 28, channels: 1, numClasses: 0 };

export type GenKind = 'ddpm' | 'vae' | 'gan';

export interface Ddpm {
  kind: 'ddpm';
  unet: UNet;
  diffusion: GaussianDiffusion;
  trainer: DiffusionTrainer;
}
export interface Vae {
  kind: 'vae';
  vae: VAE;
  optimizer: Adam;
  draws: Generator;
}
export interface Gan {
  kind: 'gan';
  netG: GANGenerator;
  netD: Discriminator;
  trainer: GANTrainer;
}
export type GenModel = (Ddpm | Vae | Gan) & { device: Device; step: number };

const models = new Map<GenKind, GenModel>();

function dispose(m: GenModel | undefined): void {
  if (!m) return;
  if (m.kind === 'ddpm') {
    disposeTrainee({ model: m.unet, optimizer: m.trainer.optimizer, device: m.device, step: m.step });
    if (m.trainer.ema) for (const p of m.trainer.ema.averaged.parameters()) p.dispose();
  } else if (m.kind === 'vae') disposeTrainee({ model: m.vae, optimizer: m.optimizer, device: m.device, step: m.step });
  else {
    disposeTrainee({ model: m.netG, optimizer: m.trainer.optG, device: m.device, step: m.step });
    disposeTrainee({ model: m.netD, optimizer: m.trainer.optD, device: m.device, step: m.step });
  }
}

/** The diffusion around a U-Net: T = 1000, linear betas, eps-prediction, label dropout 0.1 (as `dl train ddpm-mnist`). */
export function ddpmOf(unet: UNet): GaussianDiffusion {
  return new GaussianDiffusion(unet, { imageShape: [1, 28, 28], betaSchedule: 'linear', predictionType: 'epsilon', pUncond: 0.1 });
}

function build(kind: GenKind, device: Device, lr: number): GenModel {
  dispose(models.get(kind));
  manualSeed(0);
  // in a scope: the tensors the layers' init made and wrapped as parameters are freed now
  const m = scope(() => make(kind, device, lr));
  models.set(kind, m);
  return m;
}

function make(kind: GenKind, device: Device, lr: number): GenModel {
  let m: GenModel;
  if (kind === 'ddpm') {
    const unet = new UNet(DDPM_UNET).to(device);
    const averaged = new UNet(DDPM_UNET).to(device);
    const diffusion = ddpmOf(unet);
    m = { kind, unet, diffusion, trainer: new DiffusionTrainer(diffusion, { lr, averaged, ema: { decay: 0.995 }, seed: 0 }), device, step: 0 };
  } else if (kind === 'vae') {
    const vae = new VAE(VAE_2D).to(device);
    m = { kind, vae, optimizer: new Adam(vae.parameters(), { lr }), draws: new Generator(0), device, step: 0 };
  } else {
    const netG = new GANGenerator(GAN_NETS).to(device);
    const netD = new Discriminator(GAN_NETS).to(device);
    m = { kind, netG, netD, trainer: new GANTrainer(netG, netD, { lr, betas: [0.5, 0.999], seed: 0 }), device, step: 0 };
  }
  return m;
}

/** Puts a loaded model in place (a checkpoint drop). */
export function setGenModel(m: GenModel): void {
  const old = models.get(m.kind);
  if (old !== m) dispose(old);
  models.set(m.kind, m);
}

export function genModel(kind: GenKind): GenModel | undefined {
  return models.get(kind);
}

function need<K extends GenKind>(kind: K): Extract<GenModel, { kind: K }> {
  const m = models.get(kind);
  if (!m) throw new Error(`${kind}: no model yet; train it or load a checkpoint first`);
  return m as Extract<GenModel, { kind: K }>;
}

/** A random batch of training digits: images in [0, 1] and labels. */
function batchOf(train: MnistSet, n: number, rng: Generator): { x: Float32Array; y: Int32Array } {
  const idx = randint(0, train.length, [n], { generator: rng }).dataSync();
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  idx.forEach((k, i) => {
    x.set(train.images.subarray(k * 784, (k + 1) * 784), i * 784);
    y[i] = train.labels[k];
  });
  return { x, y };
}

/** Pixels of (n, 1, 28, 28) in [lo, hi] as [0, 1] values. */
async function pixels(t: Tensor, lo = -1, hi = 1): Promise<Float32Array> {
  const v = Float32Array.from(await t.data());
  t.dispose();
  for (let i = 0; i < v.length; i++) v[i] = Math.min(1, Math.max(0, (v[i] - lo) / (hi - lo)));
  return v;
}

const batchRngs = new Map<GenKind, Generator>();

register({
  /** Trains the DDPM, the VAE or the GAN `steps` steps on random batches of the training digits. */
  'gen.train': async (a: { kind: GenKind; steps: number; batch: number; lr: number; device?: Device; reset?: boolean }, emit) => {
    const { train } = await loadMnist();
    const device = pickDevice(a.device);
    const old = models.get(a.kind);
    const m = a.reset || !old || old.device !== device ? build(a.kind, device, a.lr) : old;
    if (m.step === 0) batchRngs.set(a.kind, new Generator(100));
    const rng = batchRngs.get(a.kind) ?? new Generator(100);
    const run = await trainRun(`gen.${a.kind}`, m, a.steps, emit, async (): Promise<{ loss: number; [k: string]: number }> => {
      const { x, y } = batchOf(train, a.batch, rng);
      const images = (lo: number): Tensor => scope(() => tensor(x, { shape: [a.batch, 1, 28, 28] }).mul(1 - lo).add(lo).to(device)); // in [lo, 1]
      if (m.kind === 'ddpm') {
        const x0 = images(-1);
        const labels = tensor(y, { dtype: 'int32' }).to(device);
        const loss = m.trainer.step(x0, labels);
        x0.dispose();
        labels.dispose();
        return { loss: await readScalar(loss) };
      }
      if (m.kind === 'vae') {
        const [loss] = optimizerStep({ model: m.vae, optimizer: m.optimizer, device, step: m.step }, () => [m.vae.elbo(images(0), { generator: m.draws }).loss]);
        return { loss: await readScalar(loss) };
      }
      const real = images(-1);
      const r = m.trainer.step(real);
      real.dispose();
      const [lossD, lossG] = [await readScalar(r.lossD), await readScalar(r.lossG)];
      for (const v of Object.values(r)) if (v && typeof v === 'object' && 'dispose' in v && !(v as Tensor).isDisposed) (v as Tensor).dispose();
      return { loss: lossG, lossD };
    });
    return { ...run, device };
  },

  /**
   * DDIM sampling of one digit of `label` (or no class: -1) with classifier-free guidance,
   * one event per step with the image x_t and the model's guess of x_0 (both in [0, 1]).
   */
  'ddpm.sample': async (a: { label: number; guidance: number; steps: number; seed: number; ema: boolean }, emit) => {
    const m = need('ddpm');
    const { imageShape: _s, numClasses: _k, pUncond: _p, ...config } = m.diffusion.config;
    const scheduler = new DDIMScheduler(config).setTimesteps(a.steps);
    const generator = new Generator(a.seed);
    const denoiser = a.ema && m.trainer.ema ? (m.trainer.ema.averaged as UNet) : m.unet;
    const labels = tensor([a.label < 0 ? m.diffusion.nullClass : a.label], { dtype: 'int32' }).to(m.device);
    let x = randn([1, 1, 28, 28], { generator, device: m.device }); // x_T
    const t0 = performance.now();
    for (const [i, t] of scheduler.timesteps.entries()) {
      const out = noGrad(() =>
        scope(() => {
          const eps = m.diffusion.guidedOutput(x, t, { labels, guidanceScale: a.label < 0 ? 1 : a.guidance, denoiser });
          return scheduler.step(eps, t, x, { generator, eta: 0, useClippedModelOutput: true });
        }),
      );
      x.dispose();
      x = out.prevSample;
      const x0 = out.predOriginalSample ? await pixels(out.predOriginalSample) : null;
      emit({ step: i + 1, total: scheduler.timesteps.length, t, image: await pixels(x.clone()), x0 });
      await yieldToEvents();
    }
    x.dispose();
    labels.dispose();
    return { seconds: (performance.now() - t0) / 1000 };
  },

  /** The decoder's mean image (Bernoulli probabilities) at a point z of the 2-d latent space. */
  'vae.decode': async (z: [number, number]) => {
    const m = need('vae');
    return pixels(noGrad(() => scope(() => m.vae.decodeMean(tensor(Float32Array.from(z), { shape: [1, 2] }).to(m.device)))), 0, 1);
  },

  /** Latent means of the first `n` test digits with their classes: the map to drag over. */
  'vae.embed': async (n: number) => {
    const m = need('vae');
    const { test } = await loadMnist();
    const k = Math.min(n, test.length);
    const mu = noGrad(() => scope(() => m.vae.encode(tensor(test.images.subarray(0, k * 784), { shape: [k, 1, 28, 28] }).to(m.device)).mu)); // (k, 2)
    const z = Float32Array.from(await mu.data());
    mu.dispose();
    return { z, labels: test.labels.slice(0, k) };
  },

  /** `n` images from the GAN's generator (seeded). */
  'gan.sample': async (a: { n: number; seed: number }) => {
    const m = need('gan');
    return pixels(m.netG.sample(a.n, { generator: new Generator(a.seed), device: m.device }));
  },
});
