import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backward } from '@dl/autograd';
import { Adam, ModuleDict, loadCheckpoint, saveCheckpoint } from '@dl/layers';
import { manualSeed, rand, randn, tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Discriminator, Generator } from './dcgan.js';
import { discriminatorLoss } from './losses.js';
import { GANTrainer, ganStep } from './train.js';

/** Small nets (16x16, widths 4) and a fixed real batch in [-1, 1], built after manualSeed(seed). */
function setup(seed: number, numClasses = 0) {
  manualSeed(seed);
  const netG = new Generator({ imageSize: 16, latentDim: 8, width: 4, numClasses });
  const netD = new Discriminator({ imageSize: 16, width: 4, numClasses });
  const real = rand([6, 1, 16, 16]).mul(2).sub(1);
  const labels = numClasses ? tensor(new Int32Array([0, 1, 2, 0, 1, 2])) : undefined;
  return { netG, netD, real, labels };
}

const values = (t: Tensor) => Array.from(t.dataSync());

describe('GANTrainer', () => {
  it('two runs with the same seeds make the same images, step for step; another trainer seed makes others', () => {
    const run = (trainerSeed: number, numClasses = 0) => {
      const { netG, netD, real, labels } = setup(1, numClasses);
      const trainer = new GANTrainer(netG, netD, { seed: trainerSeed });
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = trainer.step(real, labels);
        losses.push(r.lossD.item(), r.lossG.item());
      }
      netG.eval();
      return { losses, images: values(netG.sample(4, { generator: trainer.noise })) };
    };
    const a = run(7);
    const b = run(7);
    expect(b.losses).toEqual(a.losses);
    expect(b.images).toEqual(a.images);
    const c = run(8);
    expect(c.losses).not.toEqual(a.losses);
    const cond = run(7, 3);
    expect(run(7, 3).images).toEqual(cond.images);
  });

  it('the step trains: D learns to tell a fixed real batch from the fakes (its loss falls below 2 log 2)', () => {
    const { netG, netD, real } = setup(2);
    const trainer = new GANTrainer(netG, netD, { seed: 0, lr: 2e-3 });
    let lossD = Infinity;
    for (let i = 0; i < 15; i++) lossD = trainer.step(real).lossD.item();
    expect(lossD).toBeLessThan(2 * Math.LN2 * 0.8);
  });

  it('a run resumed from a checkpoint (both nets, both Adams, the noise stream) continues exactly as the uninterrupted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-gan-'));
    try {
      const path = join(dir, 'ckpt.safetensors');
      const a = setup(3);
      const ta = new GANTrainer(a.netG, a.netD, { seed: 5 });
      for (let i = 0; i < 2; i++) ta.step(a.real);
      await saveCheckpoint(path, { model: new ModuleDict({ netG: a.netG, netD: a.netD }), optimizers: { optG: ta.optG, optD: ta.optD }, step: 2, extra: { noise: ta.noiseState() } });
      const after = ta.step(a.real);

      const b = setup(4); // other initial weights: everything must come from the checkpoint
      const tb = new GANTrainer(b.netG, b.netD, { seed: 99 });
      const { extra } = await loadCheckpoint(path, { model: new ModuleDict({ netG: b.netG, netD: b.netD }), optimizers: { optG: tb.optG, optD: tb.optD } });
      tb.setNoiseState(extra.noise as ReturnType<GANTrainer['noiseState']>);
      const resumed = tb.step(a.real);
      expect(resumed.lossD.item()).toBe(after.lossD.item());
      expect(resumed.lossG.item()).toBe(after.lossG.item());
      const sa = a.netG.stateDict();
      for (const [k, v] of Object.entries(b.netG.stateDict())) expect(values(v), k).toEqual(values(sa[k]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ganStep', () => {
  it("the generator's update computes no gradient for D: D's .grad after the step is its own loss's, and D's requiresGrad flags come back as they were", () => {
    const adams = (n: { netG: Generator; netD: Discriminator }) => ({ optG: new Adam(n.netG.parameters()), optD: new Adam(n.netD.parameters()) });
    const a = setup(6);
    const z = randn([6, 8]);
    // D's gradients of its own loss alone, from the same start (what optD steps with)
    const fake = a.netG.forward(z).detach();
    backward(discriminatorLoss(a.netD.forward(a.real), a.netD.forward(fake)));
    const expected = a.netD.parameters().map((p) => values(p.grad!));

    const b = setup(6);
    const frozen = b.netD.main.at(0).parameters()[0]; // a layer the user froze stays frozen
    frozen.requiresGrad_(false);
    const flags = b.netD.parameters().map((p) => p.requiresGrad);
    ganStep({ ...b, ...adams(b), real: b.real, z });
    b.netD.parameters().forEach((p, i) => {
      if (p === frozen) expect(p.grad).toBeNull();
      else expect(values(p.grad!), `D parameter ${i}`).toEqual(expected[i]);
    });
    expect(b.netD.parameters().map((p) => p.requiresGrad)).toEqual(flags);
    expect(b.netG.parameters().every((p) => p.grad !== null)).toBe(true);
  });
});
