// sumColumnsWasm: the sum over the rows of a contiguous float32 [rows, cols] block, into cols float64
// sums (a bias gradient: a Linear's output gradient summed over batch and time). Each column is a
// float64 chain that adds its rows in order, as the JS loop in ../reduce.ts, so the sums are the
// same bits; SIMD runs four columns in two f64x2 lanes pairs (eight at once, for four independent
// chains), and the threads split the columns. Rows are copied into kernel memory in blocks; each
// block continues the chains from the sums the previous one left.
import { i32, v128, type FuncBuilder, type ModuleBuilder } from './emitter.js';
import { compileKernel, type WasmKernel } from './extern.js';
import { taskBounds } from './loops.js';
import { getNumThreads } from './pool.js';
import { heapF32, scratch } from './runtime.js';

type CsExports = Record<'colSum', (...args: number[]) => void>;

let kernel: WasmKernel<CsExports> | undefined;

/** floats of whole rows copied into kernel memory at once */
const CHUNK = 1 << 20;
/** below this many floats one thread beats waking the others */
const PARALLEL_MIN = 1 << 16;

/**
 * Adds `k` blocks of 4 columns (k = 1 or 2) from byte address `col` over `rows` rows of `stride`
 * bytes into the float64 sums at `acc` (2 f64x2 a block), loaded first and stored back.
 */
function blocks(f: FuncBuilder, k: number, col: number, acc: number, rows: number, stride: number, l: { r: number; p: number; v: number; s: number[] }): void {
  for (let j = 0; j < 2 * k; j++) f.get(acc).v128Load(16 * j).set(l.s[j]);
  f.get(col).set(l.p);
  f.i32Const(0).set(l.r);
  f.block((done) => {
    f.loop((next) => {
      f.get(l.r).get(rows).i32GeU().brIf(done);
      for (let b = 0; b < k; b++) {
        f.get(l.p).v128Load(16 * b).set(l.v);
        f.get(l.s[2 * b]).get(l.v).f64x2PromoteLowF32x4().f64x2Add().set(l.s[2 * b]);
        f.get(l.s[2 * b + 1]).get(l.v).get(l.v).f32x4Shuffle([2, 3, 0, 0]).f64x2PromoteLowF32x4().f64x2Add().set(l.s[2 * b + 1]);
      }
      f.get(l.p).get(stride).i32Add().set(l.p);
      f.get(l.r).i32Const(1).i32Add().set(l.r);
      f.br(next);
    });
  });
  for (let j = 0; j < 2 * k; j++) f.get(acc).get(l.s[j]).v128Store(16 * j);
}

/** colSum(task, tid, x, acc, rows, nBlocks, stride, bpt): blocks of 4 columns [task bpt, ...) of nBlocks */
function emitColSum(m: ModuleBuilder): void {
  const f = m.func('colSum', Array(8).fill(i32));
  const [task, , x, acc, rows, nBlocks, stride, bpt] = [0, 1, 2, 3, 4, 5, 6, 7];
  const b = f.local(i32), bEnd = f.local(i32), col = f.local(i32), at = f.local(i32);
  const l = { r: f.local(i32), p: f.local(i32), v: f.local(v128), s: [0, 1, 2, 3].map(() => f.local(v128)) };
  taskBounds(f, task, bpt, nBlocks, b, bEnd);
  const point = () => {
    f.get(b).i32Const(4).i32Shl().get(x).i32Add().set(col); // 4 floats a block
    f.get(b).i32Const(5).i32Shl().get(acc).i32Add().set(at); // 4 doubles a block
  };
  // pairs of blocks (four chains), then a last single block
  f.block((done) => {
    f.loop((next) => {
      f.get(b).i32Const(2).i32Add().get(bEnd).i32GtS().brIf(done);
      point();
      blocks(f, 2, col, at, rows, stride, l);
      f.get(b).i32Const(2).i32Add().set(b);
      f.br(next);
    });
  });
  f.get(b).get(bEnd).i32LtS().if(() => {
    point();
    blocks(f, 1, col, at, rows, stride, l);
  });
}

/**
 * acc[j] += x[offset + r * cols + j] for r in [0, rows), in that order, for j < cols - cols % 4
 * (float64 sums; the caller adds the last cols % 4 columns). x holds rows contiguous rows of cols floats.
 * @example sumColumnsWasm(x, 0, 2048, 128, acc)
 */
export function sumColumnsWasm(x: Float32Array, offset: number, rows: number, cols: number, acc: Float64Array): void {
  const nBlocks = cols >> 2;
  if (rows === 0 || nBlocks === 0) return;
  const k = (kernel ??= compileKernel<CsExports>(emitColSum));
  const R = Math.max(1, Math.floor(CHUNK / cols));
  scratch.reset();
  const xAt = scratch.alloc(4 * Math.min(R, rows) * cols + 16);
  const accAt = scratch.alloc(32 * nBlocks);
  scratch.reserve();
  new Float64Array(heapF32().buffer, accAt, 4 * nBlocks).set(acc.subarray(0, 4 * nBlocks));
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0);
    heapF32().set(x.subarray(offset + r0 * cols, offset + (r0 + nr) * cols), xAt / 4);
    const threads = nr * cols >= PARALLEL_MIN && nBlocks > 1 ? getNumThreads() : 1;
    // an even number of blocks a task, so tasks keep the four-chain pairs
    const bpt = Math.max(2, 2 * Math.ceil(nBlocks / (8 * threads)));
    k.run('colSum', Math.ceil(nBlocks / bpt), [xAt, accAt, nr, nBlocks, 4 * cols, bpt], threads);
  }
  acc.set(new Float64Array(heapF32().buffer, accAt, 4 * nBlocks));
}
