// softmaxRowsWasm: softmax and logSoftmax of contiguous float32 rows in SIMD128. Each row is three
// walks while it sits in cache: its max, then e = exp(x - max) with the sum of e, then the output
// (e / sum, or for logSoftmax (x - max) - log(sum)). exp is the elementwise kernels' (at most 2 ulp,
// see README); the sum runs in float32 lanes over blocks of 128 values, the block totals and the
// tail in float64. Wasm has no log, so logSoftmax takes each row's log(sum) from Math.log between
// two kernel calls. Rows are copied into kernel memory in blocks and split over the threads in
// whole rows (each computed as on one thread, so the same bits on any thread count).
import { f64, i32, v128, type FuncBuilder, type ModuleBuilder } from './emitter.js';
import { vecLocals, vexp } from './elementwise-kernel.js';
import { compileKernel, type WasmKernel } from './extern.js';
import { hmaxF32, hsumF64 } from './lanes.js';
import { spanEnds, taskRange, walkSpan, type Span } from './loops.js';
import { getNumThreads } from './pool.js';
import { heapF32, scratch } from './runtime.js';

type SmExports = Record<'softmaxRows' | 'logSoftmaxStats' | 'logSoftmaxOut' | 'softmaxGradRows' | 'logSoftmaxGradRows', (...args: number[]) => void>;

let kernel: WasmKernel<SmExports> | undefined;

/** floats of whole rows copied into kernel memory at once (a longer row is one block) */
const CHUNK = 1 << 20;
/** vectors summed in float32 lanes before their total joins the row's float64 sum */
const BLOCK = 32;
/** below this many floats one thread beats waking the others */
const PARALLEL_MIN = 1 << 16;

/**
 * An export (task, tid, x, out, stat, rows, rpt, len[, x2]) over rows [task rpt, min((task + 1) rpt,
 * rows)) of `len` floats at x, out (and x2), 16 bytes of stat a row (byte addresses): `body` gets
 * the row's addresses in locals.
 */
function rowLoop(m: ModuleBuilder, name: string, body: (f: FuncBuilder, w: Span, at: RowAt) => void, two = false): void {
  const f = m.func(name, Array(two ? 9 : 8).fill(i32));
  const [task, , x, out, stat, rows, rpt, len, x2] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const r = f.local(i32), rEnd = f.local(i32);
  const at: RowAt = { row: f.local(i32), orow: f.local(i32), st: f.local(i32), row2: f.local(i32) };
  const w: Span = { f, i: f.local(i32), vend: f.local(i32), end: f.local(i32) };
  spanEnds(w, len);
  taskRange(f, task, rpt, rows, r, rEnd, () => {
    f.get(r).get(len).i32Mul().i32Const(2).i32Shl().tee(at.row).get(out).i32Add().set(at.orow);
    if (two) f.get(at.row).get(x2).i32Add().set(at.row2);
    f.get(at.row).get(x).i32Add().set(at.row);
    f.get(r).i32Const(4).i32Shl().get(stat).i32Add().set(at.st);
    body(f, w, at);
  });
}

/** locals holding a row's byte addresses: x's row, out's row, its 16 bytes of stat, x2's row */
interface RowAt {
  row: number;
  orow: number;
  st: number;
  row2: number;
}

/** pushes the address base + i */
const addr = (w: Span, base: number) => w.f.get(base).get(w.i).i32Add();

/** sets mv to the row's max in every lane (NaN if it holds one), m64 to it in float64 */
function rowMax(f: FuncBuilder, w: Span, row: number, mv: number, m64: number): void {
  f.f32x4Const(-Infinity).set(mv);
  walkSpan(
    w,
    () => {
      f.get(mv);
      addr(w, row).v128Load().f32x4Max().set(mv);
    },
    () => {
      f.get(mv);
      addr(w, row).v128Load32Splat().f32x4Max().set(mv);
    },
  );
  hmaxF32(f, mv);
  f.get(mv).f32x4ExtractLane(0).f64PromoteF32().set(m64);
}

/**
 * Sets s (float64) to the row's sum of the vectors `value(tail)` pushes (in the tail only lane 0
 * counts: it loads one float splatted, so lanes past a row's end are never read), in float32 lanes
 * for BLOCK vectors at a time; `use(e, tail)` then runs with each value in local e.
 */
