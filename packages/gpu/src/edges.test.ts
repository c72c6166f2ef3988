import { backward, noGrad } from '@dl/autograd';
import { BatchNorm1d, BatchNorm2d, GroupNorm, Upsample, crossEntropy, nllLoss } from '@dl/layers';
import { arange, manualSeed, ones, randn, registerBackend, tensor, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWebGPUBackend } from './device.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

// Numerical edges on WebGPU: softmax rows that are fully masked (attention over padding),
// Upsample's gathers, and BatchNorm's cumulative average (momentum null), which must not read the
// device in a step.
describe.skipIf(!hasWebGPU)('edges on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
    registerBackend(await createWebGPUBackend({ name: 'webgpu-tree', subgroups: false }));
    registerBackend(await createWebGPUBackend({ name: 'webgpu-64k', maxBindingBytes: 65536 }));
  });

  it('softmax / logSoftmax of fully -inf rows give 0 / -inf with subgroups, with the tree and in split rows', async () => {
    manualSeed(41);
    const rows = arange(0, 300, 1).reshape([300, 1]);
    // every 7th row fully masked, the others partly; [300, 100] is 120 KB, so webgpu-64k splits it
    const mask = rows.remainder(7).eq(0).logicalOr(randn([300, 100]).gt(1));
    const x = randn([300, 100]).maskedFill(mask, -Infinity);
    for (const dev of ['webgpu', 'webgpu-tree', 'webgpu-64k']) {
      const [s, ls] = await Promise.all([x.to(dev).softmax(1).data(), x.to(dev).logSoftmax(1).data()]);
      for (let r = 0; r < 300; r += 7) {
        expect(Array.from(s.subarray(r * 100, r * 100 + 100)).every((v) => v === 0), `softmax row ${r} on ${dev}`).toBe(true);
        expect(Array.from(ls.subarray(r * 100, r * 100 + 100)).every((v) => v === -Infinity), `logSoftmax row ${r} on ${dev}`).toBe(true);
      }
      expectClose(s, await x.softmax(1).data(), 1e-5, 1e-6, `softmax on ${dev}`);
      expectClose(ls, await x.logSoftmax(1).data(), 1e-5, 1e-5, `logSoftmax on ${dev}`);
    }
    // along dim 0 (a strided row walk): column 1 is fully masked
    const cols = tensor([[0, -Infinity], [1, -Infinity], [2, -Infinity]]);
    expectClose(await cols.to('webgpu').softmax(0).data(), [0.0900306, 0, 0.2447285, 0, 0.6652410, 0], 1e-5, 0, 'softmax along dim 0');
  });

  it('left padding + causal mask through softmax -> matmul -> crossEntropy -> backward: finite, zero rows, as on CPU', async () => {
    manualSeed(42);
    const [B, T, D, C] = [2, 4, 3, 5];
    const inputs = [randn([B, T, D]), randn([B, T, D]), randn([B, T, D]), randn([D, C])];
    const labels = tensor([-100, -100, 1, 2, 0, 3, 4, 1], { dtype: 'int32' }); // [B*T], ignored where queries see only padding
    const keyTargets = tensor([-100, -100, 2, 3, 0, 1, 2, 3], { dtype: 'int32' });
    const run = (dev: string): Tensor[] => {
      const [q, k, v, wo] = inputs.map((t) => t.to(dev).detach().requiresGrad_()); // fresh leaves on each device
      const pad = tensor([[1, 1, 0, 0], [0, 0, 0, 0]], { device: dev }).gt(0); // [B, T]
      const mask = pad.unsqueeze(1).logicalOr(ones([T, T], { device: dev }).triu(1).gt(0).unsqueeze(0)); // [B, T, T]
      const scores = q.matmul(k.transpose(1, 2)).maskedFill(mask, -Infinity); // (B, T, T)
      const attn = scores.softmax(-1);
      const logits = attn.matmul(v).matmul(wo).reshape([-1, C]); // (B*T, C)
      const rows = scores.reshape([-1, T]);
      const loss = crossEntropy(logits, labels.to(dev))
        .add(crossEntropy(rows, keyTargets.to(dev)))
        .add(nllLoss(rows.logSoftmax(1), keyTargets.to(dev)));
      backward(loss);
      return [loss, attn, q.grad!, k.grad!, v.grad!, wo.grad!];
    };
    const want = run('cpu');
    const got = run('webgpu');
    const names = ['loss', 'attn', 'grad q', 'grad k', 'grad v', 'grad wo'];
    for (const [i, t] of got.entries()) {
      const d = (await t.data()) as Float32Array;
      expect(d.every(Number.isFinite), `${names[i]} finite`).toBe(true);
      expectClose(d, await want[i].data(), 1e-4, 1e-5, names[i]);
    }
    expect(Array.from((await got[1].data()).subarray(0, 2 * T))).toEqual(Array(2 * T).fill(0)); // masked queries of sequence 0
  });

  it('Upsample (nearest by whole and fractional factors, bilinear with and without alignCorners) matches the CPU, gradients too', async () => {
    manualSeed(44);
    const x = randn([1, 2, 3, 4]);
    for (const opts of [{ scaleFactor: 2 }, { size: [7, 9] as [number, number] }, { size: [7, 9] as [number, number], mode: 'bilinear' as const }, { size: [7, 9] as [number, number], mode: 'bilinear' as const, alignCorners: true }]) {
      const run = (dev: string): Tensor[] => {
        const xd = x.to(dev).detach().requiresGrad_(); // a fresh leaf for each case and device
        const y = new Upsample(opts).forward(xd);
        backward(y.mul(arange(0, y.size, 1, { device: dev }).reshape([...y.shape]).sin()).sum()); // distinct output weights
        return [y, xd.grad!];
      };
      const [want, got] = [run('cpu'), run('webgpu')];
      expectClose(await got[0].data(), await want[0].data(), 1e-5, 1e-6, `${JSON.stringify(opts)} output`);
      expectClose(await got[1].data(), await want[1].data(), 1e-5, 1e-5, `${JSON.stringify(opts)} gradient`);
    }
  });

  it('BatchNorm with momentum null (cumulative average) trains on webgpu with the CPU running statistics', async () => {
    manualSeed(43);
    const cpu = new BatchNorm1d(3, { momentum: null });
    const gpu = new BatchNorm1d(3, { momentum: null, device: 'webgpu' });
    for (let i = 0; i < 3; i++) {
      const x = randn([5, 3]).mul(i + 1);
      cpu.forward(x);
      gpu.forward(x.to('webgpu'));
    }
    expect(gpu.runningMean!.device).toBe('webgpu');
    expectClose(await gpu.runningMean!.data(), await cpu.runningMean!.data(), 1e-5, 1e-6, 'running_mean');
    expectClose(await gpu.runningVar!.data(), await cpu.runningVar!.data(), 1e-5, 1e-6, 'running_var');
    expect(Array.from(await gpu.numBatchesTracked!.data())).toEqual([3]);
  });

  it('BatchNorm2d (fused kernels) on a permuted input with more values per channel than a workgroup: output, gradients and statistics as on CPU', async () => {
    manualSeed(43);
    const x = randn([3, 17, 5, 11]).permute([0, 2, 1, 3]); // (3, 5, 17, 11), 561 values per channel
    const r = randn([3, 5, 17, 11]);
    const run = async (device: string) => {
      const bn = new BatchNorm2d(5, { device });
      noGrad(() => bn.weight!.copy_(arange(1, 6, 1, { device })));
      const xd = x.to(device).detach().requiresGrad_();
      const y = bn.forward(xd);
      backward(y.mul(r.to(device)).sum());
      return Promise.all([y, xd.grad!, bn.weight!.grad!, bn.bias!.grad!, bn.runningMean!, bn.runningVar!].map((t) => t.data()));
    };
    const [gpu, cpu] = [await run('webgpu'), await run('cpu')];
    ['y', 'dx', 'dweight', 'dbias', 'running_mean', 'running_var'].forEach((what, i) => expectClose(gpu[i], cpu[i], 1e-4, 1e-4, what));
  });
  it('GroupNorm (fused kernels, with and without SiLU) on a permuted input with rows longer than a workgroup: output and gradients as on CPU', async () => {
    manualSeed(44);
    const x = randn([3, 13, 8, 11]).permute([0, 2, 1, 3]); // (3, 8, 13, 11): groups of 2 channels, 286 values a row
    const r = randn([3, 8, 13, 11]);
    for (const silu of [false, true]) {
      const run = async (device: string) => {
        const gn = new GroupNorm(4, 8, { device });
        noGrad(() => {
          gn.weight!.copy_(arange(1, 9, 1, { device }).mul(0.5));
          gn.bias!.copy_(arange(-4, 4, 1, { device }).mul(0.25));
        });
        const xd = x.to(device).detach().requiresGrad_();
        const y = silu ? gn.forwardSilu(xd) : gn.forward(xd);
        backward(y.mul(r.to(device)).sum());
        return Promise.all([y, xd.grad!, gn.weight!.grad!, gn.bias!.grad!].map((t) => t.data()));
      };
      const [gpu, cpu] = [await run('webgpu'), await run('cpu')];
      ['y', 'dx', 'dweight', 'dbias'].forEach((what, i) => expectClose(gpu[i], cpu[i], 1e-4, 1e-4, `${what}${silu ? ' (SiLU)' : ''}`));
    }
  });
});
