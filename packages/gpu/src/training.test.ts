import { valueAndGrad } from '@dl/autograd';
import { conv2d, gather, layerNorm, manualSeed, maxPool2d, randint, randn, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

// A CNN's loss and gradients through @dl/autograd: the backward kernels (conv2dGradInput,
// conv2dGradWeight, scatterAdd for gather and max pooling, matmul with transposed operands)
// give the CPU's numbers on WebGPU.
describe.skipIf(!hasWebGPU)('training on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it('gives the same loss and gradients as the cpu for a small CNN', async () => {
    manualSeed(11);
    const x = randn([6, 2, 8, 8]);
    const w1 = randn([4, 2, 3, 3]).mul(0.5);
    const w2 = randn([64, 10]).mul(0.2);
    const emb = randn([7, 64]).mul(0.1);
    const label = randint(0, 10, [6, 1]);
    const tok = randint(0, 7, [6]);
    // conv -> relu -> pool, plus an embedding lookup, -> linear -> logSoftmax -> nll
    const loss = (w1: Tensor, w2: Tensor, emb: Tensor, x: Tensor, label: Tensor, tok: Tensor): Tensor => {
      const h = maxPool2d(conv2d(x, w1, { padding: 1 }).relu(), 2).reshape([6, 64]);
      const e = gather(emb, 0, tok.reshape([6, 1]).expand([6, 64]));
      const logp = h.add(e).matmul(w2).logSoftmax(1);
      return gather(logp, 1, label).mean().neg();
    };
    const vg = valueAndGrad(loss, { argnums: [0, 1, 2] });
    const cpu = vg(w1, w2, emb, x, label, tok);
    const gpu = vg(...([w1, w2, emb, x, label, tok].map((t) => t.to('webgpu')) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]));
    expect(gpu.value.device).toBe('webgpu');
    expectClose(await gpu.value.data(), await cpu.value.data(), 1e-4, 1e-5, 'loss');
    for (let i = 0; i < 3; i++) {
      expect(gpu.grads[i].device).toBe('webgpu');
      expectClose(await gpu.grads[i].data(), await cpu.grads[i].data(), 1e-3, 1e-5, `grad ${i}`);
    }
  });

  it('gives the same gradients as the cpu through the fused layerNorm', async () => {
    manualSeed(12);
    const x = randn([5, 3, 40]).mul(2).add(1);
    const w = randn([40]);
    const b = randn([40]);
    const r = randn([5, 3, 40]);
    // a weighted sum of the output, so every element's gradient differs
    const f = (x: Tensor, w: Tensor, b: Tensor, r: Tensor): Tensor => layerNorm(x, 40, w, b).mul(r).sum();
    const vg = valueAndGrad(f, { argnums: [0, 1, 2] });
    const cpu = vg(x, w, b, r);
    const gpu = vg(...([x, w, b, r].map((t) => t.to('webgpu')) as [Tensor, Tensor, Tensor, Tensor]));
    expectClose(await gpu.value.data(), await cpu.value.data(), 1e-4, 1e-4, 'value');
    for (let i = 0; i < 3; i++) expectClose(await gpu.grads[i].data(), await cpu.grads[i].data(), 1e-3, 1e-4, `grad ${i}`);
  });
});
