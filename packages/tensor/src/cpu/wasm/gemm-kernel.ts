// Generates the kernel module: a register-blocked SIMD128 GEMM microkernel over packed panels (and
// its direct-conv twin that reads B from a padded image), the packing routines that feed it, and
// the im2col, col2im and row-copy helpers conv2d needs.
import { emitBinary } from './binary-kernel.js';
import { emitLayerNorm } from './norm-kernel.js';
import { emitEwise } from './elementwise-kernel.js';
import { f32 as F32, type FuncBuilder, i32 as I32, ModuleBuilder, v128 as V128 } from './emitter.js';

/** Microkernel tile: MR rows x NR columns of C held in MR*NR/4 f32x4 accumulators. */
export const MR = 4;
export const NR = 8;

export interface KernelOptions {
  /** import a shared memory (threads) or a plain one */
  shared: boolean;
  /** use f32x4.relaxed_madd (one FMA) instead of mul + add */
  fma: boolean;
  /** memory limits in 64 KiB pages */
  initialPages: number;
  maximumPages: number;
}

/** Names and signatures of the module's exports (addresses are byte offsets, strides in elements). */
export interface KernelExports {
  /** C[MR*mp x NR*np] (row stride ldc bytes) (+)= packed A panels x packed B panels over kc */
  macro(ap: number, bp: number, c: number, ldc: number, kc: number, mp: number, np: number, load: number): void;
  /** packs mp panels of MR rows x kc from A (rows past `rows` are zero) */
  packA(src: number, rs: number, cs: number, rows: number, kc: number, dst: number, mp: number): void;
  /** packs np panels of kc x NR from B (columns past `cols` are zero) */
  packB(src: number, rs: number, cs: number, cols: number, kc: number, dst: number, np: number): void;
  /** fills dst[kc x ncols] (row stride ldd elements) with im2col rows k0.. and columns j0.. of the conv at `geo` */
  im2col(geo: number, x: number, k0: number, kc: number, j0: number, ncols: number, dst: number, ldd: number): void;
  /** direct conv, one output row: mp channel panels x `tiles` NR-wide tiles (see emitDconv) */
  dconv(ap: number, xrow: number, tab: number, c: number, ldc: number, kc: number, mp: number, tiles: number, load: number, tail: number): void;
  /** conv weight gradient, one image: a MR x NR tile of gw^T (see emitDconvW) */
  dconvW(ap: number, tab: number, bp: number, c: number, ldc: number, oh: number, ow: number, rowStep: number, colStep: number, load: number): void;
  /** copies `rows` rows of `len` floats between row strides ss and ds (floats) */
  copyRows(src: number, ss: number, dst: number, ds: number, rows: number, len: number): void;
  /** gx planes q = n*C + c in [p0, p1) += col2im of dcol (row stride ldd elements) for the conv at `geo` */
  col2im(geo: number, dcol: number, ldd: number, gx: number, p0: number, p1: number): void;
  /** out[i] = op(x[i]) or op(a[i], x[i]) for i < n, whole vectors (see elementwise-kernel.ts) */
  ewise(op: number, a: number, x: number, out: number, n: number): void;
  /** out[r, i] = a op b over [rows, inner], each operand FULL, ROW or COL (see binary-kernel.ts) */
  binary(op: number, a: number, aMode: number, b: number, bMode: number, out: number, rows: number, inner: number): void;
  /** layer norm of `rows` rows of len floats without weight or bias (see norm-kernel.ts) */
  lnRows(x: number, out: number, rows: number, len: number, eps: number): void;
  /** its input gradient given g */
  lnGradRows(g: number, x: number, out: number, rows: number, len: number, eps: number): void;
}

/**
 * Conv geometry block read by im2col/col2im: i32 fields at these byte offsets from `geo`.
 * Columns j = n*oH*oW + oh*oW + ow; rows k = c*kH*kW + kh*kW + kw (c within one group).
 */
export const GEO = {
  C: 0, // channels in this group's slice
  H: 4,
  W: 8,
  kH: 12,
  kW: 16,
  sH: 20,
  sW: 24,
  pH: 28,
  pW: 32,
  dH: 36,
  dW: 40,
  oH: 44,
  oW: 48,
  imgStride: 52, // elements between images of x / gx (C_total*H*W); C above is one group's slice
  bytes: 64,
} as const;

/**
 * The microkernel. Packed: B panel rows are consecutive NR-float rows at bp. Direct (conv at unit
 * width stride): row k of the B tile is the NR floats at bp + tab[k] (byte offsets), read straight
 * from a zero-padded image, so no im2col matrix is ever built.
 */
