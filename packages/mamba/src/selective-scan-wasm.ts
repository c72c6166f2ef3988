/**
 * The selective scan's float32 CPU kernel in WebAssembly SIMD128, written with @dl/tensor/wasm's
 * emitter. Each (b, d) row runs its recurrence over time with the state vectorised over n, four
 * states a lane, and exp(dt A) computed in the loop (no decay array in the forward). The state
 * and its sums are float32 here, as in the reference CUDA kernel; the JS kernel in
 * selective-scan.ts (float64 accumulation) stays the reference, and serves float64, fixed (D, N)
 * B or C, and N not a multiple of 4.
 *
 * Layout in the kernel's memory (float32, byte offsets): dt, dtu, u, gy, y, ddt, du (rows, L) with
 * row r = b D + d; A and dA (D, N); B^T, C^T and their gradients (batch, L, N), so a time step's N
 * values are contiguous; the state h (N), or in the backward every state hs (L + 1, N) with row 0
 * the zero initial state, the decays e (L, N) and dL/dh (N).
 */
import { cpuResultArray, getNumThreads, kernelChoice, type TypedArray } from '@dl/tensor';
import { compileKernel, i32, kernelHeapF32, kernelScratch, simdSupported, v128, vecLocals, vexp, type FuncBuilder, type ModuleBuilder, type WasmKernel } from '@dl/tensor/wasm';
import { gradOffsets, rowLength, type ScanAttrs, type ScanDims } from './scan-layout.js';

/**
 * The forward's and the backward's parameters, in order (all i32: counts or byte offsets). Both
 * are tasks of @dl/tensor's thread pool: task `task` runs the channels d in [task dPer, (task + 1)
 * dPer) of every batch row, thread `tid` keeps its temporaries (h; hs, e, dh) in slot `tid`, and
 * the backward sums dB and dC into slot `task` of dBt and dCt (the caller adds the slots in order).
 */
const FWD = ['task', 'tid', 'dPer', 'batch', 'L', 'N', 'D', 'dt', 'dtu', 'A', 'Bt', 'Ct', 'y', 'last', 'h'] as const;
const BWD = ['task', 'tid', 'dPer', 'batch', 'L', 'N', 'D', 'dt', 'dtu', 'u', 'gy', 'A', 'Bt', 'Ct', 'y', 'hs', 'e', 'dh', 'lastG', 'dA', 'dBt', 'dCt', 'ddt', 'du'] as const;

type Params<K extends readonly string[]> = { [P in K[number]]: number };
const params = <K extends readonly string[]>(names: K): Params<K> => Object.fromEntries(names.map((n, i) => [n, i])) as Params<K>;

/** Pushes the sum of the four lanes of the f32x4 in local `v`. */
function hsum(f: FuncBuilder, v: number): void {
  f.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add().get(v).f32x4ExtractLane(2).f32Add().get(v).f32x4ExtractLane(3).f32Add();
}

/** for (i = 0; i < n; i++) body(i), with `i` and `n` i32 locals */
function forRange(f: FuncBuilder, i: number, n: number, body: () => void): void {
  f.i32Const(0).set(i);
  f.block((done) =>
    f.loop((top) => {
      f.get(i).get(n).i32GeU().brIf(done);
      body();
      f.get(i).i32Const(1).i32Add().set(i).br(top);
    }),
  );
}

/**
 * for each row r = b D + d of this task's channels: sets `r` and `d`, the byte offset `rowL` of the
 * row in (rows, L) and `bRow` of batch b's (L, N) block, then runs `body`.
 */
function forTaskRows(f: FuncBuilder, p: { task: number; dPer: number; batch: number; L: number; D: number }, nb: number, v: { r: number; d: number; b: number; d1: number; rowL: number; bRow: number }, body: () => void): void {
  f.get(p.task).get(p.dPer).i32Mul().get(p.dPer).i32Add().set(v.d1);
  f.get(v.d1).get(p.D).i32GtS();
  f.if(() => void f.get(p.D).set(v.d1));
  forRange(f, v.b, p.batch, () => {
    f.get(p.task).get(p.dPer).i32Mul().set(v.d);
    f.block((done) =>
      f.loop((top) => {
        f.get(v.d).get(v.d1).i32GeU().brIf(done);
        f.get(v.b).get(p.D).i32Mul().get(v.d).i32Add().set(v.r);
        f.get(v.r).get(p.L).i32Mul().i32Const(4).i32Mul().set(v.rowL);
        f.get(v.b).get(p.L).i32Mul().get(nb).i32Mul().set(v.bRow);
        body();
        f.get(v.d).i32Const(1).i32Add().set(v.d).br(top);
      }),
    );
  });
}

