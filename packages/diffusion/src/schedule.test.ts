import { Tensor, tensor } from '@dl/tensor';
import { assertClose } from '@dl/tensor/testing';
import { describe, expect, it } from 'vitest';
import { NoiseSchedule, betaSchedule } from './schedule.js';
import { spacedTimesteps } from './schedulers.js';
import { fx } from './test-helpers.js';

const f64 = (a: Float64Array) => tensor(a, { dtype: 'float64' });

describe('noise schedules match the PyTorch transcription', () => {
  it.each(['linear', 'cosine'] as const)('%s: betas and alphasCumprod (float64, T = 1000)', (kind) => {
    const s = new NoiseSchedule({ betaSchedule: kind });
    assertClose(f64(s.betas), fx(`sched.${kind}.betas`), `${kind} betas`, { rtol: 1e-12, atol: 1e-15 });
    assertClose(f64(s.alphasCumprod), fx(`sched.${kind}.alphasCumprod`), `${kind} alphasCumprod`, { rtol: 1e-12, atol: 1e-15 });
    expect(Array.from(s.alphas.slice(0, 3))).toEqual(Array.from(s.betas.slice(0, 3), (b) => 1 - b));
  });

  it('a short linear schedule with its own betaStart and betaEnd', () => {
    const s = new NoiseSchedule({ numTrainTimesteps: 10, betaStart: 1e-3, betaEnd: 0.2 });
    assertClose(f64(s.betas), fx('sched.short.betas'), 'betas', { rtol: 1e-12, atol: 1e-15 });
    assertClose(f64(s.alphasCumprod), fx('sched.short.alphasCumprod'), 'alphasCumprod', { rtol: 1e-12, atol: 1e-15 });
    expect(s.betas[0]).toBe(1e-3);
    expect(s.betas[9]).toBe(0.2);
  });

  it("the cosine schedule is Nichol & Dhariwal's: abar(t) = f(t + 1) / f(0), betas capped at 0.999", () => {
    const b = betaSchedule('cosine', 1000);
    expect(Math.max(...b)).toBe(0.999);
    const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    const s = new NoiseSchedule({ betaSchedule: 'cosine' });
    expect(s.alphasCumprod[499]).toBeCloseTo(f(0.5) / f(0), 10);
  });

  it('qSample and getVelocity (linear and cosine) at t = 0, 1, 500, 999', () => {
    const [x0, t, noise] = [fx('q.x0'), fx('q.t'), fx('q.noise')];
    const lin = new NoiseSchedule();
    const cos = new NoiseSchedule({ betaSchedule: 'cosine' });
    assertClose(lin.qSample(x0, t, noise), fx('q.xt'), 'linear qSample', { atol: 1e-6, rtol: 1e-6 });
    assertClose(lin.getVelocity(x0, noise, t), fx('q.v'), 'linear v', { atol: 1e-6, rtol: 1e-6 });
    assertClose(cos.qSample(x0, t, noise), fx('q.cos.xt'), 'cosine qSample', { atol: 1e-6, rtol: 1e-6 });
    assertClose(cos.getVelocity(x0, noise, t), fx('q.cos.v'), 'cosine v', { atol: 1e-6, rtol: 1e-6 });
    // numbers for t, and diffusers' argument order
    assertClose(lin.qSample(x0, [0, 1, 500, 999], noise), fx('q.xt'), 'qSample with t as numbers', { atol: 1e-6, rtol: 1e-6 });
    assertClose(lin.addNoise(x0, noise, t), fx('q.xt'), 'addNoise', { atol: 1e-6, rtol: 1e-6 });
  });

  it("target() is the noise for 'epsilon' and v for 'v_prediction'", () => {
    const [x0, t, noise] = [fx('q.x0'), fx('q.t'), fx('q.noise')];
    expect(new NoiseSchedule().target(x0, noise, t)).toBe(noise);
    assertClose(new NoiseSchedule({ predictionType: 'v_prediction' }).target(x0, noise, t), fx('q.v'), 'v target', { atol: 1e-6, rtol: 1e-6 });
  });

  it('predictOriginal inverts qSample (epsilon) and recovers x0 and the noise from v', () => {
    const [x0, noise] = [fx('q.x0').narrow(0, 2, 1), fx('q.noise').narrow(0, 2, 1)];
    const eps = new NoiseSchedule();
    const xt = eps.qSample(x0, [500], noise);
    assertClose(eps.predictOriginal(noise, xt, 500).x0, x0, 'x0 from eps', { atol: 1e-5 });
    const vs = new NoiseSchedule({ predictionType: 'v_prediction' });
    const r = vs.predictOriginal(vs.getVelocity(x0, noise, [500]), xt, 500);
    assertClose(r.x0, x0, 'x0 from v', { atol: 1e-5 });
    assertClose(r.eps, noise, 'noise from v', { atol: 1e-5 });
  });

  it("inference timesteps are diffusers' 'leading' and 'trailing' spacings", () => {
    for (const n of [50, 7, 1000]) {
      for (const spacing of ['leading', 'trailing'] as const) {
        expect(spacedTimesteps(1000, n, spacing), `${spacing} ${n}`).toEqual(Array.from(fx(`ts.${spacing}.${n}`).dataSync()));
      }
    }
    expect(spacedTimesteps(1000, 4, 'leading')).toEqual([750, 500, 250, 0]);
    expect(spacedTimesteps(1000, 4, 'trailing')).toEqual([999, 749, 499, 249]);
  });

  it('the device tables live on past a scope()', async () => {
    const { scope } = await import('@dl/tensor');
    const s = new NoiseSchedule();
    const [x0, t, noise] = [fx('q.x0'), fx('q.t'), fx('q.noise')];
    scope(() => void s.qSample(x0, t, noise));
    const again = s.qSample(x0, t, noise);
    expect(again).toBeInstanceOf(Tensor);
    assertClose(again, fx('q.xt'), 'qSample after a scope', { atol: 1e-6, rtol: 1e-6 });
  });
});
