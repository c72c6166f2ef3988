/**
 * @dl/tensor/wasm: the WebAssembly SIMD128 emitter that @dl/tensor's own CPU kernels are written
 * with, for packages that give a `defineOp` op a SIMD CPU kernel of their own (@dl/mamba's
 * selective scan is the worked example). Build a module in TypeScript, compile it once, and call
 * it from the op's `cpu` kernel on the op's float32 data; fall back to a plain loop where
 * `simdSupported()` is false or `kernelChoice().name` is 'js' (the reference kernels).
 * `compileKernel` puts such a module on @dl/tensor's kernel memory and worker threads, so its
 * work can be split over the same threads as the built-in kernels (`kernelScratch` hands out
 * that memory for one call).
 * The README's "A SIMD CPU kernel for your op" has a runnable example.
 */
export { ModuleBuilder, FuncBuilder, i32, f32, f64, v128, type ValType, type Label, type MemoryImport } from './cpu/wasm/emitter.js';
export { vexp, vecLocals, type VecLocals } from './cpu/wasm/elementwise-kernel.js';
export { hmaxF32, hsumF64 } from './cpu/wasm/lanes.js';
export { spanEnds, taskBounds, taskRange, walkSpan, type Span } from './cpu/wasm/loops.js';
export { simdSupported, relaxedSimdSupported, scratch as kernelScratch, heapF32 as kernelHeapF32, type Scratch } from './cpu/wasm/runtime.js';
export { compileKernel, type WasmKernel } from './cpu/wasm/extern.js';
