// Winograd F(2x2, 3x3) weight gradient in SIMD128. The forward is Y = A^T [U * V] A per tile with
// U = G g G^T, so dU[xi] (O x C) = sum over tiles Z[xi] (O x T) @ V[xi]^T (T x C), where
// Z = A dY A^T is the 2x2 output-gradient tile spread to 4x4, and dg = G^T dU G (done by the
// caller). The reduction runs over the tiles: long GEMMs into a small result, at 2.25x fewer
// multiplies than the direct weight gradient.
//
// The GEMM's packed panels hold each tile's channels side by side, so the transforms run on four
// channels of one tile per vector, reading x and dy from channels-last copies (`nhwc`) with no
// shuffles. A task is a chunk of tile rows, taken in blocks of R rows whose Z and V sit in the
// thread's cache; each block's 16 GEMMs add into the chunk's own dU.
import { i32 as I32, type ModuleBuilder, v128 as V128 } from './emitter.js';
import { MR, NR } from './gemm-kernel.js';
import { argIndex, emitBtRow, forStep, pushBtColumn, taskRange } from './winograd-kernel.js';

/** Argument order of the `nhwc` export after (task, tid); byte addresses unless noted. */
export const NHWC_ARGS = [
  'src', // [N][C][H][W]
  'dst', // [N][Hp][Wp][Cp]: src at row pH, column pW, zeros elsewhere and in channels C..Cp-1
  'C',
  'Cp', // a multiple of 4
  'H',
  'W',
  'Hp',
  'Wp',
  'pH',
  'pW',
  'cols', // source columns kept: min(W, Wp - pW)
  'rowsTotal', // N Hp
  'perTask', // destination rows per task
] as const;

/** Argument order of the `wgrad` export after (task, tid); byte addresses unless noted. */
export const WGRAD_ARGS = [
  'xq', // channels-last padded input [N][Hp][Wp][Cp]
  'dq', // channels-last output gradient [N][2 tH][2 tW][Mp], zero past the output
  'slots', // per-thread scratch: V [16][Cp / NR][K][NR], then Z [16][Mp / MR][K][MR]
  'slotBytes',
  'du', // per chunk: dU [16][Mp][Cp]
  'Cp', // channels rounded up to NR
  'Mp', // output channels rounded up to MR
  'Hp',
  'Wp',
  'tH', // tile rows per image
  'tW', // tiles per row
  'rowsTotal', // N tH
  'R', // tile rows per block (K = R tW tiles)
  'rowsPerChunk', // tile rows per task
] as const;