/**
 * scanForward(task, tid, dPer, batch, L, N, D, dt, dtu, A, Bt, Ct, y, last, h): y[r, t] = sum_n
 * h_t[n] Ct[b, t, n] (before the D skip and the gate, which the caller adds) and last[r] = h_{L-1}.
 */
function emitForward(m: ModuleBuilder): void {
  const f = m.func('scanForward', FWD.map(() => i32));
  const p = params(FWD);
  const [r, t, j, rowL, aRow, bRow, nb, bT, d, b, d1, h] = Array.from({ length: 12 }, () => f.local(i32));
  const [acc, dtv, dtuv, hv] = Array.from({ length: 4 }, () => f.local(v128));
  const vl = vecLocals(f);
  f.get(p.N).i32Const(4).i32Mul().set(nb); // bytes of one state vector
  f.get(p.h).get(p.tid).get(nb).i32Mul().i32Add().set(h); // this thread's state
  forTaskRows(f, p, nb, { r, d, b, d1, rowL, bRow }, () => {
    f.get(p.A).get(d).get(nb).i32Mul().i32Add().set(aRow);
    forRange(f, j, p.N, () => f.get(h).get(j).i32Const(4).i32Mul().i32Add().f32Const(0).f32Store()); // h = 0
    forRange(f, t, p.L, () => {
      f.get(p.dt).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add().f32Load().f32x4Splat().set(dtv);
      f.get(p.dtu).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add().f32Load().f32x4Splat().set(dtuv);
      f.get(bRow).get(t).get(nb).i32Mul().i32Add().set(bT);
      f.v128Zero().set(acc);
      f.i32Const(0).set(j);
      f.block((done) =>
        f.loop((top) => {
          f.get(j).get(nb).i32GeU().brIf(done);
          // h = exp(dt a) h + dt u B_t
          vexp(f, vl, () => f.get(dtv).get(aRow).get(j).i32Add().v128Load().f32x4Mul());
          f.get(h).get(j).i32Add().v128Load().f32x4Mul();
          f.get(dtuv).get(p.Bt).get(bT).i32Add().get(j).i32Add().v128Load().f32x4Mul().f32x4Add().set(hv);
          f.get(h).get(j).i32Add().get(hv).v128Store();
          f.get(acc).get(hv).get(p.Ct).get(bT).i32Add().get(j).i32Add().v128Load().f32x4Mul().f32x4Add().set(acc);
          f.get(j).i32Const(16).i32Add().set(j).br(top);
        }),
      );
      f.get(p.y).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add();
      hsum(f, acc);
      f.f32Store();
    });
    forRange(f, j, p.N, () => {
      f.get(p.last).get(r).get(nb).i32Mul().i32Add().get(j).i32Const(4).i32Mul().i32Add();
      f.get(h).get(j).i32Const(4).i32Mul().i32Add().f32Load().f32Store();
    });
  });
}

/**
 * scanBackward(task, tid, dPer, batch, ...): per row, the forward again (every state into hs, every decay into e, y),
 * then the reverse-time scan of dL/dh_t = gy_t C_t + e_{t+1} dL/dh_{t+1}, accumulating
 * dBt, dCt (batch, L, N) and dA (D, N) and writing ddt = sum_n (a dL/dh e h_{t-1} + dL/dh u B)
 * and du = dt sum_n dL/dh B per (r, t). lastG (0 = none) is dL/d(last state) (rows, N).
 */
