// What one thread does for one task of a job. `runTask` and `workerLoop` are shipped to workers as
// source text (Function.prototype.toString), so they must stay self-contained: no imports, no
// outer variables; layout constants arrive as arguments.
import type { KernelExports } from './gemm-kernel.js';

/**
 * Control words (Int32 indices) at the start of memory. WORK packs the job generation (bits 20-30)
 * with the next unclaimed task index (bits 0-19); a thread claims a task by compare-exchange on it,
 * so a thread that wakes late can never claim a task of a job it did not read the parameters of.
 */
export const CTRL = {
  WORK: 0,
  NTASKS: 1,
  COMPLETED: 2, // tasks finished in the current job
  PARTS: 3, // threads allowed to take part (caller included); tids >= PARTS sit out
  ERR: 4, // set when a worker's task threw
  READY: 8, // READY + tid: worker tid is instantiated and listening
  PARAMS: 64, // job parameters (see P)
  NPARAMS: 64,
  /** task index meaning "closed": no task can be claimed */
  CLOSED: 0xfffff,
  GEN_SHIFT: 20,
  GEN_MASK: 0x7ff,
  /** idle polls before a thread sleeps in Atomics.wait */
  SPIN: 20000,
} as const;

/** Job kinds. */
export const JOB = { PACK_A: 1, GEMM: 2, COL2IM: 3, BATCH: 4, DCONV: 5, COPY: 6, EWISE: 7, EXTERN: 8, DCONVW: 9, BINARY: 10, LNROWS: 11 } as const;

/** B sources for GEMM jobs. */
export const BSRC = { MATRIX: 0, IM2COL: 1, IM2COL_T: 2 } as const;

/** Indices into the job parameter block (Int32; addresses are byte offsets, strides elements). */
export const P = {
  KIND: 0,
  MR: 1,
  NR: 2,
  M: 3,
  N: 4,
  K: 5,
  KC: 6,
  MP_TASK: 7, // row panels per task
  NP_TASK: 8, // column panels per task
  COL_TASKS: 9, // tasks along N
  A: 10,
  A_RS: 11,
  A_CS: 12,
  AP: 13, // packed A
  B_SRC: 14, // a BSRC value
  B: 15,
  B_RS: 16,
  B_CS: 17,
  GEO: 18, // conv geometry block
  BP: 19, // packed B, one slot per thread
  BP_STRIDE: 20,
  COL: 21, // im2col scratch, one slot per thread
  COL_STRIDE: 22,
  C: 23, // padded C
  LDC: 24, // C row stride in elements
  ACC: 25, // 1: add to C
  PLANES: 26, // col2im: planes in all
  PLANES_TASK: 27,
  LDD: 28, // col2im: dcol row stride in elements
  GX: 29,
  A_ITEM: 30, // batched: bytes between consecutive A, B and padded C items
  B_ITEM: 31,
  C_ITEM: 32,
  AP_STRIDE: 33, // batched: packed A slot per thread
  K_TASK: 34, // GEMM: >0 splits K into chunks of this size, each summed into its own copy of C
  C_SLOT: 35, // bytes between those copies
  ROWS: 36, // direct conv: output rows (n, oh) in all
  ROWS_TASK: 37,
  OH: 38,
  ROW_STEP: 39, // floats between the padded input rows of consecutive oh (sH * padded width)
  IMG: 40, // floats between padded input images
  OWT: 41, // output row width rounded up to whole NR tiles, or to NR tiles and one 4-wide tile
  TAB: 42, // B-row byte offsets, one per k
  IMG_C: 43, // floats between output images in C
  SRC: 44, // copy: planes of ROWS_N rows x LEN floats, row strides SS / DS, plane strides SP / DP (floats)
  DST: 45,
  SS: 46,
  DS: 47,
  SP: 48,
  DP: 49,
  ROWS_N: 50,
  LEN: 51,
  EW_OP: 52, // elementwise: op code, input addresses (a: gradient, x), output, floats in all and per task
  EW_A: 53,
  EW_X: 54,
  EW_OUT: 55,
  EW_N: 56,
  EW_TASK: 57,
  X_ID: 58, // extern (a package's kernel module, see extern.ts): module id, its bytes (address, length),
  X_CODE: 59, // the export's index, and the i32 arguments after (task, tid) (address, count)
  X_LEN: 60,
  X_FN: 61,
  X_ARGS: 62,
  X_NARGS: 63,
} as const;

