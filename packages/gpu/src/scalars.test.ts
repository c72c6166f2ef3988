import { valueAndGrad } from '@dl/autograd';
import { clamp, tensor, where, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { roundToFloat16 } from './kernels/elementwise.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

describe('roundToFloat16', () => {
  it('rounds to the nearest float16, ties to even, overflowing to infinity past 65504', () => {
    const cases: [number, number][] = [
      [0.1, 0.0999755859375],
      [1 + 2 ** -11, 1], // a tie: 1 is even
      [1 + 3 * 2 ** -11, 1 + 2 ** -9], // a tie: rounds up to the even neighbour
      [-(1 + 2 ** -10), -(1 + 2 ** -10)],
      [65504, 65504],
      [65519, 65504],
      [65520, Infinity],
      [-70000, -Infinity],
      [2 ** -24, 2 ** -24], // the smallest subnormal
      [2 ** -25, 0], // half of it: a tie, to even (0)
      [3 * 2 ** -25, 2 ** -23],
      [-0, -0],
    ];
    for (const [v, want] of cases) expect(roundToFloat16(v), String(v)).toBe(want);
    expect(roundToFloat16(NaN)).toBeNaN();
  });
});

describe.skipIf(!hasWebGPU)('scalar operands on webgpu', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  /** dispatches and pipelines that `fn` adds */
  const cost = (fn: () => unknown): { dispatches: number; pipelines: number } => {
    const s0 = gpu.stats();
    fn();
    const s1 = gpu.stats();
    return { dispatches: s1.dispatches - s0.dispatches, pipelines: s1.pipelines - s0.pipelines };
  };

  it('x op number and where with a number are one dispatch each, with one pipeline for every value', async () => {
    const x = tensor([[1, -2, 3], [4, 5, -6]], { device: 'webgpu' });
    const c = x.gt(0); // compiles the gt-with-a-number pipeline
    expect(cost(() => x.mul(2)).dispatches).toBe(1);
    expect(cost(() => x.mul(0.5)), 'a new value reuses the pipeline').toEqual({ dispatches: 1, pipelines: 0 });
    expect(cost(() => x.gt(-1))).toEqual({ dispatches: 1, pipelines: 0 });
    expect(cost(() => where(c, x, 0)).dispatches).toBe(1);
    expect(cost(() => where(c, x, -Infinity)), 'a new value reuses the pipeline').toEqual({ dispatches: 1, pipelines: 0 });
    expect(Array.from(await x.mul(0.5).sub(1).data())).toEqual([-0.5, -2, 0.5, 1, 1.5, -4]);
    expect(Array.from(await where(c, 7, x).data())).toEqual([7, -2, 7, 7, 7, -6]);
  });

  // PyTorch 1.13's gradients (autograd's fixtures clampNumbers / clampTensors, checked on CPU in
  // autograd/src/rules/binary.test.ts): x's is g where min <= x <= max, a tensor bound's where x is beyond it
  it('clamp gradients at the bounds are PyTorch’s', async () => {
    const on = (v: number[]): Tensor => tensor(v, { device: 'webgpu' });
    const r7 = on([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    const numbers = valueAndGrad((x: Tensor) => clamp(x, -1, 1).mul(r7).sum())(on([-2, -1, -0.5, 0, 0.5, 1, 1.5]));
    expectClose(await numbers.grads.data(), [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0], 1e-6, 1e-7, 'number bounds dx');

    const r9 = on([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    const f = (x: Tensor, lo: Tensor, hi: Tensor): Tensor => clamp(x, lo, hi).mul(r9).sum();
    const { grads } = valueAndGrad(f, { argnums: [0, 1, 2] })(
      on([-2, -1, 0, 1, 2, -3, 0, 3, 0.5]),
      on([-1, -1, -1, -1, -1, 1, 1, 1, 0.5]),
      on([1, 1, 1, 1, 1, -1, -1, -1, 0.5]),
    );
    expectClose(await grads[0].data(), [0, 0.2, 0.3, 0.4, 0, 0, 0, 0, 0.9], 1e-6, 1e-7, 'tensor bounds dx');
    expectClose(await grads[1].data(), [0.1, 0, 0, 0, 0, 0, 0, 0, 0], 1e-6, 1e-7, 'tensor bounds dmin');
    expectClose(await grads[2].data(), [0, 0, 0, 0, 0.5, 0.6, 0.7, 0.8, 0], 1e-6, 1e-7, 'tensor bounds dmax');
  });
});
