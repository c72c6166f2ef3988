import { getBackend, type Backend } from './backend.js';
import type { CustomOpInfo } from './custom-op.js';
import { checkDeviceDType, type DType } from './dtype.js';
import { DLError, DeviceError, DispatchListenerError, fmt } from './errors.js';
import { Storage } from './memory.js';
import type { KernelAttrs, KernelPrimitive, PrimitiveAttrs, Primitive, ViewAttrs, ViewPrimitive } from './primitives.js';
import { checkNumel, contiguousStrides } from './shape.js';
import { Tensor, checkNotDisposed, viewOf } from './tensor.js';

/**
 * Called after an op ran with the op's name, its inputs, attrs and output, and `custom`: null for
 * a built-in primitive, or the custom op made with `defineOp` (its rule in `custom.grad`).
 */
export type DispatchListener = (op: string, inputs: readonly Tensor[], attrs: unknown, out: Tensor, custom: CustomOpInfo | null) => void;

/**
 * A listener's arguments as a union that `custom === null` and `op` narrow, for listeners that
 * read a primitive's attrs:
 *
 *   addDispatchListener((...args) => {
 *     const [op, , attrs, , custom] = args as DispatchArgs;
 *     if (custom === null && op === 'sum') console.log(attrs.dims);
 *   });
 */
export type DispatchArgs =
  | { [P in Primitive]: [op: P, inputs: readonly Tensor[], attrs: PrimitiveAttrs[P], out: Tensor, custom: null] }[Primitive]
  | [op: string, inputs: readonly Tensor[], attrs: unknown, out: Tensor, custom: CustomOpInfo];

export interface DispatchListenerOptions {
  /**
   * Called only for ops autograd records: grad mode on and an input that requires grad (autograd
   * itself listens so). Default false: called after every op.
   */
  gradOnly?: boolean;
  /** shown when the listener throws (default: the function's name) */
  name?: string;
}

interface Entry {
  fn: DispatchListener;
  gradOnly: boolean;
  name: string;
}

// replaced, never mutated, on add/remove: a listener removed while ops notify is not skipped mid-loop
let listeners: readonly Entry[] = [];
/** listeners that see every op (not gradOnly); while 0 the fast path checks only for recorded ops */
let everyOp = 0;
let gradOnlyCount = 0;

/** Grad mode (autograd's noGrad/enableGrad flip it); when off, nothing is recorded. */
export const gradMode = { enabled: true };

/** True when a gradOnly listener (autograd) is installed and grad mode is on. */
export function isRecording(): boolean {
  return gradOnlyCount !== 0 && gradMode.enabled;
}

/**
 * Calls `fn` after every op (built-in primitives and custom ops), or with `{ gradOnly: true }`
 * only after those autograd records. Listeners run in the order they were added; autograd adds
 * its recorder when it is imported. Returns the function that removes it. With no listener (or
 * only gradOnly ones and nothing requiring grad) an op pays one or two flag checks.
 *
 *   const counts = new Map<string, number>();
 *   const remove = addDispatchListener((op) => void counts.set(op, (counts.get(op) ?? 0) + 1), { name: 'profiler' });
 *   ones([2]).add(1).exp(); // counts: full, add, exp
 *   remove();
 */
export function addDispatchListener(fn: DispatchListener, opts: DispatchListenerOptions = {}): () => void {
  const entry: Entry = { fn, gradOnly: opts.gradOnly ?? false, name: opts.name ?? (fn.name || 'anonymous') };
  listeners = [...listeners, entry];
  count();
  return () => {
    listeners = listeners.filter((e) => e !== entry);
    count();
  };
}

function count(): void {
  gradOnlyCount = listeners.filter((e) => e.gradOnly).length;
  everyOp = listeners.length - gradOnlyCount;
}

/** @internal tells the listeners that `op` made `out`; runKernel, runView and custom ops call it. */
export function notify(op: string, inputs: readonly Tensor[], attrs: unknown, out: Tensor, custom: CustomOpInfo | null): void {
  if (everyOp === 0) {
    if (gradOnlyCount === 0 || !gradMode.enabled || !anyRequiresGrad(inputs)) return;
  }
  callListeners(op, inputs, attrs, out, custom);
}

function anyRequiresGrad(inputs: readonly Tensor[]): boolean {
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}

function callListeners(op: string, inputs: readonly Tensor[], attrs: unknown, out: Tensor, custom: CustomOpInfo | null): void {
  const recorded = gradOnlyCount !== 0 && gradMode.enabled && anyRequiresGrad(inputs);
  for (const e of listeners) {
    if (e.gradOnly && !recorded) continue;
    try {
      e.fn(op, inputs, attrs, out, custom);
    } catch (err) {
      // nobody holds the output yet: free it before the error leaves the op
      out.dispose();
      // @dl's typed errors already name the op; anything else is wrapped with the listener's name
      if (err instanceof DLError || err instanceof RangeError) throw err;
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new DispatchListenerError(op, `dispatch listener '${e.name}' threw ${what}`, err);
    }
  }
}

/** The one backend all inputs live on; DeviceError naming every input when they differ. */
export function backendOf(op: string, inputs: readonly Tensor[]): Backend {
  for (let i = 0; i < inputs.length; i++) checkNotDisposed(op, inputs[i], `input ${i}`);
  const b = inputs[0].storage.backend;
  for (let i = 1; i < inputs.length; i++) {
    const o = inputs[i].storage.backend;
    if (o !== b) {
      throw new DeviceError(op, `expected all tensors on one device, got ${inputs.map((t) => `${t.device} ${fmt(t.shape)}`).join(', ')}; move them with .to(device)`);
    }
  }
  return b;
}

/** Throws DTypeError when `dtype` is unknown or `backend` cannot hold it (a result of `shape`). */
export function checkBackendDType(op: string, backend: Backend, dtype: DType, shape?: readonly number[]): void {
  checkDeviceDType(op, backend.name, backend.dtypes, dtype, shape);
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
  checkBackendDType(prim, backend, dtype, shape);
  checkNumel(prim, shape, 'result shape');
  const kernel = backend.kernels[prim];
  const data = kernel(
    inputs.map((t) => t.info()),
    attrs,
    { shape, dtype },
  );
  const out = new Tensor(new Storage(backend, data, dtype), [...shape], contiguousStrides(shape), 0, dtype);
  notify(prim, inputs, attrs, out, null);
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
  checkNotDisposed(prim, x, 'input 0');
  const out = viewOf(x, shape, strides, offset);
  notify(prim, [x], attrs, out, null);
  return out;
}