function rowSum(f: FuncBuilder, w: Span, s: number, value: (tail: boolean) => void, use?: (e: number, tail: boolean) => void): void {
  const e = f.local(v128), acc = f.local(v128), k = f.local(i32);
  f.v128Zero().set(acc);
  f.f64Const(0).set(s);
  f.i32Const(0).set(k);
  walkSpan(
    w,
    () => {
      value(false);
      f.tee(e).get(acc).f32x4Add().set(acc);
      use?.(e, false);
      // every BLOCK vectors the lanes go into the float64 sum, so long rows keep their accuracy
      f.get(k).i32Const(1).i32Add().tee(k).i32Const(BLOCK).i32Eq().if(() => {
        hsumF64(f, acc);
        f.get(s).f64Add().set(s);
        f.v128Zero().set(acc);
        f.i32Const(0).set(k);
      });
    },
    () => {
      value(true);
      f.set(e);
      f.get(s).get(e).f32x4ExtractLane(0).f64PromoteF32().f64Add().set(s);
      use?.(e, true);
    },
  );
  hsumF64(f, acc);
  f.get(s).f64Add().set(s);
}

/** pushes the row's 4 floats at base + i, or (tail) the float there in every lane */
const load = (w: Span, base: number, tail: boolean) => (tail ? addr(w, base).v128Load32Splat() : addr(w, base).v128Load());

/** stores the vector in local v at base + i: whole, or (tail) its lane 0 */
function store(w: Span, base: number, v: number, tail: boolean): void {
  addr(w, base).get(v);
  if (tail) w.f.f32x4ExtractLane(0).f32Store();
  else w.f.v128Store();
}

/** e = exp(x - max) for the row, summed into s (float64), and stored at orow when `keep` */
function expSum(f: FuncBuilder, w: Span, at: RowAt, mv: number, s: number, keep: boolean): void {
  const t = vecLocals(f);
  rowSum(
    f, w, s,
    (tail) => vexp(f, t, () => load(w, at.row, tail).get(mv).f32x4Sub()),
    keep ? (e, tail) => store(w, at.orow, e, tail) : undefined,
  );
}

function emitSoftmax(m: ModuleBuilder): void {
  // softmaxRows: out = e / sum(e); a fully masked row (max -inf) gives zeros
  rowLoop(m, 'softmaxRows', (f, w, at) => {
    const mv = f.local(v128), sv = f.local(v128), m64 = f.local(f64), s = f.local(f64);
    rowMax(f, w, at.row, mv, m64);
    f.get(m64).f64Const(-Infinity).f64Eq().if(
      () =>
        walkSpan(
          w,
          () => addr(w, at.orow).v128Zero().v128Store(),
          () => addr(w, at.orow).f32Const(0).f32Store(),
        ),
      () => {
        expSum(f, w, at, mv, s, true);
        f.get(s).f32DemoteF64().f32x4Splat().set(sv);
        walkSpan(
          w,
          () => {
            addr(w, at.orow);
            addr(w, at.orow).v128Load().get(sv).f32x4Div().v128Store();
          },
          () => {
            addr(w, at.orow);
            addr(w, at.orow).v128Load32Splat().get(sv).f32x4Div().f32x4ExtractLane(0).f32Store();
          },
        );
      },
    );
  });
  // logSoftmaxStats: the row's (max, sum of e) into its stat, float64; a fully masked row (-inf, 0)
  rowLoop(m, 'logSoftmaxStats', (f, w, at) => {
    const mv = f.local(v128), m64 = f.local(f64), s = f.local(f64);
    rowMax(f, w, at.row, mv, m64);
    f.get(m64).f64Const(-Infinity).f64Eq().if(
      () => f.f64Const(0).set(s),
      () => expSum(f, w, at, mv, s, false),
    );
    f.get(at.st).get(m64).f64Store();
    f.get(at.st).get(s).f64Store(8);
  });
  // softmaxGradRows (x = g, x2 = y): out = y (g - s), s = sum(g y) over the row
  // logSoftmaxGradRows (x = g, x2 = y): out = g - exp(y) s, s = sum(g) over the row
  for (const log of [false, true]) {
    rowLoop(
      m,
      log ? 'logSoftmaxGradRows' : 'softmaxGradRows',
      (f, w, at) => {
        const s = f.local(f64), sv = f.local(v128), y = f.local(v128), r = f.local(v128);
        const t = vecLocals(f);
        rowSum(f, w, s, (tail) => {
          load(w, at.row, tail);
          if (!log) load(w, at.row2, tail).f32x4Mul();
        });
        f.get(s).f32DemoteF64().f32x4Splat().set(sv);
        walkSpan(
          w,
          ...([false, true] as const).map((tail) => () => {
            load(w, at.row2, tail).set(y);
            if (log) {
              load(w, at.row, tail);
              vexp(f, t, () => f.get(y));
              f.get(sv).f32x4Mul().f32x4Sub().set(r);
            } else {
              f.get(y);
              load(w, at.row, tail).get(sv).f32x4Sub().f32x4Mul().set(r);
            }
            store(w, at.orow, r, tail);
          }) as [() => void, () => void],
        );
      },
      true,
    );
  }
  // logSoftmaxOut: out = (x - m) - l with (m, l) the row's stat, rounded to float32
  rowLoop(m, 'logSoftmaxOut', (f, w, at) => {
    const mv = f.local(v128), lv = f.local(v128);
    f.get(at.st).f64Load().f32DemoteF64().f32x4Splat().set(mv);
    f.get(at.st).f64Load(8).f32DemoteF64().f32x4Splat().set(lv);
    walkSpan(
      w,
      () => {
        addr(w, at.orow);
        addr(w, at.row).v128Load().get(mv).f32x4Sub().get(lv).f32x4Sub().v128Store();
      },
      () => {
        addr(w, at.orow);
        addr(w, at.row).v128Load32Splat().get(mv).f32x4Sub().get(lv).f32x4Sub().f32x4ExtractLane(0).f32Store();
      },
    );
  });
}

