import { DeviceError, conv2d, full, layerNorm, manualSeed, memory, randint, randn, registerBackend, scope, tensor, type Tensor } from '@dl/tensor';
import { runKernel, type ConvAttrs } from '@dl/tensor/internal';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWebGPUBackend } from './device.js';
import type { WebGPUBackend } from './backend.js';
import { PipelineCache } from './runtime/pipelines.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

describe.skipIf(!hasWebGPU)('webgpu backend', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  it('reports its adapter and round-trips every dtype', async () => {
    expect(gpu.name).toBe('webgpu');
    expect(gpu.dtypes).toContain('float32');
    const f = tensor([[1.5, -2], [3, 4]], { device: 'webgpu' });
    expect(f.device).toBe('webgpu');
    expect(await f.array()).toEqual([[1.5, -2], [3, 4]]);
    expect(Array.from(await tensor(new Int32Array([7, -8, 2 ** 30]), { device: 'webgpu' }).data())).toEqual([7, -8, 2 ** 30]);
    expect(await tensor([true, false, true], { device: 'webgpu' }).array()).toEqual([true, false, true]);
    // views read back through a copy kernel
    expect(await f.transpose(0, 1).array()).toEqual([[1.5, 3], [-2, 4]]);
    expect(await f.slice(1, 1).array()).toEqual([[-2], [4]]);
    expect(() => f.dataSync()).toThrow(DeviceError);
  });

  it('shares an existing GPUDevice', async () => {
    const shared = await createWebGPUBackend({ device: gpu.device, name: 'webgpu-shared' });
    registerBackend(shared);
    expect(shared.device).toBe(gpu.device);
    expect(Array.from(await tensor([1, 2], { device: 'webgpu-shared' }).mul(3).data())).toEqual([3, 6]);
  });

  it('throws DeviceError when an op mixes devices', () => {
    const a = tensor([1, 2, 3]);
    const b = tensor([1, 2, 3], { device: 'webgpu' });
    expect(() => a.add(b)).toThrow(DeviceError);
    expect(() => b.matmul(a.reshape([3, 1]))).toThrow(/expected all tensors on one device/);
  });

  it('reports device loss as DeviceError and can be created again', async () => {
    const lost = await createWebGPUBackend({ name: 'webgpu-lost' });
    registerBackend(lost);
    const t = tensor([1, 2], { device: 'webgpu-lost' });
    lost.destroy();
    await lost.device.lost;
    expect(() => t.add(1)).toThrow(DeviceError);
    await expect(t.data()).rejects.toThrow(/device was lost/);
    const again = await createWebGPUBackend({ name: 'webgpu-lost' });
    registerBackend(again);
    const u = tensor([1, 2], { device: 'webgpu-lost' });
    expect(Array.from(await u.add(1).data())).toEqual([2, 3]);
    // a tensor of the lost device cannot meet one of the new device
    expect(() => u.add(t)).toThrow(DeviceError);
    again.destroy();
  });

  it('keeps the buffer pool (and the bind groups made) flat over 1,000 steps', async () => {
    // a backend of its own, so tensors of other tests (and their collection) do not count
    const b = await createWebGPUBackend({ name: 'webgpu-leak' });
    registerBackend(b);
    const x = randn([64, 33], { device: 'webgpu-leak' });
    const w = randn([33, 16], { device: 'webgpu-leak' });
    const step = (): Tensor => scope(() => x.matmul(w).relu().softmax(1).mul(2).add(x.sum()).sum());
    const sample = async (): Promise<[number, number, number]> => {
      await b.sync();
      const s = b.stats();
      return [s.liveBuffers, s.pooledBuffers, memory().devices['webgpu-leak'].bytes];
    };
    for (let i = 0; i < 20; i++) step().dispose();
    const warm = await sample();
    expect(warm[0]).toBe(2);
    let bindGroups = 0;
    for (let i = 0; i < 1000; i++) {
      const loss = step();
      if (i % 100 === 99) expect((await loss.data())[0]).toBeGreaterThan(0);
      loss.dispose();
      if (i === 199) bindGroups = b.stats().bindGroups;
    }
    expect(await sample()).toEqual(warm);
    // repeated steps reuse their bind groups
    expect(b.stats().bindGroups).toBe(bindGroups);
    b.destroy();
  });

  it('stores float16 when the adapter has shader-f16', async (ctx) => {
    if (!gpu.dtypes.includes('float16')) ctx.skip();
    manualSeed(4);
    const a = randn([17, 40]);
    const b = randn([40, 9]);
    const ha = a.to('webgpu').cast('float16');
    const hb = b.to('webgpu').cast('float16');
    expect(ha.dtype).toBe('float16');
    expect(gpu.byteLength(ha.storage.data)).toBe(17 * 40 * 2);
    // float16 rounding (~5e-4 relative) of inputs and outputs, f32 arithmetic in between
    expectClose(await ha.data(), await a.data(), 1e-3, 1e-4, 'round trip');
    expectClose(await ha.matmul(hb).data(), await a.matmul(b).data(), 1e-2, 2e-2, 'matmul');
    expectClose(await ha.softmax(1).data(), await a.softmax(1).data(), 1e-2, 1e-3, 'softmax');
    expectClose(await ha.sum(0).data(), await a.sum(0).data(), 1e-2, 2e-2, 'sum');
    const w = randn([40]);
    const hw = w.to('webgpu').cast('float16');
    expectClose(await layerNorm(ha, 40, hw, hw).data(), await layerNorm(a, 40, w, w).data(), 1e-2, 1e-2, 'layerNorm');
    expectClose(await ha.mul(2).transpose(0, 1).cast('float32').data(), await a.mul(2).transpose(0, 1).data(), 1e-3, 1e-4, 'strided cast');
    const up = tensor([0.5, -2, 65504], { dtype: 'float16', device: 'webgpu' });
    expect(Array.from(await up.data())).toEqual([0.5, -2, 65504]);
  });

  it('caches shaders by op, dtypes and ranks, and merges concurrent compiles of one source', async () => {
    const a = randn([3, 4], { device: 'webgpu' });
    await a.mul(a).data();
    const shaders = gpu.stats().shaders;
    // other shapes of the same rank and layouts reuse the shader
    const b = randn([7, 9], { device: 'webgpu' });
    await b.mul(b).data();
    expect(gpu.stats().shaders).toBe(shaders);
    const cache = new PipelineCache(gpu.device);
    const code = '@compute @workgroup_size(1) fn main() {}';
    const [p, q] = await Promise.all([cache.getAsync(code), cache.getAsync(code)]);
    expect(p).toBe(q);
    expect(cache.compiles).toBe(1);
    expect(cache.get(code)).toBe(p);
  });

  it('batches dispatches into few submits', async () => {
    const before = gpu.stats();
    let y = randn([32, 32], { device: 'webgpu' });
    for (let i = 0; i < 50; i++) y = y.mul(0.5).add(1);
    await y.data();
    const after = gpu.stats();
    // 101 kernels, fused into fewer dispatches (kernels/fuse.ts), all in one submit
    expect(after.dispatches + after.fusedKernels - before.dispatches - before.fusedKernels).toBeGreaterThanOrEqual(101);
    expect(after.submits - before.submits).toBe(1);
  });
});

