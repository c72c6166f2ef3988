// Winograd F(2x2, 3x3) forward convolution in SIMD128 (Lavin & Gray 2016): each 2x2 output tile
// comes from a 4x4 input tile d as Y = A^T [U * V] A with V = B^T d B and U = G g G^T (made by the
// caller), so the channel sum becomes 16 GEMMs M[xi] (O x T) = U[xi] (O x C) @ V[xi] (C x T) over
// the tiles, 2.25x fewer multiplies than the direct 3x3 convolution. B^T and A^T hold only 0 and
// +-1, so the transforms are additions and cost no accuracy.
//
// One task is R rows of tiles (a tile row is one image's output rows 2th, 2th + 1), transformed,
// multiplied and transformed back while its V and M sit in the thread's cache. Four neighbouring
// tiles are one vector: their input columns 2tw + j are deinterleaved from three loads of the row.
import { type FuncBuilder, i32 as I32, type ModuleBuilder, v128 as V128 } from './emitter.js';
import { MR, NR } from './gemm-kernel.js';

/** Argument order of the `wino` export after (task, tid); byte addresses unless noted. */
export const WINO_ARGS = [
  'xp', // padded input [N][C][Hp][Wp]
  'up', // U packed as GEMM A panels: [16][Mp / MR][C][MR]
  'slots', // per-thread scratch: V [16][NT8 / NR][C][NR], then M [16][Mp][NT8]
  'slotBytes',
  'y', // padded output [N][O][2 tH][2 tW4]
  'flags', // a vector per task: y * 0 summed (NaN where an output is not finite)
  'C',
  'O',
  'Mp', // O rounded up to MR
  'Hp',
  'Wp',
  'tH', // tile rows per image
  'tW4', // tiles per row, rounded up to 4
  'rowsTotal', // N tH
  'R', // tile rows per task
  'NT8', // tiles per task (R tW4) rounded up to NR
] as const;