/** Bytes before the first scratch allocation: control words, parameters, conv geometry. */
export const GEO_AT = 512;
export const CTRL_BYTES = 1024;

export type Layout = { P: typeof P; JOB: typeof JOB; BSRC: typeof BSRC };

/** Per-thread state of extern jobs: the shared memory and each package module's instance by id. */
export interface Externs {
  memory: WebAssembly.Memory;
  mods: Record<string, (...args: number[]) => void>[];
}

/** Runs task `i` of the job described by `p` on thread `tid` (0 = caller). */
export function runTask(ex: KernelExports, p: Int32Array, L: Layout, i: number, tid: number, xs: Externs): void {
  const P = L.P, JOB = L.JOB, BSRC = L.BSRC;
  const kind = p[P.KIND], MR = p[P.MR], NR = p[P.NR];
  const M = p[P.M], N = p[P.N], K = p[P.K], KC = p[P.KC];
  const panelsM = Math.ceil(M / MR), Mp = panelsM * MR;
  if (kind === JOB.PACK_A) {
    const aRs = p[P.A_RS], aCs = p[P.A_CS];
    const ip0 = i * p[P.MP_TASK];
    const mp = Math.min(p[P.MP_TASK], panelsM - ip0);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      ex.packA(p[P.A] + (ip0 * MR * aRs + pc * aCs) * 4, aRs, aCs, M - ip0 * MR, kc, p[P.AP] + (pc * Mp + ip0 * MR * kc) * 4, mp);
    }
  } else if (kind === JOB.GEMM) {
    // a task is a tile of C over all of K, or (split K) a chunk of K over all of C
    const colTasks = p[P.COL_TASKS], mpT = p[P.MP_TASK], npT = p[P.NP_TASK], kT = p[P.K_TASK];
    const split = kT > 0;
    const ic = split ? 0 : Math.floor(i / colTasks), jc = split ? 0 : i - ic * colTasks;
    const ip0 = ic * mpT, mp = Math.min(mpT, panelsM - ip0);
    const k0 = split ? i * kT : 0, k1 = split ? Math.min(K, k0 + kT) : K;
    const jb1 = split ? colTasks : jc + 1;
    const bp = p[P.BP] + tid * p[P.BP_STRIDE], col = p[P.COL] + tid * p[P.COL_STRIDE];
    const src = p[P.B_SRC], B = p[P.B], bRs = p[P.B_RS], bCs = p[P.B_CS], geo = p[P.GEO];
    // split K: chunk i sums into copy i of C (added in order afterwards)
    const ldc = p[P.LDC], cBase = p[P.C] + (split ? i * p[P.C_SLOT] : 0);
    for (let jb = jc; jb < jb1; jb++) {
      const j0 = jb * npT * NR, ncols = Math.min(npT * NR, N - j0), np = Math.ceil(ncols / NR);
      const c = cBase + (ip0 * MR * ldc + j0) * 4;
      for (let pc = k0; pc < k1; pc += KC) {
        const kc = Math.min(KC, K - pc);
        if (src === BSRC.MATRIX) {
          ex.packB(B + (pc * bRs + j0 * bCs) * 4, bRs, bCs, ncols, kc, bp, np);
        } else if (src === BSRC.IM2COL) {
          // rows k = (c, kh, kw), columns (n, oh, ow)
          ex.im2col(geo, B, pc, kc, j0, ncols, col, ncols);
          ex.packB(col, ncols, 1, ncols, kc, bp, np);
        } else {
          // B = im2col^T: rows (n, oh, ow), columns (c, kh, kw)
          ex.im2col(geo, B, j0, ncols, pc, kc, col, kc);
          ex.packB(col, 1, kc, ncols, kc, bp, np);
        }
        ex.macro(p[P.AP] + (pc * Mp + ip0 * MR * kc) * 4, bp, c, ldc * 4, kc, mp, np, split || pc > 0 || p[P.ACC] ? 1 : 0);
      }
    }
  } else if (kind === JOB.BATCH) {
    // one whole small GEMM per task, packed into this thread's slots
    const aRs = p[P.A_RS], aCs = p[P.A_CS], bRs = p[P.B_RS], bCs = p[P.B_CS];
    const a = p[P.A] + i * p[P.A_ITEM], b = p[P.B] + i * p[P.B_ITEM], c = p[P.C] + i * p[P.C_ITEM];
    const ap = p[P.AP] + tid * p[P.AP_STRIDE], bp = p[P.BP] + tid * p[P.BP_STRIDE];
    const panelsN = Math.ceil(N / NR);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      ex.packA(a + pc * aCs * 4, aRs, aCs, M, kc, ap, panelsM);
      ex.packB(b + pc * bRs * 4, bRs, bCs, N, kc, bp, panelsN);
      ex.macro(ap, bp, c, p[P.LDC] * 4, kc, panelsM, panelsN, pc > 0 || p[P.ACC] ? 1 : 0);
    }
  } else if (kind === JOB.DCONV) {
    const r0 = i * p[P.ROWS_TASK], r1 = Math.min(p[P.ROWS], r0 + p[P.ROWS_TASK]);
    const oH = p[P.OH], owt = p[P.OWT], ldc = p[P.LDC];
    for (let r = r0; r < r1; r++) {
      const n = Math.floor(r / oH), oh = r - n * oH;
      const xrow = p[P.B] + (n * p[P.IMG] + oh * p[P.ROW_STEP]) * 4;
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        ex.dconv(p[P.AP] + pc * Mp * 4, xrow, p[P.TAB] + pc * 4, p[P.C] + (n * p[P.IMG_C] + oh * owt) * 4, ldc * 4, kc, panelsM, Math.floor(owt / NR), pc > 0 ? 1 : 0, owt % NR ? 1 : 0);
      }
    }
  } else if (kind === JOB.COPY) {
    const q0 = i * p[P.PLANES_TASK], q1 = Math.min(q0 + p[P.PLANES_TASK], p[P.PLANES]);
    for (let q = q0; q < q1; q++) {
      ex.copyRows(p[P.SRC] + q * p[P.SP] * 4, p[P.SS], p[P.DST] + q * p[P.DP] * 4, p[P.DS], p[P.ROWS_N], p[P.LEN]);
    }
  } else if (kind === JOB.EWISE) {
    const e0 = i * p[P.EW_TASK], len = Math.min(p[P.EW_TASK], p[P.EW_N] - e0);
    ex.ewise(p[P.EW_OP], p[P.EW_A] + e0 * 4, p[P.EW_X] + e0 * 4, p[P.EW_OUT] + e0 * 4, len);
  } else if (kind === JOB.EXTERN) {
    // a package's module: instantiated on this thread's first task of it, from the bytes the
    // caller put in shared memory (a worker's loop never returns to its event loop for messages)
    const id = p[P.X_ID];
    let fx = xs.mods[id];
    if (!fx) {
      const code = new Uint8Array(xs.memory.buffer, p[P.X_CODE], p[P.X_LEN]).slice();
      fx = xs.mods[id] = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory: xs.memory } }).exports as typeof fx;
    }
    const args = new Int32Array(xs.memory.buffer, p[P.X_ARGS], p[P.X_NARGS]);
    fx[Object.keys(fx)[p[P.X_FN]]](i, tid, ...args);
  } else if (kind === JOB.DCONVW) {
    // conv weight gradient (conv.ts convWeightDirect), slots reused: images [n0, n1) of ROWS, ROWS_TASK
    // a task, summed into copy i of gw^T [M = C*kH*kW rows, N = O padded to NR columns]; per image,
    // dy [O, OH*OWT] at A (A_ITEM bytes apart) is packed into NR-column panels in this thread's BP
    // slot, then each MR-row panel x NR-column tile reads x from the padded image at B
    const n0 = i * p[P.ROWS_TASK], n1 = Math.min(p[P.ROWS], n0 + p[P.ROWS_TASK]);
    const oH = p[P.OH], oW = p[P.OWT], S = oH * oW, tiles = N / NR, ldc = p[P.LDC];
    const c = p[P.C] + i * p[P.C_SLOT], bp = p[P.BP] + tid * p[P.BP_STRIDE];
    for (let n = n0; n < n1; n++) {
      ex.packB(p[P.A] + n * p[P.A_ITEM], 1, S, K, S, bp, tiles);
      const img = p[P.B] + n * p[P.IMG] * 4;
      for (let kp = 0; kp < panelsM; kp++) {
        for (let t = 0; t < tiles; t++) {
          ex.dconvW(img, p[P.TAB] + kp * MR * 4, bp + t * S * NR * 4, c + (kp * MR * ldc + t * NR) * 4, ldc * 4, oH, oW, p[P.ROW_STEP] * 4, p[P.B_CS] * 4, n > n0 ? 1 : 0);
        }
      }
    }
  } else if (kind === JOB.BINARY) {
    // add/sub/mul/div over a block of ROWS x LEN floats (binary.ts), slots reused: op EW_OP, a at
    // EW_A with mode SS, b at EW_X with mode DS, out at EW_OUT; a task is ROWS_TASK whole rows or
    // (ROWS_TASK 1) EW_TASK floats of one row, so a FULL operand's task stays row-major
    const rT = p[P.ROWS_TASK], cT = p[P.EW_TASK], len = p[P.LEN];
    const colTasks = Math.ceil(len / cT), it = Math.floor(i / colTasks);
    const r0 = it * rT, c0 = (i - it * colTasks) * cT;
    const nr = Math.min(rT, p[P.ROWS] - r0), nc = Math.min(cT, len - c0);
    const full = (r0 * len + c0) * 4;
    // mode 0 FULL: (r, c) at r len + c; 1 ROW: at r; 2 COL: at c (binary-kernel.ts MODE)
    const am = p[P.SS], bm = p[P.DS];
    const a = p[P.EW_A] + (am === 0 ? full : am === 1 ? r0 * 4 : c0 * 4);
    const b = p[P.EW_X] + (bm === 0 ? full : bm === 1 ? r0 * 4 : c0 * 4);
    ex.binary(p[P.EW_OP], a, am, b, bm, p[P.EW_OUT] + full, nr, nc);
  } else if (kind === JOB.LNROWS) {
    // layer norm rows (norm.ts), slots reused: x at EW_X, g at EW_A (0: forward), out at EW_OUT,
    // ROWS rows of LEN floats, ROWS_TASK a task, eps as a float64 in SP, SP + 1 (8-byte aligned)
    const r0 = i * p[P.ROWS_TASK], nr = Math.min(p[P.ROWS_TASK], p[P.ROWS] - r0), len = p[P.LEN];
    const eps = new Float64Array(p.buffer, p.byteOffset + P.SP * 4, 1)[0];
    const e0 = r0 * len * 4;
    if (p[P.EW_A] !== 0) ex.lnGradRows(p[P.EW_A] + e0, p[P.EW_X] + e0, p[P.EW_OUT] + e0, nr, len, eps);
    else ex.lnRows(p[P.EW_X] + e0, p[P.EW_OUT] + e0, nr, len, eps);
  } else if (kind === JOB.COL2IM) {
    const q0 = i * p[P.PLANES_TASK];
    ex.col2im(p[P.GEO], p[P.C], p[P.LDD], p[P.GX], q0, Math.min(q0 + p[P.PLANES_TASK], p[P.PLANES]));
  }
}

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tid: number;
  C: typeof CTRL;
  L: Layout;
}

