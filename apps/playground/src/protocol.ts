/**
 * Messages between the page and the model Worker. The page sends `Request`s; the Worker answers
 * each with any number of `event`s (training progress, streamed text) and one `done` or `error`,
 * and reports `memory` (live tensors and bytes) after every request and while it works.
 */
export type Device = 'webgpu' | 'cpu';

export interface Request {
  id: number;
  op: string;
  args: unknown;
}

export interface DeviceInfo {
  /** the WebGPU adapter's name when the backend is registered, else null */
  webgpu: string | null;
  /** why WebGPU is not used (no navigator.gpu, no adapter), when it is not */
  webgpuWhy: string | null;
  /** threads of the wasm CPU kernels, the Worker included */
  cpuThreads: number;
  /** 'wasm' (SIMD128) or 'js' */
  cpuKernels: string;
  crossOriginIsolated: boolean;
}

export interface MemoryReport {
  tensors: number;
  bytes: number;
  devices: Record<string, { tensors: number; bytes: number }>;
}

export type WorkerMessage =
  | { kind: 'ready'; info: DeviceInfo }
  | { kind: 'event'; id: number; data: unknown }
  | { kind: 'done'; id: number; result: unknown }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'memory'; memory: MemoryReport };

/** One step of a training run, as every section's curve shows it. */
export interface TrainEvent {
  step: number;
  loss: number;
  /** steps per second over the run so far */
  stepsPerSec: number;
  /** section-specific figures (batch accuracy, tokens/s, episode return) */
  [k: string]: number;
}