export function emitKernel(m: ModuleBuilder, fma: boolean, direct: boolean, nr: number = NR): number {
  const f = direct ? m.func(null, [I32, I32, I32, I32, I32, I32, I32]) : m.func('kernel', [I32, I32, I32, I32, I32, I32]);
  const [ap, bp, c, ldc, kc, load] = [0, 1, 2, 3, 4, 5];
  const tab = 6;
  const bq = direct ? f.local(I32) : bp;
  const NV = nr / 4;
  const acc: number[][] = [];
  for (let r = 0; r < MR; r++) acc.push(Array.from({ length: NV }, () => f.local(V128)));
  const b = Array.from({ length: NV }, () => f.local(V128));
  const a = f.local(V128);
  const cp = f.local(I32);

  const loadC = () => {
    f.get(c).set(cp);
    for (let r = 0; r < MR; r++) {
      for (let v = 0; v < NV; v++) f.get(cp).v128Load(16 * v).set(acc[r][v]);
      if (r < MR - 1) f.get(cp).get(ldc).i32Add().set(cp);
    }
  };
  f.get(load).if(loadC, () => {
    for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.v128Zero().set(acc[r][v]);
  });

  const step = (u: number) => {
    if (direct) f.get(bp).get(tab).i32Load().i32Add().set(bq);
    for (let v = 0; v < NV; v++) f.get(bq).v128Load(4 * (u * NR + 4 * v)).set(b[v]);
    for (let r = 0; r < MR; r++) {
      f.get(ap).v128Load32Splat(4 * (u * MR + r)).set(a);
      for (let v = 0; v < NV; v++) {
        if (fma) f.get(a).get(b[v]).get(acc[r][v]).f32x4RelaxedMadd();
        else f.get(acc[r][v]).get(a).get(b[v]).f32x4Mul().f32x4Add();
        f.set(acc[r][v]);
      }
    }
  };
  // one k per iteration: unrolling made V8 hoist loads and spill accumulators (measured slower)
  f.get(kc).i32Const(0).i32GtS().if(() => {
    f.loop((top) => {
      step(0);
      f.get(ap).i32Const(4 * MR).i32Add().set(ap);
      if (direct) f.get(tab).i32Const(4).i32Add().set(tab);
      else f.get(bp).i32Const(4 * NR).i32Add().set(bp);
      f.get(kc).i32Const(1).i32Sub().tee(kc).brIf(top);
    });
  });

  f.get(c).set(cp);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++) f.get(cp).get(acc[r][v]).v128Store(16 * v);
    if (r < MR - 1) f.get(cp).get(ldc).i32Add().set(cp);
  }
  return f.index;
}

