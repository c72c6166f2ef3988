import { backward } from '@dl/autograd';
import { Module } from '@dl/layers';
import { Generator, manualSeed, memory, randn, tensor, type Tensor } from '@dl/tensor';
import { assertClose } from '@dl/tensor/testing';
import { UNet } from '@dl/unet';
import { describe, expect, it } from 'vitest';
import { GaussianDiffusion } from './diffusion.js';
import { DDIMScheduler } from './schedulers.js';
import { DiffusionTrainer } from './train.js';
import { fixtureUNet, fx, fxMeta } from './test-helpers.js';

const small = { imageShape: [1, 8, 8] as [number, number, number] };

describe('GaussianDiffusion matches the PyTorch transcription (tiny conditional U-Net)', () => {
  it('the epsilon loss and its gradients, and the v loss, at given t, noise and labels (3 = no class)', () => {
    const unet = fixtureUNet();
    const d = new GaussianDiffusion(unet, { ...small, pUncond: 0 });
    const opts = { t: fx('loss.t'), noise: fx('loss.noise'), labels: fx('loss.y') };
    const loss = d.loss(fx('loss.x0'), opts);
    assertClose(loss, fx('loss.eps'), 'eps loss', { rtol: 1e-5, atol: 1e-7 });
    backward(loss);
    const params = new Map(unet.namedParameters());
    for (const k of ['conv_in.weight', 'conv_out.weight', 'class_embedding.weight']) {
      assertClose(params.get(k)!.grad!, fx(`loss.grad.${k}`), `grad of ${k}`, { rtol: 1e-4, atol: 1e-6 });
    }
    const v = new GaussianDiffusion(unet, { ...small, pUncond: 0, predictionType: 'v_prediction' });
    assertClose(v.loss(fx('loss.x0'), opts), fx('loss.v'), 'v loss', { rtol: 1e-5, atol: 1e-7 });
  });

  it('guidedOutput: the conditional output at scale 1, uncond + 2.5 (cond - uncond) at 2.5', () => {
    const d = new GaussianDiffusion(fixtureUNet(), small);
    const { t } = fxMeta<{ t: number }>('guided');
    const [x, y] = [fx('guided.x'), fx('guided.y')];
    assertClose(d.guidedOutput(x, t, { labels: y }), fx('guided.out1'), 'scale 1', { rtol: 1e-5, atol: 1e-6 });
    assertClose(d.guidedOutput(x, t, { labels: y, guidanceScale: 2.5 }), fx('guided.out25'), 'scale 2.5', { rtol: 1e-5, atol: 1e-6 });
  });

  it("sample: 5 DDIM steps with guidance 2 from PyTorch's x_T, and 5 'trailing' steps without guidance", () => {
    const d = new GaussianDiffusion(fixtureUNet(), small);
    const [noise, labels] = [fx('sample.noise'), fx('sample.y')];
    const seen: number[][] = [];
    const x = d.sample(4, { noise, labels, steps: 5, guidanceScale: 2, onProgress: (i, n) => seen.push([i, n]) });
    assertClose(x, fx('sample.x'), 'guided DDIM samples', { rtol: 1e-4, atol: 2e-5 });
    expect(seen).toEqual([1, 2, 3, 4, 5].map((i) => [i, 5]));
    assertClose(d.sample(4, { noise, labels, steps: 5, spacing: 'trailing' }), fx('sample.trailing'), 'trailing DDIM samples', { rtol: 1e-4, atol: 2e-5 });
    // a scheduler of one's own, timesteps set
    const own = new DDIMScheduler().setTimesteps(5);
    assertClose(d.sample(4, { noise, labels, sampler: own, guidanceScale: 2 }), fx('sample.x'), 'with a DDIMScheduler', { rtol: 1e-4, atol: 2e-5 });
    // diffusers' DDIM default: the model's own noise, not the one of the clipped x0
    const unclipped = d.sample(4, { noise, labels, steps: 5, guidanceScale: 2, useClippedModelOutput: false });
    assertClose(unclipped, fx('sample.unclipped'), 'guided DDIM samples, useClippedModelOutput false', { rtol: 1e-4, atol: 2e-5 });
  });
});

describe('seeded determinism', () => {
  it('sample: the same generator seed gives the same images (DDIM eta 1 and DDPM), another seed others', () => {
    const d = new GaussianDiffusion(fixtureUNet(), small);
    const labels = tensor(new Int32Array([0, 1, 2]));
    const run = (seed: number, sampler: 'ddim' | 'ddpm') =>
      Array.from(d.sample(3, { labels, guidanceScale: 1.5, steps: 4, sampler, eta: sampler === 'ddim' ? 1 : 0, generator: new Generator(seed) }).dataSync());
    for (const s of ['ddim', 'ddpm'] as const) {
      expect(run(7, s), s).toEqual(run(7, s));
      expect(run(7, s), s).not.toEqual(run(8, s));
    }
  });

  it('DiffusionTrainer: two runs from the same seeds give the same losses, weights and EMA; another stream seed differs', () => {
    const run = (streamSeed: number) => {
      manualSeed(3);
      const unet = new UNet({ baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, normGroups: 4, timeEmbedding: true, numClasses: 3 });
      const averaged = new UNet(unet.config);
      const trainer = new DiffusionTrainer(new GaussianDiffusion(unet, small), { lr: 1e-2, averaged, ema: { decay: 0.9 }, seed: streamSeed });
      const x0 = randn([6, 1, 8, 8], { generator: new Generator(1) }).clamp(-1, 1);
      const y = tensor(new Int32Array([0, 1, 2, 0, 1, 2]));
      const losses = [0, 1, 2].map(() => trainer.step(x0, y).item());
      return { losses, w: Array.from(unet.convOut.weight.dataSync()), ema: Array.from(averaged.convOut.weight.dataSync()), step: trainer.ema!.optimizationStep };
    };
    const a = run(0);
    expect(a).toEqual(run(0));
    expect(a.step).toBe(3);
    expect(a.ema).not.toEqual(a.w);
    expect(run(1).losses).not.toEqual(a.losses);
  });
});

describe('plugging in another denoiser', () => {
  /** A denoiser of one's own: a per-timestep scale of x, conditioned on nothing. */
  class Scale extends Module {
    forward(x: Tensor, t: Tensor): Tensor {
      return x.mul(t.float().div(1000).reshape([-1, 1, 1, 1]));
    }
  }

  it('trains nothing but samples, with its output checked against the input shape', () => {
    const d = new GaussianDiffusion(new Scale(), { imageShape: [2, 3, 5] });
    expect(d.config.numClasses).toBe(0);
    const x = d.sample(2, { steps: 3, generator: new Generator(0) });
    expect(x.shape).toEqual([2, 2, 3, 5]);
    expect(d.loss(randn([4, 2, 3, 5])).shape).toEqual([]);
  });

  it('sampling frees what each step makes', () => {
    const d = new GaussianDiffusion(fixtureUNet(), small);
    const labels = tensor(new Int32Array([0, 1]));
    d.sample(2, { labels, steps: 2, guidanceScale: 2, generator: new Generator(0) }).dispose(); // warm caches
    const before = memory().tensors;
    d.sample(2, { labels, steps: 6, guidanceScale: 2, generator: new Generator(0) }).dispose();
    expect(memory().tensors).toBe(before);
  });
});
