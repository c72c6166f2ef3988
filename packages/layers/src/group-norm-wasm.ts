/**
 * GroupNorm's float32 CPU kernels in WebAssembly SIMD128 (@dl/tensor/wasm's emitter), optionally
 * with SiLU applied to the output. A row is one (sample, group): Cg channels of S values, contiguous
 * in (N, C, S). Each row's statistics are two passes over it (the mean, then the squared
 * deviations) while it sits in cache, then the per-channel multiply-add (and SiLU); the backward
 * recomputes the statistics the same way, so the forward saves nothing but its inputs.
 *
 * Sums run in float32 lanes with the scalar tail and the lane totals in float64, mean and rstd in
 * float64. Rows are split over @dl/tensor's worker threads in whole rows, each row computed as on
 * one thread; the backward writes each (sample, channel)'s sums of g and g xhat to its own slot and
 * the caller adds them over the samples in order, so results do not depend on the thread count.
 */
import { kernelChoice, type TypedArray } from '@dl/tensor';
import { compileKernel, f64, hsumF64, i32, kernelHeapF32, kernelScratch, simdSupported, taskRange, v128, vecLocals, vexp, type FuncBuilder, type ModuleBuilder, type WasmKernel } from '@dl/tensor/wasm';
import { CHUNK, at, each, load, plan, store, type Fn } from './channel-wasm.js';
import type { ChannelDims } from './channel-ops.js';

/** The shape of a GroupNorm call: x is (N, C, S), C = G Cg. */
export interface GNDims extends ChannelDims {
  G: number;
}

type GNExports = Record<string, (...args: number[]) => void>;

let kernel: WasmKernel<GNExports> | null | undefined;

function instance(): WasmKernel<GNExports> | null {
  if (kernel === undefined) kernel = simdSupported() ? compileKernel<GNExports>(emitGroupNorm) : null;
  return kernel;
}

/** True where the SIMD kernels run: @dl/tensor's wasm kernels are selected, the data is float32 and SIMD128 validates. */
export function wasmGroupNormFits(x: TypedArray): boolean {
  return x instanceof Float32Array && kernelChoice().name === 'wasm' && instance() !== null;
}

/** sets local s to sigmoid of the vector in local y: 1 / (1 + e^-y) (e^-y is inf, so s is 0, far below 0) */
function sigmoid(fn: Fn, y: number, s: number): void {
  const { f, t } = fn;
  f.f32x4Const(1);
  vexp(f, t, () => f.get(y).f32x4Neg());
  f.f32x4Const(1).f32x4Add().f32x4Div().set(s);
}

interface Stats {
  mean: number; // f64
  rstd: number; // f64
  meanv: number; // v128 splats of both
  rstdv: number;
}

/** mean and rstd = 1 / sqrt(var + eps) of the row of `len` floats at `row` (two passes) */
function rowStats(fn: Fn, row: number, len: number, eps: number, st: Stats, acc: number, s: number, d: number, ds: number): void {
  const { f } = fn;
  const lenF = () => f.get(len).f64ConvertI32U();
  f.v128Zero().set(acc);
  f.f64Const(0).set(s);
  each(
    fn, len,
    () => {
      f.get(acc);
      load(fn, row, false).f32x4Add().set(acc);
    },
    () => at(fn, row).f32Load().f64PromoteF32().get(s).f64Add().set(s),
  );
  hsumF64(f, acc);
  f.get(s).f64Add();
  lenF();
  f.f64Div().set(st.mean);
  f.get(st.mean).f32DemoteF64().f32x4Splat().set(st.meanv);
  f.v128Zero().set(acc);
  f.f64Const(0).set(s);
  each(
    fn, len,
    () => {
      load(fn, row, false).get(st.meanv).f32x4Sub().set(d);
      f.get(acc).get(d).get(d).f32x4Mul().f32x4Add().set(acc);
    },
    () => {
      at(fn, row).f32Load().f64PromoteF32().get(st.mean).f64Sub().set(ds);
      f.get(s).get(ds).get(ds).f64Mul().f64Add().set(s);
    },
  );
  f.f64Const(1);
  hsumF64(f, acc);
  f.get(s).f64Add();
  lenF();
  f.f64Div().get(eps).f64Add().f64Sqrt().f64Div().set(st.rstd);
  f.get(st.rstd).f32DemoteF64().f32x4Splat().set(st.rstdv);
}

/**
 * gnForward[Silu](task, tid, x, w, b, out, prm, rows, rpt, G, Cg, S): out = (x - mean) rstd w + b
 * per row (then silu), eps the float32 at prm. Byte addresses; rows = N G.
 */
