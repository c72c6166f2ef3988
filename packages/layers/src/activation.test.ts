import { manualSeed, ones } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Dropout, ELU, GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh } from './activation.js';
import { checkLayerCase } from './test-helpers.js';

describe('activations match PyTorch (output and gradients)', () => {
  const cases = {
    relu: new ReLU(),
    gelu: new GELU(),
    gelu_tanh: new GELU('tanh'),
    silu: new SiLU(),
    sigmoid: new Sigmoid(),
    tanh: new Tanh(),
    softplus: new Softplus(),
    leaky: new LeakyReLU(0.2),
    elu: new ELU(0.7),
    softmax: new Softmax(-1),
    logsoftmax: new LogSoftmax(1),
  };
  for (const [name, m] of Object.entries(cases)) it(name, () => checkLayerCase(`act_${name}`, m));
});

describe('Dropout', () => {
  it('zeroes about p of the elements and scales the rest by 1/(1-p) in training', () => {
    manualSeed(0);
    const y = new Dropout(0.25).forward(ones([100, 100])).dataSync();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(2300);
    expect(zeros).toBeLessThan(2700);
    expect(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
  });
  it('is the identity in eval mode', () => {
    const x = ones([3, 3]);
    expect(new Dropout(0.5).eval().forward(x)).toBe(x);
  });
  it('rejects p outside [0, 1]', () => {
    expect(() => new Dropout(1.5)).toThrow(/p must be in/);
  });
});