describe.skipIf(!hasWebGPU)('webgpu buffers over the storage binding limit', () => {
  let small: WebGPUBackend;
  beforeAll(async () => {
    // a 64 KiB binding limit makes small tensors take the split path
    small = await createWebGPUBackend({ name: 'webgpu-64k', maxBindingBytes: 65536 });
    registerBackend(small);
  });

  it('splits elementwise ops and random generation into bound windows', async () => {
    const n = 100_003;
    manualSeed(3);
    const a = randn([n]);
    const b = randn([1]);
    const ga = a.to('webgpu-64k');
    const gb = b.to('webgpu-64k');
    expectClose(await ga.mul(gb).add(ga.exp()).data(), await a.mul(b).add(a.exp()).data(), 1e-5, 1e-6, 'mul add exp');
    expectClose(await ga.gt(0).int().data(), await a.gt(0).int().data(), 0, 0);
    expectClose(await ga.slice(0, 5, n - 3).neg().data(), await a.slice(0, 5, n - 3).neg().data(), 0, 0);
    // a permute that keeps dim 0: halved chunks read windows that fit
    const p = randn([40, 30, 20]);
    expectClose(await p.to('webgpu-64k').permute([0, 2, 1]).contiguous().data(), await p.permute([0, 2, 1]).contiguous().data(), 0, 0, 'permute copy');
    manualSeed(9);
    const r = await randn([n], { device: 'webgpu-64k' }).data();
    manualSeed(9);
    expectClose(r, await randn([n]).data(), 1e-5, 1e-5, 'randn');
  });

  it('runs ops that split along dim 0 in slices: rows, reductions, matmul, conv, gather', async () => {
    // A backend of its own (same device, same 64 KiB limit) whose every tensor is disposed here: a
    // tensor another test dropped on 'webgpu-64k' could be collected during an await below and
    // free its buffers, so counts on that backend are not this test's to compare.
    const own = await createWebGPUBackend({ device: small.device, name: 'webgpu-64k-slices', maxBindingBytes: 65536 });
    registerBackend(own);
    manualSeed(21);
    const a = randn([300, 100]); // 120 KB: each op below binds it in slices
    const w = randn([100]);
    const b = randn([100, 20]);
    const idx = randint(0, 100, [300, 5]);
    const x = randn([8, 4, 32, 32]);
    const k = randn([6, 4, 3, 3]);
    const q = randn([4, 100, 60]);
    const v = randn([4, 60, 50]);
    const gy = randn([8, 6, 32, 32]);
    const convAttrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as ConvAttrs;
    const cases: [string, (d: string) => Tensor, number][] = [
      ['softmax', (d) => a.to(d).softmax(1), 1e-6],
      ['logSoftmax', (d) => a.to(d).logSoftmax(-1), 1e-5],
      ['layerNorm', (d) => layerNorm(a.to(d), 100, w.to(d), w.to(d)), 1e-4],
      ['sum over dim 1', (d) => a.to(d).sum(1), 1e-4],
      ['sum over dim 0', (d) => a.to(d).sum(0), 1e-4],
      ['sum of all', (d) => a.to(d).sum(), 1e-3],
      ['max of all', (d) => a.to(d).max(), 0],
      ['mean over dims 0, 1 of a 3-D view', (d) => a.to(d).reshape([300, 10, 10]).mean([0, 1]), 1e-5],
      ['argmax', (d) => a.to(d).argmax(1), 0],
      ['cumsum', (d) => a.to(d).cumsum(1), 1e-4],
      ['matmul', (d) => a.to(d).matmul(b.to(d)), 1e-4],
      ['batched matmul', (d) => q.to(d).matmul(v.to(d)), 1e-4],
      ['conv2d', (d) => conv2d(x.to(d), k.to(d), { padding: 1 }), 1e-4],
      ['conv2d weight gradient', (d) => runKernel('conv2dGradWeight', [x.to(d), gy.to(d)], convAttrs, [6, 4, 3, 3], 'float32'), 1e-3],
      ['gather', (d) => a.to(d).gather(1, idx.to(d)), 0],
      ['rows of a sliced view', (d) => a.to(d).slice(0, 7, 290, 2).softmax(1), 1e-6],
    ];
    expect(own.stats().liveBuffers).toBe(0);
    for (const [what, f, tol] of cases) {
      const want = await f('cpu').data();
      const got = scope(() => f('webgpu-64k-slices'));
      expectClose(await got.data(), want, tol, tol, what);
      got.dispose();
      // slices, partial results and copies of shared inputs all went back to the pool
      expect(own.stats().liveBuffers, `${what}: buffers still out after dispose`).toBe(0);
    }
  });

  it('gives a clear error for ops that cannot split', () => {
    const m = full([200, 200], 1, { device: 'webgpu-64k' });
    const live = small.stats().liveBuffers;
    expect(() => m.matmul(m)).toThrow(/storage binding limit/);
    expect(() => m.transpose(0, 1).contiguous()).toThrow(/binding limit/);
    // the outputs allocated before the error went back to the pool
    expect(small.stats().liveBuffers).toBe(live);
  });

  it('handles a real tensor over the adapter limit', async () => {
    const limit = small.device.limits.maxStorageBufferBindingSize;
    // real GPUs bind GiBs: the split path is covered above, this size is for software adapters
    if (limit > 2 ** 28) return;
    const big = await createWebGPUBackend({ name: 'webgpu-big' });
    registerBackend(big);
    const n = limit / 4 + 4096;
    const x = full([n], 1.5, { device: 'webgpu-big' });
    const y = await x.mul(2).add(x).data();
    expect(y.length).toBe(n);
    expect([y[0], y[n >> 1], y[n - 1]]).toEqual([4.5, 4.5, 4.5]);
    // a reduction over it runs in slices, then over the slices' partial sums
    expectClose(await x.sum().data(), [1.5 * n], 1e-6, 0, 'sum');
    big.destroy();
  });
});
