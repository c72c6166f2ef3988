import { Tensor } from '@dl/tensor';

/**
 * Float32 views of CPU tensors that are contiguous, so an optimizer can update them in one pass
 * instead of a dozen elementwise ops (the same idea as PyTorch's fused/foreach optimizers).
 * Returns null when any tensor is on another device, another dtype or strided: callers then take
 * the generic tensor path, which works on every device.
 */
export function cpuFloat32(ts: readonly Tensor[]): Float32Array[] | null {
  const out: Float32Array[] = [];
  for (const t of ts) {
    if (t.device !== 'cpu' || t.dtype !== 'float32' || !t.isContiguous()) return null;
    const data = t.storage.data;
    if (!(data instanceof Float32Array)) return null;
    out.push(data.subarray(t.offset, t.offset + t.size));
  }
  return out;
}

/** Marks in-place writes done through cpuFloat32 views (autograd checks versions of saved tensors). */
export function bumpVersions(ts: readonly Tensor[]): void {
  for (const t of ts) t.storage.version++;
}
