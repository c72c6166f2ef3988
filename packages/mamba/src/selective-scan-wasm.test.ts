import { backward } from '@dl/autograd';
import { getNumThreads, initThreads, kernelChoice, manualSeed, rand, randn, setCpuKernels, setNumThreads, type Tensor } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectiveScan } from './index.js';
import { wasmScanFits } from './selective-scan-wasm.js';
import { expectClose } from './test-helpers.js';

const NAMES = ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias'];

/** y, the last state and every input's gradient of one scan, in the inputs' dtype. */
function run(x: Record<string, Tensor>, opts: { z: boolean; softplus: boolean }, w: Tensor, ws: Tensor): Tensor[] {
  const params = NAMES.map((n) => x[n].detach().requiresGrad_());
  const [u, delta, A, B, C, D, z, deltaBias] = params;
  const r = selectiveScan(u, delta, A, B, C, D, { z: opts.z ? z : null, deltaBias, deltaSoftplus: opts.softplus, returnLastState: true });
  backward(r.y.mul(w.cast(u.dtype)).sum().add(r.lastState.mul(ws.cast(u.dtype)).sum()));
  return [r.y, r.lastState, ...params.map((p) => p.grad ?? p.mul(0))];
}

describe('selectiveScan (WebAssembly SIMD kernel, float32)', () => {
  const before = kernelChoice().name as 'js' | 'wasm';
  beforeAll(() => setCpuKernels('wasm'));
  afterAll(() => setCpuKernels(before));

  for (const c of [
    { batch: 2, D: 3, L: 13, N: 8, z: true, softplus: true, deltaScale: 0.5, threads: 1 },
    { batch: 2, D: 3, L: 13, N: 8, z: true, softplus: true, deltaScale: 0.5, threads: 2 },
    { batch: 1, D: 2, L: 1, N: 4, z: false, softplus: false, deltaScale: 0.5, threads: 1 },
    { batch: 3, D: 2, L: 37, N: 16, z: true, softplus: true, deltaScale: 12, threads: 1 }, // softplus' tails: dt from e^-30 to 30
    { batch: 3, D: 5, L: 37, N: 16, z: true, softplus: true, deltaScale: 12, threads: 2 }, // channels split 3 + 2 over the threads
    { batch: 1, D: 5, L: 6, N: 12, z: false, softplus: true, deltaScale: 1, threads: 1 },
    { batch: 1, D: 1, L: 6, N: 12, z: false, softplus: true, deltaScale: 1, threads: 2 }, // one channel: one task
    { batch: 2, D: 3, L: 9, N: 20, z: true, softplus: true, deltaScale: 1, threads: 2 }, // past the register kernels: the general one
  ]) {
    it(`matches the float64 kernel, values and every gradient: batch ${c.batch}, D ${c.D}, L ${c.L}, N ${c.N}, z ${c.z}, softplus ${c.softplus}, ${c.threads} thread(s)`, async () => {
      const threadsBefore = getNumThreads();
      await initThreads(c.threads);
      manualSeed(7);
      const f64 = { dtype: 'float64' as const };
      const x: Record<string, Tensor> = {
        u: randn([c.batch, c.D, c.L], f64),
        delta: randn([c.batch, c.D, c.L], f64).mul(c.deltaScale),
        A: rand([c.D, c.N], f64).mul(-2).sub(0.2),
        B: randn([c.batch, c.N, c.L], f64),
        C: randn([c.batch, c.N, c.L], f64),
        D: randn([c.D], f64),
        z: randn([c.batch, c.D, c.L], f64),
        deltaBias: randn([c.D], f64).mul(0.3),
      };
      const w = randn([c.batch, c.D, c.L], f64);
      const ws = randn([c.batch, c.D, c.N], f64);
      const x32 = Object.fromEntries(Object.entries(x).map(([k, t]) => [k, t.cast('float32')]));
      const dims = { batch: c.batch, D: c.D, L: c.L, N: c.N, varB: true, varC: true, hasZ: c.z };
      expect(wasmScanFits(dims, [x32.u.dataSync()])).toBe(true);
      const want = run(x, c, w, ws);
      const got = run(x32, c, w, ws);
      ['y', 'lastState', ...NAMES.map((n) => `d${n}`)].forEach((name, i) => {
        if (name === 'dz' && !c.z) return;
        expect(got[i].dtype, name).toBe('float32');
        expectClose(got[i].cast('float64'), want[i], 2e-4, 2e-4, name);
      });
      setNumThreads(threadsBefore);
    });
  }

  it('leaves float64, fixed (D, N) B or C and N not a multiple of 4 to the JS kernel', () => {
    const u32 = new Float32Array(4);
    const base = { batch: 1, D: 1, L: 4, N: 8, varB: true, varC: true, hasZ: false };
    expect(wasmScanFits(base, [new Float64Array(4)])).toBe(false);
    expect(wasmScanFits({ ...base, varB: false }, [u32])).toBe(false);
    expect(wasmScanFits({ ...base, varC: false }, [u32])).toBe(false);
    expect(wasmScanFits({ ...base, N: 6 }, [u32])).toBe(false);
  });
});