/** The macro kernel over `kernel` (emitKernel's packed form), exported as `name` (null: callable in the module only). */
export function emitMacro(m: ModuleBuilder, kernel: number, name: string | null = 'macro'): number {
  const f = m.func(name, [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [ap, bp, c, ldc, kc, mp, np, load] = [0, 1, 2, 3, 4, 5, 6, 7];
  const ip = f.local(I32);
  const jp = f.local(I32);
  const bq = f.local(I32);
  const cq = f.local(I32);
  // ip outer / jp inner: the A micro-panel stays in L1 while B panels stream from L2
  f.i32Const(0).set(ip);
  f.block((doneI) => {
    f.loop((topI) => {
      f.get(ip).get(mp).i32GeS().brIf(doneI);
      f.get(bp).set(bq);
      f.get(c).set(cq);
      f.i32Const(0).set(jp);
      f.block((doneJ) => {
        f.loop((topJ) => {
          f.get(jp).get(np).i32GeS().brIf(doneJ);
          f.get(ap).get(bq).get(cq).get(ldc).get(kc).get(load).call(kernel);
          f.get(bq).get(kc).i32Const(4 * NR).i32Mul().i32Add().set(bq);
          f.get(cq).i32Const(4 * NR).i32Add().set(cq);
          f.get(jp).i32Const(1).i32Add().set(jp);
          f.br(topJ);
        });
      });
      f.get(ap).get(kc).i32Const(4 * MR).i32Mul().i32Add().set(ap);
      f.get(c).get(ldc).i32Const(MR).i32Mul().i32Add().set(c);
      f.get(ip).i32Const(1).i32Add().set(ip);
      f.br(topI);
    });
  });
  return f.index;
}

/**
 * Direct conv over one output row: for each of mp row panels (output channels) and each of `tiles`
 * NR-wide tiles of the row, C tile (+)= A panel x B tile read at xrow + tile*NR floats + tab[k];
 * with `tail`, one more 4-wide tile after them (a 28-wide row is 3 x 8 + 4, not 4 x 8).
 */
function emitDconv(m: ModuleBuilder, kernel: number, kernel4: number): void {
  const f = m.func('dconv', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [ap, xrow, tab, c, ldc, kc, mp, tiles, load, tail] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [ip, t, xq, cq] = Array.from({ length: 4 }, () => f.local(I32));
  f.i32Const(0).set(ip);
  f.block((doneI) => {
    f.loop((topI) => {
      f.get(ip).get(mp).i32GeS().brIf(doneI);
      f.get(xrow).set(xq);
      f.get(c).set(cq);
      f.i32Const(0).set(t);
      f.block((doneT) => {
        f.loop((topT) => {
          f.get(t).get(tiles).i32GeS().brIf(doneT);
          f.get(ap).get(xq).get(cq).get(ldc).get(kc).get(load).get(tab).call(kernel);
          f.get(xq).i32Const(4 * NR).i32Add().set(xq);
          f.get(cq).i32Const(4 * NR).i32Add().set(cq);
          f.get(t).i32Const(1).i32Add().set(t);
          f.br(topT);
        });
      });
      f.get(tail).if(() => void f.get(ap).get(xq).get(cq).get(ldc).get(kc).get(load).get(tab).call(kernel4));
      f.get(ap).get(kc).i32Const(4 * MR).i32Mul().i32Add().set(ap);
      f.get(c).get(ldc).i32Const(MR).i32Mul().i32Add().set(c);
      f.get(ip).i32Const(1).i32Add().set(ip);
      f.br(topI);
    });
  });
}

/**
 * The conv weight gradient's microkernel, without im2col: C [MR rows k, NR columns o] (row stride
 * ldc bytes) (+)= sum over the oh x ow output pixels of one image of x_k(pixel) dy_o(pixel). Row
 * k = (c, kh, kw) of the implicit im2col matrix is read straight from the zero-padded image at
 * ap + tab[k] (bytes), stepping colStep bytes per output pixel and rowStep per output row (any
 * stride and dilation); dy comes as NR-float rows, one per pixel in order, at bp.
 */
function emitDconvW(m: ModuleBuilder, fma: boolean): void {
  const f = m.func('dconvW', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [ap, tab, bp, c, ldc, oh, ow, rowStep, colStep, load] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const NV = NR / 4;
  const acc: number[][] = [];
  for (let r = 0; r < MR; r++) acc.push(Array.from({ length: NV }, () => f.local(V128)));
  const b = Array.from({ length: NV }, () => f.local(V128));
  const a = f.local(V128);
  const row = Array.from({ length: MR }, () => f.local(I32)); // row r's first pixel of this output row
  const q = Array.from({ length: MR }, () => f.local(I32)); // row r's current pixel
  const [j, cp] = [f.local(I32), f.local(I32)];
  for (let r = 0; r < MR; r++) f.get(ap).get(tab).i32Load(4 * r).i32Add().set(row[r]);
  f.get(load).if(
    () => {
      f.get(c).set(cp);
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < NV; v++) f.get(cp).v128Load(16 * v).set(acc[r][v]);
        if (r < MR - 1) f.get(cp).get(ldc).i32Add().set(cp);
      }
    },
    () => {
      for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.v128Zero().set(acc[r][v]);
    },
  );
  f.get(oh).i32Const(0).i32GtS().get(ow).i32Const(0).i32GtS().i32And().if(() => {
    f.loop((rows) => {
      for (let r = 0; r < MR; r++) f.get(row[r]).set(q[r]);
      f.get(ow).set(j);
      f.loop((pixels) => {
        for (let v = 0; v < NV; v++) f.get(bp).v128Load(16 * v).set(b[v]);
        for (let r = 0; r < MR; r++) {
          f.get(q[r]).v128Load32Splat().set(a);
          for (let v = 0; v < NV; v++) {
            if (fma) f.get(a).get(b[v]).get(acc[r][v]).f32x4RelaxedMadd();
            else f.get(acc[r][v]).get(a).get(b[v]).f32x4Mul().f32x4Add();
            f.set(acc[r][v]);
          }
          f.get(q[r]).get(colStep).i32Add().set(q[r]);
        }
        f.get(bp).i32Const(4 * NR).i32Add().set(bp);
        f.get(j).i32Const(1).i32Sub().tee(j).brIf(pixels);
      });
      for (let r = 0; r < MR; r++) f.get(row[r]).get(rowStep).i32Add().set(row[r]);
      f.get(oh).i32Const(1).i32Sub().tee(oh).brIf(rows);
    });
  });
  f.get(c).set(cp);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++) f.get(cp).get(acc[r][v]).v128Store(16 * v);
    if (r < MR - 1) f.get(cp).get(ldc).i32Add().set(cp);
  }
}

/** Copies `rows` rows of `len` floats (row strides ss and ds floats), 4 floats a move. */
function emitCopyRows(m: ModuleBuilder): void {
  const f = m.func('copyRows', [I32, I32, I32, I32, I32, I32]);
  const [src, ss, dst, ds, rows, len] = [0, 1, 2, 3, 4, 5];
  const [s, d, n] = Array.from({ length: 3 }, () => f.local(I32));
  f.block((done) => {
    f.loop((top) => {
      f.get(rows).i32Const(1).i32LtS().brIf(done);
      f.get(src).set(s);
      f.get(dst).set(d);
      f.get(len).set(n);
      f.block((e) => {
        f.loop((l) => {
          f.get(n).i32Const(4).i32LtS().brIf(e);
          f.get(d).get(s).v128Load().v128Store();
          f.get(d).i32Const(16).i32Add().set(d);
          f.get(s).i32Const(16).i32Add().set(s);
          f.get(n).i32Const(4).i32Sub().set(n);
          f.br(l);
        });
      });
      f.block((e) => {
        f.loop((l) => {
          f.get(n).i32Eqz().brIf(e);
          f.get(d).get(s).f32Load().f32Store();
          f.get(d).i32Const(4).i32Add().set(d);
          f.get(s).i32Const(4).i32Add().set(s);
          f.get(n).i32Const(1).i32Sub().set(n);
          f.br(l);
        });
      });
      f.get(src).get(ss).i32Const(2).i32Shl().i32Add().set(src);
      f.get(dst).get(ds).i32Const(2).i32Shl().i32Add().set(dst);
      f.get(rows).i32Const(1).i32Sub().set(rows);
      f.br(top);
    });
  });
}

