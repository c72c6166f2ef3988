// binaryWasm: float32 add, sub, mul and div in SIMD128 over [rows, inner], with an operand that
// covers every element, one value per row or one shared row (see binary-kernel.ts). Operands are
// copied into kernel memory a block of rows at a time, so each block stays in cache between the
// copy in, the kernel and the copy out. From PARALLEL_MIN floats with more than one thread set, larger
// blocks are copied in and computed in tasks across the threads (the same per-element results).
import { BIN, type BinOp, MODE, type Mode } from './binary-kernel.js';
import { dispatch, getNumThreads, params } from './pool.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { JOB, P } from './tasks.js';

export { BIN, MODE, type BinOp } from './binary-kernel.js';

/** floats per block: the operands and the output of a block fit in L2 */
const BLOCK = 8192;
/** floats per task when split across threads */
const TASK = 16384;
/** below this many floats one thread beats waking the others */
const PARALLEL_MIN = 65536;
/** floats per block copied in when threaded */
const CHUNK = 1 << 18;

/**
 * One operand of `binaryWasm`. `data` holds rows x inner floats row-major (FULL), one float per
 * row (ROW) or one row of inner floats (COL).
 */
export interface BinArg {
  mode: Mode;
  data: Float32Array;
}

/** true for the ops `binaryWasm` runs */
export function binarySupports(op: string): op is BinOp {
  return Object.prototype.hasOwnProperty.call(BIN, op);
}

/**
 * out[r * inner + i] = a[r, i] op b[r, i] (add, sub, mul, div) in float32 SIMD, bit for bit the
 * float32 result of the JS loop, on `getNumThreads()` threads. `out` has rows * inner floats.
 * @example binaryWasm('add', { mode: MODE.FULL, data: x }, { mode: MODE.ROW, data: bias }, out, 64 * 16, 784)
 */
export function binaryWasm(op: BinOp, a: BinArg, b: BinArg, out: Float32Array, rows: number, inner: number): void {
  if (rows === 0 || inner === 0) return;
  const threads = rows * inner >= PARALLEL_MIN ? getNumThreads() : 1;
  const block = threads > 1 ? CHUNK : BLOCK;
  // a block is R whole rows, or one row cut into pieces of L floats when a row exceeds a block
  const L = Math.min(inner, block);
  const R = L < inner ? 1 : Math.max(1, Math.min(rows, Math.floor(block / inner)));
  const ops = [a, b];
  scratch.reset();
  const at = ops.map((o) => scratch.alloc(4 * (o.mode === MODE.FULL ? R * L : o.mode === MODE.ROW ? R : L)));
  const outAt = scratch.alloc(4 * R * L);
  scratch.reserve();
  const heap = heapF32();
  const ex = runtime().ex;
  // a shared row that fits a block is copied once
  ops.forEach((o, k) => {
    if (o.mode === MODE.COL && L === inner) heap.set(o.data.subarray(0, inner), at[k] / 4);
  });
  const code = BIN[op];
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0);
    for (let c0 = 0; c0 < inner; c0 += L) {
      const nc = Math.min(L, inner - c0);
      const e0 = r0 * inner + c0;
      ops.forEach((o, k) => {
        if (o.mode === MODE.FULL) heap.set(o.data.subarray(e0, e0 + nr * nc), at[k] / 4);
        else if (o.mode === MODE.ROW) heap.set(o.data.subarray(r0, r0 + nr), at[k] / 4);
        else if (L < inner) heap.set(o.data.subarray(c0, c0 + nc), at[k] / 4);
      });
      if (threads > 1 && nr * nc >= PARALLEL_MIN) {
        // tasks of whole rows, or of TASK floats of one row (see tasks.ts JOB.BINARY)
        const rT = nc >= TASK ? 1 : Math.floor(TASK / nc);
        const cT = nc >= TASK ? TASK : nc;
        const p = params();
        p[P.KIND] = JOB.BINARY;
        p[P.EW_OP] = code;
        p[P.EW_A] = at[0];
        p[P.SS] = a.mode;
        p[P.EW_X] = at[1];
        p[P.DS] = b.mode;
        p[P.EW_OUT] = outAt;
        p[P.ROWS] = nr;
        p[P.LEN] = nc;
        p[P.ROWS_TASK] = rT;
        p[P.EW_TASK] = cT;
        dispatch(Math.ceil(nr / rT) * Math.ceil(nc / cT), threads);
      } else ex.binary(code, at[0], a.mode, at[1], b.mode, outAt, nr, nc);
      out.set(heap.subarray(outAt / 4, outAt / 4 + nr * nc), e0);
    }
  }
}
