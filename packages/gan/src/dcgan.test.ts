import { backward } from '@dl/autograd';
import { Adam, BatchNorm2d, Conv2d, ConvTranspose2d } from '@dl/layers';
import { manualSeed, randn, tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Discriminator, Generator, dcganLayout } from './dcgan.js';
import { CASE_NAMES, assertCloseAsync, fixtureCase, fixtureNets, maxAbs } from './test-helpers.js';
import { ganStep } from './train.js';

describe('against the PyTorch transcription (fixtures/dcgan_torch.py)', () => {
  for (const name of CASE_NAMES) {
    it(`${name}: outputs and gradients of G and D at the PyTorch weights`, async () => {
      const c = fixtureCase(name);
      const { netG, netD } = fixtureNets(c);
      const conditional = (c.G.numClasses ?? 0) > 0;
      const fake = netG.forward(c.t('z'), conditional ? c.t('fakeLabels') : undefined);
      await assertCloseAsync(fake, c.t('fake'), `${name} G(z)`, { atol: 1e-5 });
      backward(fake.mul(c.t('r')).sum());
      const realLogits = netD.forward(c.t('x'), conditional ? c.t('labels') : undefined);
      // batch statistics of a few values: errors scale with the largest logit, not each one
      await assertCloseAsync(realLogits, c.t('realLogits'), `${name} D(x)`, { atol: 1e-4 * maxAbs(c.t('realLogits')) });
      backward(realLogits.mul(c.t('s')).sum());
      for (const [net, prefix] of [[netG, 'gradG'], [netD, 'gradD']] as const) {
        const params = Object.fromEntries(net.namedParameters());
        const grads = c.group(prefix);
        expect(Object.keys(params).sort(), prefix).toEqual(Object.keys(grads).sort());
        for (const [k, g] of Object.entries(grads)) await assertCloseAsync(params[k].grad!, g, `${name} ${prefix} ${k}`, { atol: 2e-4 * maxAbs(g) });
      }
    });

    it(`${name}: two ganSteps (${fixtureCase(name).loss}) give PyTorch's losses, weights and batch-norm statistics`, async () => {
      const c = fixtureCase(name);
      const { netG, netD } = fixtureNets(c);
      const conditional = (c.G.numClasses ?? 0) > 0;
      const optG = new Adam(netG.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
      const optD = new Adam(netD.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
      for (const step of [1, 2]) {
        const r = ganStep({
          netG, netD, optG, optD, loss: c.loss, real: c.t('x'), z: c.t('z'),
          labels: conditional ? c.t('labels') : undefined, fakeLabels: conditional ? c.t('fakeLabels') : undefined,
        });
        for (const k of ['lossD', 'lossG', 'dReal', 'dFake'] as const) await assertCloseAsync(r[k], c.t(`step${step}.${k}`), `${name} step ${step} ${k}`, { atol: 1e-5 });
      }
      // Adam's first steps move each weight by about lr * sign(grad): a gradient PyTorch and @dl
      // round to opposite signs near 0 could differ by 2 * lr, which 2e-4 * 2 steps bounds
      for (const [net, prefix] of [[netG, 'afterG'], [netD, 'afterD']] as const) {
        const sd = net.stateDict();
        for (const [k, v] of Object.entries(c.group(prefix))) {
          if (k.endsWith('num_batches_tracked')) expect(sd[k].item(), `${name} ${k}`).toBe(v.item());
          else await assertCloseAsync(sd[k], v, `${name} ${prefix} ${k}`, { atol: 1e-5 });
        }
      }
    });
  }
});

describe('layout', () => {
  it("the defaults are the 28x28 DCGAN of the reference run: G 533,888 and D 138,624 parameters", () => {
    expect(new Generator().numParameters()).toBe(533_888);
    expect(new Discriminator().numParameters()).toBe(138_624);
  });

  it("at 64x64 with z of 100 the state dicts have PyTorch examples/dcgan's names and shapes", () => {
    const shapes = (sd: Record<string, { shape: readonly number[] }>) => Object.fromEntries(Object.entries(sd).filter(([k]) => !k.endsWith('num_batches_tracked')).map(([k, v]) => [k, v.shape]));
    const bn = (i: number, c: number) => ({ [`main.${i}.weight`]: [c], [`main.${i}.bias`]: [c], [`main.${i}.running_mean`]: [c], [`main.${i}.running_var`]: [c] });
    const netG = new Generator({ latentDim: 100, channels: 3, imageSize: 64, width: 64 });
    expect(shapes(netG.stateDict())).toEqual({
      'main.0.weight': [100, 512, 4, 4], ...bn(1, 512),
      'main.3.weight': [512, 256, 4, 4], ...bn(4, 256),
      'main.6.weight': [256, 128, 4, 4], ...bn(7, 128),
      'main.9.weight': [128, 64, 4, 4], ...bn(10, 64),
      'main.12.weight': [64, 3, 4, 4],
    });
    const netD = new Discriminator({ channels: 3, imageSize: 64, width: 64 });
    expect(shapes(netD.stateDict())).toEqual({
      'main.0.weight': [64, 3, 4, 4],
      'main.2.weight': [128, 64, 4, 4], ...bn(3, 128),
      'main.5.weight': [256, 128, 4, 4], ...bn(6, 256),
      'main.8.weight': [512, 256, 4, 4], ...bn(9, 512),
      'main.11.weight': [1, 512, 4, 4],
    });
    expect(netG.forward(randn([2, 100])).shape).toEqual([2, 3, 64, 64]);
    expect(netD.forward(randn([2, 3, 64, 64])).shape).toEqual([2]);
  });

  it('sides 4 * 2^k and 7 * 2^k: 8, 14, 28, 32, 56 images come out at their size', () => {
    for (const s of [8, 14, 28, 32, 56]) {
      const netG = new Generator({ imageSize: s, width: 2, latentDim: 3 });
      const x = netG.forward(randn([2, 3]));
      expect(x.shape, `side ${s}`).toEqual([2, 1, s, s]);
      expect(new Discriminator({ imageSize: s, width: 2 }).forward(x).shape).toEqual([2]);
    }
    expect(dcganLayout('Generator', 28)).toEqual({ base: 7, ups: 2 });
    expect(dcganLayout('Generator', 64)).toEqual({ base: 4, ups: 4 });
  });

  it("DCGAN's initialisation: conv weights N(0, 0.02), batch-norm weights N(1, 0.02) and biases 0, the same for the same seed", () => {
    manualSeed(3);
    const netG = new Generator();
    const netD = new Discriminator();
    for (const net of [netG, netD]) {
      for (const [name, m] of net.namedModules()) {
        if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
          const w = Array.from(m.weight.dataSync());
          if (w.length < 1000) continue;
          const mean = w.reduce((s, v) => s + v, 0) / w.length;
          const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
          expect(Math.abs(mean), `${name} mean`).toBeLessThan(0.002);
          expect(Math.abs(std / 0.02 - 1), `${name} std`).toBeLessThan(0.1);
        } else if (m instanceof BatchNorm2d) {
          const w = Array.from(m.weight!.dataSync());
          expect(Math.abs(w.reduce((s, v) => s + v, 0) / w.length - 1), `${name} weight mean`).toBeLessThan(0.01);
          expect(w.some((v) => v !== 1), `${name} weight drawn, not constant`).toBe(true);
          expect(m.bias!.dataSync().every((v) => v === 0), `${name} bias`).toBe(true);
        }
      }
    }
    manualSeed(3);
    const again = new Generator();
    for (const [k, v] of Object.entries(again.stateDict())) expect(Array.from(v.dataSync()), k).toEqual(Array.from(netG.stateDict()[k].dataSync()));
  });

  it('the projection embedding starts at the scale of the last conv (N(0, 0.02)); the channel embedding at N(0, 1)', () => {
    manualSeed(4);
    const std = (t: { dataSync(): ArrayLike<number> }) => {
      const v = Array.from(t.dataSync());
      return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    };
    expect(std(new Discriminator({ numClasses: 10 }).embed!.weight)).toBeCloseTo(0.02, 2);
    expect(std(new Discriminator({ numClasses: 10, conditioning: 'channel' }).embed!.weight)).toBeGreaterThan(0.9);
  });
});

describe('conditioning', () => {
  it('the generator and both discriminators read the labels: other labels, other outputs', async () => {
    manualSeed(5);
    const netG = new Generator({ numClasses: 10, width: 4 }).eval();
    const z = randn([2, 64]);
    const a = netG.forward(z, tensor(new Int32Array([3, 3])));
    const b = netG.forward(z, tensor(new Int32Array([7, 7])));
    expect(maxAbs(a.sub(b))).toBeGreaterThan(1e-4);
    for (const conditioning of ['projection', 'channel'] as const) {
      const netD = new Discriminator({ numClasses: 10, width: 4, conditioning }).eval();
      const x = randn([2, 1, 28, 28]);
      const d = netD.forward(x, tensor(new Int32Array([1, 1]))).sub(netD.forward(x, tensor(new Int32Array([8, 8]))));
      expect(maxAbs(d), conditioning).toBeGreaterThan(1e-5);
    }
  });
});
