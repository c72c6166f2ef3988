import type { DType, TypedArray } from '../dtype.js';

/**
 * Recycled CPU storage. A fresh large typed array costs a page fault per 4 KiB on first write,
 * which on small VMs takes as long as the kernel that fills it; a training step frees and
 * re-allocates the same sizes every step, so freed arrays are kept (by kind and length, up to a
 * byte budget) and handed out again. Only arrays that own their whole buffer are kept, so a view
 * of other memory (a wasm heap, a user's buffer) is never reused.
 */
const MIN_BYTES = 16 * 1024;
// a U-Net training step at batch 64 (apps/sample ddpm-mnist) frees ~430 MiB of results per step; at
// 256 MiB a third of them were dropped and re-allocated (page faults, GC) without lowering peak memory
const MAX_BYTES = 512 * 1024 * 1024;
const PER_SIZE = 64;

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
const free = new Map<Ctor, Map<number, TypedArray[]>>();
let pooled = 0;

function ctorOf(dtype: DType): Ctor {
  return dtype === 'float64' ? Float64Array : dtype === 'int32' ? Int32Array : dtype === 'bool' ? Uint8Array : Float32Array;
}

/**
 * An array for a kernel's result. `zeroed: false` is for kernels that write every element, which
 * may then get a recycled array with old contents. Public as `cpuResultArray(dtype, n, zeroed)`
 * for the `cpu` kernels of `defineOp` ops: their results are recycled like the built-in ones.
 */
export function takeArray(dtype: DType, n: number, zeroed = true): TypedArray {
  const C = ctorOf(dtype);
  if (n * C.BYTES_PER_ELEMENT >= MIN_BYTES) {
    const list = free.get(C)?.get(n);
    const a = list?.pop();
    if (a) {
      pooled -= a.byteLength;
      return zeroed ? a.fill(0) : a;
    }
  }
  return new C(n);
}

/** Takes back the storage of a released CPU tensor. */
export function recycle(data: unknown): void {
  const a = data as TypedArray;
  const C = a.constructor as Ctor;
  if (a.byteLength < MIN_BYTES || pooled + a.byteLength > MAX_BYTES) return;
  if (C !== Float32Array && C !== Float64Array && C !== Int32Array && C !== Uint8Array) return;
  if (a.byteOffset !== 0 || a.buffer.byteLength !== a.byteLength || !(a.buffer instanceof ArrayBuffer)) return;
  let bySize = free.get(C);
  if (!bySize) free.set(C, (bySize = new Map()));
  let list = bySize.get(a.length);
  if (!list) bySize.set(a.length, (list = []));
  if (list.length >= PER_SIZE) return;
  list.push(a);
  pooled += a.byteLength;
}

/** Drops every kept array (for tests and for callers that want the memory back now). */
export function clearArrayPool(): void {
  free.clear();
  pooled = 0;
}

export function pooledBytes(): number {
  return pooled;
}
