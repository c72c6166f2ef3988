// The kernel module, compiled once per process, and its memory: feature probes, a byte-offset bump
// allocator for per-call scratch, and typed views that follow memory growth.
import { ModuleBuilder, v128 } from './emitter.js';
import { kernelModuleBytes, type KernelExports } from './gemm-kernel.js';
import { CTRL_BYTES } from './tasks.js';

const PAGE = 65536;
/** 2 GiB: the largest shared memory every engine accepts; smaller where reserving it fails. */
const MAX_PAGES = [32768, 8192, 2048];

function validates(build: (m: ModuleBuilder) => void): boolean {
  try {
    const m = new ModuleBuilder();
    build(m);
    return typeof WebAssembly === 'object' && WebAssembly.validate(m.bytes() as BufferSource);
  } catch {
    return false;
  }
}

let simdOk: boolean | undefined;
/** true where WebAssembly with SIMD128 validates. */
export function simdSupported(): boolean {
  simdOk ??= validates((m) => {
    m.func('f', [v128], [v128]).get(0).get(0).f32x4Mul();
  });
  return simdOk;
}

let relaxedOk: boolean | undefined;
/** true where relaxed-SIMD (f32x4.relaxed_madd) validates. */
export function relaxedSimdSupported(): boolean {
  relaxedOk ??= validates((m) => {
    m.func('f', [v128], [v128]).get(0).get(0).get(0).f32x4RelaxedMadd();
  });
  return relaxedOk;
}

/** Shared WebAssembly memory needs SharedArrayBuffer (cross-origin isolation in browsers). */
function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

export interface Runtime {
  /** the module uses f32x4.relaxed_madd */
  fma: boolean;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  ex: KernelExports;
  shared: boolean;
  /** control words (first page), valid across growth because it is never detached when shared */
  ctrl: Int32Array;
  /** scratch bytes one call may use before its caller splits the problem */
  maxScratch: number;
  /** the memory's maximum, which a module importing it must declare */
  maximumPages: number;
}

let rt: Runtime | undefined;

/** Compiles and instantiates the kernel module on first use (synchronous: the module is small). */
export function runtime(): Runtime {
  if (rt) return rt;
  const shared = sharedMemorySupported();
  const initialPages = 16;
  // relaxed-SIMD FMA where it validates (default in Chrome and newer Node; Node 20 needs
  // --experimental-wasm-relaxed-simd): one instruction per multiply-add, so a 2-FMA-port CPU runs
  // twice the mul+add rate. Results then round once per multiply-add instead of twice.
  const fma = relaxedSimdSupported();
  // a shared memory reserves its maximum up front, which 32-bit or small devices may refuse
  let memory: WebAssembly.Memory | undefined;
  let maximumPages = 0;
  for (const max of MAX_PAGES) {
    try {
      memory = new WebAssembly.Memory({ initial: initialPages, maximum: max, shared } as WebAssembly.MemoryDescriptor);
      maximumPages = max;
      break;
    } catch (e) {
      if (max === MAX_PAGES[MAX_PAGES.length - 1]) throw e;
    }
  }
  const bytes = kernelModuleBytes({ shared, fma, initialPages: 1, maximumPages });
  const module = new WebAssembly.Module(bytes as BufferSource);
  const ex = new WebAssembly.Instance(module, { env: { memory: memory! } }).exports as unknown as KernelExports;
  rt = { fma, memory: memory!, module, ex, shared, ctrl: new Int32Array(memory!.buffer, 0, CTRL_BYTES / 4), maxScratch: 0.75 * maximumPages * PAGE, maximumPages };
  return rt;
}

let f32View: Float32Array | undefined;

/** A Float32Array over all of memory, re-made after growth. */
export function heapF32(): Float32Array {
  const buf = runtime().memory.buffer;
  if (!f32View || f32View.buffer !== buf || f32View.byteLength !== buf.byteLength) f32View = new Float32Array(buf);
  return f32View;
}

/**
 * Per-call scratch: `alloc` hands out 64-byte aligned byte offsets after the control block;
 * `reserve` grows memory to cover them. Calls are synchronous, so each call starts from `reset()`.
 */
export class Scratch {
  top = CTRL_BYTES;
  reset(): this {
    this.top = CTRL_BYTES;
    return this;
  }
  alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((at + bytes) / 64) * 64;
    return at;
  }
  /** grows memory to hold everything allocated so far, plus slack for whole-vector reads past the end */
  reserve(): void {
    const mem = runtime().memory;
    const have = mem.buffer.byteLength;
    const want = this.top + 64;
    if (want > have) mem.grow(Math.ceil((want - have) / PAGE));
  }
}

export const scratch = new Scratch();