/**
 * Packs `np` panels of P lanes x kc: dst[panel][k][lane] = src[(panel*P + lane)*ls + k*ks], zero for
 * lanes at or past `lanes`. For A, lanes are rows (P = MR); for B, columns (P = NR). Each lane is
 * read along k, which is the contiguous direction for row-major A and for transposed B.
 */
function emitPack(m: ModuleBuilder, name: string | null, P: number, laneIsRow: boolean): number {
  const f = m.func(name, [I32, I32, I32, I32, I32, I32, I32]);
  const [src, rs, cs, lanes, kc, dst, np] = [0, 1, 2, 3, 4, 5, 6];
  const ls = laneIsRow ? rs : cs;
  const ks = laneIsRow ? cs : rs;
  const lane = f.local(I32); // global lane index
  const end = f.local(I32);
  const s = f.local(I32);
  const d = f.local(I32);
  const k = f.local(I32);
  const lsB = f.local(I32);
  const ksB = f.local(I32);
  f.get(ls).i32Const(2).i32Shl().set(lsB);
  f.get(ks).i32Const(2).i32Shl().set(ksB);
  f.get(np).i32Const(P).i32Mul().set(end);
  f.i32Const(0).set(lane);
  f.block((done) => {
    f.loop((top) => {
      f.get(lane).get(end).i32GeS().brIf(done);
      // d = dst + ((lane / P) * kc * P + lane % P) * 4
      f.get(dst)
        .get(lane).i32Const(P).i32DivU().get(kc).i32Mul().i32Const(P).i32Mul()
        .get(lane).i32Const(P).i32RemU().i32Add()
        .i32Const(2).i32Shl().i32Add().set(d);
      f.get(kc).set(k);
      f.get(lane).get(lanes).i32LtS().if(
        () => {
          f.get(src).get(lane).get(lsB).i32Mul().i32Add().set(s);
          f.block((e) => {
            f.loop((t) => {
              f.get(k).i32Eqz().brIf(e);
              f.get(d).get(s).f32Load().f32Store();
              f.get(s).get(ksB).i32Add().set(s);
              f.get(d).i32Const(4 * P).i32Add().set(d);
              f.get(k).i32Const(1).i32Sub().set(k);
              f.br(t);
            });
          });
        },
        () => {
          f.block((e) => {
            f.loop((t) => {
              f.get(k).i32Eqz().brIf(e);
              f.get(d).f32Const(0).f32Store();
              f.get(d).i32Const(4 * P).i32Add().set(d);
              f.get(k).i32Const(1).i32Sub().set(k);
              f.br(t);
            });
          });
        },
      );
      f.get(lane).i32Const(1).i32Add().set(lane);
      f.br(top);
    });
  });
  return f.index;
}

/**
 * Full panels of P lanes (P a multiple of 4, a parameter so A and B share the code) whose elements
 * run contiguously along k (row-major A, transposed B): 4 lanes x 4 k are loaded as 4 vectors and
 * transposed with 8 shuffles into 4 k-vectors. Lane t of panel p starts at src + (p*P + t)*ls floats.
 */
