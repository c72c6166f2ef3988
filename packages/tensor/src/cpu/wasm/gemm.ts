// gemmWasm: copies strided operands into kernel memory, packs A once (in parallel), then runs the
// packed GEMM over tiles of C (each tile packs its own B block), and copies C back. Also the
// batched form and the pieces conv.ts reuses (planGemm, packA, runGemm).
import { gemm as gemmReference } from '../gemm.js';
import { MR, NR } from './gemm-kernel.js';
import { dispatch, getNumThreads, params, threadsFor } from './pool.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { BSRC, JOB, P } from './tasks.js';

/** k block: a B panel (KC x NR) and an A panel (MR x KC) stay in L1 together. */
export const KC = 256;
/** widest column tile: its packed B block (KC x NC) stays in L2 */
const NC = 128;
/** below this many multiply-adds, one thread beats waking others */
const PARALLEL_MIN = 1 << 18;
/** at or below this many multiply-adds, the reference loop beats the ~2 us of copying in and out */
const TINY = 1024;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Where a copied operand lives in kernel memory: byte address of element (0, 0) and strides. */
export interface Placed {
  at: number;
  rs: number;
  cs: number;
}

/**
 * Copies the rows x cols strided matrix src into kernel memory at `dst` (bytes). When the region
 * the strides span is compact it is copied whole with its strides kept (this covers row-major,
 * column-major, broadcast and negative strides); otherwise it is gathered row-major.
 */
export function place(rows: number, cols: number, src: Float32Array, off: number, rs: number, cs: number, dst: number): Placed {
  let lo = off, hi = off;
  if (rows > 1) rs < 0 ? (lo += (rows - 1) * rs) : (hi += (rows - 1) * rs);
  if (cols > 1) cs < 0 ? (lo += (cols - 1) * cs) : (hi += (cols - 1) * cs);
  const heap = heapF32();
  const span = hi - lo + 1;
  if (span <= 2 * rows * cols + 16) {
    heap.set(src.subarray(lo, hi + 1), dst / 4);
    return { at: dst + (off - lo) * 4, rs: rows > 1 ? rs : 0, cs: cols > 1 ? cs : 0 };
  }
  let d = dst / 4;
  if (cs === 1) {
    for (let i = 0; i < rows; i++, d += cols) heap.set(src.subarray(off + i * rs, off + i * rs + cols), d);
  } else {
    for (let i = 0; i < rows; i++) for (let j = 0, s = off + i * rs; j < cols; j++, s += cs) heap[d++] = src[s];
  }
  return { at: dst, rs: cols, cs: 1 };
}

/** How a GEMM is cut into tasks for `threads` threads. */
export interface GemmPlan {
  threads: number;
  mpTask: number;
  npTask: number;
  colTasks: number;
  tasks: number;
  /** >0: split K into chunks of this many (a KC multiple); each chunk sums into its own C copy */
  kTask: number;
}

/** Splits C into tasks: whole column strips of up to NC, narrowed (then rows split) until every thread has work. */
/** Bytes the split-K copies of C may take. */
const SPLIT_BYTES = 16 << 20;