/** Emits `wino(task, tid, ...WINO_ARGS)` into the module holding `macro` (emitMacro's GEMM over packed panels). */
export function emitWinograd(m: ModuleBuilder, macro: number): void {
  const f = m.func('wino', Array(2 + WINO_ARGS.length).fill(I32));
  const a = argIndex(WINO_ARGS);
  const task = 0, tid = 1;
  const i32 = () => f.local(I32);
  const [r0, r1, r, rho, n, th, tw, c, o, xi, V, M, base, addr, t, vq, mq, yRow, planeV, planeM, planeX, rowX] = Array.from({ length: 22 }, i32);
  const v = () => f.local(V128);
  const d = Array.from({ length: 4 }, () => Array.from({ length: 4 }, v)); // d[i][j]: input row i, column j (4 tiles)
  const [v0, v1, v2, e0, e1, e2, e3, tt, uu, flag] = Array.from({ length: 10 }, v);
  const s = Array.from({ length: 2 }, () => Array.from({ length: 4 }, v));
  const yv = Array.from({ length: 4 }, v);

  // per-thread V and M
  f.get(a.slots).get(tid).get(a.slotBytes).i32Mul().i32Add().set(V);
  f.get(a.C).get(a.NT8).i32Mul().i32Const(16 * 4).i32Mul().get(V).i32Add().set(M);
  // tile rows [r0, r1)
  taskRange(f, task, a.R, a.rowsTotal, r0, r1);
  f.v128Zero().set(flag);
  f.get(a.C).get(a.NT8).i32Mul().i32Const(2).i32Shl().set(planeV); // bytes between V[xi] planes
  f.get(a.Mp).get(a.NT8).i32Mul().i32Const(2).i32Shl().set(planeM); // ... M[xi] planes
  f.get(a.Hp).get(a.Wp).i32Mul().i32Const(2).i32Shl().set(planeX); // ... input channels
  f.get(a.Wp).i32Const(2).i32Shl().set(rowX); // ... input rows

  const forTileRows = (body: () => void) => {
    f.get(r0).set(r);
    f.block((done) => {
      f.loop((top) => {
        f.get(r).get(r1).i32GeU().brIf(done);
        f.get(r).get(r0).i32Sub().set(rho);
        f.get(r).get(a.tH).i32DivU().set(n);
        f.get(r).get(a.tH).i32RemU().set(th);
        body();
        f.get(r).i32Const(1).i32Add().set(r);
        f.br(top);
      });
    });
  };
  /** for (x = 0; x < end; x += by) body */
  const forUpTo = (x: number, end: number, by: number, body: () => void) => forStep(f, x, () => f.i32Const(0), () => f.get(end), by, body);
  /** t = the first of the 4 tiles (rho, tw) in the task's tile order */
  const tileIndex = () => f.get(rho).get(a.tW4).i32Mul().get(tw).i32Add().set(t);

  // 1. V[xi][t / NR][c][t % NR] = (B^T d B)[xi] for 4 tiles at a time
  forTileRows(() => {
    forUpTo(tw, a.tW4, 4, () => {
      tileIndex();
      // vq = V + ((t / NR) * C * NR + t % NR) * 4
      f.get(t).i32Const(NR).i32DivU().get(a.C).i32Mul().i32Const(NR).i32Mul().get(t).i32Const(NR).i32RemU().i32Add().i32Const(2).i32Shl().get(V).i32Add().set(vq);
      // base = xp + ((n C Hp + 2 th) Wp + 2 tw) * 4, then one channel on per c
      f.get(n).get(a.C).i32Mul().get(a.Hp).i32Mul().get(th).i32Const(1).i32Shl().i32Add().get(a.Wp).i32Mul();
      f.get(tw).i32Const(1).i32Shl().i32Add().i32Const(2).i32Shl().get(a.xp).i32Add().set(base);
      forUpTo(c, a.C, 1, () => {
        f.get(base).set(addr);
        for (let i = 0; i < 4; i++) {
          f.get(addr).v128Load(0).set(v0);
          f.get(addr).v128Load(16).set(v1);
          f.get(addr).v128Load(32).set(v2);
          f.get(v0).get(v1).f32x4Shuffle([0, 2, 4, 6]).set(e0); // columns 0, 2, 4, 6: j = 0 of the 4 tiles
          f.get(v0).get(v1).f32x4Shuffle([1, 3, 5, 7]).set(e1);
          f.get(v1).get(v2).f32x4Shuffle([0, 2, 4, 6]).set(tt); // 4, 6, 8, 10
          f.get(v1).get(v2).f32x4Shuffle([1, 3, 5, 7]).set(uu); // 5, 7, 9, 11
          f.get(e0).get(tt).f32x4Shuffle([1, 2, 3, 6]).set(e2); // 2, 4, 6, 8
          f.get(e1).get(uu).f32x4Shuffle([1, 2, 3, 6]).set(e3); // 3, 5, 7, 9
          emitBtRow(f, [e0, e1, e2, e3], d[i]);
          if (i < 3) f.get(addr).get(rowX).i32Add().set(addr);
        }
        // B^T down each column, into the 16 planes V[xi]
        f.get(vq).set(addr);
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            f.get(addr);
            pushBtColumn(f, d, i, j);
            f.v128Store();
            f.get(addr).get(planeV).i32Add().set(addr);
          }
        }
        f.get(vq).i32Const(4 * NR).i32Add().set(vq);
        f.get(base).get(planeX).i32Add().set(base);
      });
    });
  });
  // tiles past the task's last (a half panel) read zeros in the GEMM
  f.get(r1).get(r0).i32Sub().get(a.tW4).i32Mul().set(t);
  f.get(t).i32Const(NR - 1).i32And().if(() => {
    f.get(t).i32Const(NR).i32DivU().get(a.C).i32Mul().i32Const(NR).i32Mul().i32Const(4).i32Add().i32Const(2).i32Shl().get(V).i32Add().set(vq);
    forUpTo(c, a.C, 1, () => {
      f.get(vq).set(addr);
      for (let k = 0; k < 16; k++) {
        f.get(addr).v128Zero().v128Store();
        if (k < 15) f.get(addr).get(planeV).i32Add().set(addr);
      }
      f.get(vq).i32Const(4 * NR).i32Add().set(vq);
    });
  });

  // 2. M[xi] (Mp x NT8) = U[xi] @ V[xi]
  forStep(f, xi, () => f.i32Const(0), () => f.i32Const(16), 1, () => {
    f.get(a.up).get(xi).get(a.Mp).i32Mul().get(a.C).i32Mul().i32Const(2).i32Shl().i32Add(); // ap
    f.get(V).get(xi).get(a.C).i32Mul().get(a.NT8).i32Mul().i32Const(2).i32Shl().i32Add(); // bp
    f.get(M).get(xi).get(a.Mp).i32Mul().get(a.NT8).i32Mul().i32Const(2).i32Shl().i32Add(); // c
    f.get(a.NT8).i32Const(2).i32Shl(); // ldc bytes
    f.get(a.C); // kc
    f.get(a.Mp).i32Const(MR).i32DivU(); // mp
    f.get(a.NT8).i32Const(NR).i32DivU(); // np
    f.i32Const(0); // overwrite C
    f.call(macro);
  });

  // 3. y tiles = A^T M A, written as two rows of 8 floats per 4 tiles
  forTileRows(() => {
    forUpTo(tw, a.tW4, 4, () => {
      tileIndex();
      forUpTo(o, a.O, 1, () => {
        f.get(o).get(a.NT8).i32Mul().get(t).i32Add().i32Const(2).i32Shl().get(M).i32Add().set(mq);
        // A^T down each column j: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (rows i of the 4x4 tile)
        // m[i][j] = plane i * 4 + j, in plane order
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            f.get(mq).v128Load().set(d[i][j]);
            f.get(mq).get(planeM).i32Add().set(mq);
          }
        }
        for (let j = 0; j < 4; j++) {
          f.get(d[0][j]).get(d[1][j]).f32x4Add().get(d[2][j]).f32x4Add().set(s[0][j]);
          f.get(d[1][j]).get(d[2][j]).f32x4Sub().get(d[3][j]).f32x4Sub().set(s[1][j]);
        }
        // A^T along each row: y_a0 = s0 + s1 + s2, y_a1 = s1 - s2 - s3
        for (let ar = 0; ar < 2; ar++) {
          f.get(s[ar][0]).get(s[ar][1]).f32x4Add().get(s[ar][2]).f32x4Add().set(yv[2 * ar]);
          f.get(s[ar][1]).get(s[ar][2]).f32x4Sub().get(s[ar][3]).f32x4Sub().set(yv[2 * ar + 1]);
        }
        // not finite anywhere: NaN in the flag (a sum past float32's range also lands there: the caller then goes direct)
        f.get(flag).get(yv[0]).get(yv[1]).f32x4Add().get(yv[2]).get(yv[3]).f32x4Add().f32x4Add().f32x4Const(0).f32x4Mul().f32x4Add().set(flag);
        // yRow = y + (((n O + o) 2 tH + 2 th) 2 tW4 + 2 tw) * 4
        f.get(n).get(a.O).i32Mul().get(o).i32Add().get(a.tH).i32Mul().get(th).i32Add().i32Const(1).i32Shl().get(a.tW4).i32Mul();
        f.get(tw).i32Add().i32Const(3).i32Shl().get(a.y).i32Add().set(yRow);
        for (let ar = 0; ar < 2; ar++) {
          f.get(yRow).get(yv[2 * ar]).get(yv[2 * ar + 1]).f32x4Shuffle([0, 4, 1, 5]).v128Store(0);
          f.get(yRow).get(yv[2 * ar]).get(yv[2 * ar + 1]).f32x4Shuffle([2, 6, 3, 7]).v128Store(16);
          if (ar === 0) f.get(yRow).get(a.tW4).i32Const(3).i32Shl().i32Add().set(yRow); // the next row: 2 tW4 floats on
        }
      });
    });
  });
  f.get(a.flags).get(task).i32Const(4).i32Shl().i32Add().get(flag).v128Store();
}