/** A worker's life: instantiate on the shared memory, then claim tasks of each job until the end. */
export function workerLoop(d: WorkerInit, run: typeof runTask, ready: () => void): void {
  const C = d.C;
  const ex = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports as unknown as KernelExports;
  const ctrl = new Int32Array(d.memory.buffer, 0, C.PARAMS + C.NPARAMS);
  const xs: Externs = { memory: d.memory, mods: [] };
  const p = ctrl.subarray(C.PARAMS);
  // (no inner named functions here: some bundlers wrap those in helpers the worker lacks)
  let last = (Atomics.load(ctrl, C.WORK) >>> C.GEN_SHIFT) & C.GEN_MASK;
  Atomics.store(ctrl, C.READY + d.tid, 1);
  ready();
  for (;;) {
    let spin = 0;
    let w = Atomics.load(ctrl, C.WORK);
    while (((w >>> C.GEN_SHIFT) & C.GEN_MASK) === last) {
      if (++spin > C.SPIN) Atomics.wait(ctrl, C.WORK, w);
      w = Atomics.load(ctrl, C.WORK);
    }
    const gen = (w >>> C.GEN_SHIFT) & C.GEN_MASK;
    last = gen;
    if (d.tid >= Atomics.load(ctrl, C.PARTS)) continue;
    const n = Atomics.load(ctrl, C.NTASKS);
    for (;;) {
      w = Atomics.load(ctrl, C.WORK);
      const i = w & C.CLOSED;
      if (((w >>> C.GEN_SHIFT) & C.GEN_MASK) !== gen || i >= n) break;
      if (Atomics.compareExchange(ctrl, C.WORK, w, w + 1) !== w) continue;
      try {
        run(ex, p, d.L, i, d.tid, xs);
      } catch {
        Atomics.store(ctrl, C.ERR, 1);
      }
      if (Atomics.add(ctrl, C.COMPLETED, 1) + 1 === n) Atomics.notify(ctrl, C.COMPLETED);
    }
  }
}
