import { layerNorm, manualSeed, randint, randn, registerBackend, tensor, type Tensor } from '@dl/tensor';
import { runKernel } from '@dl/tensor/internal';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { createWebGPUBackend, getGPU } from './device.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

// Reductions, softmax and layer norm with subgroup operations (where the adapter has them) and with the
// workgroup-memory tree (subgroups: false) both match the CPU.
describe.skipIf(!hasWebGPU)('subgroup reductions', () => {
  let gpu: WebGPUBackend;
  let tree: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
    tree = await createWebGPUBackend({ name: 'webgpu-tree', subgroups: false });
    registerBackend(tree);
  });

  it('are used exactly when the device has subgroups and WGSL has subgroup_id', async () => {
    const wgsl = (await getGPU())?.wgslLanguageFeatures;
    expect(gpu.subgroups).toBe(gpu.features.includes('subgroups') && !!wgsl?.has('subgroup_id'));
    expect(tree.subgroups).toBe(false);
    expect(tree.features).not.toContain('subgroups');
    const before = [gpu.stats().subgroupDispatches, tree.stats().subgroupDispatches];
    manualSeed(3);
    const a = randn([2, 1000]);
    await a.to('webgpu').sum(1).data();
    await a.to('webgpu-tree').sum(1).data();
    expect(gpu.stats().subgroupDispatches - before[0]).toBe(gpu.subgroups ? 1 : 0);
    expect(tree.stats().subgroupDispatches).toBe(before[1]);
  });

  const cases: [number[], number[]][] = [
    [[1], [0]],
    [[31], [0]],
    [[32], [0]],
    [[33], [0]],
    [[1000], [0]],
    [[4097], [0]],
    [[3, 1000], [1]],
    [[1000, 3], [0]],
    [[2, 33, 129], [0, 2]],
    [[5, 4097], [1]],
    [[4097, 2], [0, 1]],
  ];

  const compare = async (f: (t: Tensor) => Tensor, a: Tensor, rtol: number, atol: number, what: string): Promise<void> => {
    const c = await f(a).data();
    for (const dev of ['webgpu', 'webgpu-tree']) {
      const g = f(a.to(dev));
      expect(g.device).toBe(dev);
      expectClose(await g.data(), c, rtol, atol, `${what} on ${dev}`);
    }
  };

  it('sum, max, min, prod match the cpu over 1 to 4097 elements and several dims', async () => {
    manualSeed(11);
    for (const [shape, dims] of cases) {
      const a = randn(shape);
      const what = `${shape} over ${dims}`;
      await compare((t) => t.sum(dims), a, 1e-4, 1e-4, `sum ${what}`);
      await compare((t) => t.max(dims), a, 0, 0, `max ${what}`);
      await compare((t) => t.min(dims, true), a, 0, 0, `min ${what}`);
      await compare((t) => t.div(30).add(1).prod(dims), a, 1e-3, 1e-6, `prod ${what}`);
      const n = randint(-50, 50, shape);
      await compare((t) => t.sum(dims), n, 0, 0, `int sum ${what}`);
      await compare((t) => t.max(dims), n, 0, 0, `int max ${what}`);
      await compare((t) => t.min(dims), n, 0, 0, `int min ${what}`);
    }
  });

  it('NaN wins max/min and infinities survive in long rows', async () => {
    const v = new Float32Array(3 * 1000).map((_, i) => Math.sin(i));
    v[517] = NaN; // row 0
    v[1000 + 999] = Infinity; // row 1
    v[2000 + 3] = -Infinity; // row 2
    const a = tensor(v).reshape([3, 1000]);
    await compare((t) => t.max(1), a, 0, 0, 'max');
    await compare((t) => t.min(1), a, 0, 0, 'min');
    await compare((t) => t.sum(1), a, 1e-4, 1e-4, 'sum');
  });

  it('softmax and logSoftmax rows', async () => {
    manualSeed(12);
    for (const shape of [[4, 31], [3, 1000], [2, 4097]]) {
      const a = randn(shape).mul(4);
      await compare((t) => t.softmax(-1), a, 1e-4, 1e-6, `softmax ${shape}`);
      await compare((t) => t.logSoftmax(-1), a, 1e-4, 1e-5, `logSoftmax ${shape}`);
      await compare((t) => t.softmax(0), a, 1e-4, 1e-6, `softmax ${shape} dim 0`);
    }
    await compare((t) => t.softmax(1), tensor([[-Infinity, -Infinity], [0, -Infinity]]), 0, 0, 'all -inf row');
  });

  it('layerNorm rows (one or two normalised dims, with and without weight and bias)', async () => {
    manualSeed(13);
    for (const shape of [[4, 31], [3, 1000], [2, 4097], [2, 3, 400]]) {
      const a = randn(shape).mul(3).add(5);
      const n = shape.at(-1)!;
      const w = randn([n]);
      const b = randn([n]);
      await compare((t) => layerNorm(t, n), a, 1e-4, 1e-4, `layerNorm ${shape}`);
      await compare((t) => layerNorm(t, n, w.to(t.device), b.to(t.device)), a, 1e-4, 1e-4, `layerNorm ${shape} affine`);
      await compare((t) => layerNorm(t, shape.slice(-2)), a, 1e-4, 1e-4, `layerNorm ${shape} over 2 dims`);
      // the backward kernel, with a weight and without, and with g and x as transposed views
      const g = randn(shape);
      const axis = shape.length - 1;
      const grad = (t: Tensor, gt: Tensor, wt?: Tensor): Tensor => runKernel('layerNormGradInput', wt ? [gt, t, wt] : [gt, t], { axis, eps: 1e-5 }, t.shape, 'float32');
      await compare((t) => grad(t, g.to(t.device), w.to(t.device)), a, 1e-3, 1e-4, `layerNormGradInput ${shape}`);
      await compare((t) => grad(t, g.to(t.device)), a, 1e-3, 1e-4, `layerNormGradInput ${shape} no weight`);
      const at = a.transpose(0, axis).contiguous();
      const gtr = g.transpose(0, axis).contiguous();
      await compare((t) => grad(t.transpose(0, axis), gtr.to(t.device).transpose(0, axis), w.to(t.device)), at, 1e-3, 1e-4, `layerNormGradInput ${shape} strided`);
    }
  });
});
