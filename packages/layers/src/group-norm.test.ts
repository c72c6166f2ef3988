import { backward, noGrad } from '@dl/autograd';
import { DTypeError, ShapeError, getNumThreads, initThreads, kernelChoice, layerNorm, manualSeed, ones, randn, setCpuKernels, setNumThreads, tensor, zeros, type Tensor } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupNorm } from './group-norm.js';
import { GroupNorm } from './norm.js';
import { assertClose } from './test-helpers.js';

/** GroupNorm composed from the layer norm over groups and the affine map (the layer's form before the fused op). */
function composed(x: Tensor, G: number, w: Tensor, b: Tensor, eps: number, silu: boolean): Tensor {
  const rows = x.reshape([x.shape[0], G, -1]);
  const view = [1, x.shape[1], ...Array(x.ndim - 2).fill(1)];
  const y = layerNorm(rows, rows.shape[2], null, null, eps).reshape(x.shape as number[]).mul(w.reshape(view)).add(b.reshape(view));
  return silu ? y.silu() : y;
}

/** y, dx, dweight, dbias of sum(y r) through `f`. */
function run(f: (x: Tensor, w: Tensor, b: Tensor) => Tensor, x0: Tensor, w0: Tensor, b0: Tensor, r: Tensor) {
  const [x, w, b] = [x0, w0, b0].map((t) => t.detach().requiresGrad_());
  const y = f(x, w, b);
  backward(y.mul(r).sum());
  return { y, dx: x.grad!, dw: w.grad!, db: b.grad! };
}

/** Inputs of one case: x (shape), weight, bias and the output weights r, all float64. */
function inputs(shape: number[], seed: number, prep?: (t: Tensor) => Tensor) {
  manualSeed(seed);
  const f64 = { dtype: 'float64' as const };
  let x = randn(shape, f64);
  if (prep) x = prep(x);
  const C = x.shape[1];
  return { x, w: randn([C], f64), b: randn([C], f64), r: randn(x.shape as number[], f64) };
}

function compare(got: ReturnType<typeof run>, want: ReturnType<typeof run>, tol: { rtol: number; atol: number }): void {
  assertClose(got.y, want.y, 'y', tol);
  assertClose(got.dx, want.dx, 'dx', tol);
  assertClose(got.dw, want.dw, 'dweight', tol);
  assertClose(got.db, want.db, 'dbias', tol);
}

const CASES: [string, number[], number, ((t: Tensor) => Tensor)?][] = [
  ['[N, C, H, W], 2 groups', [3, 4, 5, 3], 2],
  ['[N, C, L], one group (layer norm over everything)', [2, 6, 7], 1],
  ['[N, C], a group per channel (instance norm of one value: y = bias)', [4, 3], 3],
  ['odd spatial size (whole vectors plus a tail in every channel)', [2, 8, 7, 7], 4],
  ['a permuted (non-contiguous) input', [3, 5, 4, 2], 4, (t) => t.permute([0, 2, 1, 3])],
  ['a group shifted far from 0 (the variance cancels without two passes)', [4, 2, 9], 1, (t) => t.mul(1e-2).add(1e2)],
];

