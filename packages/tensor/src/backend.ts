import type { WgslProgram } from './custom-op.js';
import type { DType, TypedArray } from './dtype.js';
import { DeviceError } from './errors.js';
import type { KernelAttrs, KernelPrimitive } from './primitives.js';
import { cpuBackend } from './cpu/backend.js';

/** What a kernel sees of an input: the backend's storage handle plus the view's layout. */
export interface TensorInfo {
  /** backend-specific data (a TypedArray on CPU, a buffer on WebGPU) */
  data: unknown;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
  dtype: DType;
}

/** Shape and dtype of the contiguous output a kernel must produce. */
export interface OutInfo {
  shape: readonly number[];
  dtype: DType;
}

export type Kernel<P extends KernelPrimitive> = (inputs: TensorInfo[], attrs: KernelAttrs[P], out: OutInfo) => unknown;

/** One kernel per kernel primitive: a backend that misses one is a type error. */
export type KernelTable = { [P in KernelPrimitive]: Kernel<P> };

/**
 * A device's implementation. Register it with `registerBackend`; tensors then move there with
 * `t.to(backend.name)`.
 */
export interface Backend {
  /** device name used in `to(device)` and `{ device }` options, e.g. 'cpu', 'webgpu' */
  readonly name: string;
  readonly kernels: KernelTable;
  /** dtypes this backend can hold */
  readonly dtypes: readonly DType[];
  /** makes storage holding a copy of `values` (already converted to `dtype`'s host array) */
  upload(values: TypedArray, dtype: DType): unknown;
  /** reads a view back as a contiguous host array */
  read(x: TensorInfo): Promise<TypedArray>;
  /** synchronous read; absent on devices whose reads are asynchronous */
  readSync?(x: TensorInfo): TypedArray;
  /** writes src (same shape, same backend) into the strided view dst, in place */
  assign(dst: TensorInfo, src: TensorInfo): void;
  /**
   * Optional, in place: dst = dst op other in one kernel, for a float dst and `other` a number or a
   * view of dst's dtype already broadcast to dst's shape, in other storage. Returns false, having
   * written nothing, when it does not apply (the caller then computes out of place and assigns).
   */
  binaryInPlace?(op: 'add' | 'sub' | 'mul' | 'div', dst: TensorInfo, other: TensorInfo | number): boolean;
  /** releases storage data; called when the last reference goes */
  free(data: unknown): void;
  /** bytes held by storage data (for memory()) */
  byteLength(data: unknown): number;
  /** waits for queued work (no-op on synchronous backends) */
  sync?(): Promise<void>;
  /**
   * Optional fused optimizer update, in place: one Adam step over contiguous float32 p, grad, m, v
   * of one shape (see `adamStep_`). Returns false, having written nothing, when it does not apply.
   */
  adamStep?(p: TensorInfo, grad: TensorInfo, m: TensorInfo, v: TensorInfo, h: AdamHyper): boolean;
  /**
   * How ops made with `defineOp` run here: 'cpu' calls their `cpu` kernel on host arrays (storage
   * data is the TypedArray it returns); 'wgsl' hands the WgslProgram of their `wgsl` kernel to
   * `runWgsl`. Absent: such ops throw DeviceError on this device.
   */
  readonly customKernels?: 'cpu' | 'wgsl';
  /**
   * Runs a custom op's WGSL program and returns the output's storage data. `inputs` are contiguous
   * (from any offset) unless `strided`, when they are bound as they are (see WgslPass).
   */
  runWgsl?(op: string, program: WgslProgram, inputs: readonly TensorInfo[], out: OutInfo, strided: boolean): unknown;
}

/**
 * Constants of one Adam step: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g²,
 * p = decay p - stepSize m / (√v / sqrtBc2 + eps).
 */
export interface AdamHyper {
  /** p's multiplier before the step: 1 - lr * weightDecay for AdamW's decoupled decay, else 1 */
  decay: number;
  beta1: number;
  beta2: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  sqrtBc2: number;
  eps: number;
}

// the CPU backend is always present: it is the host every other device reads back into
const registry = new Map<string, Backend>([['cpu', cpuBackend]]);
let defaultDevice = 'cpu';

/** Makes a backend available by its name. Registering the same name again replaces it. */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

export function getBackend(device: string, op = 'getBackend'): Backend {
  const b = registry.get(device);
  if (!b) {
    throw new DeviceError(op, `no backend registered for device '${device}' (registered: ${[...registry.keys()].join(', ') || 'none'}); call registerBackend() first`);
  }
  return b;
}

export function hasBackend(device: string): boolean {
  return registry.has(device);
}

/** Device used by creation functions when no `device` option is given. */
export function setDefaultDevice(device: string): void {
  getBackend(device, 'setDefaultDevice');
  defaultDevice = device;
}

export function getDefaultDevice(): string {
  return defaultDevice;
}
