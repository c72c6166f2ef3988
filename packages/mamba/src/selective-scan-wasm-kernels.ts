/**
 * The selective scan's SIMD128 kernels, emitted with @dl/tensor/wasm: the forward and backward
 * recurrences (a general kernel with the state in memory, and register kernels for N <= 16) and
 * the step sizes (softplus). Every export is a task of @dl/tensor's thread pool (see
 * selective-scan-wasm.ts for the memory layout and how the work is split).
 */
import { i32, v128, vecLocals, vexp, type FuncBuilder, type ModuleBuilder } from '@dl/tensor/wasm';

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

/** The locals the reverse sweep reads and sets. */
interface SweepLocals {
  t: number;
  rowL: number;
  bRow: number;
  bT: number;
  nb: number;
  hs: number;
  hsT: number;
  e: number;
  eT: number;
  gyv: number;
  dtv: number;
  dtuv: number;
  s1: number;
  s2: number;
}

/**
 * One row's reverse-time sweep, t = L - 1 .. 0: splats gy, dt and dt u of step t, points bT at B/C
 * of step t and hsT / eT at h_{t-1} and the decay, zeroes s1 and s2, runs `step` (which updates
 * dL/dh and the sums over n), then writes ddt = sum s1 + u sum s2 and du = dt sum s2.
 */
function reverseSweep(f: FuncBuilder, p: Params<typeof BWD>, v: SweepLocals, step: () => void): void {
  const scalar = (base: number): FuncBuilder => f.get(base).get(v.rowL).i32Add().get(v.t).i32Const(4).i32Mul().i32Add();
  f.get(p.L).set(v.t);
  f.block((done) =>
    f.loop((top) => {
      f.get(v.t).i32Eqz().brIf(done);
      f.get(v.t).i32Const(1).i32Sub().set(v.t);
      scalar(p.gy).f32Load().f32x4Splat().set(v.gyv);
      scalar(p.dt).f32Load().f32x4Splat().set(v.dtv);
      scalar(p.dtu).f32Load().f32x4Splat().set(v.dtuv);
      f.get(v.bRow).get(v.t).get(v.nb).i32Mul().i32Add().set(v.bT);
      f.get(v.hs).get(v.t).get(v.nb).i32Mul().i32Add().set(v.hsT);
      f.get(v.e).get(v.t).get(v.nb).i32Mul().i32Add().set(v.eT);
      f.v128Zero().set(v.s1);
      f.v128Zero().set(v.s2);
      step();
      // ddt = sum s1 + u sum s2 ; du = dt sum s2
      scalar(p.ddt);
      hsum(f, v.s1);
      scalar(p.u).f32Load();
      hsum(f, v.s2);
      f.f32Mul().f32Add().f32Store();
      scalar(p.du);
      scalar(p.dt).f32Load();
      hsum(f, v.s2);
      f.f32Mul().f32Store();
      f.br(top);
    }),
  );
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
  const sweep = { t, rowL, bRow, bT, nb, hs, hsT, e, eT, gyv, dtv, dtuv, s1, s2 };
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
    reverseSweep(f, p, sweep, () => {
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
    });
  });
}

/** `count` fresh v128 locals */
const vlocals = (f: FuncBuilder, count: number): number[] => Array.from({ length: count }, () => f.local(v128));

/**
 * scanForward<nv>: scanForward for N = 4 nv <= 16 with the state and the row of A in registers
 * (the general kernel keeps h in memory: a store and a load on the recurrence of every step).
 */
