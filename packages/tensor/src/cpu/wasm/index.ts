// WebAssembly SIMD128 CPU kernels with worker threads: the fast path of the CPU backend. The pure
// TypeScript kernels in ../gemm.ts and ../conv.ts are the reference with the same signatures.
import { runtime, simdSupported } from './runtime.js';

export { conv2dBackwardInputWasm, conv2dBackwardWeightWasm, conv2dForwardWasm, type Conv2dParams } from './conv.js';
export { elementwiseWasm, ewiseSupports, type EwOp } from './elementwise.js';
export { layerNormRowsWasm } from './norm.js';
export { softmaxGradRowsWasm, softmaxRowsWasm } from './softmax.js';
export { sumColumnsWasm } from './colsum.js';
export { binaryWasm, binarySupports, BIN, MODE, type BinArg, type BinOp } from './binary.js';
export { gemmBatchedWasm, gemmWasm } from './gemm.js';
export { coresNow, getNumThreads, initWasmThreads, setNumThreads } from './pool.js';

let available: boolean | undefined;

/**
 * true where WebAssembly SIMD128 validates and the kernel module instantiates (a page whose CSP
 * forbids WebAssembly compilation gets false), so the wasm kernels can run.
 * @example const gemm = wasmAvailable() ? gemmWasm : gemmReference;
 */
export function wasmAvailable(): boolean {
  if (available === undefined) {
    try {
      available = simdSupported() && runtime() !== undefined;
    } catch {
      available = false;
    }
  }
  return available;
}
