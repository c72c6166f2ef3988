import { clipGradNorm } from '@dl/layers';
import { foreachNorm, manualSeed, randn, tensor, zeros, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

describe.skipIf(!hasWebGPU)('foreachNorm on webgpu (a workgroup per tensor, six tensors a dispatch)', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  it('matches the CPU for ord 2, Infinity and 3 over 13 tensors of many sizes (3 dispatches)', async () => {
    manualSeed(11);
    const shapes = [[5], [300, 7], [1], [0], [70_001], [3, 4, 5], [257], [16, 16], [2], [999], [4, 1], [65], [1, 1, 1]];
    const xs = shapes.map((s) => randn(s));
    const gs = xs.map((x) => x.to('webgpu'));
    for (const ord of [2, Infinity, 3]) {
      const before = gpu.stats().dispatches;
      const got = foreachNorm(gs, ord);
      expect(gpu.stats().dispatches - before, `dispatches, ord ${ord}`).toBe(3);
      expectClose(await got.data(), foreachNorm(xs, ord).dataSync(), 1e-4, 1e-5, `ord ${ord}`);
    }
  });

  it('takes more tensors than a shader can bind (each pass binds six of them)', async () => {
    manualSeed(13);
    const xs = Array.from({ length: 40 }, (_, i) => randn([1 + ((i * 37) % 300)]));
    const before = gpu.stats().dispatches;
    const got = foreachNorm(xs.map((x) => x.to('webgpu')));
    expect(gpu.stats().dispatches - before).toBe(7);
    expectClose(await got.data(), foreachNorm(xs).dataSync(), 1e-4, 1e-5, '40 tensors');
  });

  it('lets NaN win for ord Infinity and 2', async () => {
    const x = tensor([1, NaN, 5, -7]).to('webgpu');
    for (const ord of [Infinity, 2]) expect(Number.isNaN((await foreachNorm([x, zeros([3]).to('webgpu')], ord).data())[0])).toBe(true);
  });

  it('clipGradNorm gives the CPU result in fewer dispatches than three a gradient', async () => {
    manualSeed(12);
    const shapes = [[64, 32], [32], [10, 64], [10], [7, 7, 3], [128]];
    const make = (device: string): Tensor[] =>
      shapes.map((s, i) => {
        manualSeed(100 + i);
        const p = randn(s).to(device).requiresGrad_();
        p.grad = randn(s).mul(3).to(device);
        return p;
      });
    const cpu = make('cpu');
    const gpuParams = make('webgpu');
    await gpu.sync();
    const before = gpu.stats().dispatches;
    const total = clipGradNorm(gpuParams, 1);
    const dispatches = gpu.stats().dispatches - before;
    // a foreachNorm dispatch for the gradients, one for their total, one for the coefficient (four
    // elementwise ops, fused), and the in-place scales of the gradients, grouped (a binding each and
    // one for the coefficient); abs, pow and sum a gradient (and a two-dispatch mul_) made it 5n + 8,
    // and n + 6 before fusion
    expect(dispatches).toBe(3 + Math.ceil(shapes.length / (gpu.device.limits.maxStorageBuffersPerShaderStage - 1)));
    expectClose(await total.data(), clipGradNorm(cpu, 1).dataSync(), 1e-4, 1e-5, 'total norm');
    for (let i = 0; i < shapes.length; i++) expectClose(await gpuParams[i].grad!.data(), cpu[i].grad!.dataSync(), 1e-4, 1e-5, `grad ${i}`);
  });
});
