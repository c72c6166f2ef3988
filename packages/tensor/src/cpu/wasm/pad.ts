// Zero-padded copies of image planes in kernel memory, in one threaded pass: each destination row is
// written once, as zeros or as zeros, the source row and zeros (the convolutions' padded inputs).
import { i32 as I32, type FuncBuilder, type ModuleBuilder } from './emitter.js';
import { compileKernel, type WasmKernel } from './extern.js';
import { getNumThreads } from './pool.js';

let kernel: WasmKernel | undefined;
const instance = (): WasmKernel => (kernel ??= compileKernel(emitPad));

/** stores zeros over n floats (local) from the address in local `at`, which it advances */
function zeros(f: FuncBuilder, at: number, n: number, k: number): void {
  f.get(n).set(k);
  f.block((done) => {
    f.loop((top) => {
      f.get(k).i32Const(4).i32LtS().brIf(done);
      f.get(at).v128Zero().v128Store();
      f.get(at).i32Const(16).i32Add().set(at);
      f.get(k).i32Const(4).i32Sub().set(k);
      f.br(top);
    });
  });
  f.block((done) => {
    f.loop((top) => {
      f.get(k).i32Eqz().brIf(done);
      f.get(at).f32Const(0).f32Store();
      f.get(at).i32Const(4).i32Add().set(at);
      f.get(k).i32Const(1).i32Sub().set(k);
      f.br(top);
    });
  });
}

/** copies n floats (local) from the address in local `s` to the one in `at`, advancing `at` */
function copy(f: FuncBuilder, at: number, s: number, n: number, k: number, q: number): void {
  f.get(n).set(k);
  f.get(s).set(q);
  f.block((done) => {
    f.loop((top) => {
      f.get(k).i32Const(4).i32LtS().brIf(done);
      f.get(at).get(q).v128Load().v128Store();
      f.get(at).i32Const(16).i32Add().set(at);
      f.get(q).i32Const(16).i32Add().set(q);
      f.get(k).i32Const(4).i32Sub().set(k);
      f.br(top);
    });
  });
  f.block((done) => {
    f.loop((top) => {
      f.get(k).i32Eqz().brIf(done);
      f.get(at).get(q).f32Load().f32Store();
      f.get(at).i32Const(4).i32Add().set(at);
      f.get(q).i32Const(4).i32Add().set(q);
      f.get(k).i32Const(1).i32Sub().set(k);
      f.br(top);
    });
  });
}

/**
 * `pad(task, tid, src, dst, planes, perTask, H, W, Hp, Wp, pH, pW, rows, cols)`: planes
 * [task perTask, ...) of dst (Hp x Wp each) = zeros with rows x cols of the H x W source plane at
 * row pH, column pW.
 */
function emitPad(m: ModuleBuilder): void {
  const f = m.func('pad', Array(14).fill(I32));
  const [task, , src, dst, planes, per, H, W, Hp, Wp, pH, pW, rows, cols] = Array.from({ length: 14 }, (_, i) => i);
  const [p, p1, r, s, d, k, q, rest] = Array.from({ length: 8 }, () => f.local(I32));
  f.get(task).get(per).i32Mul().set(p);
  f.get(p).get(per).i32Add().tee(p1).get(planes).get(p1).get(planes).i32LtS().select().set(p1);
  f.get(Wp).get(pW).i32Sub().get(cols).i32Sub().set(rest);
  f.block((doneP) => {
    f.loop((topP) => {
      f.get(p).get(p1).i32GeU().brIf(doneP);
      f.get(p).get(Hp).i32Mul().get(Wp).i32Mul().i32Const(2).i32Shl().get(dst).i32Add().set(d);
      f.i32Const(0).set(r);
      f.block((doneR) => {
        f.loop((topR) => {
          f.get(r).get(Hp).i32GeU().brIf(doneR);
          // source row r - pH, where 0 <= r - pH < rows (unsigned compare)
          f.get(r).get(pH).i32Sub().get(rows).i32LtU().if(
            () => {
              f.get(p).get(H).i32Mul().get(r).i32Add().get(pH).i32Sub().get(W).i32Mul().i32Const(2).i32Shl().get(src).i32Add().set(s);
              zeros(f, d, pW, k);
              copy(f, d, s, cols, k, q);
              zeros(f, d, rest, k);
            },
            () => zeros(f, d, Wp, k),
          );
          f.get(r).i32Const(1).i32Add().set(r);
          f.br(topR);
        });
      });
      f.get(p).i32Const(1).i32Add().set(p);
      f.br(topP);
    });
  });
}

/**
 * dst planes (Hp x Wp floats) = src planes (H x W) at row pH, column pW, zeros elsewhere; source
 * rows and columns past the destination are dropped. Byte addresses in kernel memory, which must
 * not overlap.
 * @example padPlanes(N * C, xAt, H, W, xpAt, H + 2, W + 2, 1, 1)
 */
export function padPlanes(planes: number, src: number, H: number, W: number, dst: number, Hp: number, Wp: number, pH: number, pW: number): void {
  if (planes === 0 || Hp === 0 || Wp === 0) return;
  const threads = planes * Hp * Wp >= 1 << 16 ? getNumThreads() : 1;
  const per = Math.max(1, Math.ceil(planes / (4 * threads)));
  const rows = Math.max(0, Math.min(H, Hp - pH)), cols = Math.max(0, Math.min(W, Wp - pW));
  instance().run('pad', Math.ceil(planes / per), [src, dst, planes, per, H, W, Hp, Wp, pH, pW, rows, cols], threads);
}
