import { arange, argsort, cat, conv2d, convTranspose2d, cumsum, full, gather, geluGrad, leakyRelu, leakyReluGrad, manualSeed, maxPool2d, randint, randn, reluGrad, scatterAdd, siluGrad, sliceScatter, tensor, where, type Tensor } from '@dl/tensor';
import { BINARY_OPS, UNARY_OPS, runKernel, type ConvAttrs } from '@dl/tensor/internal';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasWebGPU, sameAsCpu, useWebGPU } from './test-utils.js';

// Kernel-by-kernel comparisons with the CPU backend on random inputs, strided views included.
describe.skipIf(!hasWebGPU)('webgpu kernels match the cpu backend', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  const x = (shape: readonly number[], seed = 1): Tensor => {
    manualSeed(seed);
    return randn(shape);
  };

  it('unary ops (contiguous, transposed, flipped)', async () => {
    const a = x([5, 7]).mul(3);
    for (const op of UNARY_OPS) {
      const f = (t: Tensor): Tensor => runKernel(op, [t], {}, t.shape, op === 'logicalNot' ? 'bool' : t.dtype);
      await sameAsCpu((d) => f(a.to(d)), 2e-4, 2e-5, op);
      await sameAsCpu((d) => f(a.to(d).transpose(0, 1)), 2e-4, 2e-5, `${op} transposed`);
      await sameAsCpu((d) => f(a.to(d).flip(1).slice(0, 1, 4)), 2e-4, 2e-5, `${op} flipped`);
    }
    const ints = tensor(new Int32Array([-3, 0, 4, -7, 9, 2]));
    for (const op of ['neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round'] as const) {
      await sameAsCpu((d) => runKernel(op, [ints.to(d)], {}, [6], 'int32'), 0, 0, `${op} int32`);
    }
  });

  it("gelu's fused backward (exact and tanh), with strided and broadcast gradients", async () => {
    const a = x([6, 9], 40).mul(3);
    const g = x([9, 6], 41);
    for (const approximate of ['none', 'tanh'] as const) {
      const f = (gt: Tensor, xt: Tensor): Tensor => geluGrad([gt, xt], { approximate });
      await sameAsCpu((d) => f(g.to(d).transpose(0, 1), a.to(d)), 2e-4, 2e-5, `geluGrad ${approximate}`);
      await sameAsCpu((d) => f(full([1, 1], 0.5, { device: d }).expand([6, 9]), a.to(d).flip(1)), 2e-4, 2e-5, `geluGrad ${approximate} broadcast`);
    }
    await sameAsCpu((d) => siluGrad([g.to(d).transpose(0, 1), a.to(d)]), 2e-4, 2e-5, 'siluGrad');
    await sameAsCpu((d) => siluGrad([full([1, 1], 0.5, { device: d }).expand([6, 9]), a.to(d).flip(1)]), 2e-4, 2e-5, 'siluGrad broadcast');
    await sameAsCpu((d) => reluGrad([g.to(d).transpose(0, 1), a.to(d)]), 0, 0, 'reluGrad');
    const special = tensor([NaN, Infinity, 3, NaN]);
    await sameAsCpu((d) => reluGrad([special.to(d), tensor([0, -1, 2, 1]).to(d)]), 0, 0, 'reluGrad of NaN and inf gradients');
    for (const s of [0.2, -1.5, 3]) {
      await sameAsCpu((d) => leakyRelu(a.to(d).transpose(0, 1), s), 0, 0, `leakyRelu ${s}`);
      await sameAsCpu((d) => leakyReluGrad([g.to(d).transpose(0, 1), a.to(d)], { negativeSlope: s }), 0, 0, `leakyReluGrad ${s}`);
    }
  });

  it('special values of unary ops', async () => {
    const v = tensor([0, -0, 1e-7, -1e-7, 25, -25, 100, -100, 0.5, 1.5, 2.5, -2.5, Infinity, -Infinity, NaN]);
    for (const op of ['sign', 'relu', 'log1p', 'expm1', 'tanh', 'sigmoid', 'softplus', 'round', 'erf', 'floor', 'abs'] as const) {
      await sameAsCpu((d) => runKernel(op, [v.to(d)], {}, v.shape, 'float32'), 2e-4, 1e-6, op);
    }
  });

  it('binary ops with broadcasting and int/bool dtypes', async () => {
    const a = x([4, 1, 6], 2).mul(4);
    const b = x([3, 1], 3).mul(2).add(0.5);
    for (const op of BINARY_OPS) {
      const compare = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr'].includes(op);
      const f = (p: Tensor, q: Tensor): Tensor => {
        const [pe, qe] = [p.expand([4, 3, 6]), q.expand([4, 3, 6])];
        return runKernel(op, [pe, qe], {}, [4, 3, 6], compare ? 'bool' : pe.dtype);
      };
      await sameAsCpu((d) => f(a.to(d), b.to(d)), 2e-4, 1e-5, op);
      const ia = a.int();
      const ib = b.int().add(op === 'pow' ? 3 : 0);
      await sameAsCpu((d) => f(ia.to(d), op === 'mod' ? ib.to(d).abs().add(1) : ib.to(d)), 0, 0, `${op} int32`);
    }
    const m = tensor([true, false, true]);
    const n = tensor([true, true, false]);
    await sameAsCpu((d) => m.to(d).logicalAnd(n.to(d)));
    await sameAsCpu((d) => m.to(d).eq(n.to(d)));
    await sameAsCpu((d) => m.to(d).add(n.to(d)), 0, 0, 'bool + bool');
  });

  it('where, cast, copy, full, arange', async () => {
    const a = x([3, 4], 4);
    const c = a.gt(0);
    await sameAsCpu((d) => where(c.to(d), a.to(d), a.to(d).mul(-2)));
    await sameAsCpu((d) => where(c.to(d), 1, 0));
    await sameAsCpu((d) => a.to(d).mul(3).int(), 0, 0, 'float -> int truncates');
    await sameAsCpu((d) => tensor([NaN, 2.7, -2.7]).to(d).int(), 0, 0, 'NaN -> 0');
    // out of int32 range: wraps modulo 2^32 like the CPU (JS ToInt32); infinities give 0
    const big = tensor([3e9, -3e9, 2147483648, -2147483904, 2147483520, 1e20, -1e20, 4294967296, Infinity, -Infinity, 65536 * 65535]);
    await sameAsCpu((d) => big.to(d).int(), 0, 0, 'float -> int out of range');
    await sameAsCpu((d) => a.to(d).bool(), 0, 0, 'float -> bool');
    await sameAsCpu((d) => a.to(d).gt(0).float(), 0, 0, 'bool -> float');
    await sameAsCpu((d) => a.to(d).transpose(0, 1).contiguous(), 0, 0, 'copy');
    await sameAsCpu((d) => full([2, 3], 2.5, { device: d }), 0, 0, 'full');
    await sameAsCpu((d) => full([2, 3], -7, { dtype: 'int32', device: d }), 0, 0, 'full int');
    await sameAsCpu((d) => full([2], true, { device: d }), 0, 0, 'full bool');
    await sameAsCpu((d) => arange(-3, 9, 0.5, { device: d }), 1e-6, 0, 'arange');
    await sameAsCpu((d) => arange(0, 10, 3, { dtype: 'int32', device: d }), 0, 0, 'arange int');
  });

  it('reductions over any dims, short and long rows', async () => {
    for (const shape of [[3, 5, 4], [2, 300], [700]]) {
      const a = x(shape, 5);
      for (const dims of [[0], [shape.length - 1], [...shape.keys()]]) {
        await sameAsCpu((d) => a.to(d).sum(dims), 1e-4, 1e-4, `sum ${dims}`);
        await sameAsCpu((d) => a.to(d).max(dims, true), 0, 0, `max ${dims}`);
        await sameAsCpu((d) => a.to(d).min(dims), 0, 0, `min ${dims}`);
        await sameAsCpu((d) => a.to(d).div(2).add(1).prod(dims), 1e-3, 1e-6, `prod ${dims}`);
      }
      await sameAsCpu((d) => a.to(d).argmax(-1), 0, 0, 'argmax');
      await sameAsCpu((d) => a.to(d).argmin(0), 0, 0, 'argmin');
      await sameAsCpu((d) => a.to(d).flip(-1).sum(-1), 1e-4, 1e-4, 'sum of a flipped view');
    }
    await sameAsCpu((d) => tensor([[1, NaN, 3], [2, 2, 1]]).to(d).max(1), 0, 0, 'NaN wins max');
    await sameAsCpu((d) => tensor([[1, 3, 3, 0], [NaN, 5, NaN, 1]]).to(d).argmax(1), 0, 0, 'first max, NaN first');
    const r1 = randint(0, 5, [3, 400]);
    const r2 = randint(-5, 5, [4, 6]);
    await sameAsCpu((d) => r1.to(d).argmax(1), 0, 0, 'ties in long rows');
    await sameAsCpu((d) => r2.to(d).sum(1), 0, 0, 'int sum');
    await sameAsCpu((d) => x([3, 4]).to(d).gt(0).sum(1), 0, 0, 'bool sum');
  });

  it('softmax, logSoftmax and cumsum along any dim', async () => {
    for (const [shape, dim] of [[[4, 9], 1], [[4, 9], 0], [[2, 600], 1], [[3, 4, 5], 1]] as [number[], number][]) {
      const a = x(shape, 6).mul(3);
      await sameAsCpu((d) => a.to(d).softmax(dim), 1e-4, 1e-6, `softmax ${shape} ${dim}`);
      await sameAsCpu((d) => a.to(d).logSoftmax(dim), 1e-4, 1e-5, `logSoftmax ${shape} ${dim}`);
      await sameAsCpu((d) => cumsum(a.to(d), dim), 1e-4, 1e-4, `cumsum ${shape} ${dim}`);
    }
    await sameAsCpu((d) => tensor([[-Infinity, -Infinity], [0, -Infinity]]).to(d).softmax(1), 0, 0, 'all -inf row');
    const r3 = randint(-3, 3, [2, 300]);
    await sameAsCpu((d) => cumsum(r3.to(d), 1), 0, 0, 'int cumsum');
  });

  it('matmul: sizes around the tiles, transposed and broadcast operands', async () => {
    for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [33, 17, 65], [64, 64, 64], [130, 70, 260], [257, 40, 300], [515, 37, 513], [512, 40, 516]]) {
      const a = x([m, k], 7);
      const b = x([k, n], 8);
      await sameAsCpu((d) => a.to(d).matmul(b.to(d)), 1e-4, 1e-4, `matmul ${m}x${k}x${n}`);
    }
    const a = x([2, 3, 6, 5], 9);
    const b = x([5, 6], 10);
    await sameAsCpu((d) => a.to(d).matmul(b.to(d)), 1e-4, 1e-4, 'batched x broadcast');
    await sameAsCpu((d) => a.to(d).transpose(-1, -2).matmul(a.to(d)), 1e-4, 1e-4, 'transposed batch');
    await sameAsCpu((d) => b.to(d).transpose(0, 1).matmul(b.to(d).flip(0)), 1e-4, 1e-4, 'flipped');
    // int32: exact, and wrapping modulo 2^32 like the CPU where an f32 accumulator would round
    const ia = randint(-3000, 3000, [2, 5, 70]);
    const ib = randint(-3000, 3000, [70, 9]);
    await sameAsCpu((d) => ia.to(d).matmul(ib.to(d)), 0, 0, 'int32 matmul');
    await sameAsCpu((d) => ia.to(d).mul(40000).matmul(ib.to(d).transpose(0, 1).contiguous().transpose(0, 1)), 0, 0, 'int32 matmul past 2^31');
    // few output tiles over a long K split K across workgroups
    await sameAsCpu((d) => x([6, 4100], 32).to(d).matmul(x([4100, 7], 33).to(d)), 1e-4, 1e-3, 'split K');
    await sameAsCpu((d) => x([3, 4, 2500], 34).to(d).matmul(x([3, 2500, 8], 35).to(d)), 1e-4, 1e-3, 'split K batched');
    // transposed float32 layouts take the vec4 paths along m (A) and k (B)
    for (const [m, k, n] of [[8, 12, 16], [68, 36, 72], [516, 20, 520]]) {
      const p = x([k, m], 30);
      const q = x([n, k], 31);
      await sameAsCpu((d) => p.to(d).transpose(0, 1).matmul(q.to(d).transpose(0, 1)), 1e-4, 1e-4, `aT @ bT ${m}x${k}x${n}`);
      await sameAsCpu((d) => p.to(d).transpose(0, 1).matmul(q.to(d).transpose(0, 1).contiguous()), 1e-4, 1e-4, `aT @ b ${m}x${k}x${n}`);
    }
  });

  it('conv2d forward and both gradients (stride, padding, dilation, groups)', async () => {
    const cases = [
      { x: [2, 3, 9, 8], w: [4, 3, 3, 3], o: { padding: 1 } },
      { x: [1, 4, 10, 11], w: [6, 2, 3, 2], o: { stride: 2, padding: [1, 0] as [number, number], dilation: [1, 2] as [number, number], groups: 2 } },
      { x: [2, 2, 5, 5], w: [3, 2, 1, 1], o: {} },
    ];
    for (const c of cases) {
      const xi = x(c.x, 11);
      const w = x(c.w, 12);
      await sameAsCpu((d) => conv2d(xi.to(d), w.to(d), c.o), 1e-4, 1e-4, 'conv2d');
      const y = conv2d(xi, w, c.o);
      const gy = x(y.shape, 13);
      const attrs = { stride: pair(c.o.stride, 1), padding: pair(c.o.padding, 0), dilation: pair(c.o.dilation, 1), groups: c.o.groups ?? 1 };
      await sameAsCpu((d) => runKernel('conv2dGradInput', [gy.to(d), w.to(d)], attrs, xi.shape, 'float32'), 1e-4, 1e-4, 'gradInput');
      await sameAsCpu((d) => runKernel('conv2dGradWeight', [xi.to(d), gy.to(d)], attrs, w.shape, 'float32'), 1e-4, 1e-4, 'gradWeight');
    }
    {
      // a long K (batch x pixels) with a small weight: split K
      const xs = x([8, 2, 20, 20], 40);
      const gy = x([8, 3, 20, 20], 41);
      const attrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as ConvAttrs;
      await sameAsCpu((d) => runKernel('conv2dGradWeight', [xs.to(d), gy.to(d)], attrs, [3, 2, 3, 3], 'float32'), 1e-4, 1e-3, 'gradWeight split K');
    }
    const xi = x([1, 3, 4, 5], 14);
    await sameAsCpu((d) => convTranspose2d(xi.to(d), x([3, 2, 3, 3], 15).to(d), { stride: 2, padding: 1 }), 1e-4, 1e-4, 'convTranspose2d');
    await sameAsCpu((d) => conv2d(xi.to(d).permute([0, 1, 3, 2]), x([2, 3, 2, 2], 16).to(d)), 1e-4, 1e-4, 'strided input');
  });

  it('maxPool2d indices', async () => {
    const a = x([2, 3, 9, 7], 17);
    await sameAsCpu((d) => maxPool2d(a.to(d), 2), 0, 0, 'maxPool2d 2');
    await sameAsCpu((d) => maxPool2d(a.to(d), 3, { stride: 2, padding: 1 }), 0, 0, 'maxPool2d 3 pad');
    const f = (t: Tensor): Tensor => runKernel('maxPool2dIndices', [t], { kernel: [2, 3], stride: [1, 2], padding: [1, 1], dilation: [2, 1] }, [2, 3, 8, 4], 'int32');
    await sameAsCpu((d) => f(a.to(d)), 0, 0, 'indices');
    await sameAsCpu((d) => f(a.to(d).round()), 0, 0, 'indices with ties');
  });

  it('gather, scatterAdd, argsort', async () => {
    const a = x([4, 6], 18);
    const idx = randint(0, 6, [4, 5]);
    await sameAsCpu((d) => gather(a.to(d), 1, idx.to(d)), 0, 0, 'gather dim 1');
    const i2 = randint(0, 6, [3, 4]);
    await sameAsCpu((d) => gather(a.to(d).transpose(0, 1), 0, i2.to(d)), 0, 0, 'gather strided');
    const src = x([4, 5], 19);
    const i3 = randint(0, 6, [4, 5]);
    const i4 = randint(0, 4, [3, 2]);
    await sameAsCpu((d) => scatterAdd(a.to(d), 1, i3.to(d), src.to(d)), 1e-6, 1e-6, 'scatterAdd dim 1');
    await sameAsCpu((d) => scatterAdd(a.to(d), 0, i4.to(d), src.to(d)), 1e-6, 1e-6, 'scatterAdd dim 0');
    await sameAsCpu((d) => scatterAdd(a.to(d).transpose(0, 1), 1, i4.to(d), src.to(d).flip(0)), 1e-6, 1e-6, 'scatterAdd strided');
    const ties = randint(0, 4, [3, 50]).float();
    const long = randint(0, 100, [2, 1500]).float();
    for (const desc of [false, true]) {
      await sameAsCpu((d) => argsort(ties.to(d), 1, desc), 0, 0, `argsort stable ${desc}`);
      await sameAsCpu((d) => argsort(x([7, 5], 20).to(d), 0, desc), 0, 0, `argsort dim 0 ${desc}`);
      await sameAsCpu((d) => argsort(long.to(d), 1, desc), 0, 0, `argsort long ${desc}`);
      await sameAsCpu((d) => argsort(tensor([3, NaN, 1, NaN, -2]).to(d), 0, desc), 0, 0, `argsort NaN ${desc}`);
    }
  });

  it('gather with an out-of-range index reports an IndexError at the next read', async () => {
    const a = x([2, 3]).to('webgpu');
    const bad = gather(a, 1, tensor(new Int32Array([0, 5, 1, 2]), { shape: [2, 2] }).to('webgpu'));
    await expect(bad.data()).rejects.toThrow(/out of range/);
    expect(Array.from(await a.data()).length).toBe(6);
  });

  it('cat, sliceScatter and in-place assign into views', async () => {
    const a = x([2, 3], 21);
    const b = x([2, 5], 22);
    await sameAsCpu((d) => cat([a.to(d), b.to(d), a.to(d).flip(1)], 1), 0, 0, 'cat');
    await sameAsCpu((d) => cat([a.to(d).int(), b.to(d).int()], 1), 0, 0, 'cat int');
    const base = x([5, 6], 23);
    await sameAsCpu((d) => sliceScatter(base.to(d), x([2, 3], 24).to(d), [1, 0], [3, 2]), 0, 0, 'sliceScatter');
    await sameAsCpu((d) => {
      const t = base.to(d).clone();
      t.slice(1, 1, 5, 2).copy_(x([5, 2], 25).to(d));
      t.slice(0, 0, 2).add_(1);
      return t;
    }, 0, 0, 'copy_ into a strided view');
    await sameAsCpu((d) => {
      const t = base.to(d).clone();
      t.copy_(t.flip(1));
      return t;
    }, 0, 0, 'aliasing assign');
  });

  it('randomUniform is bit-identical to the cpu, randomNormal within float error', async () => {
    for (const n of [1, 7, 1000]) {
      await sameAsCpu((d) => {
        manualSeed(42);
        return runKernel('randomUniform', [], { shape: [n], dtype: 'float32', device: d, key: [42, 0], counter: 5 }, [n], 'float32', d);
      }, 0, 0, 'uniform');
      await sameAsCpu((d) => {
        return runKernel('randomNormal', [], { shape: [n], dtype: 'float32', device: d, key: [7, 9], counter: 3 }, [n], 'float32', d);
      }, 1e-5, 1e-5, 'normal');
    }
    await sameAsCpu((d) => {
      manualSeed(123);
      return randn([3, 5], { device: d });
    }, 1e-5, 1e-5, 'randn with manualSeed');
  });
});

function pair(v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : v;
}
