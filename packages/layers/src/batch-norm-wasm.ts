/**
 * Batch norm's float32 CPU kernels in WebAssembly SIMD128 (@dl/tensor/wasm's emitter): the
 * statistics, the normalisation and the gradient of batch-norm.ts. A channel is N runs of S floats,
 * one a sample; the kernels take a chunk of channels copied channel-major within each sample,
 * (N, cc, S), and split the channels (statistics, gradient) or the runs (normalisation) over
 * @dl/tensor's worker threads. Each channel or run is computed whole by one task, so the results do
 * not depend on the thread count.
 *
 * Sums run in float32 lanes over a run; each run's lane total, the tail and the sums over the runs
 * are float64, as are the mean, the variance and the gradient's per-channel coefficients. The
 * elementwise parts (y = x a + shift, dx = a g + b x + d) are float32 with a, shift, b and d
 * rounded once from float64, as PyTorch's CPU kernel does.
 */
import { kernelChoice, type TypedArray } from '@dl/tensor';
import { compileKernel, f64, hsumF64, i32, kernelHeapF32, kernelScratch, simdSupported, taskRange, v128, vecLocals, type FuncBuilder, type ModuleBuilder, type WasmKernel } from '@dl/tensor/wasm';
import { CHUNK, each, load, plan, store, type Fn } from './channel-wasm.js';
import type { ChannelDims } from './channel-ops.js';

type BNExports = Record<string, (...args: number[]) => void>;

let kernel: WasmKernel<BNExports> | null | undefined;

function instance(): WasmKernel<BNExports> | null {
  if (kernel === undefined) kernel = simdSupported() ? compileKernel<BNExports>(emitBatchNorm) : null;
  return kernel;
}

/** Runs shorter than this many floats are mostly tail: the JS loops serve them (BatchNorm1d's S = 1). */
const MIN_RUN = 8;

/**
 * True where the SIMD kernels run: @dl/tensor's wasm kernels are selected, x is float32, its runs
 * are long enough to vectorise and one channel (N S floats) fits a chunk of the kernel memory.
 */
export function wasmBatchNormFits(x: TypedArray, { N, S }: ChannelDims): boolean {
  return x instanceof Float32Array && S >= MIN_RUN && N * S <= CHUNK && kernelChoice().name === 'wasm' && instance() !== null;
}

/** The locals of a walk over a channel's runs: `rel` the byte offset of the current run in a (N, cc, S) buffer. */
interface Runs {
  n: number;
  rel: number;
  step: number; // bytes from one sample's run to the next: cc S 4
}

/** for n in [0, N): sets rs.rel to sample n's run of channel c, then body() */
function runs(f: FuncBuilder, rs: Runs, N: number, S: number, c: number, body: () => void): void {
  f.get(c).get(S).i32Mul().i32Const(2).i32Shl().set(rs.rel);
  f.i32Const(0).set(rs.n);
  f.block((done) => {
    f.loop((next) => {
      f.get(rs.n).get(N).i32GeU().brIf(done);
      body();
      f.get(rs.rel).get(rs.step).i32Add().set(rs.rel);
      f.get(rs.n).i32Const(1).i32Add().set(rs.n);
      f.br(next);
    });
  });
}

/** sets local `into` to the address of the current run in the buffer at `base` */
const addr = (f: FuncBuilder, rs: Runs, base: number, into: number) => f.get(rs.rel).get(base).i32Add().set(into);

/**
 * bnStats(task, tid, x, out, cc, cpt, N, S): out[2c], out[2c + 1] (float64) = channel c's mean and
 * biased variance (two passes), for the channels of this task.
 */
