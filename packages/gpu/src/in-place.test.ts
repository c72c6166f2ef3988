import { manualSeed, randn, tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

describe.skipIf(!hasWebGPU)('in-place add_/sub_/mul_/div_ on webgpu (one dispatch, dst read through the output binding)', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  it('matches the CPU for tensors (broadcast rows, strided views) and scalars, in one dispatch each', async () => {
    manualSeed(21);
    const base = randn([4, 6]);
    const row = randn([6]).add(3);
    const cases: [string, (x: typeof base, o: typeof base) => void][] = [
      ['add_', (x, o) => x.add_(o)],
      ['sub_', (x, o) => x.sub_(o)],
      ['mul_', (x, o) => x.mul_(o)],
      ['div_', (x, o) => x.div_(o)],
      ['mul_ scalar', (x) => x.mul_(0.5)],
      ['add_ scalar', (x) => x.add_(-2)],
      ['div_ scalar', (x) => x.div_(3)],
    ];
    for (const [name, f] of cases) {
      const c = base.clone();
      f(c, row);
      const g = base.to('webgpu');
      const o = row.to('webgpu');
      await gpu.sync();
      const before = gpu.stats().dispatches;
      const version = g.storage.version;
      f(g, o);
      expect(gpu.stats().dispatches - before, name).toBe(1);
      expect(g.storage.version, `${name} bumps the version`).toBe(version + 1);
      expectClose(await g.data(), c.dataSync(), 1e-6, 1e-6, name);
    }
    // a transposed (strided) destination is written through its strides
    const c = base.clone();
    c.transpose(0, 1).mul_(randn([6, 1]).mul(0).add(2));
    const g = base.to('webgpu');
    g.transpose(0, 1).mul_(tensor([[2], [2], [2], [2], [2], [2]]).to('webgpu'));
    expectClose(await g.data(), c.dataSync(), 1e-6, 1e-6, 'strided dst');
  });

  it('falls back (two dispatches) where it cannot fuse: the operand aliases the destination, or alpha', async () => {
    const x = tensor([1, 2, 3, 4]).to('webgpu');
    await gpu.sync();
    let before = gpu.stats().dispatches;
    x.mul_(x); // same storage: computed out of place, then assigned
    expect(gpu.stats().dispatches - before).toBeGreaterThan(1);
    expect(Array.from(await x.data())).toEqual([1, 4, 9, 16]);
    before = gpu.stats().dispatches;
    x.add_(tensor([1, 1, 1, 1]).to('webgpu'), 2);
    expect(gpu.stats().dispatches - before).toBeGreaterThan(1);
    expect(Array.from(await x.data())).toEqual([3, 6, 11, 18]);
  });
});
