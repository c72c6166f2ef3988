import { BatchNorm1d, Linear, Sequential } from '@dl/layers';
import { randn } from '@dl/tensor';
import { assertClose } from '@dl/tensor/testing';
import { describe, expect, it } from 'vitest';
import { EMAModel } from './ema.js';
import { fx } from './test-helpers.js';

/** A Linear(4, 3) holding the fixture's weights of step k. */
function load(m: Linear, k: number): void {
  m.loadStateDict({ weight: fx(`ema.p${k}.weight`), bias: fx(`ema.p${k}.bias`) });
}

describe('EMAModel', () => {
  it.each([
    ['avg', {}],
    ['avgw', { useEmaWarmup: true, updateAfterStep: 1 }],
  ] as const)("follows diffusers' EMAModel over five steps (%s)", (name, extra) => {
    const model = new Linear(4, 3);
    load(model, 0);
    const ema = new EMAModel(model, new Linear(4, 3), { decay: 0.9, ...extra });
    assertClose(ema.averaged.weight, fx('ema.p0.weight'), 'starts as a copy');
    for (let k = 1; k <= 5; k++) {
      load(model, k);
      ema.step();
      assertClose(ema.averaged.weight, fx(`ema.${name}${k}.weight`), `weight after step ${k}`, { rtol: 1e-6, atol: 1e-7 });
      assertClose(ema.averaged.bias!, fx(`ema.${name}${k}.bias`), `bias after step ${k}`, { rtol: 1e-6, atol: 1e-7 });
    }
    expect(ema.optimizationStep).toBe(5);
  });

  it('the decay warms up from 0 and is capped', () => {
    const ema = new EMAModel(new Linear(2, 2), new Linear(2, 2), { decay: 0.995 });
    expect([1, 2, 10, 5000].map((s) => ema.getDecay(s))).toEqual([0, 2 / 11, 10 / 19, 0.995]);
    const late = new EMAModel(new Linear(2, 2), new Linear(2, 2), { decay: 0.9, updateAfterStep: 3 });
    expect([3, 4, 5].map((s) => late.getDecay(s))).toEqual([0, 0, 2 / 11]);
  });

  it('copies buffers, never records gradients for the average, and restores its counter', () => {
    const model = new Sequential(new Linear(3, 3), new BatchNorm1d(3));
    const averaged = new Sequential(new Linear(3, 3), new BatchNorm1d(3));
    const ema = new EMAModel(model, averaged, { decay: 0.5 });
    model.forward(randn([8, 3])); // moves the model's running statistics
    ema.step();
    assertClose(averaged.stateDict()['1.running_mean'], model.stateDict()['1.running_mean'], 'running mean');
    expect(averaged.parameters().every((p) => !p.requiresGrad)).toBe(true);
    const again = new EMAModel(model, averaged);
    again.loadStateDict(ema.stateDict());
    expect(again.optimizationStep).toBe(1);
  });
});
