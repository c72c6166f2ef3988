// Layer norm rows without weight or bias (GroupNorm's groups) in SIMD128 with float64 arithmetic:
// each row's sums run in the same float64 lanes and order as the JS kernels in ../norm.ts (four
// interleaved accumulators for the statistics, even and odd elements for the gradient's sums), and
// every output is computed in float64 and rounded once, so the results equal them bit for bit.
import { f64 as F64, type FuncBuilder, i32 as I32, type ModuleBuilder, v128 as V128 } from './emitter.js';

interface Locals {
  p: number; // float address in the row being walked
  q: number; // the same element in a second row (g for the gradient)
  vend: number; // p's end of whole vectors
  end: number; // p's end of the row
  v: number;
  lo: number; // float64 lanes of elements 0, 1 of a vector
  hi: number; // ... and of 2, 3
  glo: number;
  ghi: number;
  acc0: number;
  acc1: number;
  mean: number;
  rstd: number;
  mean2: number;
  rstd2: number;
  t: number; // scalar accumulators and temporaries
  u: number;
  d: number;
  lenF: number;
}

function locals(f: FuncBuilder): Locals {
  const i = () => f.local(I32);
  const v = () => f.local(V128);
  const d = () => f.local(F64);
  return {
    p: i(), q: i(), vend: i(), end: i(), v: v(), lo: v(), hi: v(), glo: v(), ghi: v(), acc0: v(), acc1: v(),
    mean: d(), rstd: d(), mean2: v(), rstd2: v(), t: d(), u: d(), d: d(), lenF: d(),
  };
}

/** Sets lo / hi to the float64 lanes (0, 1) and (2, 3) of the 4 floats at address local `at`. */
function load2(f: FuncBuilder, l: Locals, at: number, lo: number, hi: number): void {
  f.get(at).v128Load().set(l.v);
  f.get(l.v).f64x2PromoteLowF32x4().set(lo);
  f.get(l.v).get(l.v).f32x4Shuffle([2, 3, 0, 0]).f64x2PromoteLowF32x4().set(hi);
}

/** float64 of the float at address local `at` */
const load1 = (f: FuncBuilder, at: number) => f.get(at).f32Load().f64PromoteF32();

/**
 * Walks p (and q, `q0` past p) over the row from `row`: whole vectors to vend, then `mid`, then
 * single floats to end.
 */
function walk(f: FuncBuilder, l: Locals, row: number, q0: number | null, vec: () => void, mid: () => void, one: () => void): void {
  f.get(row).set(l.p);
  if (q0 !== null) f.get(q0).set(l.q);
  const step = (bytes: number) => {
    f.get(l.p).i32Const(bytes).i32Add().set(l.p);
    if (q0 !== null) f.get(l.q).i32Const(bytes).i32Add().set(l.q);
  };
  f.block((done) => {
    f.loop((top) => {
      f.get(l.p).get(l.vend).i32GeU().brIf(done);
      vec();
      step(16);
      f.br(top);
    });
  });
  mid();
  f.block((done) => {
    f.loop((top) => {
      f.get(l.p).get(l.end).i32GeU().brIf(done);
      one();
      step(4);
      f.br(top);
    });
  });
}

/** t = lane 0 of acc0 (the tail then adds to it, as the JS kernel's s0) */
const lane0 = (f: FuncBuilder, l: Locals) => f.get(l.acc0).f64x2ExtractLane(0).set(l.t);

/** (s0 + s1) + (s2 + s3): s0 = t, s1 = acc0[1], s2, s3 = acc1 */
function lanesSum(f: FuncBuilder, l: Locals): void {
  f.get(l.t).get(l.acc0).f64x2ExtractLane(1).f64Add();
  f.get(l.acc1).f64x2ExtractLane(0).get(l.acc1).f64x2ExtractLane(1).f64Add();
  f.f64Add();
}

/**
 * mean and rstd = 1 / sqrt(var + eps) of the row at `row`, as rowStats in ../norm.ts: elements
 * i mod 4 in four float64 lanes, the last len % 4 added to lane 0; the variance of the deviations.
 */