function emitBackward(m: ModuleBuilder): void {
  const f = m.func('scanBackward', BWD.map(() => i32));
  const p = params(BWD);
  const [r, t, j, rowL, aRow, bRow, dARow, nb, bT, hsT, eT, d, b, d1, hs, e, dh, dBt, dCt] = Array.from({ length: 19 }, () => f.local(i32));
  const [acc, dtv, dtuv, hv, gyv, s1, s2, dhn, dhe, ev] = Array.from({ length: 10 }, () => f.local(v128));
  const vl = vecLocals(f);
  f.get(p.N).i32Const(4).i32Mul().set(nb);
  // this thread's hs (L + 1, N), e (L, N) and dh (N); this task's dBt and dCt (batch, L, N)
  f.get(p.hs).get(p.tid).get(p.L).i32Const(1).i32Add().i32Mul().get(nb).i32Mul().i32Add().set(hs);
  f.get(p.e).get(p.tid).get(p.L).i32Mul().get(nb).i32Mul().i32Add().set(e);
  f.get(p.dh).get(p.tid).get(nb).i32Mul().i32Add().set(dh);
  f.get(p.dBt).get(p.task).get(p.batch).i32Mul().get(p.L).i32Mul().get(nb).i32Mul().i32Add().set(dBt);
  f.get(p.dCt).get(p.task).get(p.batch).i32Mul().get(p.L).i32Mul().get(nb).i32Mul().i32Add().set(dCt);
  const loopN = (body: () => void): void => {
    f.i32Const(0).set(j);
    f.block((done) =>
      f.loop((top) => {
        f.get(j).get(nb).i32GeU().brIf(done);
        body();
        f.get(j).i32Const(16).i32Add().set(j).br(top);
      }),
    );
  };
  const scalar = (base: number): FuncBuilder => f.get(base).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add();
  forTaskRows(f, p, nb, { r, d, b, d1, rowL, bRow }, () => {
    f.get(d).get(nb).i32Mul().set(dARow);
    f.get(p.A).get(dARow).i32Add().set(aRow);
    // forward again: hs row 0 = 0, hs row t + 1 = h_t
    loopN(() => f.get(hs).get(j).i32Add().v128Zero().v128Store());
    forRange(f, t, p.L, () => {
      scalar(p.dt).f32Load().f32x4Splat().set(dtv);
      scalar(p.dtu).f32Load().f32x4Splat().set(dtuv);
      f.get(bRow).get(t).get(nb).i32Mul().i32Add().set(bT);
      f.get(hs).get(t).get(nb).i32Mul().i32Add().set(hsT); // h_{t-1}
      f.get(e).get(t).get(nb).i32Mul().i32Add().set(eT);
      f.v128Zero().set(acc);
      loopN(() => {
        vexp(f, vl, () => f.get(dtv).get(aRow).get(j).i32Add().v128Load().f32x4Mul());
        f.set(ev);
        f.get(eT).get(j).i32Add().get(ev).v128Store();
        f.get(ev).get(hsT).get(j).i32Add().v128Load().f32x4Mul();
        f.get(dtuv).get(p.Bt).get(bT).i32Add().get(j).i32Add().v128Load().f32x4Mul().f32x4Add().set(hv);
        f.get(hsT).get(nb).i32Add().get(j).i32Add().get(hv).v128Store();
        f.get(acc).get(hv).get(p.Ct).get(bT).i32Add().get(j).i32Add().v128Load().f32x4Mul().f32x4Add().set(acc);
      });
      scalar(p.y);
      hsum(f, acc);
      f.f32Store();
    });
    // dL/dh after the last step: from the last state's gradient, or 0
    f.get(p.lastG).i32Eqz();
    f.if(
      () => loopN(() => f.get(dh).get(j).i32Add().v128Zero().v128Store()),
      () => loopN(() => f.get(dh).get(j).i32Add().get(p.lastG).get(r).get(nb).i32Mul().i32Add().get(j).i32Add().v128Load().v128Store()),
    );
    // reverse time
    f.get(p.L).set(t);
    f.block((done) =>
      f.loop((top) => {
        f.get(t).i32Eqz().brIf(done);
        f.get(t).i32Const(1).i32Sub().set(t);
        scalar(p.gy).f32Load().f32x4Splat().set(gyv);
        scalar(p.dt).f32Load().f32x4Splat().set(dtv);
        scalar(p.dtu).f32Load().f32x4Splat().set(dtuv);
        f.get(bRow).get(t).get(nb).i32Mul().i32Add().set(bT);
        f.get(hs).get(t).get(nb).i32Mul().i32Add().set(hsT);
        f.get(e).get(t).get(nb).i32Mul().i32Add().set(eT);
        f.v128Zero().set(s1);
        f.v128Zero().set(s2);
        loopN(() => {
          // dhn = dh + gy C_t
          f.get(dh).get(j).i32Add().v128Load().get(gyv).get(p.Ct).get(bT).i32Add().get(j).i32Add().v128Load().f32x4Mul().f32x4Add().set(dhn);
          // dC_t += gy h_t ; dB_t += dhn dt u
          f.get(dCt).get(bT).i32Add().get(j).i32Add();
          f.get(dCt).get(bT).i32Add().get(j).i32Add().v128Load().get(gyv).get(hsT).get(nb).i32Add().get(j).i32Add().v128Load().f32x4Mul().f32x4Add().v128Store();
          f.get(dBt).get(bT).i32Add().get(j).i32Add();
          f.get(dBt).get(bT).i32Add().get(j).i32Add().v128Load().get(dhn).get(dtuv).f32x4Mul().f32x4Add().v128Store();
          // dhe = dhn e h_{t-1}; s1 += a dhe; s2 += dhn B_t; dA += dhe dt; dh = dhn e
          f.get(eT).get(j).i32Add().v128Load().set(ev);
          f.get(dhn).get(ev).f32x4Mul().get(hsT).get(j).i32Add().v128Load().f32x4Mul().set(dhe);
          f.get(s1).get(aRow).get(j).i32Add().v128Load().get(dhe).f32x4Mul().f32x4Add().set(s1);
          f.get(s2).get(dhn).get(p.Bt).get(bT).i32Add().get(j).i32Add().v128Load().f32x4Mul().f32x4Add().set(s2);
          f.get(p.dA).get(dARow).i32Add().get(j).i32Add();
          f.get(p.dA).get(dARow).i32Add().get(j).i32Add().v128Load().get(dhe).get(dtv).f32x4Mul().f32x4Add().v128Store();
          f.get(dh).get(j).i32Add().get(dhn).get(ev).f32x4Mul().v128Store();
        });
        // ddt = sum s1 + u sum s2 ; du = dt sum s2
        scalar(p.ddt);
        hsum(f, s1);
        scalar(p.u).f32Load();
        hsum(f, s2);
        f.f32Mul().f32Add().f32Store();
        scalar(p.du);
        scalar(p.dt).f32Load();
        hsum(f, s2);
        f.f32Mul().f32Store();
        f.br(top);
      }),
    );
  });
}

