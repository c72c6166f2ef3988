/**
 * What the per-channel normalisation kernels in WebAssembly SIMD128 (group-norm-wasm.ts,
 * batch-norm-wasm.ts) share: a float32 span walked four lanes at a time with a scalar tail, loads
 * and stores that take either, and how work is split over @dl/tensor's threads.
 */
import { getNumThreads } from '@dl/tensor';
import { spanEnds, walkSpan, type Span, type VecLocals } from '@dl/tensor/wasm';

/** A span walk's locals (@dl/tensor/wasm's Span) and the elementwise kernels' vector temporaries. */
export interface Fn extends Span {
  t: VecLocals;
}

/** for (i = 0; i + 4 <= n; i += 4) vec(); for (; i < n; i++) one(); with i in bytes and n in local `n` */
export function each(fn: Fn, n: number, vec: () => void, one: () => void): void {
  spanEnds(fn, n);
  walkSpan(fn, vec, one);
}

/** pushes the address base + i */
export const at = (fn: Fn, base: number) => fn.f.get(base).get(fn.i).i32Add();
/** pushes the 4 floats at base + i, or (tail) the float there in every lane */
export const load = (fn: Fn, base: number, tail: boolean) => (tail ? at(fn, base).v128Load32Splat() : at(fn, base).v128Load());
/** stores the vector in local v at base + i: whole, or (tail) its lane 0 */
export function store(fn: Fn, base: number, v: number, tail: boolean): void {
  at(fn, base);
  if (tail) fn.f.get(v).f32x4ExtractLane(0).f32Store();
  else fn.f.get(v).v128Store();
}

/** floats per buffer in the kernel memory for one chunk of the input */
export const CHUNK = 1 << 21;
/** below this many floats one thread beats waking the others */
const PARALLEL_MIN = 1 << 16;

/** Splits `count` units (rows or channels) of `len` floats into tasks over the threads: [tasks, units per task, threads]. */
export function plan(count: number, len: number): [number, number, number] {
  const threads = count * len >= PARALLEL_MIN && count > 1 ? getNumThreads() : 1;
  const per = Math.max(1, Math.ceil(count / (4 * threads)));
  return [Math.ceil(count / per), per, threads];
}
