/// <reference types="@webgpu/types" />
/**
 * @dl/gpu: the WebGPU backend of @dl/tensor, for browsers (navigator.gpu) and Node.js (Dawn's
 * `webgpu` package). `registerBackend(await createWebGPUBackend())`, then `x.to('webgpu')`.
 */
export { createWebGPUBackend, getGPU, type WebGPUBackendOptions } from './device.js';
export type { WebGPUBackend, WebGPUStats, AdapterSummary } from './backend.js';
export type { GpuData } from './runtime/context.js';