export function planGemm(M: number, N: number, K: number): GemmPlan {
  const panelsM = ceilDiv(M, MR), panelsN = ceilDiv(N, NR);
  const want = M * N * K >= PARALLEL_MIN ? getNumThreads() : 1;
  let npTask = Math.min(panelsN, NC / NR);
  let mpTask = panelsM;
  const tasksFor = () => ceilDiv(panelsN, npTask) * ceilDiv(panelsM, mpTask);
  // aim for 8 tasks per thread: the last task's tail, or a descheduled thread, then costs little
  while (want > 1 && tasksFor() < 8 * want && npTask > 8) npTask = ceilDiv(npTask, 2);
  while (want > 1 && tasksFor() < 2 * want && mpTask > 16) mpTask = ceilDiv(mpTask, 2);
  let colTasks = ceilDiv(panelsN, npTask);
  let tasks = colTasks * ceilDiv(panelsM, mpTask);
  let kTask = 0;
  if (want > 1 && tasks < 4 * want && K >= 4 * KC * want) {
    // small C, long K (weight gradients): tiles cannot keep the threads busy, chunks of K can.
    // Each chunk sums into its own copy of C (see runGemm): at most SPLIT_BYTES of copies
    const copies = Math.max(want, Math.floor(SPLIT_BYTES / (4 * panelsM * MR * panelsN * NR)));
    const blocks = ceilDiv(K, KC);
    kTask = KC * Math.max(1, Math.floor(blocks / (8 * want)), ceilDiv(blocks, copies));
    npTask = Math.min(panelsN, NC / NR);
    mpTask = panelsM;
    colTasks = ceilDiv(panelsN, npTask);
    tasks = ceilDiv(K, kTask);
  }
  return { threads: want, mpTask, npTask, colTasks, tasks, kTask };
}

/** Scratch bytes for packed A, per-thread packed B and im2col slots, and padded C. */
export function gemmBytes(M: number, N: number, K: number, plan: GemmPlan, colSlot: number): number {
  const Mp = ceilDiv(M, MR) * MR, Np = ceilDiv(N, NR) * NR;
  const kc = Math.min(KC, K);
  const slots = plan.kTask > 0 ? plan.tasks : 0;
  return 4 * (Mp * K + plan.threads * (kc * plan.npTask * NR + colSlot) + (1 + slots) * Mp * Np) + 64 * 8;
}

/** A GEMM whose operands already sit in kernel memory. `b` is a matrix, or an im2col source. */
export interface GemmJob {
  M: number;
  N: number;
  K: number;
  a: Placed;
  b: Placed & { src?: number; geo?: number };
  /** byte address of the padded C (row stride ldc elements) */
  c: number;
  ldc: number;
  accumulate: boolean;
}

/** Sets the GEMM fields shared by every job (tile sizes, problem size, placed A) and returns params(). */
function gemmParams(M: number, N: number, K: number, a: Placed): Int32Array {
  const p = params();
  p[P.MR] = MR;
  p[P.NR] = NR;
  p[P.M] = M;
  p[P.N] = N;
  p[P.K] = K;
  p[P.KC] = KC;
  p[P.A] = a.at;
  p[P.A_RS] = a.rs;
  p[P.A_CS] = a.cs;
  return p;
}

/**
 * Packs the placed M x K matrix `a` into MR-row panels by KC blocks at `ap` (block pc at
 * ap + 4*pc*Mp, panel stride MR*kc), in parallel; leaves the GEMM fields of params() set.
 */
export function packA(M: number, N: number, K: number, a: Placed, ap: number, threads: number): void {
  const p = gemmParams(M, N, K, a);
  p[P.AP] = ap;
  const panelsM = ceilDiv(M, MR);
  p[P.KIND] = JOB.PACK_A;
  const packPer = Math.max(4, ceilDiv(panelsM, 4 * threads));
  p[P.MP_TASK] = packPer;
  const packTasks = ceilDiv(panelsM, packPer);
  dispatch(packTasks, M * K >= 1 << 16 ? Math.min(threads, threadsFor(packTasks)) : 1);
}

