import { createWebGPUBackend } from '@dl/gpu';
import { getNumThreads, initThreads, kernelChoice, registerBackend, setCpuKernels } from '@dl/tensor';
import type { Device, DeviceInfo } from '../protocol.js';

let info: DeviceInfo | null = null;

/**
 * Starts the wasm CPU kernels on `threads` threads (default one per core) (threads need the page cross-origin
 * isolated, which the dev server and the preview are) and, with `useWebGPU`, registers @dl/gpu's
 * backend as 'webgpu' where `navigator.gpu` gives an adapter.
 */
export async function setupDevices(useWebGPU = true, threads?: number): Promise<DeviceInfo> {
  let cpuKernels = 'js';
  try {
    setCpuKernels('wasm');
    await initThreads(threads);
    cpuKernels = 'wasm';
  } catch {
    setCpuKernels('js');
  }
  let webgpu: string | null = null;
  let webgpuWhy: string | null = null;
  if (!useWebGPU) webgpuWhy = 'this Worker runs on the CPU only';
  else if (!('gpu' in navigator)) webgpuWhy = 'this browser has no navigator.gpu';
  else {
    try {
      const backend = await createWebGPUBackend();
      registerBackend(backend);
      const a = backend.adapter;
      webgpu = a.description || [a.vendor, a.architecture].filter(Boolean).join(' ') || 'WebGPU adapter';
      if (a.software) webgpu += ' (software)';
    } catch (e) {
      webgpuWhy = (e as Error).message;
    }
  }
  info = { webgpu, webgpuWhy, cpuThreads: getNumThreads(), cpuKernels: kernelChoice().name ?? cpuKernels, crossOriginIsolated: self.crossOriginIsolated };
  return info;
}

/** `want` (default: WebGPU where registered, else the CPU); throws for WebGPU where it is not. */
export function pickDevice(want: Device | undefined): Device {
  if (want === 'cpu') return 'cpu';
  if (info?.webgpu) return 'webgpu';
  if (want === 'webgpu') throw new Error(`WebGPU is not available here: ${info?.webgpuWhy ?? 'devices not set up yet'}`);
  return 'cpu';
}