function emitStats(m: ModuleBuilder): void {
  const f = m.func('bnStats', Array(8).fill(i32));
  const [task, , x, out, cc, cpt, N, S] = Array.from({ length: 8 }, (_, k) => k);
  const fn: Fn = { f, t: vecLocals(f), i: f.local(i32), vend: f.local(i32), end: f.local(i32) };
  const [c, cEnd, row] = Array.from({ length: 3 }, () => f.local(i32));
  const rs: Runs = { n: f.local(i32), rel: f.local(i32), step: f.local(i32) };
  const acc = f.local(v128), d = f.local(v128), meanv = f.local(v128);
  const s = f.local(f64), mean = f.local(f64), ds = f.local(f64), M = f.local(f64);
  f.get(cc).get(S).i32Mul().i32Const(2).i32Shl().set(rs.step);
  f.get(N).get(S).i32Mul().f64ConvertI32U().set(M);
  // s = the sum over channel c's runs of what vec (4 lanes, added to acc) and one (the tail, float64) give
  const sumRuns = (vec: () => void, one: () => void) => {
    f.f64Const(0).set(s);
    runs(f, rs, N, S, c, () => {
      addr(f, rs, x, row);
      f.v128Zero().set(acc);
      each(fn, S, vec, one);
      hsumF64(f, acc);
      f.get(s).f64Add().set(s);
    });
  };
  taskRange(f, task, cpt, cc, c, cEnd, () => {
    // pass 1: the mean
    sumRuns(
      () => {
        f.get(acc);
        load(fn, row, false).f32x4Add().set(acc);
      },
      () => {
        f.get(s);
        load(fn, row, true).f32x4ExtractLane(0).f64PromoteF32().f64Add().set(s);
      },
    );
    f.get(s).get(M).f64Div().set(mean);
    f.get(mean).f32DemoteF64().f32x4Splat().set(meanv);
    // pass 2: the squared deviations
    sumRuns(
      () => {
        load(fn, row, false).get(meanv).f32x4Sub().set(d);
        f.get(acc).get(d).get(d).f32x4Mul().f32x4Add().set(acc);
      },
      () => {
        load(fn, row, true).f32x4ExtractLane(0).f64PromoteF32().get(mean).f64Sub().set(ds);
        f.get(s).get(ds).get(ds).f64Mul().f64Add().set(s);
      },
    );
    f.get(c).i32Const(4).i32Shl().get(out).i32Add().tee(row).get(mean).f64Store();
    f.get(row).get(s).get(M).f64Div().f64Store(8);
  });
}

/** bnApply(task, tid, x, ab, out, nRuns, rpt, cc, S): run r (channel r % cc) of out = x a + shift, (a, shift) the float32 pair at ab[2 (r % cc)]. */
function emitApply(m: ModuleBuilder): void {
  const f = m.func('bnApply', Array(9).fill(i32));
  const [task, , x, ab, out, nRuns, rpt, cc, S] = Array.from({ length: 9 }, (_, k) => k);
  const fn: Fn = { f, t: vecLocals(f), i: f.local(i32), vend: f.local(i32), end: f.local(i32) };
  const [r, rEnd, row, orow, pair] = Array.from({ length: 5 }, () => f.local(i32));
  const av = f.local(v128), shv = f.local(v128), y = f.local(v128);
  taskRange(f, task, rpt, nRuns, r, rEnd, () => {
    f.get(r).get(S).i32Mul().i32Const(2).i32Shl().tee(row).get(out).i32Add().set(orow);
    f.get(row).get(x).i32Add().set(row);
    f.get(r).get(cc).i32RemU().i32Const(3).i32Shl().get(ab).i32Add().set(pair);
    f.get(pair).v128Load32Splat().set(av);
    f.get(pair).i32Const(4).i32Add().v128Load32Splat().set(shv);
    const apply = (tail: boolean) => {
      load(fn, row, tail).get(av).f32x4Mul().get(shv).f32x4Add().set(y);
      store(fn, orow, y, tail);
    };
    each(fn, S, () => apply(false), () => apply(true));
  });
}

/**
 * bnBackward(task, tid, x, g, prm, out, part, cc, cpt, N, S): for each channel c of this task, with
 * (mean, invstd, weight) the float64 triple at prm[4c]: part[2c], part[2c + 1] (float64) = the
 * sums of g and g (x - mean), then dx = a g + b x + d with a = weight invstd,
 * b = -a invstd^2 sum(g (x - mean)) / M and d = -a sum(g) / M - b mean (M = N S).
 */
