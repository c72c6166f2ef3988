// @dl/diffusion on WebGPU: a tiny class-conditional U-Net's diffusion loss and gradients, seeded
// training steps (timesteps, noise and label dropout from one generator on each device, Adam, the
// EMA) and guided DDIM and DDPM sampling give the CPU's numbers.
import { backward } from '@dl/autograd';
import { DiffusionTrainer, GaussianDiffusion } from '@dl/diffusion';
import { Generator, manualSeed, randn, tensor } from '@dl/tensor';
import { UNet, type UNetConfig } from '@dl/unet';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

const CONFIG: UNetConfig = { baseChannels: 4, channelMults: [1, 2], numResBlocks: 1, normGroups: 2, timeEmbedding: true, numClasses: 3 };
const SHAPE = { imageShape: [1, 8, 8] as [number, number, number] };

/** A CPU U-Net and a WebGPU copy with the same weights. */
function pair(): { cpu: UNet; gpu: UNet } {
  const cpu = new UNet(CONFIG);
  const gpu = new UNet(CONFIG);
  gpu.loadStateDict(cpu.stateDict());
  gpu.to('webgpu');
  return { cpu, gpu };
}

describe.skipIf(!hasWebGPU)('@dl/diffusion on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it('the epsilon and v losses and every gradient match the CPU (labels dropped with one generator on each device)', async () => {
    manualSeed(21);
    for (const predictionType of ['epsilon', 'v_prediction'] as const) {
      const { cpu, gpu } = pair();
      const x0 = randn([3, 1, 8, 8]).clamp(-1, 1);
      const y = tensor(new Int32Array([0, 2, 1]));
      const lc = new GaussianDiffusion(cpu, { ...SHAPE, predictionType, pUncond: 0.5 }).loss(x0, { labels: y, generator: new Generator(3) });
      const lg = new GaussianDiffusion(gpu, { ...SHAPE, predictionType, pUncond: 0.5 }).loss(x0.to('webgpu'), { labels: y.to('webgpu'), generator: new Generator(3) });
      expect(lg.device).toBe('webgpu');
      expectClose(await lg.data(), await lc.data(), 1e-4, 1e-6, `${predictionType} loss`);
      backward(lc);
      backward(lg);
      const gc = new Map(cpu.namedParameters());
      for (const [name, p] of gpu.namedParameters()) expectClose(await p.grad!.data(), await gc.get(name)!.grad!.data(), 2e-3, 2e-5, `${predictionType}: grad of ${name}`);
    }
  });

  it('three seeded DiffusionTrainer steps give the same losses, weights and EMA weights', async () => {
    manualSeed(22);
    const { cpu, gpu } = pair();
    const avgCpu = new UNet(CONFIG);
    const avgGpu = new UNet(CONFIG).to('webgpu');
    const tc = new DiffusionTrainer(new GaussianDiffusion(cpu, SHAPE), { lr: 1e-2, averaged: avgCpu, ema: { decay: 0.9 }, seed: 7 });
    const tg = new DiffusionTrainer(new GaussianDiffusion(gpu, SHAPE), { lr: 1e-2, averaged: avgGpu, ema: { decay: 0.9 }, seed: 7 });
    const x0 = randn([4, 1, 8, 8]).clamp(-1, 1);
    const y = tensor(new Int32Array([0, 1, 2, 0]));
    for (let s = 0; s < 3; s++) {
      const lc = tc.step(x0, y);
      const lg = tg.step(x0.to('webgpu'), y.to('webgpu'));
      expectClose(await lg.data(), await lc.data(), 1e-4, 1e-6, `loss at step ${s}`);
    }
    for (const [what, c, g] of [['weights', cpu, gpu], ['EMA', avgCpu, avgGpu]] as const) {
      const sc = c.stateDict();
      for (const [name, t] of Object.entries(g.stateDict())) expectClose(await t.data(), await sc[name].data(), 2e-3, 2e-5, `${what}: ${name}`);
    }
  });

  it('guided DDIM (eta 0.5) and DDPM sampling from one seed give the same images', async () => {
    manualSeed(23);
    const { cpu, gpu } = pair();
    const dc = new GaussianDiffusion(cpu, SHAPE);
    const dg = new GaussianDiffusion(gpu, SHAPE);
    const y = tensor(new Int32Array([2, 0, 1]));
    for (const [sampler, eta] of [['ddim', 0.5], ['ddpm', 0]] as const) {
      const opts = { sampler, eta, steps: 4, guidanceScale: 2 };
      const sc = dc.sample(3, { ...opts, labels: y, generator: new Generator(9) });
      const sg = dg.sample(3, { ...opts, labels: y.to('webgpu'), generator: new Generator(9) });
      expect(sg.device).toBe('webgpu');
      expectClose(await sg.data(), await sc.data(), 1e-3, 1e-4, `${sampler} samples`);
    }
  });
});
