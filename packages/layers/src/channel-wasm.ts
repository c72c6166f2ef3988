/**
 * What the per-channel normalisation kernels in WebAssembly SIMD128 (group-norm-wasm.ts,
 * batch-norm-wasm.ts) share: a float32 span walked four lanes at a time with a scalar tail, loads
 * and stores that take either, the loop over a task's range,
 * and how work is split over @dl/tensor's threads.
 */
import { getNumThreads } from '@dl/tensor';
import type { FuncBuilder, VecLocals } from '@dl/tensor/wasm';

/** The locals a span walk uses: `i` the byte offset in the span, `vend`/`end` its vector and full ends. */
export interface Fn {
  f: FuncBuilder;
  t: VecLocals;
  i: number;
  vend: number;
  end: number;
}

/** for (i = 0; i + 4 <= n; i += 4) vec(); for (; i < n; i++) one(); with i in bytes and n in local `n` */
export function each(fn: Fn, n: number, vec: () => void, one: () => void): void {
  const { f, i, vend, end } = fn;
  f.get(n).i32Const(-4).i32And().i32Const(2).i32Shl().set(vend);
  f.get(n).i32Const(2).i32Shl().set(end);
  f.i32Const(0).set(i);
  f.block((done) => {
    f.loop((top) => {
      f.get(i).get(vend).i32GeU().brIf(done);
      vec();
      f.get(i).i32Const(16).i32Add().set(i);
      f.br(top);
    });
  });
  f.block((done) => {
    f.loop((top) => {
      f.get(i).get(end).i32GeU().brIf(done);
      one();
      f.get(i).i32Const(4).i32Add().set(i);
      f.br(top);
    });
  });
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

/** Runs `body` for r in [task per, min((task + 1) per, count)): a task's share of rows or channels. */
export function range(f: FuncBuilder, task: number, per: number, count: number, r: number, rEnd: number, body: () => void): void {
  f.get(task).get(per).i32Mul().set(r);
  f.get(r).get(per).i32Add().tee(rEnd).get(count).get(rEnd).get(count).i32LtS().select().set(rEnd);
  f.block((done) => {
    f.loop((next) => {
      f.get(r).get(rEnd).i32GeU().brIf(done);
      body();
      f.get(r).i32Const(1).i32Add().set(r);
      f.br(next);
    });
  });
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