function emitForwardRegs(m: ModuleBuilder, nv: number): void {
  const f = m.func(`scanForward${nv}`, FWD.map(() => i32));
  const p = params(FWD);
  const [r, t, rowL, bRow, nb, bT, d, b, d1] = Array.from({ length: 9 }, () => f.local(i32));
  const [acc, dtv, dtuv] = vlocals(f, 3);
  const h = vlocals(f, nv);
  const a = vlocals(f, nv);
  const vl = vecLocals(f);
  f.i32Const(16 * nv).set(nb);
  forTaskRows(f, p, nb, { r, d, b, d1, rowL, bRow }, () => {
    for (let k = 0; k < nv; k++) {
      f.get(p.A).get(d).get(nb).i32Mul().i32Add().v128Load(16 * k).set(a[k]);
      f.v128Zero().set(h[k]);
    }
    f.get(bRow).set(bT);
    forRange(f, t, p.L, () => {
      f.get(p.dt).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add().f32Load().f32x4Splat().set(dtv);
      f.get(p.dtu).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add().f32Load().f32x4Splat().set(dtuv);
      f.v128Zero().set(acc);
      for (let k = 0; k < nv; k++) {
        // h = exp(dt a) h + dt u B_t ; acc += h C_t
        vexp(f, vl, () => f.get(dtv).get(a[k]).f32x4Mul());
        f.get(h[k]).f32x4Mul().get(dtuv).get(p.Bt).get(bT).i32Add().v128Load(16 * k).f32x4Mul().f32x4Add().set(h[k]);
        f.get(acc).get(h[k]).get(p.Ct).get(bT).i32Add().v128Load(16 * k).f32x4Mul().f32x4Add().set(acc);
      }
      f.get(p.y).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add();
      hsum(f, acc);
      f.f32Store();
      f.get(bT).get(nb).i32Add().set(bT);
    });
    for (let k = 0; k < nv; k++) f.get(p.last).get(r).get(nb).i32Mul().i32Add().get(h[k]).v128Store(16 * k);
  });
}

/**
 * scanBackward<nv>: scanBackward for N = 4 nv <= 16 with the state, dL/dh, the row of A and its
 * gradient in registers; hs and e still go through this thread's memory (the reverse sweep reads them).
 */