/** Runs a placed GEMM: packs A in parallel, then computes C tiles (or K chunks) in parallel. */
export function runGemm(job: GemmJob, plan: GemmPlan, colSlotBytes: number): void {
  const { M, N, K } = job;
  const Mp = ceilDiv(M, MR) * MR;
  const kc = Math.min(KC, K);
  const ap = scratch.alloc(4 * Mp * K);
  const bpSlot = 4 * kc * plan.npTask * NR;
  const bp = scratch.alloc(plan.threads * bpSlot);
  const col = scratch.alloc(plan.threads * colSlotBytes);
  const cSlot = 4 * Mp * job.ldc;
  const slots = plan.kTask > 0 ? scratch.alloc(plan.tasks * cSlot) : 0;
  scratch.reserve();
  packA(M, N, K, job.a, ap, plan.threads);
  const p = params();

  p[P.KIND] = JOB.GEMM;
  p[P.MP_TASK] = plan.mpTask;
  p[P.NP_TASK] = plan.npTask;
  p[P.COL_TASKS] = plan.colTasks;
  p[P.B_SRC] = job.b.src ?? BSRC.MATRIX;
  p[P.B] = job.b.at;
  p[P.B_RS] = job.b.rs;
  p[P.B_CS] = job.b.cs;
  p[P.GEO] = job.b.geo ?? 0;
  p[P.BP] = bp;
  p[P.BP_STRIDE] = bpSlot;
  p[P.COL] = col;
  p[P.COL_STRIDE] = colSlotBytes;
  p[P.LDC] = job.ldc;
  p[P.ACC] = job.accumulate ? 1 : 0;
  p[P.K_TASK] = plan.kTask;
  if (plan.kTask === 0) {
    p[P.C] = job.c;
    dispatch(plan.tasks, plan.threads);
    return;
  }
  // each chunk of K sums into its own copy of C, and the copies are added in chunk order: the
  // result does not depend on which thread ran which chunk, so runs are reproducible
  let heap = heapF32();
  const n = cSlot / 4, c = job.c / 4, s0 = slots / 4;
  heap.fill(0, s0, s0 + plan.tasks * n);
  if (job.accumulate) heap.copyWithin(s0, c, c + n);
  p[P.C] = slots;
  p[P.C_SLOT] = cSlot;
  dispatch(plan.tasks, plan.threads);
  heap = heapF32();
  heap.copyWithin(c, s0, s0 + n);
  for (let t = 1; t < plan.tasks; t++) {
    const st = s0 + t * n;
    for (let i = 0; i < n; i++) heap[c + i] += heap[st + i];
  }
}

/**
 * C (M x N, row-major, contiguous, from cOff) = A (M x K) @ B (K x N) (+C if accumulate), computed
 * by the WebAssembly SIMD kernels on `getNumThreads()` threads.
 * A[i,k] = a[aOff + i*aRs + k*aCs], B[k,j] = b[bOff + k*bRs + j*bCs]; strides may be 0/negative.
 * @example gemmWasm(2, 2, 3, a, 0, 3, 1, b, 0, 2, 1, c, 0) // c = a(2x3) @ b(3x2)
 */
export function gemmWasm(
  M: number, N: number, K: number,
  a: Float32Array, aOff: number, aRs: number, aCs: number,
  b: Float32Array, bOff: number, bRs: number, bCs: number,
  c: Float32Array, cOff: number, accumulate = false,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) c.fill(0, cOff, cOff + M * N);
    return;
  }
  if (M * N * K <= TINY) {
    gemmReference(M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, accumulate);
    return;
  }
  const plan = planGemm(M, N, K);
  const need = gemmBytes(M, N, K, plan, 0) + 4 * (2 * M * K + 2 * K * N + 64);
  if (need > runtime().maxScratch) {
    // split the largest dimension; K halves accumulate into C
    if (M >= N && M >= K && M > MR) {
      const h = ceilDiv(M, 2);
      gemmWasm(h, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, accumulate);
      gemmWasm(M - h, N, K, a, aOff + h * aRs, aRs, aCs, b, bOff, bRs, bCs, c, cOff + h * N, accumulate);
    } else if (N >= K && N > NR) {
      const h = ceilDiv(N, 2);
      const cTmp = new Float32Array(M * h);
      splitColumns(M, N, K, h, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, accumulate, cTmp);
    } else {
      const h = ceilDiv(K, 2);
      gemmWasm(M, N, h, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, accumulate);
      gemmWasm(M, N, K - h, a, aOff + h * aCs, aRs, aCs, b, bOff + h * bRs, bRs, bCs, c, cOff, true);
    }
    return;
  }
  scratch.reset();
  const aAt = scratch.alloc(4 * (spanOf(M, K, aRs, aCs) + 4));
  const bAt = scratch.alloc(4 * (spanOf(K, N, bRs, bCs) + 4));
  const Mp = ceilDiv(M, MR) * MR, Np = ceilDiv(N, NR) * NR;
  const cAt = scratch.alloc(4 * Mp * Np);
  scratch.reserve();
  const A = place(M, K, a, aOff, aRs, aCs, aAt);
  const B = place(K, N, b, bOff, bRs, bCs, bAt);
  let heap = heapF32();
  if (accumulate) {
    if (Np === N) heap.set(c.subarray(cOff, cOff + M * N), cAt / 4);
    else for (let i = 0; i < M; i++) heap.set(c.subarray(cOff + i * N, cOff + (i + 1) * N), cAt / 4 + i * Np);
  }
  runGemm({ M, N, K, a: A, b: B, c: cAt, ldc: Np, accumulate }, plan, 0);
  heap = heapF32();
  if (Np === N) c.set(heap.subarray(cAt / 4, cAt / 4 + M * N), cOff);
  else for (let i = 0; i < M; i++) c.set(heap.subarray(cAt / 4 + i * Np, cAt / 4 + i * Np + N), cOff + i * N);
}

