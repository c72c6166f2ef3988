import { registerBackend, type Tensor } from '@dl/tensor';
import { expect, inject } from 'vitest';
import { createWebGPUBackend, type WebGPUBackendOptions } from './device.js';
import type { WebGPUBackend } from './backend.js';
import './test-context.js';

/** True when vitest.setup.ts found an adapter; suites use `describe.skipIf(!hasWebGPU)`. */
export const hasWebGPU: boolean = inject('webgpu');
export const hasChromium: boolean = inject('chromium');

/** Creates and registers a backend (as 'webgpu' unless named otherwise). */
export async function useWebGPU(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  const b = await createWebGPUBackend(opts);
  registerBackend(b);
  return b;
}

/** Values equal within rtol/atol; NaNs must match NaNs and infinities must match exactly. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) expect(a, `${what}[${i}]`).toBe(e);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect(a, `${what}[${i}] (expected ${e}, rtol ${rtol}, atol ${atol})`).toBe(e);
    }
  }
}

/** Runs `f` on CPU and on WebGPU (inputs moved with .to) and compares results and dtypes. */
export async function sameAsCpu(f: (device: string) => Tensor, rtol = 1e-4, atol = 1e-5, what = ''): Promise<void> {
  const c = f('cpu');
  const g = f('webgpu');
  expect(g.device).toBe('webgpu');
  expect(g.dtype, `${what} dtype`).toBe(c.dtype);
  expect(g.shape, `${what} shape`).toEqual(c.shape);
  expectClose(await g.data(), await c.data(), rtol, atol, what);
}
