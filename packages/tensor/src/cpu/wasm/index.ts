// WebAssembly SIMD128 CPU kernels with worker threads: the fast path of the CPU backend. The pure
// TypeScript kernels in ../gemm.ts and ../conv.ts are the reference with the same signatures.
import { simdSupported } from './runtime.js';

export { gemmBatchedWasm, gemmWasm } from './gemm.js';
export { getNumThreads, initWasmThreads, setNumThreads } from './pool.js';

/** true where WebAssembly SIMD128 validates, so the wasm kernels can run. */
export function wasmAvailable(): boolean {
  return simdSupported();
}
export { conv2dBackwardInputWasm, conv2dBackwardWeightWasm, conv2dForwardWasm, type Conv2dParams } from './conv.js';
