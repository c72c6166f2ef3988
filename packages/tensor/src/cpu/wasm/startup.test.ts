// Results must not depend on worker start-up timing: a process's first kernels (while its workers
// are still starting) must split work exactly as later ones do, so a run resumed in a new process
// repeats an uninterrupted one bit for bit.
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as Select from '../select.js';
import { seeded } from './test-util.js';

const saved = { threads: process.env.DL_NUM_THREADS, kernels: process.env.DL_CPU_KERNELS };
afterEach(() => {
  for (const [k, v] of [['DL_NUM_THREADS', saved.threads], ['DL_CPU_KERNELS', saved.kernels]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** A fresh copy of the kernel selection and the wasm pool, as in a new process. */
async function freshKernels(env: Record<string, string | undefined>): Promise<typeof Select> {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  vi.resetModules();
  return import('../select.js');
}

/** Split-K GEMM, a batch of long-K GEMMs, and conv2d's weight gradient (split over N*oH*oW). */
function work(sel: typeof Select): Float32Array[] {
  const k = sel.kernelChoice();
  const rand = seeded(3);
  const [M, N, K] = [16, 16, 8192];
  const a = rand(M * K), b = rand(K * N);
  const c = new Float32Array(M * N);
  k.gemm(M, N, K, a, 0, K, 1, b, 0, N, 1, c, 0);
  const batch = 2;
  const ab = rand(batch * M * K), bb = rand(batch * K * N);
  const cb = new Float32Array(batch * M * N);
  k.gemmBatched!(batch, M, N, K, ab, 0, M * K, K, 1, bb, 0, K * N, N, 1, cb, 0);
  const p = { N: 8, C: 4, H: 32, W: 32, O: 4, kH: 3, kW: 3, groups: 1, sH: 1, sW: 1, pH: 1, pW: 1, dH: 1, dW: 1, oH: 32, oW: 32 };
  const x = rand(p.N * p.C * p.H * p.W), dy = rand(p.N * p.O * p.oH * p.oW);
  const gw = new Float32Array(p.O * p.C * 9);
  k.conv2dBackwardWeight!(p, x, dy, gw);
  return [c, cb, gw];
}

describe('wasm kernels while worker threads start', () => {
  it.skipIf(availableParallelism() < 2)('give the same bits as once the workers run (default thread count)', async () => {
    const sel = await freshKernels({ DL_NUM_THREADS: undefined, DL_CPU_KERNELS: 'wasm' });
    const early = work(sel); // the workers of this fresh pool cannot be listening yet
    const threadsEarly = sel.getNumThreads();
    await sel.initThreads();
    const late = work(sel);
    for (let i = 0; i < early.length; i++) expect(early[i], ['split-K gemm', 'batched gemm', 'conv2d weight gradient'][i]).toEqual(late[i]);
    // the kernels planned for one thread per core from the first call on
    expect(threadsEarly).toBe(availableParallelism());
  });

  it('give the same bits as once the workers run (DL_NUM_THREADS=2)', async () => {
    const sel = await freshKernels({ DL_NUM_THREADS: '2', DL_CPU_KERNELS: 'wasm' });
    const early = work(sel);
    await sel.initThreads(2);
    const late = work(sel);
    for (let i = 0; i < early.length; i++) expect(early[i]).toEqual(late[i]);
  });

  it.skipIf(availableParallelism() < 2)('setCpuKernels("wasm") sets the default thread count at once, unless one was chosen', async () => {
    let sel = await freshKernels({ DL_NUM_THREADS: undefined, DL_CPU_KERNELS: 'js' });
    sel.setCpuKernels('wasm');
    expect(sel.getNumThreads()).toBe(availableParallelism());
    sel = await freshKernels({ DL_NUM_THREADS: undefined, DL_CPU_KERNELS: 'js' });
    sel.setNumThreads(1);
    sel.setCpuKernels('wasm');
    expect(sel.getNumThreads()).toBe(1);
  });

  it('a malformed DL_NUM_THREADS or DL_CPU_KERNELS throws a DLError naming the variable', async () => {
    for (const [env, msg] of [
      [{ DL_NUM_THREADS: 'two', DL_CPU_KERNELS: 'wasm' }, "DL_NUM_THREADS: must be a positive integer, got 'two'"],
      [{ DL_NUM_THREADS: '0', DL_CPU_KERNELS: 'wasm' }, "DL_NUM_THREADS: must be a positive integer, got '0'"],
      [{ DL_CPU_KERNELS: 'gpu' }, "DL_CPU_KERNELS: must be 'js' or 'wasm', got 'gpu'"],
    ] as const) {
      const sel = await freshKernels(env);
      const errors = await import('../../errors.js'); // the fresh module graph's DLError
      expect(() => sel.kernelChoice()).toThrow(errors.DLError);
      expect(() => sel.kernelChoice()).toThrow(msg);
    }
  });
});