function emitPackT(m: ModuleBuilder): number {
  const f = m.func(null, [I32, I32, I32, I32, I32, I32]);
  const [src, ls, kc, dst, np, P] = [0, 1, 2, 3, 4, 5];
  const [p, k, g, base, s, d, lsB, P4] = Array.from({ length: 8 }, () => f.local(I32));
  const r = Array.from({ length: 4 }, () => f.local(V128));
  const t = Array.from({ length: 4 }, () => f.local(V128));
  const next = (x: number, by: number) => f.get(x).get(by).i32Add().set(x);
  f.get(ls).i32Const(2).i32Shl().set(lsB);
  f.get(P).i32Const(2).i32Shl().set(P4);
  f.i32Const(0).set(p);
  f.block((doneP) => {
    f.loop((topP) => {
      f.get(p).get(np).i32GeS().brIf(doneP);
      f.get(src).get(p).get(P).i32Mul().get(lsB).i32Mul().i32Add().set(base);
      f.i32Const(0).set(k);
      f.block((doneK) => {
        f.loop((topK) => {
          f.get(k).i32Const(4).i32Add().get(kc).i32GtS().brIf(doneK);
          f.i32Const(0).set(g);
          f.loop((topG) => {
            // lanes g..g+3 at k..k+3 -> k-vectors at dst + (k*P + g)*4 + q*P*4
            f.get(base).get(k).get(g).get(ls).i32Mul().i32Add().i32Const(2).i32Shl().i32Add().set(s);
            for (let q = 0; q < 4; q++) {
              f.get(s).v128Load().set(r[q]);
              if (q < 3) next(s, lsB);
            }
            f.get(r[0]).get(r[1]).f32x4Shuffle([0, 4, 1, 5]).set(t[0]);
            f.get(r[0]).get(r[1]).f32x4Shuffle([2, 6, 3, 7]).set(t[1]);
            f.get(r[2]).get(r[3]).f32x4Shuffle([0, 4, 1, 5]).set(t[2]);
            f.get(r[2]).get(r[3]).f32x4Shuffle([2, 6, 3, 7]).set(t[3]);
            f.get(dst).get(k).get(P).i32Mul().get(g).i32Add().i32Const(2).i32Shl().i32Add().set(d);
            f.get(d).get(t[0]).get(t[2]).f32x4Shuffle([0, 1, 4, 5]).v128Store();
            next(d, P4);
            f.get(d).get(t[0]).get(t[2]).f32x4Shuffle([2, 3, 6, 7]).v128Store();
            next(d, P4);
            f.get(d).get(t[1]).get(t[3]).f32x4Shuffle([0, 1, 4, 5]).v128Store();
            next(d, P4);
            f.get(d).get(t[1]).get(t[3]).f32x4Shuffle([2, 3, 6, 7]).v128Store();
            f.get(g).i32Const(4).i32Add().tee(g).get(P).i32LtS().brIf(topG);
          });
          f.get(k).i32Const(4).i32Add().set(k);
          f.br(topK);
        });
      });
      // k tail, one float at a time
      f.block((doneK) => {
        f.loop((topK) => {
          f.get(k).get(kc).i32GeS().brIf(doneK);
          f.get(base).get(k).i32Const(2).i32Shl().i32Add().set(s);
          f.get(dst).get(k).get(P4).i32Mul().i32Add().set(d);
          f.i32Const(0).set(g);
          f.loop((topL) => {
            f.get(d).get(s).f32Load().f32Store();
            next(s, lsB);
            f.get(d).i32Const(4).i32Add().set(d);
            f.get(g).i32Const(1).i32Add().tee(g).get(P).i32LtS().brIf(topL);
          });
          f.get(k).i32Const(1).i32Add().set(k);
          f.br(topK);
        });
      });
      f.get(dst).get(kc).get(P4).i32Mul().i32Add().set(dst);
      f.get(p).i32Const(1).i32Add().set(p);
      f.br(topP);
    });
  });
  return f.index;
}

/**
 * Full panels of P lanes that are contiguous in memory (column-major A, row-major B): each k
 * copies P floats with P/4 vector moves. Lane t of panel p at k is src + (p*P + t + k*ks) floats.
 */
function emitPackContig(m: ModuleBuilder, P: number): number {
  const f = m.func(null, [I32, I32, I32, I32, I32, I32]);
  const [src, ks, kc, dst, np] = [0, 1, 2, 3, 4];
  const [p, k, s, ksB] = Array.from({ length: 4 }, () => f.local(I32));
  f.get(ks).i32Const(2).i32Shl().set(ksB);
  f.i32Const(0).set(p);
  f.block((doneP) => {
    f.loop((topP) => {
      f.get(p).get(np).i32GeS().brIf(doneP);
      f.get(src).get(p).i32Const(4 * P).i32Mul().i32Add().set(s);
      f.get(kc).set(k);
      f.block((doneK) => {
        f.loop((topK) => {
          f.get(k).i32Eqz().brIf(doneK);
          for (let v = 0; v < P / 4; v++) f.get(dst).get(s).v128Load(16 * v).v128Store(16 * v);
          f.get(s).get(ksB).i32Add().set(s);
          f.get(dst).i32Const(4 * P).i32Add().set(dst);
          f.get(k).i32Const(1).i32Sub().set(k);
          f.br(topK);
        });
      });
      f.get(p).i32Const(1).i32Add().set(p);
      f.br(topP);
    });
  });
  return f.index;
}

/** Locals of a packing entry point: (src, ls, ks, lanes, kc, dst, np) plus a scratch `full`. */
interface PackArgs {
  src: number;
  ls: number;
  ks: number;
  lanes: number;
  kc: number;
  dst: number;
  np: number;
  full: number;
}

/**
 * Emits: when the stride local `unit` is 1, pack the full panels with `fast` (signature
 * (src, stride, kc, dst, np, P), `stride` being the other stride), the rest with `generic`, return.
 */
function fastPanelsThenRest(f: FuncBuilder, P: number, unit: number, stride: number, fast: number, generic: number, a: PackArgs, genericArgs: () => void): void {
  f.get(unit).i32Const(1).i32Eq().if(() => {
    f.get(a.lanes).i32Const(P).i32DivS().set(a.full);
    f.get(a.full).get(a.np).i32GtS().if(() => f.get(a.np).set(a.full));
    f.get(a.src).get(stride).get(a.kc).get(a.dst).get(a.full).i32Const(P).call(fast);
    f.get(a.full).get(a.np).i32LtS().if(() => {
      f.get(a.src).get(a.full).i32Const(P).i32Mul().get(a.ls).i32Mul().i32Const(2).i32Shl().i32Add().set(a.src);
      f.get(a.dst).get(a.full).i32Const(P).i32Mul().get(a.kc).i32Mul().i32Const(2).i32Shl().i32Add().set(a.dst);
      f.get(a.lanes).get(a.full).i32Const(P).i32Mul().i32Sub().set(a.lanes);
      f.get(a.np).get(a.full).i32Sub().set(a.np);
      genericArgs();
      f.call(generic);
    });
    f.return();
  });
}