/** 2 atanh(s) / s = 2 (1 + s^2/3 + s^4/5 + ...), to s^12: relative error below 2e-8 for s <= 1/3 */
const ATANH2 = [2, 2 / 3, 2 / 5, 2 / 7, 2 / 9, 2 / 11, 2 / 13];

/**
 * stepSizes(n, raw, u, dt, dtu, sg): for the n values (rounded up to whole vectors) of raw = delta
 * + deltaBias, dt = softplus(raw) (or raw itself when `soft` is 0), dtu = dt u and, where sg is not
 * 0, sg = sigmoid(raw) (softplus' derivative, for the backward). softplus(x) = max(x, 0) +
 * log1p(e) with e = exp(-|x|) and log1p(e) = 2 atanh(e / (2 + e)): no 1 + e is rounded, so tiny
 * results keep their relative accuracy.
 */
function emitStepSizes(m: ModuleBuilder): number {
  const f = m.func(null, [i32, i32, i32, i32, i32, i32, i32]);
  const [n, raw, u, dt, dtu, sg, soft] = [0, 1, 2, 3, 4, 5, 6];
  const [end] = [f.local(i32)];
  const [x, e, s, s2, v] = Array.from({ length: 5 }, () => f.local(v128));
  const vl = vecLocals(f);
  f.get(raw).get(n).i32Const(4).i32Mul().i32Add().set(end);
  f.block((done) =>
    f.loop((top) => {
      f.get(raw).get(end).i32GeU().brIf(done);
      f.get(raw).v128Load().set(x);
      vexp(f, vl, () => f.get(x).f32x4Abs().f32x4Neg());
      f.set(e);
      f.get(soft);
      f.if(
        () => {
          f.get(e).f32x4Const(2).get(e).f32x4Add().f32x4Div().set(s);
          f.get(s).get(s).f32x4Mul().set(s2);
          f.get(s2).f32x4Const(ATANH2[6]).f32x4Mul().f32x4Const(ATANH2[5]).f32x4Add();
          for (let k = 4; k >= 0; k--) f.get(s2).f32x4Mul().f32x4Const(ATANH2[k]).f32x4Add();
          f.get(s).f32x4Mul().get(x).f32x4Const(0).f32x4Pmax().f32x4Add().set(v);
        },
        () => void f.get(x).set(v),
      );
      f.get(dt).get(v).v128Store();
      f.get(dtu).get(v).get(u).v128Load().f32x4Mul().v128Store();
      f.get(sg);
      f.if(() => {
        // sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) below
        f.get(sg).f32x4Const(1).get(e).get(x).f32x4Const(0).f32x4Ge().v128Bitselect().f32x4Const(1).get(e).f32x4Add().f32x4Div().v128Store();
        f.get(sg).i32Const(16).i32Add().set(sg);
      });
      for (const ptr of [raw, u, dt, dtu]) f.get(ptr).i32Const(16).i32Add().set(ptr);
      f.br(top);
    }),
  );
  return f.index;
}

