import { Generator } from '@dl/tensor';
import { assertClose } from '@dl/tensor/testing';
import { describe, expect, it } from 'vitest';
import { DDIMScheduler, DDPMScheduler } from './schedulers.js';
import { fx } from './test-helpers.js';

const close = { atol: 2e-6, rtol: 2e-5 };

describe('one sampler step matches the PyTorch transcription', () => {
  const [x, out, z] = [fx('step.x'), fx('step.out'), fx('step.z')];
  const check = (name: string, r: { prevSample: unknown; predOriginalSample: unknown }) => {
    assertClose(r.prevSample as never, fx(`step.${name}.prev`), `${name} prevSample`, close);
    assertClose(r.predOriginalSample as never, fx(`step.${name}.x0`), `${name} predOriginalSample`, close);
  };

  it('DDPM: an ancestral step 500 -> 499 with its noise, the last step 0 -> x0 without, a strided 500 -> 480', () => {
    const s = new DDPMScheduler();
    expect(s.timesteps.length).toBe(1000);
    check('ddpm.eps', s.step(out, 500, x, { noise: z }));
    check('ddpm.last', s.step(out, 0, x));
    check('ddpm.strided', new DDPMScheduler().setTimesteps(50).step(out, 500, x, { noise: z }));
    check('ddpm.v', new DDPMScheduler({ predictionType: 'v_prediction' }).step(out, 500, x, { noise: z }));
  });

  it('DDIM: eta 0 and 0.5 at 980 -> 960, the last step to x0, v-prediction, a cosine schedule with eta 1', () => {
    const s = new DDIMScheduler().setTimesteps(50);
    expect(s.timesteps.slice(0, 3)).toEqual([980, 960, 940]);
    check('ddim.eta0', s.step(out, 980, x));
    check('ddim.eta05', s.step(out, 980, x, { eta: 0.5, noise: z }));
    check('ddim.last', s.step(out, 0, x));
    check('ddim.v', new DDIMScheduler({ predictionType: 'v_prediction' }).setTimesteps(50).step(out, 500, x));
    check('ddim.cos', new DDIMScheduler({ betaSchedule: 'cosine' }).setTimesteps(5).step(out, 600, x, { eta: 1, noise: z }));
    // x0 at 980 is far outside [-1, 1]: the noise derived again from the clipped x0 changes the step
    check('ddim.clipped', s.step(out, 980, x, { eta: 0.5, noise: z, useClippedModelOutput: true }));
    const plain = s.step(out, 980, x, { eta: 0.5, noise: z }).prevSample.dataSync();
    const clipped = s.step(out, 980, x, { eta: 0.5, noise: z, useClippedModelOutput: true }).prevSample.dataSync();
    expect(Math.max(...plain.map((v, i) => Math.abs(v - clipped[i])))).toBeGreaterThan(0.1);
  });

  it('the step to x0 returns the clipped prediction itself, and clipSample false leaves it unclipped', () => {
    const s = new DDIMScheduler().setTimesteps(10);
    const r = s.step(out.mul(30), 0, x);
    expect(Math.max(...r.prevSample.dataSync().map(Math.abs))).toBeLessThanOrEqual(1);
    const u = new DDIMScheduler({ clipSample: false }).setTimesteps(10).step(out.mul(30), 0, x);
    expect(Math.max(...u.prevSample.dataSync().map(Math.abs))).toBeGreaterThan(1);
  });

  it('a stochastic step is seeded: the same generator state gives the same sample, another seed another one', () => {
    const s = new DDPMScheduler();
    const a = s.step(out, 700, x, { generator: new Generator(4) }).prevSample.dataSync();
    const b = s.step(out, 700, x, { generator: new Generator(4) }).prevSample.dataSync();
    const c = s.step(out, 700, x, { generator: new Generator(5) }).prevSample.dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const d = new DDIMScheduler().setTimesteps(20);
    expect(Array.from(d.step(out, 950, x, { eta: 1, generator: new Generator(4) }).prevSample.dataSync())).toEqual(
      Array.from(d.step(out, 950, x, { eta: 1, generator: new Generator(4) }).prevSample.dataSync()),
    );
  });
});