/**
 * `packA` / `packB`: lanes contiguous (column-major A, row-major B) copy vectors; k contiguous
 * (row-major A, transposed B) transposes 4x4 blocks; other strides go lane by lane.
 */
function emitPackEntry(m: ModuleBuilder, name: string, P: number, laneIsRow: boolean, generic: number, trans: number): void {
  const contig = emitPackContig(m, P);
  const f = m.func(name, [I32, I32, I32, I32, I32, I32, I32]);
  const [src, rs, cs, lanes, kc, dst, np] = [0, 1, 2, 3, 4, 5, 6];
  const a: PackArgs = { src, ls: laneIsRow ? rs : cs, ks: laneIsRow ? cs : rs, lanes, kc, dst, np, full: f.local(I32) };
  const args = () => f.get(src).get(rs).get(cs).get(lanes).get(kc).get(dst).get(np);
  fastPanelsThenRest(f, P, a.ls, a.ks, contig, generic, a, args);
  fastPanelsThenRest(f, P, a.ks, a.ls, trans, generic, a, args);
  args();
  f.call(generic);
}

/** Loads i32 field `off` of the geometry block into a new local. */
function geoLocal(f: FuncBuilder, geo: number, off: number): number {
  const l = f.local(I32);
  f.get(geo).i32Load(off).set(l);
  return l;
}

/**
 * Stores zeros for n floats at d and advances d by n floats. Whole vectors are written, so up to 3
 * floats past the run get zeros; callers write left to right and leave 16 bytes of slack at the end.
 */
function zeroRun(f: FuncBuilder, d: number, n: number, end: number): void {
  f.get(d).get(n).i32Const(2).i32Shl().i32Add().set(end);
  f.block((e) => {
    f.loop((l) => {
      f.get(d).get(end).i32GeU().brIf(e);
      f.get(d).v128Zero().v128Store();
      f.get(d).i32Const(16).i32Add().set(d);
      f.br(l);
    });
  });
  f.get(end).set(d);
}

/**
 * im2col rows k0..k0+kc, columns j0..j0+ncols into dst (row stride ldd; 16 bytes of slack after the
 * last row). Per row k = (c, kh, kw) the in-image output columns [owMin, owMax) are computed once;
 * each output row (n, oh) is then one run: zeros, a copy of the input row (whole vectors at unit
 * stride, which may read up to 3 floats past it), zeros.
 */