/**
 * stepSizes(task, tid, per, n, raw, u, dt, dtu, sg, soft): the step sizes of values [task per,
 * min(n, (task + 1) per)) (per a multiple of 4), as a task of the thread pool.
 */
function emitStepSizesTask(m: ModuleBuilder, inner: number): void {
  const f = m.func('stepSizes', Array.from({ length: 10 }, () => i32));
  const [task, , per, n, raw, u, dt, dtu, sg, soft] = Array.from({ length: 10 }, (_, i) => i);
  const [i0, len] = [f.local(i32), f.local(i32)];
  f.get(task).get(per).i32Mul().set(i0);
  f.get(n).get(i0).i32Sub().set(len);
  f.get(len).get(per).i32GtS();
  f.if(() => void f.get(per).set(len));
  const at = (ptr: number): void => void f.get(ptr).get(i0).i32Const(4).i32Mul().i32Add();
  f.get(len);
  for (const ptr of [raw, u, dt, dtu]) at(ptr);
  // sg = 0 means "not wanted"
  f.get(sg).get(sg).get(i0).i32Const(4).i32Mul().i32Add().get(sg).i32Eqz().select();
  f.get(soft).call(inner);
}

type ScanExports = Record<'stepSizes' | 'scanForward' | 'scanBackward', (...args: number[]) => void>;

let kernel: WasmKernel<ScanExports> | null | undefined;

/** The compiled kernels on @dl/tensor's kernel memory, made on first use (null where SIMD128 does not validate). */
function instance(): WasmKernel<ScanExports> | null {
  if (kernel !== undefined) return kernel;
  if (!simdSupported()) return (kernel = null);
  kernel = compileKernel<ScanExports>((m) => {
    emitStepSizesTask(m, emitStepSizes(m));
    emitForward(m);
    emitBackward(m);
  });
  return kernel;
}

/** True where the SIMD kernels can run this scan: float32, B and C input-dependent, N a multiple of 4. */
export function wasmScanFits(dims: ScanDims, data: readonly TypedArray[]): boolean {
  return data[0] instanceof Float32Array && dims.varB && dims.varC && dims.N % 4 === 0 && instance() !== null;
}

/**
 * Float32 arrays of the given lengths in the kernel memory for this call (each followed by room for
 * a whole-vector write past its end): their byte offsets and views. Other @dl/tensor kernels reuse
 * the memory, so nothing here may be held across a call to them.
 */
function layout(sizes: readonly number[]): { at: number[]; views: Float32Array[] } {
  kernelScratch.reset();
  const at = sizes.map((n) => kernelScratch.alloc(4 * n + 16));
  kernelScratch.reserve();
  const heap = kernelHeapF32();
  return { at, views: sizes.map((n, i) => heap.subarray(at[i] / 4, at[i] / 4 + n)) };
}

