import { DeviceError, DLError } from '../errors.js';
import type { Conv2dParams } from './conv.js';
import { gemm, type FloatArray } from './gemm.js';
import {
  binaryWasm,
  binarySupports,
  conv2dBackwardInputWasm,
  conv2dBackwardWeightWasm,
  conv2dForwardWasm,
  elementwiseWasm,
  ewiseSupports,
  type EwOp,
  gemmBatchedWasm,
  gemmWasm,
  getNumThreads,
  coresNow,
  initWasmThreads,
  layerNormRowsWasm,
  softmaxGradRowsWasm,
  softmaxRowsWasm,
  sumColumnsWasm,
  setNumThreads as setWasmThreads,
  wasmAvailable,
} from './wasm/index.js';

type ConvFn = (p: Conv2dParams, a: Float32Array, b: Float32Array, out: Float32Array) => void;

/**
 * Float32 compute kernels the CPU backend calls. The pure-TypeScript set ('js') is the reference
 * and also serves float64; 'wasm' is WebAssembly SIMD128 with worker threads.
 */
export interface CpuKernels {
  name: string;
  gemm: typeof gemm;
  /** batch of GEMMs whose operands step by one batch stride each (0 = shared operand) */
  gemmBatched?: typeof gemmBatchedWasm;
  /** the conv kernels get an output array with arbitrary contents and write every element of it */
  conv2dForward?: ConvFn;
  conv2dBackwardInput?: ConvFn;
  conv2dBackwardWeight?: ConvFn;
  /**
   * float32 elementwise ops over contiguous arrays: out[i] = op(x[i]), or op(g[i], x[i]) for a
   * gradient op (ins = [g, x]); `elementwiseOps` says which ops it runs.
   */
  elementwise?: (op: EwOp, ins: readonly Float32Array[], out: Float32Array) => void;
  elementwiseOps?: (op: string) => op is EwOp;
  /**
   * float32 add/sub/mul/div over [rows, inner] with operands that cover every element, one value
   * per row or one shared row; `binaryOps` says which ops it runs.
   */
  binary?: typeof binaryWasm;
  binaryOps?: typeof binarySupports;
  /**
   * float32 layer norm of rows without weight or bias (GroupNorm's groups), or with g its input
   * gradient, bit for bit the JS kernels
   */
  layerNormRows?: typeof layerNormRowsWasm;
  /** float32 softmax (or logSoftmax) of contiguous rows */
  softmaxRows?: typeof softmaxRowsWasm;
  /** float32 softmax (or logSoftmax) gradient of contiguous rows from the output and its gradient */
  softmaxGradRows?: typeof softmaxGradRowsWasm;
  /** float64 sums over the rows of contiguous float32 rows, column by column in row order (the JS loop's bits) */
  sumColumns?: typeof sumColumnsWasm;
}

const js: CpuKernels = { name: 'js', gemm };
const wasm: CpuKernels = {
  name: 'wasm',
  gemm: gemmWasm as typeof gemm,
  gemmBatched: gemmBatchedWasm,
  conv2dForward: conv2dForwardWasm,
  conv2dBackwardInput: conv2dBackwardInputWasm,
  conv2dBackwardWeight: conv2dBackwardWeightWasm,
  elementwise: elementwiseWasm,
  elementwiseOps: ewiseSupports,
  binary: binaryWasm,
  binaryOps: binarySupports,
  layerNormRows: layerNormRowsWasm,
  softmaxRows: softmaxRowsWasm,
  softmaxGradRows: softmaxGradRowsWasm,
  sumColumns: sumColumnsWasm,
};

let current: CpuKernels | null = null;

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name];
}

/** The first choice: DL_CPU_KERNELS=js|wasm, else wasm where SIMD128 validates; DL_NUM_THREADS threads. */
function initial(): CpuKernels {
  const want = env('DL_CPU_KERNELS') ?? 'wasm';
  if (want !== 'js' && want !== 'wasm') throw new DLError('DL_CPU_KERNELS', `must be 'js' or 'wasm', got '${want}'`);
  if (want === 'js' || !wasmAvailable()) return js;
  defaultThreads();
  return wasm;
}

let threadsChosen = false;

/**
 * Sets the wasm kernels' thread count to DL_NUM_THREADS or one per core, unless it was chosen
 * already. It is fixed here, synchronously, because kernels split their work (and so order their
 * sums) by it: were it to change once workers start, a process's first steps would round
 * differently from later ones, and a resumed run would not repeat an uninterrupted one. Workers
 * start in the background; tasks run on whichever threads are ready, which changes no result.
 */
function defaultThreads(): void {
  if (threadsChosen) return;
  const given = env('DL_NUM_THREADS');
  if (given !== undefined && !/^[1-9]\d*$/.test(given)) throw new DLError('DL_NUM_THREADS', `must be a positive integer, got '${given}'`);
  threadsChosen = true;
  const threads = given === undefined ? coresNow() : Number(given);
  // where the core count is only known asynchronously (Node < 20.16) the default stays 1 thread
  if (threads !== undefined) setWasmThreads(threads);
}

/** The float32 kernels in use (float64 always runs the 'js' reference). */
export function kernelChoice(): CpuKernels {
  return (current ??= initial());
}

/** The reference kernels, for dtypes the fast ones do not cover. */
export const referenceKernels: CpuKernels = js;

/**
 * Picks the CPU compute kernels: 'js' (pure TypeScript reference), 'wasm' (SIMD128, the default
 * where available) or your own set. Also settable with the env var DL_CPU_KERNELS.
 */
export function setCpuKernels(k: 'js' | 'wasm' | CpuKernels): void {
  if (k === 'wasm' && !wasmAvailable()) throw new DeviceError('setCpuKernels', "WebAssembly SIMD128 is not available here; use 'js'");
  if (k !== 'js' && k !== 'wasm' && typeof (k as CpuKernels | null)?.gemm !== 'function') {
    throw new DLError('setCpuKernels', `expected 'js', 'wasm' or a CpuKernels object with a gemm function, got ${typeof k === 'string' ? `'${k}'` : String(k)}`);
  }
  if (k === 'wasm') defaultThreads();
  current = k === 'js' ? js : k === 'wasm' ? wasm : k;
}

/** Threads for the wasm kernels, the caller included (default: one per core; env DL_NUM_THREADS). */
export function setNumThreads(n: number): void {
  setWasmThreads(n);
  threadsChosen = true;
}
export { getNumThreads };

/**
 * Starts the wasm kernels' worker threads (default: one per core, caller included) and resolves
 * once they listen, so the next kernel already runs on all of them.
 */
export async function initThreads(n?: number): Promise<void> {
  threadsChosen = true;
  await initWasmThreads(n);
}
