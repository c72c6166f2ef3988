// layerNormRowsWasm: layer norm rows without weight or bias (GroupNorm's groups) and their input
// gradient in SIMD128 float64 arithmetic, bit for bit the JS kernels of ../norm.ts (see
// norm-kernel.ts). Rows are copied into kernel memory a block at a time; one thread.
import { heapF32, runtime, scratch } from './runtime.js';

/** floats per block (whole rows; a longer row is one block) */
const BLOCK = 16384;

/**
 * out = (x - mean) * rstd per row of `len` floats, or with `g` the input gradient
 * rstd (g - mean(g) - xhat mean(g xhat)); x, g and out hold rows * len floats.
 * @example layerNormRowsWasm(x, null, out, 64 * 8, 1568, 1e-5)
 */
export function layerNormRowsWasm(x: Float32Array, g: Float32Array | null, out: Float32Array, rows: number, len: number, eps: number): void {
  if (rows === 0 || len === 0) return;
  const R = Math.max(1, Math.floor(BLOCK / len));
  scratch.reset();
  const xAt = scratch.alloc(4 * R * len);
  const gAt = g ? scratch.alloc(4 * R * len) : 0;
  const oAt = scratch.alloc(4 * R * len);
  scratch.reserve();
  const heap = heapF32();
  const ex = runtime().ex;
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0);
    const e0 = r0 * len, e1 = e0 + nr * len;
    heap.set(x.subarray(e0, e1), xAt / 4);
    if (g) {
      heap.set(g.subarray(e0, e1), gAt / 4);
      ex.lnGradRows(gAt, xAt, oAt, nr, len, eps);
    } else ex.lnRows(xAt, oAt, nr, len, eps);
    out.set(heap.subarray(oAt / 4, oAt / 4 + nr * len), e0);
  }
}
