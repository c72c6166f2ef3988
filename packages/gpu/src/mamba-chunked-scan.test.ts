// @dl/mamba's chunked WGSL selective scan at the lengths its tiling turns on: one step (L = 1),
// one chunk per step (L <= 64), chunks of several steps with a last partial chunk and empty ones
// (L = 77), three blocks with a partial last one (L = 600), state counts that are not a multiple
// of the state group (N = 5, 12), fixed and input-dependent B/C, with and without z and the last
// state; the backward's slices of channels (a small scratch budget) give the same packed gradient.
// Reference: the CPU kernel in float64, itself checked against the step-by-step selectiveScanRef.
import { backward } from '@dl/autograd';
import { selectiveScan } from '@dl/mamba';
import { cat, defineOp, manualSeed, rand, randn, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradSizes, type ScanAttrs, type ScanDims } from '../../mamba/src/scan-layout.js';
import { backwardProgram, backwardSlice, scanTiling } from '../../mamba/src/selective-scan-wgsl.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

interface Case {
  batch: number;
  D: number;
  L: number;
  N: number;
  varB: boolean;
  varC: boolean;
  z: boolean;
  last: boolean;
  softplus: boolean;
}

/**
 * Mamba-like inputs (float32 values, so CPU float64 and WebGPU see the same numbers); without the
 * softplus dt = delta + deltaBias is kept positive, else the state grows past float32 over L steps.
 */
function inputs({ batch, D, L, N, varB, varC, softplus }: Case) {
  return {
    u: randn([batch, D, L]),
    delta: softplus ? randn([batch, D, L]).mul(0.5) : rand([batch, D, L]).mul(0.5).add(0.05),
    A: rand([D, N]).mul(-2).sub(0.2),
    B: varB ? randn([batch, N, L]) : randn([D, N]),
    C: varC ? randn([batch, N, L]) : randn([D, N]),
    D: randn([D]),
    z: randn([batch, D, L]),
    deltaBias: softplus ? randn([D]).mul(0.3) : rand([D]).mul(0.1),
  };
}

type Inputs = ReturnType<typeof inputs>;

/** y, the last state and every input's gradient of sum(y w) (+ sum(lastState ws)) on `device`. */
function run(cpu: Inputs, v: Case, w: Tensor, ws: Tensor, device: string, dtype: 'float32' | 'float64') {
  const x = Object.fromEntries(Object.entries(cpu).map(([k, t]) => [k, t.cast(dtype).to(device).requiresGrad_()])) as Inputs;
  const out = selectiveScan(x.u, x.delta, x.A, x.B, x.C, x.D, { z: v.z ? x.z : null, deltaBias: x.deltaBias, deltaSoftplus: v.softplus, returnLastState: true });
  const loss = out.y.mul(w.cast(dtype).to(device)).sum().add(v.last ? out.lastState.mul(ws.cast(dtype).to(device)).sum() : 0);
  backward(loss);
  return { out, x };
}

describe.skipIf(!hasWebGPU)('@dl/mamba chunked selective scan on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  const cases: Case[] = [
    { batch: 2, D: 3, L: 1, N: 4, varB: true, varC: true, z: true, last: true, softplus: true },
    { batch: 2, D: 2, L: 40, N: 4, varB: false, varC: false, z: false, last: false, softplus: true },
    { batch: 1, D: 3, L: 77, N: 12, varB: false, varC: true, z: false, last: true, softplus: false },
    { batch: 2, D: 2, L: 600, N: 5, varB: true, varC: false, z: true, last: true, softplus: true },
  ];
  for (const v of cases) {
    const { chunk, blocks } = scanTiling(v.L, v.N);
    it(`L=${v.L} (${chunk} step(s) per chunk, ${blocks} block(s)), N=${v.N}, B ${v.varB ? 'input-dependent' : 'fixed'}, C ${v.varC ? 'input-dependent' : 'fixed'}${v.z ? ', z' : ''}${v.last ? ', last state' : ''}: the CPU kernel's y, last state and gradients`, async () => {
      manualSeed(21);
      const cpu = inputs(v);
      const w = randn([v.batch, v.D, v.L]);
      const ws = randn([v.batch, v.D, v.N]);
      const c = run(cpu, v, w, ws, 'cpu', 'float64');
      const g = run(cpu, v, w, ws, 'webgpu', 'float32');
      expect(g.out.y.device).toBe('webgpu');
      expectClose(await g.out.y.data(), c.out.y.dataSync(), 2e-4, 2e-5, 'y');
      expectClose(await g.out.lastState.data(), c.out.lastState.dataSync(), 2e-4, 2e-5, 'lastState');
      for (const k of Object.keys(cpu) as (keyof Inputs)[]) {
        if (k === 'z' && !v.z) continue;
        expectClose(await (g.x[k].grad as Tensor).data(), (c.x[k].grad as Tensor).dataSync(), 1e-3, 1e-4, `d${k}`);
      }
    });
  }

  it('the backward in slices of channels (a small scratch budget) gives the packed gradient of the CPU kernel', async () => {
    manualSeed(22);
    const v: Case = { batch: 2, D: 5, L: 37, N: 6, varB: true, varC: true, z: true, last: false, softplus: true };
    const dims: ScanDims = { batch: v.batch, D: v.D, L: v.L, N: v.N, varB: true, varC: true, hasZ: true };
    const budget = 2 * v.batch * v.N * v.L * 2 * 4; // two channels per slice: slices of 2, 2, 1
    expect(backwardSlice(dims, budget)).toBe(2);
    const program = backwardProgram(dims, { deltaSoftplus: true, returnLastState: false }, budget);
    expect(program.passes.map((p) => p.entryPoint)).toEqual(['channel', 'sliceSum', 'channel', 'sliceSum', 'channel', 'sliceSum', 'batchSum']);
    const sliced = defineOp<ScanAttrs>({
      name: 'test.mambaScanBackwardSliced',
      differentiable: false,
      inferOutput: (xs) => ({ shape: [gradSizes(dims).reduce((a, b) => a + b, 0)], dtype: xs[0].dtype }),
      wgsl: (_xs, attrs) => backwardProgram(dims, attrs, budget),
    });
    const cpu = inputs(v);
    const w = randn([v.batch, v.D, v.L]);
    const c = run(cpu, v, w, randn([v.batch, v.D, v.N]), 'cpu', 'float64');
    const x = cpu;
    const packed = sliced([x.u, x.delta, x.A, x.B, x.C, x.D, x.deltaBias, x.z, w].map((t) => t.to('webgpu')), { deltaSoftplus: true, returnLastState: false });
    const keys = ['u', 'delta', 'A', 'B', 'C', 'D', 'deltaBias', 'z'] as const;
    const expected = cat(keys.map((k) => (c.x[k].grad as Tensor).reshape([-1])), 0);
    expectClose(await packed.data(), expected.dataSync(), 1e-3, 1e-4, 'packed gradient');
  });
});