function emitForward(m: ModuleBuilder, silu: boolean): void {
  const f = m.func(silu ? 'gnForwardSilu' : 'gnForward', Array(12).fill(i32));
  const [task, , x, w, b, out, prm, nRows, rpt, G, Cg, S] = Array.from({ length: 12 }, (_, k) => k);
  const fn: Fn = { f, t: vecLocals(f), i: f.local(i32), vend: f.local(i32), end: f.local(i32) };
  const [r, rEnd, len, row, orow, c, seg, oseg, ch] = Array.from({ length: 9 }, () => f.local(i32));
  const eps = f.local(f64), s = f.local(f64), d = f.local(v128), ds = f.local(f64);
  const acc = f.local(v128), y = f.local(v128), sg = f.local(v128), av = f.local(v128), shv = f.local(v128);
  const a = f.local(f64);
  const st: Stats = { mean: f.local(f64), rstd: f.local(f64), meanv: f.local(v128), rstdv: f.local(v128) };
  f.get(prm).f32Load().f64PromoteF32().set(eps);
  f.get(Cg).get(S).i32Mul().set(len);
  taskRange(f, task, rpt, nRows, r, rEnd, () => {
    f.get(r).get(len).i32Mul().i32Const(2).i32Shl().tee(row).get(out).i32Add().set(orow);
    f.get(row).get(x).i32Add().set(row);
    rowStats(fn, row, len, eps, st, acc, s, d, ds);
    // channel ch = (r % G) Cg + c: a = w rstd, shift = b - mean a
    f.get(r).get(G).i32RemU().get(Cg).i32Mul().set(ch);
    f.i32Const(0).set(c);
    f.block((done) => {
      f.loop((next) => {
        f.get(c).get(Cg).i32GeU().brIf(done);
        f.get(w).get(ch).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32().get(st.rstd).f64Mul().tee(a).f32DemoteF64().f32x4Splat().set(av);
        f.get(b).get(ch).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32().get(st.mean).get(a).f64Mul().f64Sub().f32DemoteF64().f32x4Splat().set(shv);
        f.get(c).get(S).i32Mul().i32Const(2).i32Shl().tee(seg).get(orow).i32Add().set(oseg);
        f.get(seg).get(row).i32Add().set(seg);
        const apply = (tail: boolean) => {
          load(fn, seg, tail).get(av).f32x4Mul().get(shv).f32x4Add().set(y);
          if (silu) {
            sigmoid(fn, y, sg);
            f.get(y).get(sg).f32x4Mul().set(y);
          }
          store(fn, oseg, y, tail);
        };
        each(fn, S, () => apply(false), () => apply(true));
        f.get(c).i32Const(1).i32Add().set(c);
        f.get(ch).i32Const(1).i32Add().set(ch);
        f.br(next);
      });
    });
  });
}

/**
 * gnBackward[Silu](task, tid, x, w, b, g, out, part, prm, rows, rpt, G, Cg, S): out = dx per row;
 * part[(r Cg + c) 2 + 0, 1] = the row's sums of gy and gy xhat over channel c, gy = g (or g
 * silu'(y)). With m1, m2 the row means of gy w and gy w xhat: dx = rstd (gy w - m1 - xhat m2).
 */