/** Per-matrix size (multiply-adds) from which a batch runs one parallel GEMM per matrix instead of one matrix per task. */
const BATCH_SPLIT_MIN = 1 << 20;

/**
 * Batched GEMM: for i < batch, C_i (M x N, row-major, contiguous at cOff + i*M*N) = A_i @ B_i
 * (+C_i if accumulate), where A_i[r,k] = a[aOff + i*aBs + r*aRs + k*aCs] and likewise for B.
 * Batch strides may be 0 (a shared operand). Small matrices run one per task across the threads;
 * large ones one after another, each split across the threads.
 * @example gemmBatchedWasm(8, 64, 64, 32, q, 0, 2048, 32, 1, k, 0, 2048, 1, 32, scores, 0) // q @ k^T per head
 */
export function gemmBatchedWasm(
  batch: number, M: number, N: number, K: number,
  a: Float32Array, aOff: number, aBs: number, aRs: number, aCs: number,
  b: Float32Array, bOff: number, bBs: number, bRs: number, bCs: number,
  c: Float32Array, cOff: number, accumulate = false,
): void {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (batch === 1 || K <= 0 || M * N * K >= BATCH_SPLIT_MIN) {
    for (let i = 0; i < batch; i++) gemmWasm(M, N, K, a, aOff + i * aBs, aRs, aCs, b, bOff + i * bBs, bRs, bCs, c, cOff + i * M * N, accumulate);
    return;
  }
  const Mp = ceilDiv(M, MR) * MR, Np = ceilDiv(N, NR) * NR, kc = Math.min(KC, K);
  const aItem = aBs === 0 ? 0 : 4 * (spanOf(M, K, aRs, aCs) + 4);
  const bItem = bBs === 0 ? 0 : 4 * (spanOf(K, N, bRs, bCs) + 4);
  const threads = batch * M * N * K >= PARALLEL_MIN ? getNumThreads() : 1;
  const need = batch * (aItem + bItem + 4 * Mp * Np) + 4 * (spanOf(M, K, aRs, aCs) + spanOf(K, N, bRs, bCs)) + threads * 4 * kc * (Mp + Np) + 1024;
  if (need > runtime().maxScratch) {
    const h = ceilDiv(batch, 2);
    gemmBatchedWasm(h, M, N, K, a, aOff, aBs, aRs, aCs, b, bOff, bBs, bRs, bCs, c, cOff, accumulate);
    gemmBatchedWasm(batch - h, M, N, K, a, aOff + h * aBs, aBs, aRs, aCs, b, bOff + h * bBs, bBs, bRs, bCs, c, cOff + h * M * N, accumulate);
    return;
  }
  scratch.reset();
  const aAt = scratch.alloc(Math.max(aItem * batch, 4 * (spanOf(M, K, aRs, aCs) + 4)));
  const bAt = scratch.alloc(Math.max(bItem * batch, 4 * (spanOf(K, N, bRs, bCs) + 4)));
  const cAt = scratch.alloc(4 * Mp * Np * batch);
  const apAt = scratch.alloc(threads * 4 * Mp * kc);
  const bpAt = scratch.alloc(threads * 4 * kc * Np);
  scratch.reserve();
  // every item has the same strides, so it lands at the same offset within its region as item 0
  const A = place(M, K, a, aOff, aRs, aCs, aAt);
  const B = place(K, N, b, bOff, bRs, bCs, bAt);
  for (let i = 1; i < (aBs === 0 ? 1 : batch); i++) place(M, K, a, aOff + i * aBs, aRs, aCs, aAt + i * aItem);
  for (let i = 1; i < (bBs === 0 ? 1 : batch); i++) place(K, N, b, bOff + i * bBs, bRs, bCs, bAt + i * bItem);
  let heap = heapF32();
  const cItem = Mp * Np;
  if (accumulate) {
    for (let i = 0; i < batch; i++) {
      for (let r = 0; r < M; r++) heap.set(c.subarray(cOff + (i * M + r) * N, cOff + (i * M + r + 1) * N), cAt / 4 + i * cItem + r * Np);
    }
  }
  const p = gemmParams(M, N, K, A);
  p[P.KIND] = JOB.BATCH;
  p[P.A_ITEM] = aItem;
  p[P.B] = B.at;
  p[P.B_RS] = B.rs;
  p[P.B_CS] = B.cs;
  p[P.B_ITEM] = bItem;
  p[P.C] = cAt;
  p[P.LDC] = Np;
  p[P.C_ITEM] = 4 * cItem;
  p[P.ACC] = accumulate ? 1 : 0;
  p[P.AP] = apAt;
  p[P.AP_STRIDE] = 4 * Mp * kc;
  p[P.BP] = bpAt;
  p[P.BP_STRIDE] = 4 * kc * Np;
  dispatch(batch, threads);
  heap = heapF32();
  for (let i = 0; i < batch; i++) {
    const base = cAt / 4 + i * cItem;
    if (Np === N) c.set(heap.subarray(base, base + M * N), cOff + i * M * N);
    else for (let r = 0; r < M; r++) c.set(heap.subarray(base + r * Np, base + r * Np + N), cOff + (i * M + r) * N);
  }
}

