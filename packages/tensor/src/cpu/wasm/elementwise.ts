// elementwiseWasm: float32 transcendental elementwise ops (exp, sigmoid, silu, tanh, gelu in both
// forms and the fused siluGrad, geluGrad, geluTanhGrad, reluGrad) in SIMD128.
// Inputs are copied into kernel memory block by block, so each block stays in cache between the
// copy in, the kernel and the copy out; large arrays are split across the worker threads.
import { EW, EW_BINARY, type EwOp } from './elementwise-kernel.js';
import { dispatch, getNumThreads, params } from './pool.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { JOB, P } from './tasks.js';

export { EW, type EwOp } from './elementwise-kernel.js';

/** floats per block on one thread: three blocks (g, x, out) fit in L2 */
const BLOCK = 8192;
/** floats per task when split across threads */
const TASK = 16384;
/** below this many floats one thread beats waking the others */
const PARALLEL_MIN = 65536;
/** floats copied in per job when threaded (bounds kernel memory) */
const CHUNK = 1 << 20;

/** true for the ops `elementwiseWasm` runs */
export function ewiseSupports(op: string): op is EwOp {
  return Object.prototype.hasOwnProperty.call(EW, op);
}

/**
 * out[i] = op(x[i]) (exp, sigmoid, silu, tanh, gelu, geluTanh) or op(g[i], x[i]) (siluGrad,
 * geluGrad, geluTanhGrad: g * f'(x); reluGrad: g where x > 0, else 0) for every i,
 * in float32 SIMD on `getNumThreads()` threads. `ins` is [x] or [g, x], each as long as out.
 * @example elementwiseWasm('silu', [x], out)
 */
export function elementwiseWasm(op: EwOp, ins: readonly Float32Array[], out: Float32Array): void {
  const n = out.length;
  if (n === 0) return;
  const binary = EW_BINARY.has(op);
  const g = binary ? ins[0] : undefined;
  const x = binary ? ins[1] : ins[0];
  const code = EW[op];
  const ex = runtime().ex;
  const threads = n >= PARALLEL_MIN ? getNumThreads() : 1;
  const block = threads > 1 ? Math.min(CHUNK, n) : Math.min(BLOCK, n);
  scratch.reset();
  // + 4: whole-vector reads and writes past the last float
  const gAt = binary ? scratch.alloc(4 * (block + 4)) : 0;
  const xAt = scratch.alloc(4 * (block + 4));
  const oAt = scratch.alloc(4 * (block + 4));
  scratch.reserve();
  const heap = heapF32();
  for (let i = 0; i < n; i += block) {
    const len = Math.min(block, n - i);
    if (g) heap.set(g.subarray(i, i + len), gAt / 4);
    heap.set(x.subarray(i, i + len), xAt / 4);
    if (threads > 1 && len >= PARALLEL_MIN) {
      const p = params();
      p[P.KIND] = JOB.EWISE;
      p[P.EW_OP] = code;
      p[P.EW_A] = gAt;
      p[P.EW_X] = xAt;
      p[P.EW_OUT] = oAt;
      p[P.EW_N] = len;
      p[P.EW_TASK] = TASK;
      dispatch(Math.ceil(len / TASK), threads);
    } else {
      ex.ewise(code, gAt, xAt, oAt, len);
    }
    out.set(heap.subarray(oAt / 4, oAt / 4 + len), i);
  }
}
