// Loop shapes that kernel modules share: a task's share of a range of rows or channels, and a
// float32 span walked four lanes at a time with a scalar tail.
import type { FuncBuilder } from './emitter.js';

/** A span walk's i32 locals: `i` the byte offset in the span, `vend` and `end` the byte ends of its whole vectors and of the span. */
export interface Span {
  f: FuncBuilder;
  i: number;
  vend: number;
  end: number;
}

/** sets s.vend and s.end for a span of as many floats as local `n` holds */
export function spanEnds(s: Span, n: number): void {
  s.f.get(n).i32Const(-4).i32And().i32Const(2).i32Shl().set(s.vend);
  s.f.get(n).i32Const(2).i32Shl().set(s.end);
}

/** for (i = 0; i < vend; i += 16) vec(); for (; i < end; i += 4) one(); (i in bytes) */
export function walkSpan({ f, i, vend, end }: Span, vec: () => void, one: () => void): void {
  f.i32Const(0).set(i);
  for (const [stop, step, body] of [[vend, 16, vec], [end, 4, one]] as const) {
    f.block((done) => {
      f.loop((top) => {
        f.get(i).get(stop).i32GeU().brIf(done);
        body();
        f.get(i).i32Const(step).i32Add().set(i);
        f.br(top);
      });
    });
  }
}

/** sets locals r and rEnd to a task's share of count units: [task per, min((task + 1) per, count)) */
export function taskBounds(f: FuncBuilder, task: number, per: number, count: number, r: number, rEnd: number): void {
  f.get(task).get(per).i32Mul().set(r);
  f.get(r).get(per).i32Add().tee(rEnd).get(count).get(rEnd).get(count).i32LtS().select().set(rEnd);
}

/** runs body() for r over a task's share of count units (see taskBounds) */
export function taskRange(f: FuncBuilder, task: number, per: number, count: number, r: number, rEnd: number, body: () => void): void {
  taskBounds(f, task, per, count, r, rEnd);
  f.block((done) => {
    f.loop((next) => {
      f.get(r).get(rEnd).i32GeU().brIf(done);
      body();
      f.get(r).i32Const(1).i32Add().set(r);
      f.br(next);
    });
  });
}
