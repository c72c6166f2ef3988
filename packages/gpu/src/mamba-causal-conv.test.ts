// @dl/mamba's fused causal depthwise convolution (+ SiLU) on WebGPU: the WGSL forward and its
// two-pass backward (dx; dweight and dbias summed over batch and time) give the CPU kernel's values
// and gradients, including a sequence shorter than the kernel and a long one.
import { backward } from '@dl/autograd';
import { causalConv1d } from '@dl/mamba';
import { manualSeed, randn, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

describe.skipIf(!hasWebGPU)('@dl/mamba causalConv1d on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  for (const c of [
    { batch: 2, D: 5, L: 9, W: 4, act: true },
    { batch: 1, D: 3, L: 2, W: 4, act: false },
    { batch: 2, D: 3, L: 700, W: 3, act: true }, // a long sequence: 66 workgroups, 1,400 terms in each weight sum
  ]) {
    it(`gives the CPU kernel's output and the gradients of x, weight and bias (${JSON.stringify(c)})`, async () => {
      manualSeed(5);
      const cpu = { x: randn([c.batch, c.D, c.L]), weight: randn([c.D, 1, c.W]), bias: randn([c.D]) };
      const w = randn([c.batch, c.D, c.L]);
      const run = (device: string) => {
        const t = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v.to(device).requiresGrad_()])) as typeof cpu;
        const y = causalConv1d(t.x, t.weight, t.bias, { activation: c.act ? 'silu' : null });
        backward(y.mul(w.to(device)).sum());
        return { y, t };
      };
      const a = run('cpu');
      const g = run('webgpu');
      expect(g.y.device).toBe('webgpu');
      expectClose(await g.y.data(), a.y.dataSync(), 1e-5, 1e-5, 'y');
      for (const k of ['x', 'weight', 'bias'] as const) expectClose(await (g.t[k].grad as Tensor).data(), (a.t[k].grad as Tensor).dataSync(), 1e-4, 1e-4, `d${k}`);
    });
  }
});
