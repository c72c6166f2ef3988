import { afterEach, describe, expect, it } from 'vitest';
import { type CpuKernels, kernelChoice, layerNorm, setCpuKernels, tensor } from '../../index.js';
import { runKernel } from '../../internal.js';
import { layerNormGradInputKernel, layerNormKernel } from '../norm.js';
import { layerNormRowsWasm, setNumThreads } from './index.js';
import { onThreads, seeded } from './test-util.js';

/** The first index where a and b differ (Object.is), or -1. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const info = (a: Float32Array, rows: number, len: number) => ({ data: a, shape: [rows, len], strides: [len, 1], offset: 0, dtype: 'float32' as const });

/** The JS kernels' layer norm of x's rows and its input gradient for g (the reference). */
function reference(x: Float32Array, g: Float32Array, rows: number, len: number): ArrayLike<number>[] {
  const out = { shape: [rows, len], dtype: 'float32' as const };
  return [
    layerNormKernel([info(x, rows, len)], { axis: 1, eps: 1e-5 }, out) as ArrayLike<number>,
    layerNormGradInputKernel([info(g, rows, len), info(x, rows, len)], { axis: 1, eps: 1e-5 }, out) as ArrayLike<number>,
  ];
}

describe('layerNormRowsWasm', () => {
  afterEach(() => setCpuKernels('wasm'));

  it('equals the JS layer norm kernel and its input gradient bit for bit, odd row lengths and rows longer than a block', () => {
    const rand = seeded(3);
    setCpuKernels('js'); // the reference: the JS loops of ../norm.ts
    for (const [rows, len] of [[1, 1], [3, 2], [2, 3], [5, 4], [4, 5], [3, 7], [6, 33], [2, 4704], [2, 20001]]) {
      const n = rows * len;
      // an offset mean and a wide spread: the float64 sums must match, not only the float32 results
      const x = rand(n).map((v) => 40 * v + 7);
      const g = rand(n);
      const [want, wantG] = reference(x, g, rows, len);
      const got = new Float32Array(n).fill(NaN);
      const gotG = new Float32Array(n).fill(NaN);
      layerNormRowsWasm(x, null, got, rows, len, 1e-5);
      layerNormRowsWasm(x, g, gotG, rows, len, 1e-5);
      expect(firstDiff(got, want), `forward [${rows}, ${len}]`).toBe(-1);
      expect(firstDiff(gotG, wantG), `gradient [${rows}, ${len}]`).toBe(-1);
    }
  });

  it('runs for float32 layerNorm without weight and bias on the wasm kernels; with a weight the JS loop runs, same results', () => {
    const x = tensor(Array.from({ length: 6 * 10 }, (_, i) => Math.sin(i) * 3), { dtype: 'float32' }).reshape([6, 10]);
    const g = tensor(Array.from({ length: 6 * 10 }, (_, i) => Math.cos(i * 0.7)), { dtype: 'float32' }).reshape([6, 10]);
    const w = tensor(Array.from({ length: 10 }, (_, i) => 0.5 + i / 10), { dtype: 'float32' });
    const run = () => [
      layerNorm(x, 10, null, null, 1e-5).dataSync(),
      layerNorm(x, 10, w, null, 1e-5).dataSync(),
      runKernel('layerNormGradInput', [g, x], { axis: 1, eps: 1e-5 }, x.shape, 'float32').dataSync(),
      runKernel('layerNormGradInput', [g, x, w], { axis: 1, eps: 1e-5 }, x.shape, 'float32').dataSync(),
    ].map((a) => Array.from(a));
    setCpuKernels('wasm');
    const wasm = kernelChoice();
    const calls: string[] = [];
    const spy: CpuKernels = { ...wasm, layerNormRows: (x, g, ...rest) => (calls.push(g ? 'grad' : 'forward'), wasm.layerNormRows!(x, g, ...rest)) };
    setCpuKernels(spy);
    const simd = run();
    expect(calls).toEqual(['forward', 'grad']);
    setCpuKernels('js');
    expect(simd).toEqual(run());
  });

  describe('on two threads', () => {
    onThreads(2);

    it('gives the bits of one thread and of the JS kernels, forward and gradient, past the parallel threshold', () => {
      const rand = seeded(5);
      setCpuKernels('js');
      // GroupNorm-like rows in one and in two threaded blocks, long rows one per task, short rows
      for (const [rows, len] of [[128, 1568], [200, 1568], [5, 20001], [3000, 33]]) {
        const n = rows * len;
        const x = rand(n).map((v) => 40 * v + 7);
        const g = rand(n);
        const [want, wantG] = reference(x, g, rows, len);
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const got = new Float32Array(n).fill(NaN);
          const gotG = new Float32Array(n).fill(NaN);
          layerNormRowsWasm(x, null, got, rows, len, 1e-5);
          layerNormRowsWasm(x, g, gotG, rows, len, 1e-5);
          expect(firstDiff(got, want), `forward [${rows}, ${len}] ${threads} threads`).toBe(-1);
          expect(firstDiff(gotG, wantG), `gradient [${rows}, ${len}] ${threads} threads`).toBe(-1);
        }
      }
    });
  });
});