/** Emits `nhwc(task, tid, ...NHWC_ARGS)`: a zero-padded channels-last copy, 4x4 blocks transposed in registers. */
export function emitNhwc(m: ModuleBuilder): void {
  const f = m.func('nhwc', Array(2 + NHWC_ARGS.length).fill(I32));
  const a = argIndex(NHWC_ARGS);
  const task = 0;
  const i32 = () => f.local(I32);
  const [q, q1, n, y, row, rowEnd, inside, at, x, c, c4, x4, src, sp, plane, colB] = Array.from({ length: 16 }, i32);
  const v = Array.from({ length: 8 }, () => f.local(V128));
  const get = (l: number) => () => f.get(l);
  const int = (k: number) => () => f.i32Const(k);
  const whole = (l: number) => () => f.get(l).i32Const(-4).i32And(); // l rounded down to whole blocks of 4

  f.get(a.H).get(a.W).i32Mul().i32Const(2).i32Shl().set(plane);
  taskRange(f, task, a.perTask, a.rowsTotal, q, q1);
  forStep(f, q, () => f.get(q), get(q1), 1, () => {
    // row = dst + q Wp Cp * 4: zeros where no source float lands, then the source row where there is one
    f.get(q).get(a.Wp).i32Mul().get(a.Cp).i32Mul().i32Const(2).i32Shl().get(a.dst).i32Add().set(row);
    f.get(a.Wp).get(a.Cp).i32Mul().i32Const(2).i32Shl().get(row).i32Add().set(rowEnd);
    f.get(q).get(a.Hp).i32DivU().set(n);
    f.get(q).get(a.Hp).i32RemU().get(a.pH).i32Sub().set(y);
    const zeros = (from: () => void, to: () => void) => forStep(f, at, from, to, 16, () => f.get(at).v128Zero().v128Store());
    const colAt = (col: () => void) => () => {
      col();
      f.get(a.Cp).i32Mul().i32Const(2).i32Shl().get(row).i32Add();
    };
    f.get(y).i32Const(0).i32GeS().get(y).get(a.H).i32LtS().i32And().tee(inside).get(a.Cp).get(a.C).i32Eq().i32And().if(
      () => {
        zeros(get(row), colAt(get(a.pW)));
        zeros(colAt(() => f.get(a.pW).get(a.cols).i32Add()), get(rowEnd));
      },
      () => zeros(get(row), get(rowEnd)),
    );
    f.get(inside).if(() => {
      // src row (n, c, y) at src + ((n C + c) H + y) W * 4
      const srcAt = (ch: number) =>
        f.get(n).get(a.C).i32Mul().get(ch).i32Add().get(a.H).i32Mul().get(y).i32Add().get(a.W).i32Mul().i32Const(2).i32Shl().get(a.src).i32Add();
      const dstAt = (col: () => void, ch: number) => {
        col();
        f.get(a.pW).i32Add().get(a.Cp).i32Mul().get(ch).i32Add().i32Const(2).i32Shl().get(row).i32Add();
      };
      f.get(a.Cp).i32Const(2).i32Shl().set(colB);
      // whole 4-channel, 4-column blocks
      forStep(f, c4, int(0), whole(a.C), 4, () => {
        srcAt(c4).set(src);
        dstAt(int(0), c4);
        f.set(at);
        forStep(f, x4, int(0), whole(a.cols), 4, () => {
          f.get(src).v128Load().set(v[0]);
          f.get(src).get(plane).i32Add().tee(sp).v128Load().set(v[1]);
          f.get(sp).get(plane).i32Add().tee(sp).v128Load().set(v[2]);
          f.get(sp).get(plane).i32Add().v128Load().set(v[3]);
          f.get(v[0]).get(v[1]).f32x4Shuffle([0, 4, 1, 5]).set(v[4]);
          f.get(v[2]).get(v[3]).f32x4Shuffle([0, 4, 1, 5]).set(v[5]);
          f.get(v[0]).get(v[1]).f32x4Shuffle([2, 6, 3, 7]).set(v[6]);
          f.get(v[2]).get(v[3]).f32x4Shuffle([2, 6, 3, 7]).set(v[7]);
          for (let j = 0; j < 4; j++) {
            const [lo, hi] = j < 2 ? [v[4], v[5]] : [v[6], v[7]];
            f.get(at).get(lo).get(hi).f32x4Shuffle(j % 2 === 0 ? [0, 1, 4, 5] : [2, 3, 6, 7]).v128Store();
            f.get(at).get(colB).i32Add().set(at);
          }
          f.get(src).i32Const(16).i32Add().set(src);
        });
      });
      // the rest one float at a time: columns past the last whole block, then channels past it
      const scalar = (fromC: () => void, endC: () => void, fromX: () => void) =>
        forStep(f, c, fromC, endC, 1, () => {
          srcAt(c).set(src);
          forStep(f, x, fromX, get(a.cols), 1, () => {
            dstAt(get(x), c);
            f.get(src).get(x).i32Const(2).i32Shl().i32Add().f32Load().f32Store();
          });
        });
      scalar(int(0), whole(a.C), whole(a.cols));
      scalar(whole(a.C), get(a.C), int(0));
    });
  });
}

/**
 * Emits `wgrad(task, tid, ...WGRAD_ARGS)` into the module holding `macro` (emitMacro's GEMM over
 * packed panels).
 */