/** B^T along a row of four vectors e: d0 - d2, d1 + d2, d2 - d1, d1 - d3, into `out`. */
export function emitBtRow(f: FuncBuilder, e: readonly number[], out: readonly number[]): void {
  f.get(e[0]).get(e[2]).f32x4Sub().set(out[0]);
  f.get(e[1]).get(e[2]).f32x4Add().set(out[1]);
  f.get(e[2]).get(e[1]).f32x4Sub().set(out[2]);
  f.get(e[1]).get(e[3]).f32x4Sub().set(out[3]);
}

/** Pushes (B^T d B)[4 i + j]: B^T down column j of the row-transformed d (d[row][column]). */
export function pushBtColumn(f: FuncBuilder, d: readonly (readonly number[])[], i: number, j: number): void {
  if (i === 0) f.get(d[0][j]).get(d[2][j]).f32x4Sub();
  else if (i === 1) f.get(d[1][j]).get(d[2][j]).f32x4Add();
  else if (i === 2) f.get(d[2][j]).get(d[1][j]).f32x4Sub();
  else f.get(d[1][j]).get(d[3][j]).f32x4Sub();
}

type Args<T extends readonly string[]> = Record<T[number], number>;

/** Local indices of an export's arguments after (task, tid), by name. */
export const argIndex = <T extends readonly string[]>(names: T): Args<T> =>
  Object.fromEntries(names.map((n, i) => [n, i + 2])) as Args<T>;

/** A counted loop over a local: for (x = from; x < end; x += by) body (with by 0 the body moves x). */
export function forStep(f: FuncBuilder, x: number, from: () => void, end: () => void, by: number, body: () => void): void {
  from();
  f.set(x);
  f.block((done) => {
    f.loop((top) => {
      f.get(x);
      end();
      f.i32GeU().brIf(done);
      body();
      if (by !== 0) f.get(x).i32Const(by).i32Add().set(x);
      f.br(top);
    });
  });
}

/** [lo, hi) = task's share of `per` items each, cut at `total` (all locals). */
export function taskRange(f: FuncBuilder, task: number, per: number, total: number, lo: number, hi: number): void {
  f.get(task).get(per).i32Mul().set(lo);
  f.get(lo).get(per).i32Add().tee(hi).get(total).get(hi).get(total).i32LtS().select().set(hi);
}
