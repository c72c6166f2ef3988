import { tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { param } from './module.js';
import { SGD } from './optim/sgd.js';
import { CosineWithWarmup, LinearWarmup, ReduceLROnPlateau, StepLR } from './schedule.js';

const opt = (lr = 1) => new SGD([param(tensor([0]))], { lr });

function lrs(s: { step(): void; getLastLr(): number[] }, n: number): number[] {
  const out = [s.getLastLr()[0]];
  for (let i = 0; i < n; i++) {
    s.step();
    out.push(s.getLastLr()[0]);
  }
  return out.map((v) => Math.round(v * 1e6) / 1e6);
}

describe('LR schedules', () => {
  it('StepLR multiplies by gamma every stepSize steps (as PyTorch)', () => {
    expect(lrs(new StepLR(opt(), { stepSize: 2, gamma: 0.5 }), 5)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25]);
  });
  it('LinearWarmup ramps from startFactor to 1 (as PyTorch LinearLR)', () => {
    expect(lrs(new LinearWarmup(opt(), { warmupSteps: 4, startFactor: 0.2 }), 5)).toEqual([0.2, 0.4, 0.6, 0.8, 1, 1]);
  });
  it('CosineWithWarmup warms up linearly then decays to the floor', () => {
    expect(lrs(new CosineWithWarmup(opt(), { warmupSteps: 2, totalSteps: 6, minLrRatio: 0.1 }), 7)).toEqual([0, 0.5, 1, 0.868198, 0.55, 0.231802, 0.1, 0.1]);
  });
  it('ReduceLROnPlateau reduces after patience epochs without improvement', () => {
    const o = opt(1);
    const s = new ReduceLROnPlateau(o, { patience: 1, factor: 0.5 });
    const seen = [1, 0.9, 0.95, 0.95, 0.95, 0.8].map((m) => {
      s.step(m);
      return o.paramGroups[0].lr;
    });
    expect(seen).toEqual([1, 1, 1, 0.5, 0.5, 0.5]);
  });
  it('starts from the initial lr recorded in a loaded optimizer state, not the decayed one', () => {
    const a = opt(1);
    const s = new StepLR(a, { stepSize: 1, gamma: 0.5 });
    s.step();
    s.step();
    const b = opt(1);
    b.loadStateDict(a.stateDict());
    expect(b.paramGroups[0].lr).toBe(0.25);
    const resumed = new StepLR(b, { stepSize: 1, gamma: 0.5 });
    resumed.loadStateDict({ lastStep: 2 });
    expect(resumed.getLastLr()).toEqual([0.25]);
    resumed.step();
    expect(resumed.getLastLr()).toEqual([0.125]);
  });

  it('resumes from stateDict', () => {
    const o = opt();
    const a = new StepLR(o, { stepSize: 1, gamma: 0.5 });
    a.step();
    a.step();
    const b = new StepLR(opt(), { stepSize: 1, gamma: 0.5 });
    b.loadStateDict(a.stateDict());
    expect(b.getLastLr()).toEqual([0.25]);
  });
});