/** Elements a strided rows x cols matrix may need once copied (its span, or rows*cols when gathered). */
function spanOf(rows: number, cols: number, rs: number, cs: number): number {
  const span = (rows - 1) * Math.abs(rs) + (cols - 1) * Math.abs(cs) + 1;
  return span <= 2 * rows * cols + 16 ? span : rows * cols;
}

/** Two column halves of a too-large GEMM; each half's C is contiguous in a temporary. */
function splitColumns(
  M: number, N: number, K: number, h: number,
  a: Float32Array, aOff: number, aRs: number, aCs: number,
  b: Float32Array, bOff: number, bRs: number, bCs: number,
  c: Float32Array, cOff: number, accumulate: boolean, tmp: Float32Array,
): void {
  for (const [j0, w] of [[0, h], [h, N - h]] as const) {
    const t = w === h ? tmp : new Float32Array(M * w);
    if (accumulate) for (let i = 0; i < M; i++) t.set(c.subarray(cOff + i * N + j0, cOff + i * N + j0 + w), i * w);
    gemmWasm(M, w, K, a, aOff, aRs, aCs, b, bOff + j0 * bCs, bRs, bCs, t, 0, accumulate);
    for (let i = 0; i < M; i++) c.set(t.subarray(i * w, (i + 1) * w), cOff + i * N + j0);
  }
}
