/** The WebGPU side of the training benchmarks: backend registration and per-step work counts. */
import * as dl from '@dl/tensor';
import { createWebGPUBackend, type WebGPUBackend } from '@dl/gpu';
import type { Step } from './workloads/index.js';

let made: Promise<WebGPUBackend | null> | undefined;

/** A WebGPU backend registered as 'webgpu', or null (with the reason printed) where there is no adapter; made once per run. */
export function webgpu(): Promise<WebGPUBackend | null> {
  return (made ??= createOnce());
}

async function createOnce(): Promise<WebGPUBackend | null> {
  try {
    // --no-fusion: one dispatch an elementwise op, as before @dl/gpu fused them (for before/after counts)
    const fuseElementwise = !process.argv.includes('--no-fusion');
    const gpu = await createWebGPUBackend({ powerPreference: 'high-performance', fuseElementwise });
    dl.registerBackend(gpu);
    return gpu;
  } catch (e) {
    console.log(`(no @dl webgpu column: ${(e as Error).message})`);
    return null;
  }
}

/** Work one WebGPU training step records: kernel dispatches and queue submits. */
export interface StepCounts {
  dispatches: number;
  submits: number;
}

/**
 * Counts one run of an already warmed-up step on 'webgpu' (the first steps also create optimizer state).
 * @example const counts = await countStep(gpu, step); // { dispatches: 75, submits: 1 }
 */
export async function countStep(gpu: WebGPUBackend, step: Step): Promise<StepCounts> {
  await gpu.sync();
  const s0 = gpu.stats();
  step.run();
  await gpu.sync();
  const s1 = gpu.stats();
  return { dispatches: s1.dispatches - s0.dispatches, submits: s1.submits - s0.submits };
}

/** Runs `fn` with 'webgpu' as the default device, so models and data are made there. */
export async function onWebgpu<T>(fn: () => Promise<T>): Promise<T> {
  dl.setDefaultDevice('webgpu');
  try {
    return await fn();
  } finally {
    dl.setDefaultDevice('cpu');
  }
}
