import { afterAll, describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, getNumThreads, initThreads, kernelChoice, manualSeed, randn, setCpuKernels, softmaxGrad, type CpuKernels, type Tensor } from '../index.js';

const plain = (t: Tensor): number[] => Array.from(t.dataSync());

/** the composed rules' formulas */
const composed = (g: Tensor, y: Tensor, dim: number, log: boolean): Tensor => (log ? g.sub(y.exp().mul(g.sum(dim, true))) : y.mul(g.sub(g.mul(y).sum(dim, true))));

/** y = softmax (or logSoftmax) of random x with some entries masked, and a gradient g, float64 */
function inputs(shape: number[], dim: number, log: boolean, seed: number): { g: Tensor; y: Tensor } {
  manualSeed(seed);
  const x = randn(shape, { dtype: 'float64' }).mul(3).maskedFill(randn(shape, { dtype: 'float64' }).gt(1.4), -Infinity);
  return { g: randn(shape, { dtype: 'float64' }), y: log ? x.logSoftmax(dim) : x.softmax(dim) };
}

function expectClose(got: number[], want: number[], rtol: number, atol: number, what: string): void {
  const bad = got.findIndex((v, i) => !(Math.abs(v - want[i]) <= atol + rtol * Math.abs(want[i])));
  expect(bad, bad < 0 ? what : `${what} [${bad}]: ${got[bad]} vs ${want[bad]}`).toBe(-1);
}

describe('softmaxGrad', () => {
  const before = kernelChoice();
  const threads = getNumThreads();
  afterAll(async () => {
    setCpuKernels(before);
    await initThreads(threads);
  });

  for (const log of [false, true]) {
    const what = log ? 'logSoftmax' : 'softmax';
    for (const [shape, dim] of [
      [[6, 7], -1],
      [[3, 5, 4], 1], // a middle dim: rows strided by the inner size
      [[4, 6], 0],
      [[9], 0],
    ] as [number[], number][]) {
      it(`${what} along dim ${dim} of ${JSON.stringify(shape)} equals the composed form in float64`, () => {
        const { g, y } = inputs(shape, dim, log, 3);
        expectClose(plain(softmaxGrad([g, y], { dim, log })), plain(composed(g, y, dim, log)), 1e-12, 1e-14, what);
      });
    }

    it(`${what}: the float32 SIMD rows are within float32 rounding of float64, on 1 and 2 threads with the same bits`, async () => {
      setCpuKernels('wasm');
      const wasm = kernelChoice();
      let calls = 0;
      setCpuKernels({ ...wasm, softmaxGradRows: (...args) => (calls++, wasm.softmaxGradRows!(...args)) } as CpuKernels);
      for (const len of [3, 11, 64, 129, 1000]) {
        const { g, y } = inputs([Math.ceil(70000 / len), len], -1, log, len);
        const want = plain(softmaxGrad([g, y], { dim: -1, log }));
        const [g32, y32] = [g, y].map((t) => t.cast('float32'));
        await initThreads(1);
        const one = plain(softmaxGrad([g32, y32], { dim: -1, log }));
        await initThreads(2);
        const two = plain(softmaxGrad([g32, y32], { dim: -1, log }));
        expect(two.map(String)).toEqual(one.map(String));
        // float32 inputs, float32 lane sums in blocks, exp within 2 ulp: a few ulp of the terms
        expectClose(two, want, 2e-5, 2e-6, `${what} rows of ${len}`);
      }
      expect(calls).toBe(10);
    });
  }

  it('names the op, the shapes and the dtypes on bad input', () => {
    const y = randn([2, 3]);
    expect(() => softmaxGrad([randn([3, 2]), y], { dim: 1, log: false })).toThrow(ShapeError);
    expect(() => softmaxGrad([randn([3, 2]), y], { dim: 1, log: false })).toThrow(/softmaxGrad.*\[3, ?2\].*\[2, ?3\]/);
    expect(() => softmaxGrad([randn([2, 3], { dtype: 'float64' }), y], { dim: 1, log: false })).toThrow(DTypeError);
    expect(() => softmaxGrad([randn([2, 3]), y], { dim: 2, log: false })).toThrow(/softmaxGrad/);
  });
});
