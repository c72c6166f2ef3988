import { registerBackend } from '@dl/tensor';

export type DeviceName = 'cpu' | 'webgpu';

// a variable specifier: @dl/gpu is loaded only when --device webgpu asks for it
const GPU_PACKAGE = '@dl/gpu';

/**
 * Prepares the device: for 'webgpu', loads @dl/gpu and registers its backend (Dawn in Node).
 * Returns a line describing it.
 */
export async function setupDevice(device: DeviceName): Promise<string> {
  if (device === 'cpu') return 'cpu';
  let gpu: { createWebGPUBackend(opts?: unknown): Promise<Parameters<typeof registerBackend>[0] & { adapter?: unknown }> };
  try {
    gpu = (await import(/* @vite-ignore */ GPU_PACKAGE)) as typeof gpu;
  } catch (e) {
    throw new Error(`--device webgpu needs the @dl/gpu package (${(e as Error).message})`);
  }
  const backend = await gpu.createWebGPUBackend();
  registerBackend(backend);
  return `webgpu (${backend.name})`;
}