/**
 * Runs `fn(r0, nr, tasks, rpt, threads)` on blocks of nr whole rows of `len` floats (up to CHUNK
 * floats, a longer row alone) from row r0, split into tasks of rpt rows over the threads.
 */
function byRowBlocks(rows: number, len: number, fn: (r0: number, nr: number, tasks: number, rpt: number, threads: number) => void): void {
  const R = Math.max(1, Math.floor(CHUNK / len));
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0);
    const threads = nr * len >= PARALLEL_MIN && nr > 1 ? getNumThreads() : 1;
    const rpt = Math.max(1, Math.ceil(nr / (4 * threads)));
    fn(r0, nr, Math.ceil(nr / rpt), rpt, threads);
  }
}

/**
 * softmax (or with `log`, logSoftmax) of `rows` contiguous rows of `len` floats of x from element
 * `offset` into out, on `getNumThreads()` threads.
 * @example softmaxRowsWasm(false, x, 0, out, 768, 64)
 */
export function softmaxRowsWasm(log: boolean, x: Float32Array, offset: number, out: Float32Array, rows: number, len: number): void {
  if (rows === 0 || len === 0) return;
  const k = (kernel ??= compileKernel<SmExports>(emitSoftmax));
  byRowBlocks(rows, len, (r0, nr, tasks, rpt, threads) => {
    scratch.reset();
    const xAt = scratch.alloc(4 * nr * len + 16);
    const oAt = scratch.alloc(4 * nr * len + 16);
    const statAt = log ? scratch.alloc(16 * nr) : 0;
    scratch.reserve();
    heapF32().set(x.subarray(offset + r0 * len, offset + (r0 + nr) * len), xAt / 4);
    if (!log) k.run('softmaxRows', tasks, [xAt, oAt, 0, nr, rpt, len], threads);
    else {
      k.run('logSoftmaxStats', tasks, [xAt, oAt, statAt, nr, rpt, len], threads);
      // (max, sum) -> (max, log sum); a fully masked row -> (0, 0): its outputs are -inf - 0 - 0
      const st = new Float64Array(heapF32().buffer, statAt, 2 * nr);
      for (let j = 0; j < 2 * nr; j += 2) {
        if (st[j] === -Infinity) st[j] = st[j + 1] = 0;
        else st[j + 1] = Math.log(st[j + 1]);
      }
      k.run('logSoftmaxOut', tasks, [xAt, oAt, statAt, nr, rpt, len], threads);
    }
    out.set(heapF32().subarray(oAt / 4, oAt / 4 + nr * len), r0 * len);
  });
}

/**
 * The gradient of softmax (y (g - sum(g y))) or with `log` of logSoftmax (g - exp(y) sum(g)) along
 * `rows` contiguous rows of `len` floats, from the output y and its gradient g, into out, on
 * `getNumThreads()` threads. Sums as in softmaxRowsWasm; exp within 2 ulp.
 * @example softmaxGradRowsWasm(false, g, y, out, 768, 64)
 */
export function softmaxGradRowsWasm(log: boolean, g: Float32Array, y: Float32Array, out: Float32Array, rows: number, len: number): void {
  if (rows === 0 || len === 0) return;
  const k = (kernel ??= compileKernel<SmExports>(emitSoftmax));
  byRowBlocks(rows, len, (r0, nr, tasks, rpt, threads) => {
    scratch.reset();
    const [gAt, yAt, oAt] = [0, 1, 2].map(() => scratch.alloc(4 * nr * len + 16));
    scratch.reserve();
    const heap = heapF32();
    heap.set(g.subarray(r0 * len, (r0 + nr) * len), gAt / 4);
    heap.set(y.subarray(r0 * len, (r0 + nr) * len), yAt / 4);
    k.run(log ? 'logSoftmaxGradRows' : 'softmaxGradRows', tasks, [gAt, oAt, 0, nr, rpt, len, yAt], threads);
    out.set(heapF32().subarray(oAt / 4, oAt / 4 + nr * len), r0 * len);
  });
}