function emitIm2col(m: ModuleBuilder): void {
  const f = m.func('im2col', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [geo, x, k0, kc, j0, ncols, dst, ldd] = [0, 1, 2, 3, 4, 5, 6, 7];
  const H = geoLocal(f, geo, GEO.H), W = geoLocal(f, geo, GEO.W);
  const kH = geoLocal(f, geo, GEO.kH), kW = geoLocal(f, geo, GEO.kW);
  const sH = geoLocal(f, geo, GEO.sH), sW = geoLocal(f, geo, GEO.sW);
  const pH = geoLocal(f, geo, GEO.pH), pW = geoLocal(f, geo, GEO.pW);
  const dH = geoLocal(f, geo, GEO.dH), dW = geoLocal(f, geo, GEO.dW);
  const oH = geoLocal(f, geo, GEO.oH), oW = geoLocal(f, geo, GEO.oW);
  const imgStride = geoLocal(f, geo, GEO.imgStride);
  const [k, kEnd, kw, ihOff, iwBase, owMin, owMax, chan, left, n, oh, ow, run, ih, lo, hi, d, s, t, P, kHW, end] =
    Array.from({ length: 22 }, () => f.local(I32));
  f.get(oH).get(oW).i32Mul().set(P);
  f.get(kH).get(kW).i32Mul().set(kHW);
  f.get(k0).get(kc).i32Add().set(kEnd);
  f.get(k0).set(k);
  f.block((doneK) => {
    f.loop((topK) => {
      f.get(k).get(kEnd).i32GeS().brIf(doneK);
      // chan = &x[0, c, 0, 0]; ihOff = kh*dH - pH; iwBase = kw*dW - pW
      f.get(x).get(k).get(kHW).i32DivU().get(H).i32Mul().get(W).i32Mul().i32Const(2).i32Shl().i32Add().set(chan);
      f.get(k).get(kHW).i32RemU().tee(kw).get(kW).i32DivU().get(dH).i32Mul().get(pH).i32Sub().set(ihOff);
      f.get(kw).get(kW).i32RemU().get(dW).i32Mul().get(pW).i32Sub().set(iwBase);
      // owMin = first ow with iwBase + ow*sW >= 0; owMax = one past the last with it < W
      f.i32Const(0).set(owMin);
      f.get(iwBase).i32Const(0).i32LtS().if(() => {
        f.i32Const(0).get(iwBase).i32Sub().get(sW).i32Add().i32Const(1).i32Sub().get(sW).i32DivU().set(owMin);
      });
      f.get(W).i32Const(1).i32Sub().get(iwBase).i32Sub().tee(t).i32Const(0).i32LtS().if(
        () => {
          f.i32Const(0).set(owMax);
        },
        () => {
          f.get(t).get(sW).i32DivU().i32Const(1).i32Add().set(owMax);
        },
      );
      f.get(dst).get(k).get(k0).i32Sub().get(ldd).i32Mul().i32Const(2).i32Shl().i32Add().set(d);
      f.get(j0).get(P).i32DivU().set(n);
      f.get(j0).get(P).i32RemU().tee(ow).get(oW).i32DivU().set(oh);
      f.get(ow).get(oW).i32RemU().set(ow);
      f.get(ncols).set(left);
      f.block((doneJ) => {
        f.loop((topJ) => {
          f.get(left).i32Const(1).i32LtS().brIf(doneJ);
          f.get(oW).get(ow).i32Sub().tee(run).get(left).i32GtS().if(() => {
            f.get(left).set(run);
          });
          f.get(left).get(run).i32Sub().set(left);
          f.get(oh).get(sH).i32Mul().get(ihOff).i32Add().set(ih);
          f.get(ih).i32Const(0).i32LtS().get(ih).get(H).i32GeS().i32Or().if(
            () => {
              f.get(run).set(t);
              zeroRun(f, d, t, end);
            },
            () => {
              // lo = clamp(owMin - ow, 0, run), hi = clamp(owMax - ow, lo, run)
              f.get(owMin).get(ow).i32Sub().set(lo);
              f.get(lo).i32Const(0).i32LtS().if(() => f.i32Const(0).set(lo));
              f.get(lo).get(run).i32GtS().if(() => f.get(run).set(lo));
              f.get(owMax).get(ow).i32Sub().set(hi);
              f.get(hi).get(run).i32GtS().if(() => f.get(run).set(hi));
              f.get(hi).get(lo).i32LtS().if(() => f.get(lo).set(hi));
              f.get(lo).set(t);
              zeroRun(f, d, t, end);
              // s = &x[n, c, ih, iwBase + (ow + lo)*sW]
              f.get(chan)
                .get(n).get(imgStride).i32Mul()
                .get(ih).get(W).i32Mul().i32Add()
                .get(iwBase).i32Add()
                .get(ow).get(lo).i32Add().get(sW).i32Mul().i32Add()
                .i32Const(2).i32Shl().i32Add().set(s);
              f.get(hi).get(lo).i32Sub().set(t);
              f.get(sW).i32Const(1).i32Eq().if(
                () => {
                  f.get(d).get(t).i32Const(2).i32Shl().i32Add().set(end);
                  f.block((e) => {
                    f.loop((l) => {
                      f.get(d).get(end).i32GeU().brIf(e);
                      f.get(d).get(s).v128Load().v128Store();
                      f.get(d).i32Const(16).i32Add().set(d);
                      f.get(s).i32Const(16).i32Add().set(s);
                      f.br(l);
                    });
                  });
                  f.get(end).set(d);
                },
                () => {
                  f.block((e) => {
                    f.loop((l) => {
                      f.get(t).i32Const(1).i32LtS().brIf(e);
                      f.get(d).get(s).f32Load().f32Store();
                      f.get(d).i32Const(4).i32Add().set(d);
                      f.get(s).get(sW).i32Const(2).i32Shl().i32Add().set(s);
                      f.get(t).i32Const(1).i32Sub().set(t);
                      f.br(l);
                    });
                  });
                },
              );
              f.get(run).get(hi).i32Sub().set(t);
              zeroRun(f, d, t, end);
            },
          );
          // next output row
          f.i32Const(0).set(ow);
          f.get(oh).i32Const(1).i32Add().tee(oh).get(oH).i32Eq().if(() => {
            f.i32Const(0).set(oh);
            f.get(n).i32Const(1).i32Add().set(n);
          });
          f.br(topJ);
        });
      });
      f.get(k).i32Const(1).i32Add().set(k);
      f.br(topK);
    });
  });
}

/**
 * col2im for whole planes: for each plane q = n*C + c in [p0, p1) (C = the group's channels, gx at
 * the group's first channel), adds every dcol entry whose window lands in it. dcol rows are
 * (c, kh, kw), columns (n, oh, ow); row stride ldd elements.
 */
function emitCol2im(m: ModuleBuilder): void {
  const f = m.func('col2im', [I32, I32, I32, I32, I32, I32]);
  const [geo, dcol, ldd, gx, p0, p1] = [0, 1, 2, 3, 4, 5];
  const H = geoLocal(f, geo, GEO.H), W = geoLocal(f, geo, GEO.W);
  const kH = geoLocal(f, geo, GEO.kH), kW = geoLocal(f, geo, GEO.kW);
  const sH = geoLocal(f, geo, GEO.sH), sW = geoLocal(f, geo, GEO.sW);
  const pH = geoLocal(f, geo, GEO.pH), pW = geoLocal(f, geo, GEO.pW);
  const dH = geoLocal(f, geo, GEO.dH), dW = geoLocal(f, geo, GEO.dW);
  const oH = geoLocal(f, geo, GEO.oH), oW = geoLocal(f, geo, GEO.oW);
  const chans = geoLocal(f, geo, GEO.C);
  const imgStride = geoLocal(f, geo, GEO.imgStride);
  const q = f.local(I32), n = f.local(I32), ch = f.local(I32), kh = f.local(I32), kw = f.local(I32);
  const oh = f.local(I32), ow = f.local(I32), ih = f.local(I32), iw = f.local(I32);
  const plane = f.local(I32), rowD = f.local(I32), s = f.local(I32), g = f.local(I32), P = f.local(I32);
  f.get(oH).get(oW).i32Mul().set(P);
  f.get(p0).set(q);
  f.block((doneQ) => {
    f.loop((topQ) => {
      f.get(q).get(p1).i32GeS().brIf(doneQ);
      f.get(q).get(chans).i32DivU().set(n);
      f.get(q).get(chans).i32RemU().set(ch);
      f.get(gx).get(n).get(imgStride).i32Mul().get(ch).get(H).i32Mul().get(W).i32Mul().i32Add().i32Const(2).i32Shl().i32Add().set(plane);
      f.i32Const(0).set(kh);
      f.block((dKh) => {
        f.loop((tKh) => {
          f.get(kh).get(kH).i32GeS().brIf(dKh);
          f.i32Const(0).set(kw);
          f.block((dKw) => {
            f.loop((tKw) => {
              f.get(kw).get(kW).i32GeS().brIf(dKw);
              // rowD = &dcol[(ch*kH + kh)*kW + kw, n*P]
              f.get(dcol)
                .get(ch).get(kH).i32Mul().get(kh).i32Add().get(kW).i32Mul().get(kw).i32Add().get(ldd).i32Mul()
                .get(n).get(P).i32Mul().i32Add()
                .i32Const(2).i32Shl().i32Add().set(rowD);
              f.i32Const(0).set(oh);
              f.block((dOh) => {
                f.loop((tOh) => {
                  f.get(oh).get(oH).i32GeS().brIf(dOh);
                  f.get(oh).get(sH).i32Mul().get(pH).i32Sub().get(kh).get(dH).i32Mul().i32Add().set(ih);
                  f.get(ih).i32Const(0).i32GeS().get(ih).get(H).i32LtS().i32And().if(() => {
                    f.get(rowD).get(oh).get(oW).i32Mul().i32Const(2).i32Shl().i32Add().set(s);
                    f.get(plane).get(ih).get(W).i32Mul().i32Const(2).i32Shl().i32Add().set(g);
                    f.i32Const(0).set(ow);
                    f.block((dOw) => {
                      f.loop((tOw) => {
                        f.get(ow).get(oW).i32GeS().brIf(dOw);
                        f.get(ow).get(sW).i32Mul().get(pW).i32Sub().get(kw).get(dW).i32Mul().i32Add().set(iw);
                        f.get(iw).i32Const(0).i32GeS().get(iw).get(W).i32LtS().i32And().if(() => {
                          f.get(g).get(iw).i32Const(2).i32Shl().i32Add().tee(iw)
                            .get(iw).f32Load()
                            .get(s).f32Load()
                            .f32Add().f32Store();
                        });
                        f.get(s).i32Const(4).i32Add().set(s);
                        f.get(ow).i32Const(1).i32Add().set(ow);
                        f.br(tOw);
                      });
                    });
                  });
                  f.get(oh).i32Const(1).i32Add().set(oh);
                  f.br(tOh);
                });
              });
              f.get(kw).i32Const(1).i32Add().set(kw);
              f.br(tKw);
            });
          });
          f.get(kh).i32Const(1).i32Add().set(kh);
          f.br(tKh);
        });
      });
      f.get(q).i32Const(1).i32Add().set(q);
      f.br(topQ);
    });
  });
}

/** Assembles the kernel module's bytes. */
export function kernelModuleBytes(o: KernelOptions): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory({ module: 'env', name: 'memory', initial: o.initialPages, maximum: o.maximumPages, shared: o.shared });
  emitMacro(m, emitKernel(m, o.fma, false));
  emitDconv(m, emitKernel(m, o.fma, true), emitKernel(m, o.fma, true, 4));
  emitCopyRows(m);
  const packT = emitPackT(m);
  emitPackEntry(m, 'packA', MR, true, emitPack(m, null, MR, true), packT);
  emitPackEntry(m, 'packB', NR, false, emitPack(m, null, NR, false), packT);
  emitIm2col(m);
  emitCol2im(m);
  emitEwise(m);
  emitBinary(m);
  emitLayerNorm(m);
  emitDconvW(m, o.fma);
  return m.bytes();
}