function stats(f: FuncBuilder, l: Locals, row: number, eps: number): void {
  const zero = () => {
    f.v128Zero().set(l.acc0);
    f.v128Zero().set(l.acc1);
  };
  zero();
  walk(
    f, l, row, null,
    () => {
      load2(f, l, l.p, l.lo, l.hi);
      f.get(l.acc0).get(l.lo).f64x2Add().set(l.acc0);
      f.get(l.acc1).get(l.hi).f64x2Add().set(l.acc1);
    },
    () => lane0(f, l),
    () => {
      f.get(l.t);
      load1(f, l.p);
      f.f64Add().set(l.t);
    },
  );
  lanesSum(f, l);
  f.get(l.lenF).f64Div().set(l.mean);
  f.get(l.mean).f64x2Splat().set(l.mean2);
  zero();
  walk(
    f, l, row, null,
    () => {
      load2(f, l, l.p, l.lo, l.hi);
      f.get(l.lo).get(l.mean2).f64x2Sub().set(l.lo);
      f.get(l.hi).get(l.mean2).f64x2Sub().set(l.hi);
      f.get(l.acc0).get(l.lo).get(l.lo).f64x2Mul().f64x2Add().set(l.acc0);
      f.get(l.acc1).get(l.hi).get(l.hi).f64x2Mul().f64x2Add().set(l.acc1);
    },
    () => lane0(f, l),
    () => {
      load1(f, l.p);
      f.get(l.mean).f64Sub().set(l.d);
      f.get(l.t).get(l.d).get(l.d).f64Mul().f64Add().set(l.t);
    },
  );
  f.f64Const(1);
  lanesSum(f, l);
  f.get(l.lenF).f64Div().get(eps).f64Add().f64Sqrt().f64Div().set(l.rstd);
  f.get(l.rstd).f64x2Splat().set(l.rstd2);
}

/** Stores float64 pairs lo, hi (elements 0-3) rounded to float32 at address local `at`. */
function store2(f: FuncBuilder, l: Locals, at: number): void {
  f.get(at);
  f.get(l.lo).f32x4DemoteF64x2Zero().get(l.hi).f32x4DemoteF64x2Zero().f32x4Shuffle([0, 1, 4, 5]);
  f.v128Store();
}

/**
 * `lnRows(x, out, rows, len, eps)`: out = (x - mean) * rstd per row of len floats (rows
 * back to back); `lnGradRows(g, x, out, rows, len, eps)`: the input gradient of that, as
 * layerNormGradInputKernel in ../norm.ts without weight. Addresses are byte offsets; out may not
 * alias x or g.
 */
export function emitLayerNorm(m: ModuleBuilder): void {
  emitRows(m, false);
  emitRows(m, true);
}

