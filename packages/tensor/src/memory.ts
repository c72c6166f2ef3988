import type { Backend } from './backend.js';
import type { DType } from './dtype.js';
import { DLError } from './errors.js';

/** Refcounted device memory shared by a tensor and its views. */
export class Storage {
  refs = 1;
  /** bumped by every in-place write, so autograd can detect changes to saved tensors */
  version = 0;
  readonly bytes: number;

  constructor(
    readonly backend: Backend,
    readonly data: unknown,
    readonly dtype: DType,
  ) {
    this.bytes = backend.byteLength(data);
    const d = deviceStats(backend.name);
    d.bytes += this.bytes;
    d.storages++;
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) {
      const d = deviceStats(this.backend.name);
      d.bytes -= this.bytes;
      d.storages--;
      this.backend.free(this.data);
    }
  }
}

interface DeviceStats {
  tensors: number;
  storages: number;
  bytes: number;
}

const stats = new Map<string, DeviceStats>();

export function deviceStats(device: string): DeviceStats {
  let s = stats.get(device);
  if (!s) stats.set(device, (s = { tensors: 0, storages: 0, bytes: 0 }));
  return s;
}

export interface MemoryInfo {
  /** live (not disposed, not collected) tensors over all devices */
  tensors: number;
  /** bytes of live storage over all devices */
  bytes: number;
  devices: Record<string, DeviceStats>;
}

/** Live tensors and bytes, in total and per device. */
export function memory(): MemoryInfo {
  const devices: Record<string, DeviceStats> = {};
  let tensors = 0;
  let bytes = 0;
  for (const [name, s] of stats) {
    devices[name] = { ...s };
    tensors += s.tensors;
    bytes += s.bytes;
  }
  return { tensors, bytes, devices };
}

/** Anything with a dispose method that scope() tracks (Tensor implements it). */
export interface Disposable_ {
  dispose(): void;
}

const scopes: Set<Disposable_>[] = [];

/** Called by every new tensor: the innermost scope, if any, takes ownership. */
export function trackInScope(t: Disposable_): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** Removes `t` from every open scope, so it outlives them. Returns `t`. */
export function keep<T extends Disposable_>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/**
 * @internal Runs `fn` and returns its result with the tensors it made (except those it passed to
 * keep()); they stay owned by the enclosing scope, if any. `fit` frees the batches a
 * loader makes with it, and leaves alone those it only hands out (an array of batches).
 *
 *   const { result, tensors } = created(() => it.next()); // tensors: what this batch made
 */
export function created<T>(fn: () => T): { result: T; tensors: Set<Disposable_> } {
  const own = new Set<Disposable_>();
  scopes.push(own);
  try {
    return { result: fn(), tensors: own };
  } finally {
    scopes.splice(scopes.lastIndexOf(own), 1);
    for (const t of own) trackInScope(t);
  }
}

function collect(value: unknown, into: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if (typeof (value as Disposable_).dispose === 'function' && 'shape' in (value as object)) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of items) collect(v, into, depth + 1);
}

/**
 * Runs `fn` and disposes every tensor it created, except those it returns (found in the returned
 * value, arrays and plain objects up to 4 levels deep), which move to the enclosing scope.
 *
 *   const y = scope(() => x.mul(2).add(1).relu()); // the intermediates are freed
 */
export function scope<T>(fn: () => T): T {
  const own = new Set<Disposable_>();
  scopes.push(own);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new DLError('scope', 'fn returned a Promise; scope() is synchronous — await outside it and return tensors');
    }
  } catch (e) {
    scopes.pop();
    for (const t of own) t.dispose();
    throw e;
  }
  scopes.pop();
  const kept = new Set<unknown>();
  collect(result, kept);
  for (const t of own) {
    if (kept.has(t)) trackInScope(t);
    else t.dispose();
  }
  return result;
}