/** Reused float32 arrays outside the kernel memory, one per slot (sigmoid(z) and silu(z)). */
const temps: Float32Array[] = [];
function temp(slot: number, n: number): Float32Array {
  if (!temps[slot] || temps[slot].length < n) temps[slot] = new Float32Array(n);
  return temps[slot].subarray(0, n);
}

/** (batch, N, L) -> (batch, L, N) */
function toTimeMajor(src: TypedArray, dst: Float32Array, batch: number, N: number, L: number): void {
  for (let b = 0; b < batch; b++) for (let n = 0; n < N; n++) for (let t = 0; t < L; t++) dst[(b * L + t) * N + n] = src[(b * N + n) * L + t];
}

/** sum over the slots of (batch, L, N) -> (batch, N, L), into `dst` from `at` */
function fromTimeMajor(src: Float32Array, slots: number, dst: TypedArray, at: number, batch: number, N: number, L: number): void {
  const size = batch * L * N;
  for (let b = 0; b < batch; b++)
    for (let n = 0; n < N; n++)
      for (let t = 0; t < L; t++) {
        const i = (b * L + t) * N + n;
        let v = src[i];
        for (let k = 1; k < slots; k++) v += src[k * size + i];
        dst[at + (b * N + n) * L + t] = v;
      }
}

/** raw = delta + deltaBias of every (row, t), into `raw` (rows, L). */
function rawSteps(delta: TypedArray, bias: TypedArray, dims: ScanDims, raw: Float32Array): void {
  const { batch, D, L } = dims;
  for (let r = 0, i = 0; r < batch * D; r++) {
    const bd = bias[r % D];
    for (let t = 0; t < L; t++, i++) raw[i] = delta[i] + bd;
  }
}

/** out = op(x) (sigmoid, silu) through @dl/tensor's SIMD kernels (before this call's layout: they use the kernel memory) */
function ewise(op: 'sigmoid' | 'silu', x: TypedArray, out: Float32Array): void {
  const k = kernelChoice();
  k.elementwise!(op, [x as Float32Array], out);
}

/**
 * How the channels split into tasks: one per thread (so the task count, and with it the order in
 * which the backward adds its dB and dC slots, depends only on the thread count set).
 */
function plan(dims: ScanDims): { tasks: number; dPer: number } {
  const tasks = Math.max(1, Math.min(getNumThreads(), dims.D));
  return { tasks, dPer: Math.ceil(dims.D / tasks) };
}

/** stepSizes over `n` values, split into whole-vector pieces over the threads */
function runStepSizes(k: WasmKernel<ScanExports>, n: number, args: readonly number[]): void {
  const threads = getNumThreads();
  const per = Math.ceil(n / threads / 4) * 4;
  k.run('stepSizes', Math.ceil(n / per), [per, n, ...args]);
}

/** The forward op's output (batch, D, L [+ N]) from the SIMD kernel. */
export function scanForwardWasm(data: readonly TypedArray[], attrs: ScanAttrs, dims: ScanDims, outSize: number): Float32Array {
  const [u, delta, A, B, C, Dv, bias, z] = data;
  const { batch, D, L, N, hasZ } = dims;
  const rows = batch * D;
  const RL = rows * L;
  const { tasks, dPer } = plan(dims);
  const gate = hasZ ? temp(0, RL) : null;
  if (gate) ewise('silu', z, gate);
  const k = instance()!;
  // raw, then the kernel's arrays in scanForward's order (h: one state per thread), then u
  const { at, views } = layout([RL, RL, RL, D * N, batch * L * N, batch * L * N, RL, rows * N, tasks * N, RL]);
  const [raw, , , a, bt, ct, y, last, , uk] = views;
  rawSteps(delta, bias, dims, raw);
  uk.set(u);
  runStepSizes(k, RL, [at[0], at[9], at[1], at[2], 0, attrs.deltaSoftplus ? 1 : 0]);
  a.set(A);
  toTimeMajor(B, bt, batch, N, L);
  toTimeMajor(C, ct, batch, N, L);
  k.run('scanForward', tasks, [dPer, batch, L, N, D, ...at.slice(1, 9)]);
  const outL = rowLength(dims, attrs);
  const out = cpuResultArray('float32', outSize, false) as Float32Array; // every element written below
  for (let r = 0; r < rows; r++) {
    const dd = Dv[r % D];
    for (let t = 0, i = r * L, o = r * outL; t < L; t++, i++, o++) {
      const v = y[i] + dd * u[i];
      out[o] = gate ? v * gate[i] : v;
    }
    if (attrs.returnLastState) out.set(last.subarray(r * N, r * N + N), r * outL + L);
  }
  return out;
}

