// layerNormRowsWasm: layer norm rows without weight or bias (GroupNorm's groups) and their input
// gradient in SIMD128 float64 arithmetic, bit for bit the JS kernels of ../norm.ts (see
// norm-kernel.ts). Rows are copied into kernel memory a block at a time; from PARALLEL_MIN floats
// with more than one thread set, larger blocks are split over the threads by whole rows (each row
// computed as on one thread, so the same bits).
import { dispatch, getNumThreads, params } from './pool.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { JOB, P } from './tasks.js';

/** floats per block (whole rows; a longer row is one block) */
const BLOCK = 16384;
/** floats per task when split across threads (whole rows) */
const TASK = 16384;
/** below this many floats one thread beats waking the others */
const PARALLEL_MIN = 65536;
/** floats per block copied in when threaded (whole rows) */
const CHUNK = 1 << 18;

/**
 * out = (x - mean) * rstd per row of `len` floats, or with `g` the input gradient
 * rstd (g - mean(g) - xhat mean(g xhat)), on `getNumThreads()` threads; x, g and out hold
 * rows * len floats.
 * @example layerNormRowsWasm(x, null, out, 64 * 8, 1568, 1e-5)
 */
export function layerNormRowsWasm(x: Float32Array, g: Float32Array | null, out: Float32Array, rows: number, len: number, eps: number): void {
  if (rows === 0 || len === 0) return;
  const threads = rows * len >= PARALLEL_MIN && rows > 1 ? getNumThreads() : 1;
  const R = Math.max(1, Math.floor((threads > 1 ? CHUNK : BLOCK) / len));
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
    if (g) heap.set(g.subarray(e0, e1), gAt / 4);
    const rT = Math.max(1, Math.floor(TASK / len));
    if (threads > 1 && nr > rT) {
      const p = params();
      p[P.KIND] = JOB.LNROWS;
      p[P.EW_X] = xAt;
      p[P.EW_A] = gAt;
      p[P.EW_OUT] = oAt;
      p[P.ROWS] = nr;
      p[P.LEN] = len;
      p[P.ROWS_TASK] = rT;
      new Float64Array(p.buffer, p.byteOffset + P.SP * 4, 1)[0] = eps;
      dispatch(Math.ceil(nr / rT), threads);
    } else if (g) ex.lnGradRows(gAt, xAt, oAt, nr, len, eps);
    else ex.lnRows(xAt, oAt, nr, len, eps);
    out.set(heap.subarray(oAt / 4, oAt / 4 + nr * len), e0);
  }
}
