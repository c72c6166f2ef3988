import { BINARY_OPS, UNARY_OPS } from '@dl/tensor/internal';
import { adamStep_, arange, binary, conv2d, convTranspose2d, manualSeed, matmul, randn, tensor, unary, where, zerosLike, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

// Elementwise fusion (kernels/fuse.ts): each case runs on a fusing backend ('webgpu') and on one
// that records every op alone ('webgpu-single'), from the same inputs, and wants the same bits.
describe.skipIf(!hasWebGPU)('elementwise fusion on webgpu', () => {
  let gpu: WebGPUBackend;
  let single: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
    single = await useWebGPU({ name: 'webgpu-single', fuseElementwise: false });
  });

  /** dispatches and fused kernels that `fn` adds on the fusing backend */
  const cost = (fn: () => unknown): { dispatches: number; fused: number } => {
    const s0 = gpu.stats();
    fn();
    const s1 = gpu.stats();
    return { dispatches: s1.dispatches - s0.dispatches, fused: s1.fusedKernels - s0.fusedKernels };
  };

  /** f on both backends (inputs made on the CPU and moved), results equal to the bit (NaN to NaN). */
  async function sameBits(f: (device: string) => Tensor | Tensor[], what: string): Promise<void> {
    const a = [f('webgpu')].flat();
    const b = [f('webgpu-single')].flat();
    for (let i = 0; i < b.length; i++) {
      expect(a[i].dtype, what).toBe(b[i].dtype);
      expect(Array.from(await a[i].data()), `${what} output ${i}`).toEqual(Array.from(await b[i].data()));
    }
  }

  it('records a chain of elementwise ops as one dispatch', () => {
    const x = randn([64, 33], { device: 'webgpu' });
    const y = randn([64, 33], { device: 'webgpu' });
    gpu.stats();
    expect(cost(() => x.mul(0.5).add(y).exp().sub(1).sigmoid())).toEqual({ dispatches: 1, fused: 4 });
    // a single op is recorded as without fusion
    expect(cost(() => x.neg())).toEqual({ dispatches: 1, fused: 0 });
  });

  it('gives the unfused bits for every unary op, each fed by a fused producer', async () => {
    manualSeed(3);
    const x0 = randn([7, 37]).mul(2);
    for (const op of UNARY_OPS) {
      await sameBits((d) => {
        const x = x0.to(d).mul(0.75).add(0.1);
        return unary(op, x).mul(1.5);
      }, op);
    }
  });

  it('gives the unfused bits for every binary op, with broadcast, strided and scalar operands', async () => {
    manualSeed(4);
    const x0 = randn([6, 40]).mul(3);
    const y0 = randn([40]).mul(2);
    const z0 = randn([40, 6]);
    for (const op of BINARY_OPS) {
      await sameBits((d) => {
        const fn = (a: Tensor, b: Tensor) => binary(op, a, b);
        const a = x0.to(d).add(0.25);
        // a fused value, a broadcast row, and a transposed view, all in one group
        return [fn(a, y0.to(d)), fn(z0.to(d).transpose(0, 1), a), fn(a, a.mul(2))];
      }, op);
    }
  });

  it('keeps the store-and-load rounding of float16, int32 and bool intermediates', async () => {
    manualSeed(5);
    const x0 = randn([9, 31]).mul(100);
    await sameBits((d) => {
      const x = x0.to(d);
      const h = x.mul(1.001).cast('float16');
      return h.mul(3).add(1).cast('float32').mul(0.5);
    }, 'float16');
    await sameBits((d) => {
      const x = x0.to(d);
      const m = x.gt(0);
      const i = x.mul(0.37).cast('int32');
      return [where(m, x, 0).mul(2), i.mul(3).add(i), m.logicalAnd(x.lt(50)).cast('float32').add(1)];
    }, 'int32 and bool');
  });

  it('reads a pending value through a transposed or broadcast view from memory, in a later dispatch', async () => {
    manualSeed(6);
    const x0 = randn([16, 16]);
    const c0 = randn([16, 1]);
    await sameBits((d) => {
      const a = x0.to(d).exp();
      // a transposed read of a: each thread wants another thread's element, so it cannot share a's dispatch
      const t = a.transpose(0, 1).add(a);
      const e = c0.to(d).mul(2);
      // e broadcast along a row is another shape: a new group
      return [t, a.mul(e.expand([16, 16]))];
    }, 'views');
    const a = randn([16, 16], { device: 'webgpu' });
    expect(cost(() => a.exp().transpose(0, 1).add(1)).dispatches).toBe(2);
  });

  it('orders fused work before other kernels, in-place writes and reads', async () => {
    manualSeed(7);
    const x0 = randn([32, 32]);
    const w0 = randn([32, 8]);
    await sameBits((d) => {
      const x = x0.to(d);
      const h = x.mul(2).add(1).relu();
      const y = matmul(h, w0.to(d)).tanh();
      // y2 reads x before the in-place add changes it
      const y2 = x.mul(3);
      x.add_(1);
      return [y, y2, x.mul(1)];
    }, 'ordering');
  });

  it('does not write a buffer the pending group still reads (a freed input reused from the pool)', async () => {
    manualSeed(8);
    const a0 = randn([4096]);
    const t0 = randn([4096]);
    await sameBits((d) => {
      const a = a0.to(d);
      const t = t0.to(d);
      // the group reads t reversed: thread g reads element 4095 - g
      const flipped = t.flip(0);
      const y = a.mul(2).add(flipped);
      flipped.dispose();
      t.dispose();
      // the pool hands t's buffer to w: sharing y's dispatch, thread g would overwrite t[g] before thread 4095 - g reads it
      const w = y.mul(3);
      return [y, w];
    }, 'freed input');
  });

  it('splits a group at the storage bindings per shader', async () => {
    manualSeed(9);
    const xs0 = Array.from({ length: 24 }, () => randn([5, 11]));
    await sameBits((d) => xs0.map((x) => x.to(d)).reduce((acc, x) => acc.add(x).mul(0.9)), 'many inputs');
    const xs = xs0.map((x) => x.to('webgpu'));
    const { dispatches } = cost(() => xs.reduce((acc, x) => acc.add(x)));
    expect(dispatches).toBeGreaterThan(1);
    expect(dispatches).toBeLessThan(23);
  });

  it('matches the CPU on a fused chain with integer arange, where and scalars', async () => {
    const cpu = arange(0, 100).mul(0.1).sin().add(where(arange(0, 100).gt(50), tensor(1), tensor(-1)));
    const g = arange(0, 100, 1, { device: 'webgpu' }).mul(0.1).sin().add(where(arange(0, 100, 1, { device: 'webgpu' }).gt(50), tensor(1).to('webgpu'), tensor(-1).to('webgpu')));
    expectClose(await g.data(), await cpu.data(), 1e-5, 1e-6);
  });

  it('runs the bias and activation after matmul and conv in their stores (the epilogue)', async () => {
    manualSeed(10);
    const x0 = randn([6, 20, 36]);
    const w0 = randn([36, 12]);
    const bias0 = randn([12]);
    const res0 = randn([6, 20, 12]);
    await sameBits((d) => {
      const y = matmul(x0.to(d), w0.to(d));
      const h = y.add(bias0.to(d)).gelu();
      // y, h and the residual sum are all read afterwards: every output is stored
      return [y, h, h.add(res0.to(d)), matmul(x0.to(d), w0.to(d)).mul(2).transpose(1, 2).exp()];
    }, 'matmul epilogue');
    const x = x0.to('webgpu');
    const w = w0.to('webgpu');
    const bias = bias0.to('webgpu');
    expect(cost(() => matmul(x, w).add(bias).gelu())).toEqual({ dispatches: 1, fused: 2 });
    // a transposed read of the product is another thread's element: a dispatch of its own
    expect(cost(() => matmul(x, w).transpose(1, 2).exp()).dispatches).toBe(2);

    const img0 = randn([2, 3, 9, 9]);
    const k0 = randn([5, 3, 3, 3]);
    const cb0 = randn([5]);
    await sameBits((d) => {
      const y = conv2d(img0.to(d), k0.to(d), { padding: 1 });
      const a = y.add(cb0.to(d).reshape([1, 5, 1, 1])).relu();
      // the transposed conv is the conv2dGradInput kernel
      const t = convTranspose2d(a, k0.to(d), { padding: 1 });
      return [y, a, t, t.sigmoid().mul(img0.to(d))];
    }, 'conv epilogues');
    const img = img0.to('webgpu');
    const k = k0.to('webgpu');
    const cb = cb0.to('webgpu').reshape([1, 5, 1, 1]);
    expect(cost(() => conv2d(img, k, { padding: 1 }).add(cb).relu())).toEqual({ dispatches: 1, fused: 2 });
  });

  it('keeps the operands of a GEMM intact: a freed operand is not reused for its epilogue', async () => {
    manualSeed(11);
    const a0 = randn([64, 64]);
    const b0 = randn([64, 64]);
    await sameBits((d) => {
      const a = a0.to(d).mul(1);
      const b = b0.to(d);
      const y = matmul(a, b);
      a.dispose();
      // z's output may be a's buffer, which the matmul still reads: it must not share its dispatch
      const z = y.add(1);
      return [y, z];
    }, 'freed operand');
  });

  it('records consecutive Adam steps with the same hyperparameters as one dispatch per binding budget', async () => {
    manualSeed(12);
    const shapes = [[33, 7], [7], [300], [5, 5, 3], [1], [64, 64], [9]];
    const ps0 = shapes.map((sh) => randn(sh));
    const gs0 = shapes.map((sh) => randn(sh));
    const hyper = { beta1: 0.9, beta2: 0.999, stepSize: 1e-2, sqrtBc2: 0.03, eps: 1e-8, decay: 0.999 };
    const run = (d: string, count?: (f: () => void) => void): Tensor[] => {
      const ps = ps0.map((p) => p.to(d));
      const gs = gs0.map((g) => g.to(d));
      const ms = ps.map((p) => zerosLike(p));
      const vs = ps.map((p) => zerosLike(p));
      const step = () => ps.forEach((p, i) => expect(adamStep_(p, gs[i], ms[i], vs[i], hyper)).toBe(true));
      step();
      if (count) count(step);
      else step();
      // read after the in-place steps: the pending group is recorded first
      return [...ps.map((p) => p.mul(1)), ...ms, ...vs];
    };
    const per = Math.floor(gpu.device.limits.maxStorageBuffersPerShaderStage / 4);
    await sameBits(
      (d) =>
        d === 'webgpu'
          ? run(d, (step) => expect(cost(step)).toEqual({ dispatches: Math.ceil(shapes.length / per), fused: shapes.length - Math.ceil(shapes.length / per) }))
          : run(d),
      'adam',
    );
    // another learning rate (a second parameter group) starts a new dispatch
    const p = randn([10], { device: 'webgpu' });
    const q = randn([10], { device: 'webgpu' });
    const [gp, mp, vp, gq, mq, vq] = [p, p, p, q, q, q].map((t) => zerosLike(t));
    expect(cost(() => (adamStep_(p, gp, mp, vp, hyper), adamStep_(q, gq, mq, vq, { ...hyper, stepSize: 2e-2 }))).dispatches).toBe(2);
  });

  it('groups in-place ops that apply one value to whole float32 tensors (gradient clipping)', async () => {
    manualSeed(13);
    const shapes = [[40, 3], [3], [1000], [7, 7]];
    const xs0 = shapes.map((sh) => randn(sh));
    const c0 = tensor([0.37]);
    const run = (d: string, count?: (f: () => void) => void): Tensor[] => {
      const xs = xs0.map((x) => x.to(d).mul(1));
      const c = c0.to(d).mul(1);
      const scale = () => {
        for (const x of xs) x.add_(0.5);
        for (const x of xs) x.mul_(c.expand([...x.shape]));
      };
      if (count) count(scale);
      else scale();
      // c is the first group's operand: scaling it starts a new group, after the reads
      c.mul_(2);
      for (const x of xs) x.mul_(c.expand([...x.shape]));
      return [...xs, c];
    };
    const per = gpu.device.limits.maxStorageBuffersPerShaderStage - 1;
    await sameBits(
      (d) => (d === 'webgpu' ? run(d, (scale) => expect(cost(scale).dispatches).toBe(2 * Math.ceil(shapes.length / per))) : run(d)),
      'in place',
    );
    // a destination that is another member's operand is written in a dispatch of its own (other
    // workgroups read it: lavapipe runs them in order, GPUs do not, so the count is what is checked)
    const a = randn([8], { device: 'webgpu' });
    const c = tensor([3]).to('webgpu');
    expect(cost(() => (a.mul_(c.expand([8])), c.mul_(2))).dispatches).toBe(2);
    expect(cost(() => (c.mul_(2), a.mul_(c.expand([8])))).dispatches).toBe(2);
    expect(cost(() => (a.mul_(2), c.mul_(2))).dispatches).toBe(1);
  });
});
