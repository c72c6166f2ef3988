import { backward } from '@dl/autograd';
import {
  Adam,
  AdamW,
  BatchNorm2d,
  Conv2d,
  Embedding,
  Flatten,
  GELU,
  LayerNorm,
  Linear,
  MaxPool2d,
  Module,
  MultiheadAttention,
  ReLU,
  SGD,
  Sequential,
  crossEntropy,
  type Optimizer,
} from '@dl/layers';
import { arange, getDefaultDevice, manualSeed, onesLike, randint, randn, scope, setDefaultDevice, zeros, type Tensor } from '@dl/tensor';
import type { WebGPUBackend } from './backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

/** A one-block pre-norm GPT: embeddings, causal attention, a GELU MLP, a vocab head. */
class TinyGpt extends Module {
  tok = new Embedding(13, 32);
  pos = new Embedding(8, 32);
  ln1 = new LayerNorm(32);
  attn = new MultiheadAttention(32, 4);
  ln2 = new LayerNorm(32);
  mlp = new Sequential(new Linear(32, 64), new GELU(), new Linear(64, 32));
  lnF = new LayerNorm(32);
  head = new Linear(32, 13);
  forward(idx: Tensor): Tensor {
    let x = this.tok.forward(idx).add(this.pos.forward(arange(0, idx.shape[1], 1, { device: idx.device }))); // (B, T, 32)
    const h = this.ln1.forward(x);
    x = x.add(this.attn.forward(h, h, h, { isCausal: true, needWeights: false })[0]);
    x = x.add(this.mlp.forward(this.ln2.forward(x)) as Tensor);
    return this.head.forward(this.lnF.forward(x)); // (B, T, 13)
  }
}

// no conv bias before the batch norm (as in a ResNet): its gradient is zero up to rounding, so it
// would not move, and trainBoth checks that every parameter does
const cnn = (): Sequential =>
  new Sequential(new Conv2d(2, 6, 3, { padding: 1, bias: false }), new BatchNorm2d(6), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(6 * 4 * 4, 5));

/**
 * Trains a model and its copy moved with `model.to('webgpu')` on the same batches: losses, final
 * parameters and buffers (BatchNorm running statistics) agree with the CPU's.
 */
async function trainBoth<M extends Module>(
  make: () => M,
  opt: (m: M) => Optimizer,
  batches: [Tensor, Tensor][],
  loss: (m: M, x: Tensor, y: Tensor) => Tensor,
  tol: number,
): Promise<void> {
  const cpu = make();
  const gpu = make();
  gpu.loadStateDict(cpu.stateDict());
  gpu.to('webgpu');
  for (const [, t] of Object.entries(gpu.stateDict())) expect(t.device).toBe('webgpu');
  const before = await Promise.all(cpu.parameters().map((t) => t.data()));
  const [oc, og] = [opt(cpu), opt(gpu)];
  for (const [step, [x, y]] of batches.entries()) {
    const run = (m: M, o: Optimizer, device: string): Promise<Float32Array> => {
      const l = scope(() => {
        o.zeroGrad();
        const l = loss(m, x.to(device), y.to(device));
        backward(l);
        o.step();
        return l;
      });
      return l.data() as Promise<Float32Array>;
    };
    expectClose(await run(gpu, og, 'webgpu'), await run(cpu, oc, 'cpu'), tol, tol, `loss at step ${step}`);
  }
  // the steps did train: every parameter moved
  const after = await Promise.all(cpu.parameters().map((t) => t.data()));
  after.forEach((a, i) => expect(a.some((v, j) => v !== before[i][j]), `parameter ${i} changed`).toBe(true));
  const sc = cpu.stateDict();
  for (const [name, t] of Object.entries(gpu.stateDict())) expectClose(await t.data(), await sc[name].data(), tol, tol, name);
}

// @dl/layers models moved to WebGPU train like on the CPU: attention, layer norm, GELU, embeddings,
// convolution, batch norm, pooling, AdamW and SGD with momentum.
describe.skipIf(!hasWebGPU)('@dl/layers on webgpu', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  it('a tiny GPT trains with AdamW to the same losses and weights', async () => {
    manualSeed(31);
    const batches = Array.from({ length: 3 }, () => [randint(0, 13, [4, 8]), randint(0, 13, [4, 8])] as [Tensor, Tensor]);
    manualSeed(32);
    await trainBoth(
      () => new TinyGpt(),
      (m) => new AdamW(m.parameters(), { lr: 1e-2 }),
      batches,
      (m, x, y) => crossEntropy(m.forward(x).reshape([-1, 13]), y.reshape([-1])),
      2e-3,
    );
  });

  it('a CNN with batch norm trains with SGD + momentum to the same weights and running statistics', async () => {
    manualSeed(33);
    const batches = Array.from({ length: 3 }, () => [randn([6, 2, 8, 8]), randint(0, 5, [6])] as [Tensor, Tensor]);
    manualSeed(34);
    await trainBoth(
      cnn,
      (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 }),
      batches,
      (m, x, y) => crossEntropy(m.forward(x) as Tensor, y),
      1e-3,
    );
  });

  it('Adam and AdamW step each parameter in one fused kernel, several parameters a dispatch', async () => {
    // four bindings a parameter (p, m, v, g)
    const perDispatch = Math.floor(gpu.device.limits.maxStorageBuffersPerShaderStage / 4);
    for (const make of [(m: Module) => new Adam(m.parameters(), { lr: 1e-2 }), (m: Module) => new AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0.1 })]) {
      const model = new TinyGpt().to('webgpu');
      const opt = make(model);
      for (const p of model.parameters()) p.grad = onesLike(p);
      const s0 = gpu.stats();
      opt.step(); // the first step also makes the zero state: one fill per state tensor
      const s1 = gpu.stats();
      opt.step();
      const s2 = gpu.stats();
      const n = model.parameters().length;
      expect(s2.dispatches - s1.dispatches, `${opt.constructor.name} dispatches per step`).toBe(Math.ceil(n / perDispatch));
      expect(s2.dispatches + s2.fusedKernels - s1.dispatches - s1.fusedKernels, 'Adam kernels').toBe(n);
      expect(s1.dispatches - s0.dispatches).toBeLessThanOrEqual(3 * n);
    }
  });

  it('setDefaultDevice makes new tensors and layers land on the GPU', async () => {
    setDefaultDevice('webgpu');
    try {
      expect(getDefaultDevice()).toBe('webgpu');
      expect(zeros([2]).device).toBe('webgpu');
      const lin = new Linear(3, 2);
      expect(lin.weight.device).toBe('webgpu');
      expect(lin.forward(randn([4, 3])).device).toBe('webgpu');
    } finally {
      setDefaultDevice('cpu');
    }
  });
});
