import { backward } from '@dl/autograd';
import { DTypeError, ShapeError, getNumThreads, initThreads, kernelChoice, manualSeed, ones, randn, setCpuKernels, setNumThreads, tensor, type Tensor } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmBatchNormFits } from './batch-norm-wasm.js';
import { batchNorm } from './batch-norm.js';
import { BatchNorm1d, BatchNorm2d } from './norm.js';
import { assertClose } from './test-helpers.js';

/** Batch norm composed from elementwise ops and reductions (the layer's form before the fused ops). */
function composed(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const dims = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  const view = [1, x.shape[1], ...Array(x.ndim - 2).fill(1)];
  const mean = x.mean(dims, true);
  const c = x.sub(mean);
  const v = c.mul(c).mean(dims, true);
  return c.mul(v.add(eps).rsqrt()).mul(w.reshape(view)).add(b.reshape(view));
}

/** y, dx, dweight, dbias of sum(y r) through `f`, in float64. */
function run(f: (x: Tensor, w: Tensor, b: Tensor) => Tensor, x0: Tensor, w0: Tensor, b0: Tensor, r: Tensor) {
  const [x, w, b] = [x0, w0, b0].map((t) => t.detach().requiresGrad_());
  const y = f(x, w, b);
  backward(y.mul(r).sum());
  return { y, dx: x.grad!, dw: w.grad!, db: b.grad! };
}

describe('fused batch norm', () => {
  const cases: [string, number[], ((t: Tensor) => Tensor)?][] = [
    ['[N, C]', [7, 3]],
    ['[N, C, L]', [4, 5, 6]],
    ['[N, C, H, W]', [3, 4, 5, 2]],
    ['a permuted (non-contiguous) [N, C, H, W]', [3, 5, 4, 2], (t) => t.permute([0, 2, 1, 3])],
    ['one channel, shifted far from 0 (the variance cancels without two passes)', [16, 1, 3], (t) => t.mul(1e-3).add(1e3)],
  ];
  for (const [what, shape, prep] of cases) {
    it(`matches the composed form in float64, values and gradients: ${what}`, () => {
      manualSeed(3);
      let x = randn(shape, { dtype: 'float64' });
      if (prep) x = prep(x);
      const C = x.shape[1];
      const w = randn([C], { dtype: 'float64' });
      const b = randn([C], { dtype: 'float64' });
      const r = randn(x.shape as number[], { dtype: 'float64' });
      const want = run((xx, ww, bb) => composed(xx, ww, bb, 1e-5), x, w, b, r);
      const got = run((xx, ww, bb) => batchNorm(xx, ww, bb, 1e-5).y, x, w, b, r);
      const tol = { rtol: 1e-9, atol: 1e-9 };
      assertClose(got.y, want.y, 'y', tol);
      assertClose(got.dx, want.dx, 'dx', tol);
      assertClose(got.dw, want.dw, 'dweight', tol);
      assertClose(got.db, want.db, 'dbias', tol);
    });
  }

  it('returns the batch mean and biased variance per channel', () => {
    manualSeed(1);
    const x = randn([6, 3, 4], { dtype: 'float64' });
    const { mean, variance } = batchNorm(x, null, null, 1e-5);
    assertClose(mean, x.mean([0, 2]), 'mean', { rtol: 1e-12, atol: 1e-12 });
    assertClose(variance, x.sub(x.mean([0, 2], true)).square().mean([0, 2]), 'variance', { rtol: 1e-12, atol: 1e-12 });
  });

  it('float32 layers agree with the float64 composed form (affine and not, with and without running statistics)', () => {
    manualSeed(5);
    const x = randn([8, 4, 3, 3]);
    for (const bn of [new BatchNorm2d(4), new BatchNorm2d(4, { affine: false }), new BatchNorm2d(4, { trackRunningStats: false })]) {
      const xd = x.detach().requiresGrad_();
      const y = bn.forward(xd);
      backward(y.square().sum());
      const x64 = x.cast('float64').detach().requiresGrad_();
      const want = composed(x64, ones([4], { dtype: 'float64' }), ones([4], { dtype: 'float64' }).mul(0), 1e-5);
      backward(want.square().sum());
      assertClose(y.cast('float64'), want, 'y', { rtol: 1e-4, atol: 1e-5 });
      assertClose(xd.grad!.cast('float64'), x64.grad!, 'dx', { rtol: 1e-3, atol: 1e-4 });
    }
  });

  it('a 1-d layer updates its running statistics from the fused statistics', () => {
    manualSeed(2);
    const x = randn([10, 3]);
    const bn = new BatchNorm1d(3, { momentum: 0.5 });
    bn.forward(x);
    assertClose(bn.runningMean!, x.mean(0).mul(0.5), 'running_mean', { rtol: 1e-5, atol: 1e-6 });
    assertClose(bn.runningVar!, x.var(0).mul(0.5).add(0.5), 'running_var', { rtol: 1e-5, atol: 1e-6 });
  });

  it('names the op and every shape on bad input', () => {
    const x = randn([2, 3, 4]);
    expect(() => batchNorm(x, ones([4]), null, 1e-5)).toThrow(ShapeError);
    expect(() => batchNorm(x, ones([4]), null, 1e-5)).toThrow('layers.batchNorm: weight must be [3] for x [2,3,4], got [4]; x=[2,3,4] stats=[2,3] weight=[4] bias=[3]');
    expect(() => batchNorm(randn([3]), null, null, 1e-5)).toThrow('layers.batchNormStats: x must be (N, C, *), got [3]; x=[3]');
    expect(() => batchNorm(x, ones([3], { dtype: 'float64' }), null, 1e-5)).toThrow(DTypeError);
  });
});

