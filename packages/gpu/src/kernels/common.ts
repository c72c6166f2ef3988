import { contiguousStrides, isContiguousLayout, sizeOf, type DType } from '@dl/tensor';
import { type OutInfo, type TensorInfo } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { storageBytes, type ShaderBuilder } from '../wgsl/builder.js';

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

/**
 * Several tensors in one dispatch, a range of workgroups each (grouped Adam steps and in-place
 * ops): member j's statements run with `i`, its element, for workgroups [first<j>, end<j>).
 */
export function memberBlock(b: ShaderBuilder, j: number, body: string): string {
  return `  if (wg < ${b.param(`end${j}`)}) {
    let i = (wg - ${b.param(`first${j}`)}) * ${WG} + lid;
    if (i >= ${b.param(`n${j}`)}) { return; }
${body}
    return;
  }`;
}

/** The uniforms of memberBlock for members of `sizes` elements (n<j>, first<j>, end<j>); returns the workgroups in all. */
export function memberRanges(sizes: readonly number[], params: Record<string, number>): number {
  let groups = 0;
  sizes.forEach((n, j) => {
    params[`n${j}`] = n;
    params[`first${j}`] = groups;
    groups += Math.ceil(n / WG);
    params[`end${j}`] = groups;
  });
  return groups;
}
