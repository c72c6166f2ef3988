// Float32 add, sub, mul and div in SIMD128 over a [rows, inner] layout where each operand holds
// every element, one value per row (a per-channel or per-sample bias over the pixels) or one row
// shared by every row (a bias over the last dim). The four ops round exactly as the JS loops do:
// a float64 sum, difference, product or quotient of two float32 values rounded to float32 is the
// float32 operation's result.
import { f32 as F32, type FuncBuilder, i32 as I32, type ModuleBuilder, v128 as V128 } from './emitter.js';

/** Ops of the `binary` export, by code. */
export const BIN = { add: 0, sub: 1, mul: 2, div: 3 } as const;
export type BinOp = keyof typeof BIN;

/** How a `binary` operand covers [rows, inner]. */
export const MODE = {
  /** every element, row-major: element (r, i) at 4 (r inner + i) bytes */
  FULL: 0,
  /** one value per row, broadcast along it: (r, i) at 4 r */
  ROW: 1,
  /** one row shared by all rows: (r, i) at 4 i */
  COL: 2,
} as const;
export type Mode = (typeof MODE)[keyof typeof MODE];

const MODES: readonly Mode[] = [MODE.FULL, MODE.ROW, MODE.COL];

function vop(f: FuncBuilder, op: BinOp): void {
  if (op === 'add') f.f32x4Add();
  else if (op === 'sub') f.f32x4Sub();
  else if (op === 'mul') f.f32x4Mul();
  else f.f32x4Div();
}

function sop(f: FuncBuilder, op: BinOp): void {
  if (op === 'add') f.f32Add();
  else if (op === 'sub') f.f32Sub();
  else if (op === 'mul') f.f32Mul();
  else f.f32Div();
}

/** One operand's locals: its row pointer, the pointer within the row, and its row value (ROW). */
interface Operand {
  base: number;
  mode: Mode;
  p: number;
  q: number;
  v: number;
  s: number;
}

/**
 * `binary(op, a, aMode, b, bMode, out, rows, inner)`: out[r, i] = a[r, i] op b[r, i] for r < rows,
 * i < inner, the operands laid out as their MODE says; out is row-major. Whole vectors along each
 * row, then the row's last inner % 4 elements one at a time (no reads or writes past a row's end).
 * Addresses are byte offsets.
 */
export function emitBinary(m: ModuleBuilder): void {
  const f = m.func('binary', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [opArg, aArg, amArg, bArg, bmArg, out, rows, inner] = [0, 1, 2, 3, 4, 5, 6, 7];
  const r = f.local(I32);
  const i = f.local(I32);
  const vend = f.local(I32); // inner rounded down to whole vectors
  const locals = (base: number): Omit<Operand, 'mode'> => ({ base, p: f.local(I32), q: f.local(I32), v: f.local(V128), s: f.local(F32) });
  const A = locals(aArg);
  const B = locals(bArg);
  f.get(inner).i32Const(-4).i32And().set(vend);
  for (const [name, code] of Object.entries(BIN) as [BinOp, number][]) {
    for (const am of MODES) {
      for (const bm of MODES) {
        f.get(opArg).i32Const(code).i32Eq().get(amArg).i32Const(am).i32Eq().i32And().get(bmArg).i32Const(bm).i32Eq().i32And();
        f.if(() => {
          rowLoop(f, name, { ...A, mode: am }, { ...B, mode: bm }, { r, i, vend, out, rows, inner });
          f.return();
        });
      }
    }
  }
}

interface Loop {
  r: number;
  i: number;
  vend: number;
  out: number;
  rows: number;
  inner: number;
}

function rowLoop(f: FuncBuilder, op: BinOp, a: Operand, b: Operand, l: Loop): void {
  const ops = [a, b];
  f.i32Const(0).set(l.r);
  for (const o of ops) f.get(o.base).set(o.p);
  f.block((done) => {
    f.loop((nextRow) => {
      f.get(l.r).get(l.rows).i32GeU().brIf(done);
      for (const o of ops) {
        if (o.mode === MODE.ROW) {
          f.get(o.p).v128Load32Splat().set(o.v);
          f.get(o.p).f32Load().set(o.s);
        } else f.get(o.p).set(o.q); // FULL: this row; COL: the shared row
      }
      f.i32Const(0).set(l.i);
      f.block((vdone) => {
        f.loop((top) => {
          f.get(l.i).get(l.vend).i32GeU().brIf(vdone);
          f.get(l.out);
          for (const o of ops) {
            if (o.mode === MODE.ROW) f.get(o.v);
            else f.get(o.q).v128Load();
          }
          vop(f, op);
          f.v128Store();
          for (const o of ops) if (o.mode !== MODE.ROW) f.get(o.q).i32Const(16).i32Add().set(o.q);
          f.get(l.out).i32Const(16).i32Add().set(l.out);
          f.get(l.i).i32Const(4).i32Add().set(l.i);
          f.br(top);
        });
      });
      f.block((sdone) => {
        f.loop((top) => {
          f.get(l.i).get(l.inner).i32GeU().brIf(sdone);
          f.get(l.out);
          for (const o of ops) {
            if (o.mode === MODE.ROW) f.get(o.s);
            else f.get(o.q).f32Load();
          }
          sop(f, op);
          f.f32Store();
          for (const o of ops) if (o.mode !== MODE.ROW) f.get(o.q).i32Const(4).i32Add().set(o.q);
          f.get(l.out).i32Const(4).i32Add().set(l.out);
          f.get(l.i).i32Const(1).i32Add().set(l.i);
          f.br(top);
        });
      });
      for (const o of ops) {
        if (o.mode === MODE.FULL) f.get(o.q).set(o.p);
        else if (o.mode === MODE.ROW) f.get(o.p).i32Const(4).i32Add().set(o.p);
      }
      f.get(l.r).i32Const(1).i32Add().set(l.r);
      f.br(nextRow);
    });
  });
}