describe('fused batch norm: WebAssembly SIMD kernels (float32) against float64', () => {
  const before = kernelChoice().name as 'js' | 'wasm';
  const threadsBefore = getNumThreads();
  beforeAll(() => setCpuKernels('wasm'));
  afterAll(() => {
    setCpuKernels(before);
    setNumThreads(threadsBefore);
  });

  /** x, weight, bias and the output weights r of one case, float64 */
  function inputs(shape: number[], seed: number) {
    manualSeed(seed);
    const f64 = { dtype: 'float64' as const };
    const C = shape[1];
    return { x: randn(shape, f64).mul(2).add(0.5), w: randn([C], f64), b: randn([C], f64), r: randn(shape, f64) };
  }
  const f32 = (ts: Tensor[]) => ts.map((t) => t.cast('float32'));
  const fused = (xx: Tensor, ww: Tensor, bb: Tensor) => batchNorm(xx, ww, bb, 1e-5).y;

  for (const threads of [1, 2]) {
    for (const shape of [
      [3, 5, 5, 5], // 25 values a run: six vectors and a tail
      [4, 8, 4, 4], // whole vectors only
      [64, 12, 9, 9], // enough for the threads: channels split into tasks
      [5, 3, 11], // [N, C, L]
      [4, 33, 128, 128], // more than a chunk of the kernel memory: channels in two chunks
    ]) {
      it(`values, statistics and gradients: x ${JSON.stringify(shape)}, ${threads} thread(s)`, async () => {
        await initThreads(threads);
        const { x, w, b, r } = inputs(shape, 5);
        const [xf, wf, bf, rf] = f32([x, w, b, r]);
        expect(wasmBatchNormFits(xf.dataSync(), { N: shape[0], C: shape[1], S: shape.slice(2).reduce((p, q) => p * q, 1) })).toBe(true);
        // the reference: float64 from the float32 values
        const [x64, w64, b64, r64] = [xf, wf, bf, rf].map((t) => t.cast('float64'));
        const want = run(fused, x64, w64, b64, r64);
        const got = run(fused, xf, wf, bf, rf);
        const tol = { rtol: 2e-4, atol: 2e-4 };
        assertClose(got.y, want.y, 'y', tol);
        assertClose(got.dx, want.dx, 'dx', tol);
        assertClose(got.dw, want.dw, 'dweight', tol);
        assertClose(got.db, want.db, 'dbias', tol);
        const [s32, s64] = [xf, x64].map((t) => batchNorm(t, null, null, 1e-5));
        assertClose(s32.mean, s64.mean, 'mean', { rtol: 1e-6, atol: 1e-6 });
        assertClose(s32.variance, s64.variance, 'variance', { rtol: 1e-5, atol: 1e-6 });
      });
    }
  }

  it('gives the same bits on 1 and 2 threads', async () => {
    const [x, w, b, r] = f32(Object.values(inputs([64, 12, 9, 9], 8)));
    await initThreads(1);
    const one = run(fused, x, w, b, r);
    await initThreads(2);
    const two = run(fused, x, w, b, r);
    for (const k of ['y', 'dx', 'dw', 'db'] as const) expect(Array.from(two[k].dataSync())).toEqual(Array.from(one[k].dataSync()));
  });

  it('keeps the two-pass variance on a channel far from 0', () => {
    const x = randn([16, 2, 8, 8]).mul(1e-2).add(1e3);
    const { variance } = batchNorm(x, null, null, 1e-5);
    assertClose(variance, x.cast('float64').sub(x.cast('float64').mean([0, 2, 3], true)).square().mean([0, 2, 3]), 'variance', { rtol: 1e-3, atol: 1e-9 });
  });

  it('keeps NaN where it reaches: a NaN in a channel makes that channel NaN only', () => {
    const data = randn([2, 3, 4, 4]).dataSync() as Float32Array;
    data[16 + 5] = Number.NaN; // sample 0, channel 1
    const y = batchNorm(tensor(data, { shape: [2, 3, 4, 4] }), randn([3]), randn([3]), 1e-5).y.dataSync();
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 3; c++) {
        const run = Array.from(y.subarray((n * 3 + c) * 16, (n * 3 + c + 1) * 16));
        expect(run.every(c === 1 ? Number.isNaN : Number.isFinite)).toBe(true);
      }
    }
  });
});
