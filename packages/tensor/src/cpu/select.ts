import type { Conv2dParams } from './conv.js';
import { gemm, type FloatArray } from './gemm.js';

type Gemm = typeof gemm;
type ConvFn = (p: Conv2dParams, a: FloatArray, b: FloatArray, out: FloatArray) => void;

/** The compute kernels the CPU backend calls; the pure-TypeScript ones are the reference. */
export interface CpuKernels {
  name: string;
  gemm: Gemm;
  conv2dForward?: ConvFn;
  conv2dBackwardInput?: ConvFn;
  conv2dBackwardWeight?: ConvFn;
}

const reference: CpuKernels = { name: 'js', gemm };
let current: CpuKernels = reference;

export function kernelChoice(): CpuKernels {
  return current;
}

/** Replaces the CPU compute kernels (e.g. WebAssembly SIMD ones); null restores the reference. */
export function setCpuKernels(k: CpuKernels | null): void {
  current = k ?? reference;
}
