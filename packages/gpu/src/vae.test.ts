// @dl/vae on WebGPU: the same weights and the same standard normal draw give the CPU's posterior,
// ELBO terms and gradients (MLP and conv nets, Bernoulli and learned-Gaussian decoders); a few
// Adam steps with draws from one seeded generator on each device, and prior samples, agree.
import { backward } from '@dl/autograd';
import { Adam } from '@dl/layers';
import { Generator, manualSeed, rand, randn } from '@dl/tensor';
import { VAE, type VAEOptions } from '@dl/vae';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

const CASES: [string, VAEOptions][] = [
  ['MLP, Bernoulli', { imageShape: [1, 8, 8], hidden: [16, 12], latentDim: 3 }],
  ['conv, Bernoulli, 28x28', { arch: 'conv', channels: [4, 8], latentDim: 5 }],
  ['conv, learned Gaussian, beta 2', { arch: 'conv', imageShape: [2, 8, 12], channels: [3, 5], latentDim: 2, likelihood: 'gaussian', beta: 2 }],
];

/** A CPU VAE and a WebGPU copy with the same weights. */
function pair(options: VAEOptions): { cpu: VAE; gpu: VAE } {
  const cpu = new VAE(options);
  const gpu = new VAE(options);
  gpu.loadStateDict(cpu.stateDict());
  gpu.to('webgpu');
  return { cpu, gpu };
}

describe.skipIf(!hasWebGPU)('@dl/vae on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it.each(CASES)('%s: encode, the ELBO terms, every gradient, decode and reconstruct match the CPU', async (_, options) => {
    manualSeed(11);
    const { cpu, gpu } = pair(options);
    const [c, h, w] = cpu.config.imageShape;
    const x = rand([3, c, h, w]);
    const eps = randn([3, cpu.config.latentDim]);
    const tc = cpu.elbo(x, { eps });
    const tg = gpu.elbo(x.to('webgpu'), { eps: eps.to('webgpu') });
    expect(tg.loss.device).toBe('webgpu');
    for (const k of ['loss', 'reconstruction', 'kl'] as const) expectClose(await tg[k].data(), await tc[k].data(), 1e-4, 1e-3, k);
    backward(tc.loss);
    backward(tg.loss);
    const gc = new Map(cpu.namedParameters());
    for (const [name, p] of gpu.namedParameters()) expectClose(await p.grad!.data(), await gc.get(name)!.grad!.data(), 2e-3, 2e-4, `grad of ${name}`);
    const { mu, logvar } = gpu.encode(x.to('webgpu'));
    const ref = cpu.encode(x);
    expectClose(await mu.data(), await ref.mu.data(), 1e-4, 1e-5, 'mu');
    expectClose(await logvar.data(), await ref.logvar.data(), 1e-4, 1e-5, 'logvar');
    expectClose(await gpu.decodeMean(eps.to('webgpu')).data(), await cpu.decodeMean(eps).data(), 1e-4, 1e-5, 'decodeMean');
    expectClose(await gpu.reconstruct(x.to('webgpu')).data(), await cpu.reconstruct(x).data(), 1e-4, 1e-5, 'reconstruct');
  });

  it('three Adam steps with seeded draws on each device give the same losses, weights and prior samples', async () => {
    manualSeed(12);
    const { cpu, gpu } = pair(CASES[0][1]);
    const [oc, og] = [cpu, gpu].map((m) => new Adam(m.parameters(), { lr: 1e-2 }));
    const [gc, gg] = [new Generator(5), new Generator(5)];
    for (let step = 0; step < 3; step++) {
      const x = rand([4, 1, 8, 8]);
      oc.zeroGrad();
      og.zeroGrad();
      const lc = cpu.elbo(x, { generator: gc }).loss;
      const lg = gpu.elbo(x.to('webgpu'), { generator: gg }).loss;
      backward(lc);
      backward(lg);
      oc.step();
      og.step();
      expectClose(await lg.data(), await lc.data(), 1e-4, 1e-3, `loss at step ${step}`);
    }
    const sc = cpu.stateDict();
    for (const [name, t] of Object.entries(gpu.stateDict())) expectClose(await t.data(), await sc[name].data(), 2e-3, 2e-4, name);
    const sg = gpu.sample(6, { generator: new Generator(9) });
    expect(sg.device).toBe('webgpu');
    expectClose(await sg.data(), await cpu.sample(6, { generator: new Generator(9) }).data(), 1e-3, 1e-4, 'prior samples');
  });
});