function emitBackward(m: ModuleBuilder): void {
  const f = m.func('bnBackward', Array(11).fill(i32));
  const [task, , x, g, prm, out, part, cc, cpt, N, S] = Array.from({ length: 11 }, (_, k) => k);
  const fn: Fn = { f, t: vecLocals(f), i: f.local(i32), vend: f.local(i32), end: f.local(i32) };
  const [c, cEnd, xrow, grow, orow, p] = Array.from({ length: 6 }, () => f.local(i32));
  const rs: Runs = { n: f.local(i32), rel: f.local(i32), step: f.local(i32) };
  const accG = f.local(v128), accGX = f.local(v128), gv = f.local(v128), meanv = f.local(v128);
  const av = f.local(v128), bv = f.local(v128), dv = f.local(v128), y = f.local(v128);
  const sg = f.local(f64), sgx = f.local(f64), mean = f.local(f64), invstd = f.local(f64), a = f.local(f64), b = f.local(f64), gs = f.local(f64), M = f.local(f64);
  f.get(cc).get(S).i32Mul().i32Const(2).i32Shl().set(rs.step);
  f.get(N).get(S).i32Mul().f64ConvertI32U().set(M);
  taskRange(f, task, cpt, cc, c, cEnd, () => {
    f.get(c).i32Const(5).i32Shl().get(prm).i32Add().tee(p).f64Load().set(mean);
    f.get(p).f64Load(8).set(invstd);
    f.get(mean).f32DemoteF64().f32x4Splat().set(meanv);
    // pass 1: sum g and sum g (x - mean)
    f.f64Const(0).set(sg);
    f.f64Const(0).set(sgx);
    runs(f, rs, N, S, c, () => {
      addr(f, rs, x, xrow);
      addr(f, rs, g, grow);
      f.v128Zero().set(accG);
      f.v128Zero().set(accGX);
      each(
        fn, S,
        () => {
          load(fn, grow, false).set(gv);
          f.get(accG).get(gv).f32x4Add().set(accG);
          f.get(accGX).get(gv);
          load(fn, xrow, false).get(meanv).f32x4Sub().f32x4Mul().f32x4Add().set(accGX);
        },
        () => {
          load(fn, grow, true).f32x4ExtractLane(0).f64PromoteF32().set(gs);
          f.get(sg).get(gs).f64Add().set(sg);
          f.get(sgx).get(gs);
          load(fn, xrow, true).f32x4ExtractLane(0).f64PromoteF32().get(mean).f64Sub().f64Mul().f64Add().set(sgx);
        },
      );
      hsumF64(f, accG);
      f.get(sg).f64Add().set(sg);
      hsumF64(f, accGX);
      f.get(sgx).f64Add().set(sgx);
    });
    f.get(c).i32Const(4).i32Shl().get(part).i32Add().tee(xrow).get(sg).f64Store();
    f.get(xrow).get(sgx).f64Store(8);
    // the coefficients, then pass 2: dx
    f.get(p).f64Load(16).get(invstd).f64Mul().tee(a).f32DemoteF64().f32x4Splat().set(av);
    f.f64Const(0).get(a).f64Sub().get(invstd).f64Mul().get(invstd).f64Mul().get(sgx).f64Mul().get(M).f64Div().tee(b).f32DemoteF64().f32x4Splat().set(bv);
    f.f64Const(0).get(a).f64Sub().get(sg).f64Mul().get(M).f64Div().get(b).get(mean).f64Mul().f64Sub().f32DemoteF64().f32x4Splat().set(dv);
    runs(f, rs, N, S, c, () => {
      addr(f, rs, x, xrow);
      addr(f, rs, g, grow);
      addr(f, rs, out, orow);
      const dx = (tail: boolean) => {
        load(fn, grow, tail).get(av).f32x4Mul();
        load(fn, xrow, tail).get(bv).f32x4Mul().f32x4Add().get(dv).f32x4Add().set(y);
        store(fn, orow, y, tail);
      };
      each(fn, S, () => dx(false), () => dx(true));
    });
  });
}

function emitBatchNorm(m: ModuleBuilder): void {
  emitStats(m);
  emitApply(m);
  emitBackward(m);
}

/** Runs `fn(c0, cc)` on chunks of whole channels [c0, c0 + cc), each small enough for the kernel memory. */
function byChannels({ N, C, S }: ChannelDims, fn: (c0: number, cc: number) => void): void {
  const per = Math.max(1, Math.floor(CHUNK / (N * S)));
  for (let c0 = 0; c0 < C; c0 += per) fn(c0, Math.min(per, C - c0));
}

/** Copies channels [c0, c0 + cc) of src (N, C, S) into the heap at byte `to` as (N, cc, S). */
function copyIn(heap: Float32Array, src: Float32Array, to: number, { N, C, S }: ChannelDims, c0: number, cc: number): void {
  if (cc === C) {
    heap.set(src.subarray(0, N * C * S), to / 4);
    return;
  }
  for (let n = 0; n < N; n++) heap.set(src.subarray((n * C + c0) * S, (n * C + c0 + cc) * S), to / 4 + n * cc * S);
}

/** Copies the heap's (N, cc, S) at byte `from` into channels [c0, c0 + cc) of dst (N, C, S). */
function copyOut(heap: Float32Array, from: number, dst: TypedArray, { N, C, S }: ChannelDims, c0: number, cc: number): void {
  if (cc === C) {
    dst.set(heap.subarray(from / 4, from / 4 + N * C * S));
    return;
  }
  for (let n = 0; n < N; n++) dst.set(heap.subarray(from / 4 + n * cc * S, from / 4 + (n + 1) * cc * S), (n * C + c0) * S);
}