describe('fused GroupNorm (layers.groupNorm)', () => {
  for (const silu of [false, true]) {
    for (const [what, shape, G, prep] of CASES) {
      it(`matches the composed form in float64, values and gradients${silu ? ', with SiLU' : ''}: ${what}`, () => {
        const { x, w, b, r } = inputs(shape, 3, prep);
        const want = run((xx, ww, bb) => composed(xx, G, ww, bb, 1e-5, silu), x, w, b, r);
        const got = run((xx, ww, bb) => groupNorm(xx, G, ww, bb, 1e-5, { silu }), x, w, b, r);
        compare(got, want, { rtol: 1e-9, atol: 1e-9 });
      });
    }
  }

  it('GroupNorm and forwardSilu agree with the composed float64 form in float32', () => {
    const { x, w, b, r } = inputs([4, 8, 6, 6], 5);
    const m = new GroupNorm(4, 8);
    noGrad(() => {
      m.weight!.copy_(w.cast('float32'));
      m.bias!.copy_(b.cast('float32'));
    });
    for (const silu of [false, true]) {
      const want = run((xx, ww, bb) => composed(xx, 4, ww, bb, 1e-5, silu), x, w, b, r);
      const xf = x.cast('float32').requiresGrad_();
      m.zeroGrad();
      const y = silu ? m.forwardSilu(xf) : m.forward(xf);
      backward(y.mul(r.cast('float32')).sum());
      const tol = { rtol: 1e-4, atol: 1e-4 };
      assertClose(y, want.y, 'y', tol);
      assertClose(xf.grad!, want.dx, 'dx', tol);
      assertClose(m.weight!.grad!, want.dw, 'dweight', tol);
      assertClose(m.bias!.grad!, want.db, 'dbias', tol);
    }
  });

  it('a layer without affine parameters keeps the composed form', () => {
    const { x } = inputs([2, 4, 3], 6);
    const m = new GroupNorm(2, 4, { affine: false });
    const f64 = { dtype: 'float64' as const };
    assertClose(m.forwardSilu(x), composed(x, 2, ones([4], f64), zeros([4], f64), 1e-5, true), 'y', { rtol: 1e-12, atol: 1e-12 });
  });

  it('names the op and every shape on bad input', () => {
    const x = randn([2, 6, 4]);
    const w = randn([6]);
    expect(() => groupNorm(x, 4, w, w, 1e-5)).toThrow(ShapeError);
    expect(() => groupNorm(x, 4, w, w, 1e-5)).toThrow(/layers\.groupNorm.*numGroups.*C=6.*x=\[2,6,4\]/);
    expect(() => groupNorm(x, 3, randn([4]), w, 1e-5)).toThrow(/weight must be \[6\].*got \[4\]/);
    expect(() => groupNorm(x, 3, w.cast('float64'), w, 1e-5)).toThrow(DTypeError);
    expect(() => new GroupNorm(3, 6).forwardSilu(randn([2, 5, 4]))).toThrow(/GroupNorm.*expected input \[N,6,\*\], got \[2,5,4\]/);
  });
});

describe('fused GroupNorm: WebAssembly SIMD kernels (float32) against the JS kernels', () => {
  const before = kernelChoice().name as 'js' | 'wasm';
  const threadsBefore = getNumThreads();
  beforeAll(() => setCpuKernels('wasm'));
  afterAll(() => {
    setCpuKernels(before);
    setNumThreads(threadsBefore);
  });

  /** The same case under the 'js' kernels (float64 arithmetic on the float32 data). */
  function onJs(f: () => ReturnType<typeof run>): ReturnType<typeof run> {
    setCpuKernels('js');
    try {
      return f();
    } finally {
      setCpuKernels('wasm');
    }
  }

  for (const threads of [1, 2]) {
    for (const silu of [false, true]) {
      for (const [shape, G] of [
        [[3, 8, 5, 5], 4], // 25 values a channel: six vectors and a tail
        [[2, 16, 12, 12], 8], // whole vectors only
        [[64, 12, 9, 9], 3], // enough for the threads: rows split into tasks
        [[2, 4, 1, 3], 2], // channels shorter than a vector
      ] as [number[], number][]) {
        it(`values and gradients: x ${JSON.stringify(shape)}, ${G} groups${silu ? ', SiLU' : ''}, ${threads} thread(s)`, async () => {
          await initThreads(threads);
          const { x, w, b, r } = inputs(shape, 9);
          const [xf, wf, bf, rf] = [x, w, b, r].map((t) => t.cast('float32'));
          const f = () => run((xx, ww, bb) => groupNorm(xx, G, ww, bb, 1e-5, { silu }), xf, wf, bf, rf);
          const want = onJs(f);
          const got = f();
          compare(got, want, { rtol: 2e-4, atol: 2e-4 });
        });
      }
    }
  }

  it('gives the same bits on 1 and 2 threads', async () => {
    const { x, w, b, r } = inputs([64, 12, 9, 9], 4);
    const [xf, wf, bf, rf] = [x, w, b, r].map((t) => t.cast('float32'));
    const f = () => run((xx, ww, bb) => groupNorm(xx, 3, ww, bb, 1e-5, { silu: true }), xf, wf, bf, rf);
    await initThreads(1);
    const one = f();
    await initThreads(2);
    const two = f();
    for (const k of ['y', 'dx', 'dw', 'db'] as const) expect(Array.from(two[k].dataSync())).toEqual(Array.from(one[k].dataSync()));
  });

  it('keeps NaN and infinity where they reach: a NaN in a group makes that group NaN only', () => {
    const data = randn([2, 4, 3, 3]).dataSync() as Float32Array;
    data[5] = Number.NaN; // sample 0, group 0
    const y = groupNorm(tensor(data, { shape: [2, 4, 3, 3] }), 2, randn([4]), randn([4]), 1e-5).dataSync();
    const row = 2 * 9;
    expect(Array.from(y.subarray(0, row)).every(Number.isNaN)).toBe(true);
    expect(Array.from(y.subarray(row)).every(Number.isFinite)).toBe(true);
  });
});
