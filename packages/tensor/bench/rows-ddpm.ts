// add / mul (binaryWasm) and GroupNorm's layer norm rows (layerNormRowsWasm, forward and gradient)
// at the sizes of `dl train ddpm-mnist`'s step (U-Net 16-32-32, batch 64), on one thread and on
// two, alternating per repetition in one process so both see the same load. Wall-clock ms per call
// including the output allocation; median and best of the repetitions, and their 1T / 2T ratio.
//   node bench/build.mjs && node bench/dist/rows-ddpm.mjs [reps=41]
import { loadavg } from 'node:os';
import { binaryWasm, initWasmThreads, layerNormRowsWasm, MODE, setNumThreads, type BinArg } from '../src/cpu/wasm/index.js';

const reps = Number(process.argv[2] ?? 41);
let seed = 1;
/** uniform in [-2, 2) from an LCG: every operand different */
const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 30 - 2));
const full = (n: number): BinArg => ({ mode: MODE.FULL, data: rand(n) });
const row = (n: number): BinArg => ({ mode: MODE.ROW, data: rand(n) });

// [name, elements, call]
const N = 64 * 16 * 28 * 28;
const x16 = full(N), y16 = full(N), bias16 = row(64 * 16);
const M = 64 * 32 * 14 * 14;
const x32 = full(M).data, g32 = full(M).data;
const x16d = x16.data, g16 = y16.data;
type Case = [string, number, () => void];
const CASES: Case[] = [
  ['add [64,16,28,28] + [64,16,28,28]', N, () => binaryWasm('add', x16, y16, new Float32Array(N), 64 * 16, 784)],
  ['add [64,16,28,28] + [64,16,1,1]', N, () => binaryWasm('add', x16, bias16, new Float32Array(N), 64 * 16, 784)],
  ['mul [64,16,28,28] * [64,16,28,28]', N, () => binaryWasm('mul', x16, y16, new Float32Array(N), 64 * 16, 784)],
  ['mul [64,16,28,28] * [64,16,1,1]', N, () => binaryWasm('mul', x16, bias16, new Float32Array(N), 64 * 16, 784)],
  ['layerNorm GroupNorm(8) [64,16,28,28]', N, () => layerNormRowsWasm(x16d, null, new Float32Array(N), 64 * 8, 1568, 1e-5)],
  ['layerNormGradInput GroupNorm(8) [64,16,28,28]', N, () => layerNormRowsWasm(x16d, g16, new Float32Array(N), 64 * 8, 1568, 1e-5)],
  ['layerNorm GroupNorm(8) [64,32,14,14]', M, () => layerNormRowsWasm(x32, null, new Float32Array(M), 64 * 8, 784, 1e-5)],
  ['layerNormGradInput GroupNorm(8) [64,32,14,14]', M, () => layerNormRowsWasm(x32, g32, new Float32Array(M), 64 * 8, 784, 1e-5)],
];

await initWasmThreads(2);
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`load average before: ${loadavg().map((v) => v.toFixed(2)).join(' ')}; ${reps} reps, threads alternating 1 / 2`);
console.log('| op | 1T median | 2T median | ratio | 1T best | 2T best | ratio |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, , call] of CASES) {
  const t: Record<number, number[]> = { 1: [], 2: [] };
  for (let r = 0; r < reps + 3; r++) {
    for (const threads of r % 2 ? [2, 1] : [1, 2]) {
      setNumThreads(threads);
      const t0 = performance.now();
      call();
      const dt = performance.now() - t0;
      if (r >= 3) t[threads].push(dt); // warm-up
    }
  }
  const [m1, m2, b1, b2] = [med(t[1]), med(t[2]), Math.min(...t[1]), Math.min(...t[2])];
  console.log(`| ${name} | ${m1.toFixed(3)} | ${m2.toFixed(3)} | ${(m1 / m2).toFixed(2)} | ${b1.toFixed(3)} | ${b2.toFixed(3)} | ${(b1 / b2).toFixed(2)} |`);
}
console.log(`load average after: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