/** The backward op's packed gradients (see gradSizes) from the SIMD kernel. */
export function scanBackwardWasm(data: readonly TypedArray[], attrs: ScanAttrs, dims: ScanDims, outSize: number): Float32Array {
  const [u, delta, A, B, C, Dv, bias] = data;
  const { batch, D, L, N, hasZ } = dims;
  const z = hasZ ? data[7] : null;
  const g = data[hasZ ? 8 : 7];
  const rows = batch * D;
  const outL = rowLength(dims, attrs);
  const RL = rows * L;
  const BLN = batch * L * N;
  const { tasks, dPer } = plan(dims);
  const threads = getNumThreads();
  const sz = z ? temp(1, RL) : null; // sigmoid(z)
  if (z && sz) ewise('sigmoid', z, sz);
  const k = instance()!;
  // the kernel's 17 arrays (scanBackward's order; hs, e, dh one per thread, dBt and dCt one per
  // task), then raw and sigmoid(raw)
  const sizes = [RL, RL, RL, RL, D * N, BLN, BLN, RL, threads * (L + 1) * N, threads * L * N, threads * N, attrs.returnLastState ? rows * N : 0, D * N, tasks * BLN, tasks * BLN, RL, RL, RL, RL];
  const { at, views } = layout(sizes);
  const [, , uk, gy, a, bt, ct, y, , , , lastG, dA, dBt, dCt, ddt, du, raw, sg] = views;
  rawSteps(delta, bias, dims, raw);
  uk.set(u);
  runStepSizes(k, RL, [at[17], at[2], at[0], at[1], attrs.deltaSoftplus ? at[18] : 0, attrs.deltaSoftplus ? 1 : 0]);
  a.set(A);
  toTimeMajor(B, bt, batch, N, L);
  toTimeMajor(C, ct, batch, N, L);
  for (let r = 0; r < rows; r++) {
    for (let t = 0, i = r * L, o = r * outL; t < L; t++, i++, o++) gy[i] = z && sz ? g[o] * z[i] * sz[i] : g[o];
    if (attrs.returnLastState) for (let n = 0; n < N; n++) lastG[r * N + n] = g[r * outL + L + n];
  }
  dA.fill(0);
  dBt.fill(0);
  dCt.fill(0);
  const args = at.slice(0, 17);
  if (!attrs.returnLastState) args[11] = 0;
  k.run('scanBackward', tasks, [dPer, batch, L, N, D, ...args]);
  const [oU, oDelta, oA, oB, oC, oD, oBias, oZ] = gradOffsets(dims);
  const out = cpuResultArray('float32', outSize) as Float32Array; // zeroed: dD and ddeltaBias add up
  for (let r = 0; r < rows; r++) {
    const d = r % D;
    const dd = Dv[d];
    let dDsum = 0;
    let dBiasSum = 0;
    for (let t = 0, i = r * L, o = r * outL; t < L; t++, i++, o++) {
      const dRaw = attrs.deltaSoftplus ? ddt[i] * sg[i] : ddt[i];
      out[oU + i] = du[i] + gy[i] * dd;
      out[oDelta + i] = dRaw;
      dDsum += gy[i] * u[i];
      dBiasSum += dRaw;
      if (z && sz) {
        const s = sz[i];
        out[oZ + i] = g[o] * (y[i] + dd * u[i]) * s * (1 + z[i] * (1 - s));
      }
    }
    out[oD + d] += dDsum;
    out[oBias + d] += dBiasSum;
  }
  out.set(dA, oA);
  fromTimeMajor(dBt, tasks, out, oB, batch, N, L);
  fromTimeMajor(dCt, tasks, out, oC, batch, N, L);
  return out;
}