function emitRows(m: ModuleBuilder, grad: boolean): void {
  const f = grad ? m.func('lnGradRows', [I32, I32, I32, I32, I32, F64]) : m.func('lnRows', [I32, I32, I32, I32, F64]);
  const [g, x, out, rows, len, eps] = grad ? [0, 1, 2, 3, 4, 5] : [-1, 0, 1, 2, 3, 4];
  const l = locals(f);
  const r = f.local(I32);
  const row = f.local(I32); // x's row
  const grow = f.local(I32); // g's row
  const o = f.local(I32); // out's row, then the output address
  const rowBytes = f.local(I32);
  const sgE = f.local(F64), sgO = f.local(F64), sxE = f.local(F64), sxO = f.local(F64);
  const sg = f.local(V128), sx = f.local(V128);
  const mg2 = f.local(V128), mgx2 = f.local(V128), mg = f.local(F64), mgx = f.local(F64);
  const odd = f.local(I32);
  const dst = f.local(I32);
  f.get(len).f64ConvertI32U().set(l.lenF);
  f.get(len).i32Const(2).i32Shl().set(rowBytes);
  f.i32Const(0).set(r);
  f.block((done) => {
    f.loop((nextRow) => {
      f.get(r).get(rows).i32GeU().brIf(done);
      f.get(r).get(rowBytes).i32Mul().tee(o).get(x).i32Add().set(row);
      if (grad) f.get(o).get(g).i32Add().set(grow);
      f.get(o).get(out).i32Add().set(o);
      f.get(row).get(len).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(l.vend);
      f.get(row).get(rowBytes).i32Add().set(l.end);
      stats(f, l, row, eps);
      if (!grad) {
        // out = (x - mean) * rstd
        walk(
          f, l, row, o,
          () => {
            load2(f, l, l.p, l.lo, l.hi);
            f.get(l.lo).get(l.mean2).f64x2Sub().get(l.rstd2).f64x2Mul().set(l.lo);
            f.get(l.hi).get(l.mean2).f64x2Sub().get(l.rstd2).f64x2Mul().set(l.hi);
            store2(f, l, l.q);
          },
          () => {},
          () => {
            f.get(l.q);
            load1(f, l.p);
            f.get(l.mean).f64Sub().get(l.rstd).f64Mul().f32DemoteF64().f32Store();
          },
        );
      } else {
        // sums of g and g * xhat over even and odd elements (lanes 0 and 1), xhat = ((x - mean) * rstd)
        f.v128Zero().set(sg);
        f.v128Zero().set(sx);
        walk(
          f, l, row, grow,
          () => {
            load2(f, l, l.q, l.glo, l.ghi);
            load2(f, l, l.p, l.lo, l.hi);
            f.get(sg).get(l.glo).f64x2Add().get(l.ghi).f64x2Add().set(sg);
            f.get(sx).get(l.glo).get(l.lo).get(l.mean2).f64x2Sub().f64x2Mul().get(l.rstd2).f64x2Mul().f64x2Add().set(sx);
            f.get(sx).get(l.ghi).get(l.hi).get(l.mean2).f64x2Sub().f64x2Mul().get(l.rstd2).f64x2Mul().f64x2Add().set(sx);
          },
          () => {
            f.get(sg).f64x2ExtractLane(0).set(sgE);
            f.get(sg).f64x2ExtractLane(1).set(sgO);
            f.get(sx).f64x2ExtractLane(0).set(sxE);
            f.get(sx).f64x2ExtractLane(1).set(sxO);
            f.i32Const(0).set(odd); // the tail starts at an index divisible by 4: even
          },
          () => {
            load1(f, l.q).set(l.u); // g
            load1(f, l.p);
            f.get(l.mean).f64Sub().set(l.d);
            f.get(l.u).get(l.d).f64Mul().get(l.rstd).f64Mul().set(l.d); // g * (x - mean) * rstd
            f.get(odd).if(
              () => {
                f.get(sgO).get(l.u).f64Add().set(sgO);
                f.get(sxO).get(l.d).f64Add().set(sxO);
              },
              () => {
                f.get(sgE).get(l.u).f64Add().set(sgE);
                f.get(sxE).get(l.d).f64Add().set(sxE);
              },
            );
            f.i32Const(1).get(odd).i32Sub().set(odd);
          },
        );
        f.get(sgE).get(sgO).f64Add().get(l.lenF).f64Div().tee(mg).f64x2Splat().set(mg2);
        f.get(sxE).get(sxO).f64Add().get(l.lenF).f64Div().tee(mgx).f64x2Splat().set(mgx2);
        // out = rstd * ((g - mg) - ((x - mean) * rstd) * mgx)
        walk(
          f, l, row, grow,
          () => {
            load2(f, l, l.q, l.glo, l.ghi);
            load2(f, l, l.p, l.lo, l.hi);
            f.get(l.glo).get(mg2).f64x2Sub().get(l.lo).get(l.mean2).f64x2Sub().get(l.rstd2).f64x2Mul().get(mgx2).f64x2Mul().f64x2Sub().get(l.rstd2).f64x2Mul().set(l.lo);
            f.get(l.ghi).get(mg2).f64x2Sub().get(l.hi).get(l.mean2).f64x2Sub().get(l.rstd2).f64x2Mul().get(mgx2).f64x2Mul().f64x2Sub().get(l.rstd2).f64x2Mul().set(l.hi);
            f.get(l.p).get(row).i32Sub().get(o).i32Add().set(dst); // out address of this vector
            store2(f, l, dst);
          },
          () => {},
          () => {
            f.get(l.p).get(row).i32Sub().get(o).i32Add();
            load1(f, l.q).get(mg).f64Sub();
            load1(f, l.p);
            f.get(l.mean).f64Sub().get(l.rstd).f64Mul().get(mgx).f64Mul().f64Sub().get(l.rstd).f64Mul();
            f.f32DemoteF64().f32Store();
          },
        );
      }
      f.get(r).i32Const(1).i32Add().set(r);
      f.br(nextRow);
    });
  });
}
