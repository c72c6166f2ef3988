import { getBackend, type Backend } from './backend.js';
import type { DType } from './dtype.js';
import { DeviceError, DTypeError, fmt } from './errors.js';
import { Storage } from './memory.js';
import type { KernelAttrs, KernelPrimitive, PrimitiveAttrs, Primitive, ViewAttrs, ViewPrimitive } from './primitives.js';
import { contiguousStrides } from './shape.js';
import { Tensor, viewOf } from './tensor.js';

/**
 * Called after every primitive whose inputs include a tensor with requiresGrad; autograd installs
 * it. Costs one flag check per op when nothing requires grad.
 */
export type DispatchHook = <P extends Primitive>(prim: P, inputs: readonly Tensor[], attrs: PrimitiveAttrs[P], out: Tensor) => void;

let hook: DispatchHook | null = null;

/** Grad mode (autograd's noGrad/enableGrad flip it); when off, nothing is recorded. */
export const gradMode = { enabled: true };

/** True when an autograd hook is installed and grad mode is on. */
export function isRecording(): boolean {
  return hook !== null && gradMode.enabled;
}

/** Installs the one dispatch hook (autograd). Returns the previous one. */
export function setDispatchHook(h: DispatchHook | null): DispatchHook | null {
  const prev = hook;
  hook = h;
  return prev;
}

function backendOf(prim: string, inputs: readonly Tensor[]): Backend {
  const b = inputs[0].storage.backend;
  for (let i = 1; i < inputs.length; i++) {
    const o = inputs[i].storage.backend;
    if (o !== b) {
      throw new DeviceError(prim, `expected all tensors on one device, got ${inputs.map((t) => `${t.device} ${fmt(t.shape)}`).join(', ')}; move them with .to(device)`);
    }
  }
  return b;
}

function record(prim: Primitive, inputs: readonly Tensor[], attrs: unknown, out: Tensor): void {
  if (hook === null || !gradMode.enabled) return;
  for (const t of inputs) {
    if (t.requiresGrad) {
      hook(prim, inputs, attrs as never, out);
      return;
    }
  }
}

/** Runs a kernel primitive on its inputs' device and returns the new contiguous result. */
export function runKernel<P extends KernelPrimitive>(
  prim: P,
  inputs: readonly Tensor[],
  attrs: KernelAttrs[P],
  shape: readonly number[],
  dtype: DType,
  device?: string,
): Tensor {
  const backend = inputs.length ? backendOf(prim, inputs) : getBackend(device ?? 'cpu', prim);
  if (!backend.dtypes.includes(dtype)) {
    throw new DTypeError(prim, `device '${backend.name}' has no ${dtype} support (it holds ${backend.dtypes.join(', ')})`);
  }
  const kernel = backend.kernels[prim];
  const data = kernel(
    inputs.map((t) => t.info()),
    attrs,
    { shape, dtype },
  );
  const out = new Tensor(new Storage(backend, data, dtype), [...shape], contiguousStrides(shape), 0, dtype);
  record(prim, inputs, attrs, out);
  return out;
}

/** Makes a view primitive's result: same storage, new layout. */
export function runView<P extends ViewPrimitive>(
  prim: P,
  x: Tensor,
  attrs: ViewAttrs[P],
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Tensor {
  const out = viewOf(x, shape, strides, offset);
  record(prim, [x], attrs, out);
  return out;
}
