// Package-owned kernel modules on @dl/tensor's kernel memory and worker threads. A package builds
// a module with the emitter; compileKernel adds the import of the shared memory, instantiates it on
// this thread, and `run` hands tasks of one export to every thread as a job like the built-in
// ones. Workers compile the module from bytes the caller leaves in shared memory, on their first
// task of it: their loop never returns to the event loop, so nothing can be posted to them.
import { DLError } from '../../errors.js';
import { ModuleBuilder } from './emitter.js';
import { callerExterns, dispatch, getNumThreads, params } from './pool.js';
import { runtime, scratch } from './runtime.js';
import { JOB, P } from './tasks.js';

type Exports = Record<string, (...args: number[]) => unknown>;

/** A module compiled by `compileKernel`. */
export interface WasmKernel<E extends Exports = Exports> {
  /** the module's exports on this thread (call them directly for work that is not split) */
  readonly exports: E;
  /**
   * Calls `exports[name](task, tid, ...args)` for task = 0 .. nTasks - 1, spread over
   * `threads` threads (default `getNumThreads()`; the caller is tid 0), and returns when every
   * task is done. Tasks run in any order on any thread: each must write only its own outputs, and
   * per-thread temporaries belong at an offset of `tid`. `args` are i32 (counts or byte offsets
   * into the kernel memory, from `kernelScratch`).
   */
  run(name: keyof E & string, nTasks: number, args: readonly number[], threads?: number): void;
}

let nextId = 0;

/**
 * Compiles a package's SIMD kernel module on @dl/tensor's kernel memory (imported as
 * `env.memory`, shared where threads can run) so that its exports can run split over the worker
 * threads with `run`. Returns null where the wasm kernels cannot run (no SIMD128). The build
 * function adds the functions: exports meant for `run` take (task: i32, tid: i32, ...args: i32).
 * @example
 * const k = compileKernel((m) => { const f = m.func('fill', [i32, i32, i32]); ... });
 * kernelScratch.reset(); const at = kernelScratch.alloc(4 * n); kernelScratch.reserve();
 * k.run('fill', 8, [at, n]);   // then read kernelHeapF32().subarray(at / 4, at / 4 + n)
 */
export function compileKernel<E extends Exports = Exports>(build: (m: ModuleBuilder) => void): WasmKernel<E> {
  const rt = runtime();
  const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', initial: 1, maximum: rt.maximumPages, shared: rt.shared });
  build(m);
  const bytes = m.bytes();
  const module = new WebAssembly.Module(bytes as BufferSource);
  const exports = new WebAssembly.Instance(module, { env: { memory: rt.memory } }).exports as unknown as E;
  const id = nextId++;
  callerExterns().mods[id] = exports as Exports as Record<string, (...args: number[]) => void>;
  const names = Object.keys(exports);
  return {
    exports,
    run(name, nTasks, args, threads = getNumThreads()) {
      const fn = names.indexOf(name);
      if (fn < 0) throw new DLError('compileKernel.run', `the module has no export '${name}' (exports: ${names.join(', ')})`);
      if (!Number.isInteger(nTasks) || nTasks < 0) throw new DLError('compileKernel.run', `nTasks must be a non-negative integer, got ${nTasks}`);
      if (nTasks === 0) return;
      const codeAt = scratch.alloc(bytes.length);
      const argsAt = scratch.alloc(4 * args.length);
      scratch.reserve();
      const buf = rt.memory.buffer;
      new Uint8Array(buf, codeAt, bytes.length).set(bytes);
      new Int32Array(buf, argsAt, args.length).set(args);
      const p = params();
      p[P.KIND] = JOB.EXTERN;
      p[P.X_ID] = id;
      p[P.X_CODE] = codeAt;
      p[P.X_LEN] = bytes.length;
      p[P.X_FN] = fn;
      p[P.X_ARGS] = argsAt;
      p[P.X_NARGS] = args.length;
      dispatch(nTasks, threads);
    },
  };
}