export function emitWinogradWeight(m: ModuleBuilder, macro: number): void {
  const f = m.func('wgrad', Array(2 + WGRAD_ARGS.length).fill(I32));
  const a = argIndex(WGRAD_ARGS);
  const task = 0, tid = 1;
  const i32 = () => f.local(I32);
  const [c0, c1, b0, b1, K, r, rho, n, th, tw, t, c4, xi, V, Z, du] = Array.from({ length: 16 }, i32);
  const [base, addr, dst, planeV, planeZ, colQ, rowQ, colY, rowY] = Array.from({ length: 9 }, i32);
  const v = () => f.local(V128);
  const d = Array.from({ length: 4 }, () => Array.from({ length: 4 }, v));
  const [e0, e1, e2, e3] = Array.from({ length: 4 }, v);
  const get = (l: number) => () => f.get(l);
  const int = (k: number) => () => f.i32Const(k);

  // per-thread V and Z; the chunk's dU
  f.get(a.slots).get(tid).get(a.slotBytes).i32Mul().i32Add().set(V);
  f.get(a.Cp).get(a.R).i32Mul().get(a.tW).i32Mul().i32Const(6).i32Shl().get(V).i32Add().set(Z);
  f.get(a.Mp).get(a.Cp).i32Mul().i32Const(6).i32Shl().get(task).i32Mul().get(a.du).i32Add().set(du);
  // the chunk's tile rows [c0, c1)
  taskRange(f, task, a.rowsPerChunk, a.rowsTotal, c0, c1);
  f.get(a.Cp).i32Const(2).i32Shl().set(colQ); // bytes between input columns
  f.get(a.Wp).get(colQ).i32Mul().set(rowQ); // ... rows
  f.get(a.Mp).i32Const(2).i32Shl().set(colY);
  f.get(a.tW).i32Const(1).i32Shl().get(colY).i32Mul().set(rowY);

  forStep(f, b0, () => f.get(c0), get(c1), 0, () => {
    f.get(b0).get(a.R).i32Add().tee(b1).get(c1).get(b1).get(c1).i32LtS().select().set(b1);
    f.get(b1).get(b0).i32Sub().get(a.tW).i32Mul().set(K);
    f.get(a.Cp).get(K).i32Mul().i32Const(2).i32Shl().set(planeV);
    f.get(a.Mp).get(K).i32Mul().i32Const(2).i32Shl().set(planeZ);
    forStep(f, r, () => f.get(b0), get(b1), 1, () => {
      f.get(r).get(b0).i32Sub().set(rho);
      f.get(r).get(a.tH).i32DivU().set(n);
      f.get(r).get(a.tH).i32RemU().set(th);
      forStep(f, tw, int(0), get(a.tW), 1, () => {
        f.get(rho).get(a.tW).i32Mul().get(tw).i32Add().set(t);
        // V[xi][c / NR][t][c % NR] = (B^T d B)[xi], four channels a vector
        // base = xq + ((n Hp + 2 th) Wp + 2 tw) Cp * 4
        f.get(n).get(a.Hp).i32Mul().get(th).i32Const(1).i32Shl().i32Add().get(a.Wp).i32Mul();
        f.get(tw).i32Const(1).i32Shl().i32Add().get(colQ).i32Mul().get(a.xq).i32Add().set(base);
        forStep(f, c4, int(0), get(a.Cp), 4, () => {
          f.get(c4).i32Const(2).i32Shl().get(base).i32Add().set(addr);
          for (let i = 0; i < 4; i++) {
            for (let j = 0; j < 4; j++) {
              f.get(addr).v128Load().set([e0, e1, e2, e3][j]);
              if (j < 3) f.get(addr).get(colQ).i32Add().set(addr);
            }
            emitBtRow(f, [e0, e1, e2, e3], d[i]);
            if (i < 3) f.get(addr).get(rowQ).i32Add().get(colQ).i32Const(3).i32Mul().i32Sub().set(addr);
          }
          // dst = V + (((c4 / NR) K + t) NR + c4 % NR) * 4, then one plane on per xi
          f.get(c4).i32Const(3).i32ShrS().get(K).i32Mul().get(t).i32Add().i32Const(3).i32Shl();
          f.get(c4).i32Const(NR - 1).i32And().i32Add().i32Const(2).i32Shl().get(V).i32Add().set(dst);
          for (let i = 0; i < 4; i++) {
            for (let j = 0; j < 4; j++) {
              f.get(dst);
              pushBtColumn(f, d, i, j);
              f.v128Store();
              if (i * 4 + j < 15) f.get(dst).get(planeV).i32Add().set(dst);
            }
          }
        });
        // Z[xi][o / MR][t][o % MR] = (A dY A^T)[xi]
        // base = dq + ((n 2 tH + 2 th) 2 tW + 2 tw) Mp * 4
        f.get(n).get(a.tH).i32Mul().get(th).i32Add().get(rowY).i32Mul().i32Const(1).i32Shl();
        f.get(tw).i32Const(1).i32Shl().get(colY).i32Mul().i32Add().get(a.dq).i32Add().set(base);
        forStep(f, c4, int(0), get(a.Mp), 4, () => {
          f.get(c4).i32Const(2).i32Shl().get(base).i32Add().set(addr);
          f.get(addr).v128Load().set(e0); // y00
          f.get(addr).get(colY).i32Add().v128Load().set(e1); // y01
          f.get(addr).get(rowY).i32Add().tee(addr).v128Load().set(e2); // y10
          f.get(addr).get(colY).i32Add().v128Load().set(e3); // y11
          // A dY: rows y0, y0 + y1, y0 - y1, -y1 of columns a (d[i][0]) and b (d[i][1])
          f.get(e0).set(d[0][0]);
          f.get(e1).set(d[0][1]);
          f.get(e0).get(e2).f32x4Add().set(d[1][0]);
          f.get(e1).get(e3).f32x4Add().set(d[1][1]);
          f.get(e0).get(e2).f32x4Sub().set(d[2][0]);
          f.get(e1).get(e3).f32x4Sub().set(d[2][1]);
          f.get(e2).f32x4Neg().set(d[3][0]);
          f.get(e3).f32x4Neg().set(d[3][1]);
          // dst = Z + ((c4 / MR) K + t) MR * 4
          f.get(c4).i32Const(2).i32ShrS().get(K).i32Mul().get(t).i32Add().i32Const(4).i32Shl().get(Z).i32Add().set(dst);
          // then A^T along each row (a, b): a, a + b, a - b, -b
          for (let i = 0; i < 4; i++) {
            const [ra, rb] = d[i];
            for (let j = 0; j < 4; j++) {
              f.get(dst);
              if (j === 0) f.get(ra);
              else if (j === 1) f.get(ra).get(rb).f32x4Add();
              else if (j === 2) f.get(ra).get(rb).f32x4Sub();
              else f.get(rb).f32x4Neg();
              f.v128Store();
              if (i * 4 + j < 15) f.get(dst).get(planeZ).i32Add().set(dst);
            }
          }
        });
      });
    });
    // dU[xi] (+)= Z[xi] @ V[xi]^T: the chunk's first block overwrites
    forStep(f, xi, int(0), int(16), 1, () => {
      f.get(Z).get(xi).get(planeZ).i32Mul().i32Add(); // ap
      f.get(V).get(xi).get(planeV).i32Mul().i32Add(); // bp
      f.get(du).get(xi).get(a.Mp).i32Mul().get(a.Cp).i32Mul().i32Const(2).i32Shl().i32Add(); // c
      f.get(a.Cp).i32Const(2).i32Shl(); // ldc bytes
      f.get(K); // kc
      f.get(a.Mp).i32Const(MR).i32DivU(); // mp
      f.get(a.Cp).i32Const(NR).i32DivU(); // np
      f.get(b0).get(c0).i32Ne(); // accumulate after the first block
      f.call(macro);
    });
    f.get(b1).set(b0);
  });
}
