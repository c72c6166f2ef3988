import { runKernel } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasWebGPU, sameAsCpu, useWebGPU } from './test-utils.js';

// The random kernels far into the Philox stream, and the sampling ops built on them, on WebGPU.
describe.skipIf(!hasWebGPU)('webgpu random numbers', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it('a counter of 2^32 does not repeat draw 0', async () => {
    const at = (counter: number) => runKernel('randomNormal', [], { shape: [8], dtype: 'float32', device: 'webgpu', key: [5, 6], counter }, [8], 'float32', 'webgpu');
    expect(Array.from(await at(2 ** 32).data())).not.toEqual(Array.from(await at(0).data()));
  });

  it('a tensor whose counters cross 2^32 (and one near 2^40) matches the cpu', async () => {
    for (const counter of [2 ** 32 - 3, 2 ** 40 - 2, 2 ** 40 + 2 ** 32 - 1]) {
      const attrs = (d: string) => ({ shape: [2, 13], dtype: 'float32' as const, device: d, key: [11, 12] as [number, number], counter });
      await sameAsCpu((d) => runKernel('randomUniform', [], attrs(d), [2, 13], 'float32', d), 0, 0, `uniform at ${counter}`);
      await sameAsCpu((d) => runKernel('randomNormal', [], attrs(d), [2, 13], 'float32', d), 1e-5, 1e-5, `normal at ${counter}`);
    }
  });
});
