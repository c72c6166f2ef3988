// @dl/gan on WebGPU: the same weights give the CPU's images, logits and gradients (unconditional,
// projection- and channel-conditioned nets), and a seeded GANTrainer takes the same steps and
// makes the same images on both devices (z and labels drawn on the device from the same stream).
import { backward } from '@dl/autograd';
import { Discriminator, GANTrainer, Generator, type DiscriminatorConfig, type GeneratorConfig } from '@dl/gan';
import { Generator as RNG, manualSeed, rand, randn, tensor, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

const CASES: [string, Partial<GeneratorConfig>, Partial<DiscriminatorConfig>][] = [
  ['unconditional 16x16', { imageSize: 16, latentDim: 6, width: 4 }, { imageSize: 16, width: 4 }],
  ['28x28, projection discriminator', { imageSize: 28, latentDim: 5, width: 2, numClasses: 3, embedDim: 4 }, { imageSize: 28, width: 2, numClasses: 3 }],
  ['channel-conditioned, 3 channels, 32x32', { imageSize: 32, latentDim: 4, width: 2, channels: 3, numClasses: 3 }, { imageSize: 32, width: 2, channels: 3, numClasses: 3, conditioning: 'channel' }],
];

/** The CPU nets and copies of them on WebGPU. */
function pair(g: Partial<GeneratorConfig>, d: Partial<DiscriminatorConfig>) {
  const cpu = { netG: new Generator(g), netD: new Discriminator(d) };
  const gpu = { netG: new Generator(g), netD: new Discriminator(d) };
  gpu.netG.loadStateDict(cpu.netG.stateDict());
  gpu.netD.loadStateDict(cpu.netD.stateDict());
  gpu.netG.to('webgpu');
  gpu.netD.to('webgpu');
  return { cpu, gpu };
}

describe.skipIf(!hasWebGPU)('@dl/gan on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it.each(CASES)('%s: G(z), D(x) and every gradient match the CPU', async (_, g, d) => {
    manualSeed(11);
    const { cpu, gpu } = pair(g, d);
    const k = g.numClasses ?? 0;
    const n = 3;
    const z = randn([n, g.latentDim!]);
    const x = rand([n, g.channels ?? 1, g.imageSize!, g.imageSize!]).mul(2).sub(1);
    const labels = k ? tensor(new Int32Array([2, 0, 1])) : undefined;
    const r = randn([n, g.channels ?? 1, g.imageSize!, g.imageSize!]);
    const s = randn([n]);
    const outs: Record<string, Tensor[]> = { fake: [], logits: [] };
    for (const [nets, device] of [[cpu, 'cpu'], [gpu, 'webgpu']] as const) {
      const fake = nets.netG.forward(z.to(device), labels?.to(device)); // (n, C, S, S)
      const logits = nets.netD.forward(x.to(device), labels?.to(device)); // (n)
      backward(fake.mul(r.to(device)).sum().add(logits.mul(s.to(device)).sum()));
      outs.fake.push(fake);
      outs.logits.push(logits);
    }
    expect(outs.fake[1].device).toBe('webgpu');
    expectClose(await outs.fake[1].data(), await outs.fake[0].data(), 1e-3, 1e-4, 'G(z)');
    expectClose(await outs.logits[1].data(), await outs.logits[0].data(), 1e-3, 1e-4, 'D(x)');
    for (const net of ['netG', 'netD'] as const) {
      const gc = new Map(cpu[net].namedParameters());
      for (const [name, p] of gpu[net].namedParameters()) expectClose(await p.grad!.data(), await gc.get(name)!.grad!.data(), 2e-3, 2e-4, `${net} grad of ${name}`);
    }
  });

  it('two seeded GANTrainer steps (conditional) give the CPU\'s losses, weights and samples', async () => {
    manualSeed(12);
    const [, g, d] = CASES[1];
    const { cpu, gpu } = pair(g, d);
    const [tc, tg] = [cpu, gpu].map((nets) => new GANTrainer(nets.netG, nets.netD, { seed: 3, lr: 1e-3 }));
    const real = rand([4, 1, 28, 28]).mul(2).sub(1);
    const labels = tensor(new Int32Array([0, 1, 2, 1]));
    for (let step = 0; step < 2; step++) {
      const rc = tc.step(real, labels);
      const rg = tg.step(real.to('webgpu'), labels.to('webgpu'));
      for (const k of ['lossD', 'lossG', 'dReal', 'dFake'] as const) expectClose(await rg[k].data(), await rc[k].data(), 1e-3, 1e-4, `${k} at step ${step}`);
    }
    for (const net of ['netG', 'netD'] as const) {
      const sc = cpu[net].stateDict();
      for (const [name, t] of Object.entries(gpu[net].stateDict())) expectClose(await t.data(), await sc[name].data(), 2e-3, 2e-4, `${net}.${name}`);
    }
    cpu.netG.eval();
    gpu.netG.eval();
    const a = cpu.netG.sample(4, { generator: new RNG(9) });
    const b = gpu.netG.sample(4, { generator: new RNG(9), device: 'webgpu' });
    expectClose(await b.data(), await a.data(), 1e-3, 1e-4, 'samples from the same seed');
  });
});