function emitBackwardRegs(m: ModuleBuilder, nv: number): void {
  const f = m.func(`scanBackward${nv}`, BWD.map(() => i32));
  const p = params(BWD);
  const [r, t, rowL, bRow, dARow, nb, bT, hsT, eT, d, b, d1, hs, e, dBt, dCt] = Array.from({ length: 16 }, () => f.local(i32));
  const [acc, dtv, dtuv, gyv, s1, s2, dhn, dhe, ev] = vlocals(f, 9);
  const sweep = { t, rowL, bRow, bT, nb, hs, hsT, e, eT, gyv, dtv, dtuv, s1, s2 };
  const h = vlocals(f, nv); // the state in the forward sweep, dL/dh in the reverse one
  const a = vlocals(f, nv);
  const dA = vlocals(f, nv);
  const vl = vecLocals(f);
  f.i32Const(16 * nv).set(nb);
  f.get(p.hs).get(p.tid).get(p.L).i32Const(1).i32Add().i32Mul().get(nb).i32Mul().i32Add().set(hs);
  f.get(p.e).get(p.tid).get(p.L).i32Mul().get(nb).i32Mul().i32Add().set(e);
  f.get(p.dBt).get(p.task).get(p.batch).i32Mul().get(p.L).i32Mul().get(nb).i32Mul().i32Add().set(dBt);
  f.get(p.dCt).get(p.task).get(p.batch).i32Mul().get(p.L).i32Mul().get(nb).i32Mul().i32Add().set(dCt);
  const scalar = (base: number): FuncBuilder => f.get(base).get(rowL).i32Add().get(t).i32Const(4).i32Mul().i32Add();
  forTaskRows(f, p, nb, { r, d, b, d1, rowL, bRow }, () => {
    f.get(d).get(nb).i32Mul().set(dARow);
    for (let k = 0; k < nv; k++) {
      f.get(p.A).get(dARow).i32Add().v128Load(16 * k).set(a[k]);
      f.v128Zero().set(h[k]);
      f.v128Zero().set(dA[k]);
      f.get(hs).v128Zero().v128Store(16 * k); // hs row 0: the zero initial state
    }
    // forward again: e row t = exp(dt_t a), hs row t + 1 = h_t, y
    forRange(f, t, p.L, () => {
      scalar(p.dt).f32Load().f32x4Splat().set(dtv);
      scalar(p.dtu).f32Load().f32x4Splat().set(dtuv);
      f.get(bRow).get(t).get(nb).i32Mul().i32Add().set(bT);
      f.get(hs).get(t).get(nb).i32Mul().i32Add().set(hsT);
      f.get(e).get(t).get(nb).i32Mul().i32Add().set(eT);
      f.v128Zero().set(acc);
      for (let k = 0; k < nv; k++) {
        vexp(f, vl, () => f.get(dtv).get(a[k]).f32x4Mul());
        f.set(ev);
        f.get(eT).get(ev).v128Store(16 * k);
        f.get(ev).get(h[k]).f32x4Mul().get(dtuv).get(p.Bt).get(bT).i32Add().v128Load(16 * k).f32x4Mul().f32x4Add().set(h[k]);
        f.get(hsT).get(h[k]).v128Store(nv * 16 + 16 * k);
        f.get(acc).get(h[k]).get(p.Ct).get(bT).i32Add().v128Load(16 * k).f32x4Mul().f32x4Add().set(acc);
      }
      scalar(p.y);
      hsum(f, acc);
      f.f32Store();
    });
    // dL/dh after the last step: the last state's gradient, or 0
    for (let k = 0; k < nv; k++) {
      f.get(p.lastG).i32Eqz();
      f.if(
        () => void f.v128Zero().set(h[k]),
        () => void f.get(p.lastG).get(r).get(nb).i32Mul().i32Add().v128Load(16 * k).set(h[k]),
      );
    }
    reverseSweep(f, p, sweep, () => {
      for (let k = 0; k < nv; k++) {
        const o = 16 * k;
        // dhn = dh + gy C_t ; dC_t += gy h_t ; dB_t += dhn dt u
        f.get(h[k]).get(gyv).get(p.Ct).get(bT).i32Add().v128Load(o).f32x4Mul().f32x4Add().set(dhn);
        f.get(dCt).get(bT).i32Add();
        f.get(dCt).get(bT).i32Add().v128Load(o).get(gyv).get(hsT).v128Load(nv * 16 + o).f32x4Mul().f32x4Add().v128Store(o);
        f.get(dBt).get(bT).i32Add();
        f.get(dBt).get(bT).i32Add().v128Load(o).get(dhn).get(dtuv).f32x4Mul().f32x4Add().v128Store(o);
        // dhe = dhn e h_{t-1}; s1 += a dhe; s2 += dhn B_t; dA += dhe dt; dh = dhn e
        f.get(eT).v128Load(o).set(ev);
        f.get(dhn).get(ev).f32x4Mul().get(hsT).v128Load(o).f32x4Mul().set(dhe);
        f.get(s1).get(a[k]).get(dhe).f32x4Mul().f32x4Add().set(s1);
        f.get(s2).get(dhn).get(p.Bt).get(bT).i32Add().v128Load(o).f32x4Mul().f32x4Add().set(s2);
        f.get(dA[k]).get(dhe).get(dtv).f32x4Mul().f32x4Add().set(dA[k]);
        f.get(dhn).get(ev).f32x4Mul().set(h[k]);
      }
    });
    for (let k = 0; k < nv; k++) {
      f.get(p.dA).get(dARow).i32Add();
      f.get(p.dA).get(dARow).i32Add().v128Load(16 * k).get(dA[k]).f32x4Add().v128Store(16 * k);
    }
  });
}

/** the widest state the register kernels hold (in vectors of four) */
export const MAX_REG_VECTORS = 4;

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

/** Adds every kernel to `m`: stepSizes, scanForward / scanBackward (any N) and scanForward<nv> / scanBackward<nv> (N = 4 nv). */
export function emitScanKernels(m: ModuleBuilder): void {
  emitStepSizesTask(m, emitStepSizes(m));
  emitForward(m);
  emitBackward(m);
  for (let nv = 1; nv <= MAX_REG_VECTORS; nv++) {
    emitForwardRegs(m, nv);
    emitBackwardRegs(m, nv);
  }
}
