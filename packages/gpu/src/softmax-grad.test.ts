import { manualSeed, randn, softmaxGrad } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

describe.skipIf(!hasWebGPU)('softmaxGrad on webgpu', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  for (const log of [false, true]) {
    it(`${log ? 'logSoftmax' : 'softmax'}: the CPU's values in one dispatch, along the last, a middle and the first dim, rows longer than a workgroup, masked entries`, async () => {
      manualSeed(11);
      for (const [shape, dim] of [
        [[5, 300], -1],
        [[3, 7, 4], 1],
        [[70, 2], 0],
        [[2, 4, 16, 16], -1],
      ] as [number[], number][]) {
        const x = randn(shape).mul(3).maskedFill(randn(shape).gt(1.5), -Infinity);
        const y = log ? x.logSoftmax(dim) : x.softmax(dim);
        const g = randn(shape);
        const want = softmaxGrad([g, y], { dim, log }).dataSync();
        const [gg, yg] = [g.to('webgpu'), y.to('webgpu')];
        await gpu.sync();
        const before = gpu.stats().dispatches;
        const got = softmaxGrad([gg, yg], { dim, log });
        expect(gpu.stats().dispatches - before, `dispatches for ${JSON.stringify(shape)} dim ${dim}`).toBe(1);
        expectClose(await got.data(), want, 1e-4, 1e-5, `${JSON.stringify(shape)} dim ${dim}`);
      }
    });
  }
});
