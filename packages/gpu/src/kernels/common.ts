import { contiguousStrides, isContiguousLayout, sizeOf, type DType } from '@dl/tensor';
import { type OutInfo, type TensorInfo } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { storageBytes } from '../wgsl/builder.js';

/** Allocates storage for `n` elements of `dtype`. */
export function newData(ctx: GpuContext, n: number, dtype: DType, forUpload = false): GpuData {
  const bytes = Math.max(4, Math.ceil((n * storageBytes(dtype)) / 4) * 4);
  return { buffer: ctx.alloc(bytes, forUpload), n, dtype, freed: false };
}

export function dataOf(x: TensorInfo): GpuData {
  return x.data as GpuData;
}

/** 'c' for a view that is contiguous (from any offset), 's' for a general strided one; part of shader keys. */
export function layoutTag(x: TensorInfo): 'c' | 's' {
  return isContiguousLayout(x.shape, x.strides) ? 'c' : 's';
}

export function outSize(out: OutInfo): number {
  return sizeOf(out.shape);
}

/** Workgroup size of the one-thread-per-element kernels. */
export const WG = 256;

/** A contiguous tensor of `shape` over `data` from offset 0. */
export function contiguousInfo(data: GpuData, shape: readonly number[]): TensorInfo {
  return { data, shape, strides: contiguousStrides(shape), offset: 0, dtype: data.dtype };
}