function emitBackward(m: ModuleBuilder, silu: boolean): void {
  const f = m.func(silu ? 'gnBackwardSilu' : 'gnBackward', Array(14).fill(i32));
  const [task, , x, w, b, g, out, part, prm, nRows, rpt, G, Cg, S] = Array.from({ length: 14 }, (_, k) => k);
  const fn: Fn = { f, t: vecLocals(f), i: f.local(i32), vend: f.local(i32), end: f.local(i32) };
  const [r, rEnd, len, row, grow, orow, c, seg, gseg, oseg, ch, pAt] = Array.from({ length: 12 }, () => f.local(i32));
  const eps = f.local(f64), s = f.local(f64), d = f.local(v128), ds = f.local(f64);
  const acc = f.local(v128), acc2 = f.local(v128), y = f.local(v128), sg = f.local(v128), gv = f.local(v128), xh = f.local(v128);
  const av = f.local(v128), shv = f.local(v128), bv = f.local(v128), dv = f.local(v128);
  const a = f.local(f64), wc = f.local(f64), sum = f.local(f64), sumx = f.local(f64), m1 = f.local(f64), m2 = f.local(f64), t1 = f.local(f64), t2 = f.local(f64);
  const st: Stats = { mean: f.local(f64), rstd: f.local(f64), meanv: f.local(v128), rstdv: f.local(v128) };
  f.get(prm).f32Load().f64PromoteF32().set(eps);
  f.get(Cg).get(S).i32Mul().set(len);
  // walks channel c of the row: seg, gseg, oseg at its x, g, out; wc = its weight
  const channels = (body: () => void) => {
    f.get(r).get(G).i32RemU().get(Cg).i32Mul().set(ch);
    f.i32Const(0).set(c);
    f.block((done) => {
      f.loop((next) => {
        f.get(c).get(Cg).i32GeU().brIf(done);
        f.get(c).get(S).i32Mul().i32Const(2).i32Shl().tee(seg).get(grow).i32Add().set(gseg);
        f.get(seg).get(orow).i32Add().set(oseg);
        f.get(seg).get(row).i32Add().set(seg);
        f.get(w).get(ch).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32().set(wc);
        body();
        f.get(c).i32Const(1).i32Add().set(c);
        f.get(ch).i32Const(1).i32Add().set(ch);
        f.br(next);
      });
    });
  };
  taskRange(f, task, rpt, nRows, r, rEnd, () => {
    f.get(r).get(len).i32Mul().i32Const(2).i32Shl().tee(row).get(out).i32Add().set(orow);
    f.get(row).get(g).i32Add().set(grow);
    f.get(row).get(x).i32Add().set(row);
    rowStats(fn, row, len, eps, st, acc, s, d, ds);
    f.f64Const(0).set(m1);
    f.f64Const(0).set(m2);
    // pass 1: gy into out, its sums per channel
    channels(() => {
      if (silu) {
        f.get(wc).get(st.rstd).f64Mul().tee(a).f32DemoteF64().f32x4Splat().set(av);
        f.get(b).get(ch).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32().get(st.mean).get(a).f64Mul().f64Sub().f32DemoteF64().f32x4Splat().set(shv);
      }
      f.v128Zero().set(acc);
      f.v128Zero().set(acc2);
      f.f64Const(0).set(sum);
      f.f64Const(0).set(sumx);
      const grad = (tail: boolean) => {
        load(fn, seg, tail).set(y); // x
        f.get(y).get(st.meanv).f32x4Sub().get(st.rstdv).f32x4Mul().set(xh);
        load(fn, gseg, tail).set(gv);
        if (silu) {
          // gy = g s (1 + y (1 - s)), y = x a + shift, s = sigmoid(y)
          f.get(y).get(av).f32x4Mul().get(shv).f32x4Add().set(y);
          sigmoid(fn, y, sg);
          f.get(gv).get(sg).f32x4Mul().get(y).f32x4Const(1).get(sg).f32x4Sub().f32x4Mul().f32x4Const(1).f32x4Add().f32x4Mul().set(gv);
        }
        store(fn, oseg, gv, tail);
        if (tail) {
          f.get(sum).get(gv).f32x4ExtractLane(0).f64PromoteF32().f64Add().set(sum);
          f.get(sumx).get(gv).get(xh).f32x4Mul().f32x4ExtractLane(0).f64PromoteF32().f64Add().set(sumx);
        } else {
          f.get(acc).get(gv).f32x4Add().set(acc);
          f.get(acc2).get(gv).get(xh).f32x4Mul().f32x4Add().set(acc2);
        }
      };
      each(fn, S, () => grad(false), () => grad(true));
      hsumF64(f, acc);
      f.get(sum).f64Add().set(sum);
      hsumF64(f, acc2);
      f.get(sumx).f64Add().set(sumx);
      f.get(r).get(Cg).i32Mul().get(c).i32Add().i32Const(3).i32Shl().get(part).i32Add().set(pAt);
      f.get(pAt).get(sum).f32DemoteF64().f32Store();
      f.get(pAt).get(sumx).f32DemoteF64().f32Store(4);
      f.get(m1).get(wc).get(sum).f64Mul().f64Add().set(m1);
      f.get(m2).get(wc).get(sumx).f64Mul().f64Add().set(m2);
    });
    // pass 2: dx = A gy + B x + D with A = rstd w, B = -rstd^2 m2, D = -rstd m1 - B mean
    f.get(m1).get(len).f64ConvertI32U().f64Div().set(m1);
    f.get(m2).get(len).f64ConvertI32U().f64Div().set(m2);
    f.f64Const(0).get(st.rstd).get(st.rstd).f64Mul().get(m2).f64Mul().f64Sub().tee(t1).f32DemoteF64().f32x4Splat().set(bv);
    f.f64Const(0).get(st.rstd).get(m1).f64Mul().f64Sub().get(t1).get(st.mean).f64Mul().f64Sub().tee(t2).f32DemoteF64().f32x4Splat().set(dv);
    channels(() => {
      f.get(wc).get(st.rstd).f64Mul().f32DemoteF64().f32x4Splat().set(av);
      const dx = (tail: boolean) => {
        load(fn, oseg, tail).get(av).f32x4Mul();
        load(fn, seg, tail).get(bv).f32x4Mul().f32x4Add().get(dv).f32x4Add().set(y);
        store(fn, oseg, y, tail);
      };
      each(fn, S, () => dx(false), () => dx(true));
    });
  });
}

