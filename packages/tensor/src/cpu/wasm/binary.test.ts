import { describe, expect, it } from 'vitest';
import { binaryWasm, BIN, MODE, setNumThreads, type BinArg, type BinOp } from './index.js';
import { onThreads, seeded } from './test-util.js';

const f32 = Math.fround;
const OPS = Object.keys(BIN) as BinOp[];
const MODES = [MODE.FULL, MODE.ROW, MODE.COL] as const;
const NAMES = ['FULL', 'ROW', 'COL'];

/** The operand's value at (r, i) in its layout. */
const at = (o: BinArg, inner: number, r: number, i: number): number => (o.mode === MODE.FULL ? o.data[r * inner + i] : o.mode === MODE.ROW ? o.data[r] : o.data[i]);
const JS: Record<BinOp, (a: number, b: number) => number> = { add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b };

function operand(mode: (typeof MODES)[number], rows: number, inner: number, rand: (n: number) => Float32Array): BinArg {
  const data = rand(mode === MODE.FULL ? rows * inner : mode === MODE.ROW ? rows : inner);
  return { mode, data };
}

describe('binaryWasm', () => {
  it('equals the float32-rounded JS result bit for bit for every op and operand layout, odd sizes and rows longer than a block', () => {
    const rand = seeded(7);
    // (rows, inner): single elements, rows shorter than a vector, tails of 1-3, one long row cut into blocks
    const sizes: [number, number][] = [[1, 1], [1, 3], [3, 1], [5, 7], [2, 4], [9, 13], [64, 49], [7, 8195], [1, 20000], [3000, 3]];
    for (const op of OPS) {
      for (const am of MODES) {
        for (const bm of MODES) {
          for (const [rows, inner] of sizes) {
            const a = operand(am, rows, inner, rand);
            const b = operand(bm, rows, inner, rand);
            const out = new Float32Array(rows * inner).fill(NaN);
            binaryWasm(op, a, b, out, rows, inner);
            let bad = -1;
            for (let r = 0; r < rows && bad < 0; r++) {
              for (let i = 0; i < inner; i++) {
                if (!Object.is(out[r * inner + i], f32(JS[op](at(a, inner, r, i), at(b, inner, r, i))))) {
                  bad = r * inner + i;
                  break;
                }
              }
            }
            expect(bad, `${op} ${NAMES[am]} ${NAMES[bm]} [${rows}, ${inner}]`).toBe(-1);
          }
        }
      }
    }
  });

  it('keeps IEEE specials: NaN, infinities, signed zeros, subnormals and overflow as the JS loops', () => {
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1.1754942e-38, 3.4e38, -3.4e38, 1, -2.5];
    const n = specials.length;
    const a = new Float32Array(n * n);
    const b = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) (a[i * n + j] = specials[i]), (b[i * n + j] = specials[j]);
    for (const op of OPS) {
      const out = new Float32Array(n * n);
      binaryWasm(op, { mode: MODE.FULL, data: a }, { mode: MODE.FULL, data: b }, out, 1, n * n);
      for (let k = 0; k < n * n; k++) {
        const want = f32(JS[op](a[k], b[k]));
        if (Number.isNaN(want)) expect(out[k], `${op}(${a[k]}, ${b[k]})`).toBeNaN();
        else expect(Object.is(out[k], want), `${op}(${a[k]}, ${b[k]}) = ${out[k]}, want ${want}`).toBe(true);
      }
    }
  });

  describe('on two threads', () => {
    onThreads(2);

    it('gives the bits of one thread and of the JS loop for every operand layout past the parallel threshold', () => {
      const rand = seeded(11);
      // whole-row tasks with a partial last one; rows cut into tasks; one row longer than a threaded
      // block; two threaded blocks of whole rows
      const sizes: [number, number][] = [[300, 301], [3, 100003], [1, 300001], [2000, 257]];
      let k = 0;
      for (const am of MODES) {
        for (const bm of MODES) {
          for (const [rows, inner] of sizes) {
            const op = OPS[k++ % OPS.length];
            const a = operand(am, rows, inner, rand);
            const b = operand(bm, rows, inner, rand);
            const outs = [1, 2].map((threads) => {
              setNumThreads(threads);
              const out = new Float32Array(rows * inner).fill(NaN);
              binaryWasm(op, a, b, out, rows, inner);
              return out;
            });
            const what = `${op} ${NAMES[am]} ${NAMES[bm]} [${rows}, ${inner}]`;
            let bad = -1;
            for (let r = 0; r < rows && bad < 0; r++) {
              for (let i = 0; i < inner; i++) {
                const e = r * inner + i;
                if (!Object.is(outs[1][e], outs[0][e]) || !Object.is(outs[1][e], f32(JS[op](at(a, inner, r, i), at(b, inner, r, i))))) {
                  bad = e;
                  break;
                }
              }
            }
            expect(bad, what).toBe(-1);
          }
        }
      }
    });
  });
});