/** byte addresses of fresh buffers of `floats` floats each (16 bytes apart at least, 8-aligned for float64) */
const allocate = (floats: number[]): number[] => {
  kernelScratch.reset();
  const at = floats.map((len) => kernelScratch.alloc(4 * len + 16));
  kernelScratch.reserve();
  return at;
};

/**
 * out (2, C) = each channel's mean, then its biased variance, of x (N, C, S).
 * @example batchNormStatsWasm(x, out, { N: 8, C: 4, S: 64 })
 */
export function batchNormStatsWasm(x: Float32Array, out: TypedArray, dims: ChannelDims): void {
  const k = instance()!;
  const { N, C, S } = dims;
  byChannels(dims, (c0, cc) => {
    const [xAt, oAt] = allocate([N * cc * S, 4 * cc]);
    copyIn(kernelHeapF32(), x, xAt, dims, c0, cc);
    const [tasks, cpt, threads] = plan(cc, N * S);
    k.run('bnStats', tasks, [xAt, oAt, cc, cpt, N, S], threads);
    const r = new Float64Array(kernelHeapF32().buffer, oAt, 2 * cc);
    for (let c = 0; c < cc; c++) {
      out[c0 + c] = r[2 * c];
      out[C + c0 + c] = r[2 * c + 1];
    }
  });
}

/**
 * out (N, C, S) = x a + shift per channel, a and shift (C) in float64 (rounded to float32 here).
 * @example batchNormApplyWasm(x, a, shift, out, { N: 8, C: 4, S: 64 })
 */
export function batchNormApplyWasm(x: Float32Array, a: Float64Array, shift: Float64Array, out: TypedArray, dims: ChannelDims): void {
  const k = instance()!;
  const { N, S } = dims;
  byChannels(dims, (c0, cc) => {
    const [xAt, abAt, oAt] = allocate([N * cc * S, 2 * cc, N * cc * S]);
    const heap = kernelHeapF32();
    copyIn(heap, x, xAt, dims, c0, cc);
    for (let c = 0; c < cc; c++) {
      heap[abAt / 4 + 2 * c] = a[c0 + c];
      heap[abAt / 4 + 2 * c + 1] = shift[c0 + c];
    }
    const [tasks, rpt, threads] = plan(N * cc, S);
    k.run('bnApply', tasks, [xAt, abAt, oAt, N * cc, rpt, cc, S], threads);
    copyOut(kernelHeapF32(), oAt, out, dims, c0, cc);
  });
}

/**
 * Writes dx (N C S), then sum g (x - mean) invstd (dweight, C) and sum g (dbias, C) into `out`, from x,
 * g and each channel's mean, invstd and weight (float64).
 * @example batchNormBackwardWasm(x, g, mean, invstd, w, out, { N: 8, C: 4, S: 64 })
 */
export function batchNormBackwardWasm(x: Float32Array, g: Float32Array, mean: Float64Array, invstd: Float64Array, w: Float64Array, out: TypedArray, dims: ChannelDims): void {
  const k = instance()!;
  const { N, C, S } = dims;
  const n = N * C * S;
  byChannels(dims, (c0, cc) => {
    const [xAt, gAt, prmAt, oAt, partAt] = allocate([N * cc * S, N * cc * S, 8 * cc, N * cc * S, 4 * cc]);
    const heap = kernelHeapF32();
    copyIn(heap, x, xAt, dims, c0, cc);
    copyIn(heap, g, gAt, dims, c0, cc);
    const prm = new Float64Array(heap.buffer, prmAt, 4 * cc);
    for (let c = 0; c < cc; c++) prm.set([mean[c0 + c], invstd[c0 + c], w[c0 + c]], 4 * c);
    const [tasks, cpt, threads] = plan(cc, 2 * N * S);
    k.run('bnBackward', tasks, [xAt, gAt, prmAt, oAt, partAt, cc, cpt, N, S], threads);
    const h = kernelHeapF32();
    copyOut(h, oAt, out, dims, c0, cc);
    const part = new Float64Array(h.buffer, partAt, 2 * cc);
    for (let c = 0; c < cc; c++) {
      out[n + c0 + c] = part[2 * c + 1] * invstd[c0 + c];
      out[n + C + c0 + c] = part[2 * c];
    }
  });
}