function emitGroupNorm(m: ModuleBuilder): void {
  emitForward(m, false);
  emitForward(m, true);
  emitBackward(m, false);
  emitBackward(m, true);
}

/** Runs `fn` on chunks of whole samples [n0, n0 + n) small enough for the kernel memory. */
function bySamples({ N, C, S }: GNDims, fn: (n0: number, n: number) => void): void {
  const per = Math.max(1, Math.floor(CHUNK / Math.max(1, C * S)));
  for (let n0 = 0; n0 < N; n0 += per) fn(n0, Math.min(per, N - n0));
}

/**
 * out (N, C, S) = GroupNorm of x with weight and bias (C), then SiLU if `silu`.
 * @example groupNormForwardWasm(x, w, b, out, { N: 2, C: 8, S: 16, G: 4 }, 1e-5, false)
 */
export function groupNormForwardWasm(x: Float32Array, w: Float32Array, b: Float32Array, out: Float32Array, dims: GNDims, eps: number, silu: boolean): void {
  const k = instance()!;
  const { C, S, G } = dims;
  bySamples(dims, (n0, n) => {
    const size = n * C * S;
    kernelScratch.reset();
    const [xAt, wAt, bAt, oAt, pAt] = [size, C, C, size, 1].map((len) => kernelScratch.alloc(4 * len + 16));
    kernelScratch.reserve();
    const heap = kernelHeapF32();
    heap.set(x.subarray(n0 * C * S, n0 * C * S + size), xAt / 4);
    heap.set(w.subarray(0, C), wAt / 4);
    heap.set(b.subarray(0, C), bAt / 4);
    heap[pAt / 4] = eps;
    const [tasks, rpt, threads] = plan(n * G, (C / G) * S);
    k.run(silu ? 'gnForwardSilu' : 'gnForward', tasks, [xAt, wAt, bAt, oAt, pAt, n * G, rpt, G, C / G, S], threads);
    out.set(kernelHeapF32().subarray(oAt / 4, oAt / 4 + size), n0 * C * S);
  });
}

/**
 * Writes dx (N C S), then dweight (C) and dbias (C) into `out` from x, weight, bias and the output's
 * gradient g (of the SiLU's output if `silu`).
 * @example groupNormBackwardWasm(x, w, b, g, out, { N: 2, C: 8, S: 16, G: 4 }, 1e-5, false)
 */
export function groupNormBackwardWasm(x: Float32Array, w: Float32Array, b: Float32Array, g: Float32Array, out: Float32Array, dims: GNDims, eps: number, silu: boolean): void {
  const k = instance()!;
  const { N, C, S, G } = dims;
  const dw = new Float64Array(C), db = new Float64Array(C);
  bySamples(dims, (n0, n) => {
    const size = n * C * S;
    kernelScratch.reset();
    const [xAt, wAt, bAt, gAt, oAt, partAt, pAt] = [size, C, C, size, size, 2 * n * C, 1].map((len) => kernelScratch.alloc(4 * len + 16));
    kernelScratch.reserve();
    const heap = kernelHeapF32();
    const e0 = n0 * C * S;
    heap.set(x.subarray(e0, e0 + size), xAt / 4);
    heap.set(w.subarray(0, C), wAt / 4);
    heap.set(b.subarray(0, C), bAt / 4);
    heap.set(g.subarray(e0, e0 + size), gAt / 4);
    heap[pAt / 4] = eps;
    const [tasks, rpt, threads] = plan(n * G, (C / G) * S);
    k.run(silu ? 'gnBackwardSilu' : 'gnBackward', tasks, [xAt, wAt, bAt, gAt, oAt, partAt, pAt, n * G, rpt, G, C / G, S], threads);
    const h = kernelHeapF32();
    out.set(h.subarray(oAt / 4, oAt / 4 + size), e0);
    // row r = s G + group holds channels group Cg .. : slot (s C + c) for sample s, channel c
    for (let s = 0, q = partAt / 4; s < n; s++) {
      for (let c = 0; c < C; c++, q += 2) {
        db[c] += h[q];
        dw[c] += h[q + 1];
      }
    }
  });
  const n = N * C * S;
  for (let c = 0; c < C; c++) {
    out[n + c] = dw[c];
    out[n + C + c] = db[c];
  }
}
