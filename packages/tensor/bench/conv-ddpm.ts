// The conv2d calls of `dl train ddpm-mnist`'s step (U-Net 16-32-32, batch 64; sampling runs the
// forward at 100) through the wasm kernels, per shape and thread count, beside PyTorch's
// conv2d / convolution_backward on the same shapes and threads in the same run (Debian's
// /usr/bin/python3 with torch; left out when it is missing). Wall-clock ms, or with `cpu` the
// process's CPU ms (all threads), which a shared, loaded machine disturbs far less.
//   node bench/build.mjs && node bench/dist/conv-ddpm.mjs [batch=64] [reps=7] [wall|cpu] [threads=1,2]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Conv2dParams, conv2dBackwardInputWasm, conv2dBackwardWeightWasm, conv2dForwardWasm, initWasmThreads, setNumThreads } from '../src/cpu/wasm/index.js';

const batch = Number(process.argv[2] ?? 64);
const reps = Number(process.argv[3] ?? 7);
const cpu = process.argv[4] === 'cpu';
const threadCounts = (process.argv[5] ?? '1,2').split(',').map(Number);
const now = () => {
  if (!cpu) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
// [calls per step, C, H, O, k, stride, pad]: the step's 35 forward calls (captured with a dispatch listener)
const SHAPES: [number, number, number, number, number, number, number][] = [
  [1, 1, 28, 16, 3, 1, 1],
  [4, 16, 28, 16, 3, 1, 1],
  [1, 16, 28, 16, 3, 2, 1],
  [1, 16, 14, 32, 3, 1, 1],
  [4, 32, 14, 32, 3, 1, 1],
  [1, 16, 14, 32, 1, 1, 0],
  [1, 32, 14, 32, 3, 2, 1],
  [8, 32, 7, 32, 3, 1, 1],
  [2, 64, 7, 32, 3, 1, 1],
  [2, 64, 7, 32, 1, 1, 0],
  [1, 64, 14, 32, 3, 1, 1],
  [1, 64, 14, 32, 1, 1, 0],
  [1, 48, 14, 32, 3, 1, 1],
  [1, 48, 14, 32, 1, 1, 0],
  [1, 32, 28, 32, 3, 1, 1],
  [1, 48, 28, 16, 3, 1, 1],
  [1, 48, 28, 16, 1, 1, 0],
  [1, 32, 28, 16, 3, 1, 1],
  [1, 32, 28, 16, 1, 1, 0],
  [1, 16, 28, 1, 3, 1, 1],
];

function conv(C: number, H: number, O: number, k: number, s: number, pad: number): Conv2dParams {
  const o = Math.floor((H + 2 * pad - k) / s) + 1;
  return { N: batch, C, H, W: H, O, kH: k, kW: k, groups: 1, sH: s, sW: s, pH: pad, pW: pad, dH: 1, dW: 1, oH: o, oW: o };
}

const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

function best(fn: () => void): number {
  fn();
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    fn();
    t = Math.min(t, now() - t0);
  }
  return t;
}

function torchTimes(threads: number): number[][] | null {
  const py = '/usr/bin/python3';
  const script = fileURLToPath(new URL('../conv-ddpm.py', import.meta.url));
  const shapes = SHAPES.map(([, C, H, O, k, s, p]) => [batch, C, H, H, O, k, s, p]);
  const r = spawnSync(py, [script], { input: JSON.stringify({ threads, reps, shapes, cpu }), encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`(no PyTorch: ${(r.stderr || String(r.error)).trim().split('\n').pop()})`);
    return null;
  }
  return JSON.parse(r.stdout) as number[][];
}

await initWasmThreads(2);
for (const threads of threadCounts) {
  setNumThreads(threads);
  const torch = torchTimes(threads);
  console.log(`\nbatch ${batch}, ${threads} thread(s), ${cpu ? 'CPU' : 'wall'} ms (best of ${reps}); torch = PyTorch ${threads} thread(s)`);
  console.log('calls  x [C,H,W] -> O  k/s | fwd  torch | bwd-input  torch | bwd-weight  torch');
  const tot = [0, 0, 0, 0, 0, 0];
  SHAPES.forEach(([calls, C, H, O, k, s, pad], i) => {
    const p = conv(C, H, O, k, s, pad);
    const x = rand(batch * C * H * H), w = rand(O * C * k * k), dy = rand(batch * O * p.oH * p.oW);
    const out = new Float32Array(dy.length), gx = new Float32Array(x.length), gw = new Float32Array(w.length);
    const ours = [best(() => conv2dForwardWasm(p, x, w, out)), best(() => conv2dBackwardInputWasm(p, dy, w, gx)), best(() => conv2dBackwardWeightWasm(p, x, dy, gw))];
    const th = torch?.[i] ?? [NaN, NaN, NaN];
    for (let j = 0; j < 3; j++) {
      tot[2 * j] += calls * ours[j];
      tot[2 * j + 1] += calls * th[j];
    }
    const f = (v: number) => v.toFixed(2).padStart(6);
    console.log(`${String(calls).padStart(3)}  [${C},${H},${H}] -> ${O} ${k}/${s}`.padEnd(28) + `| ${f(ours[0])} ${f(th[0])} | ${f(ours[1])} ${f(th[1])} | ${f(ours[2])} ${f(th[2])}`);
  });
  const f = (v: number) => v.toFixed(1).padStart(6);
  console.log(`step total (calls x ms)      | ${f(tot[0])} ${f(tot[1])} | ${f(tot[2])} ${f(tot[3])} | ${f(tot[4])} ${f(tot[5])}  = ${(tot[0] + tot[2] + tot[4]).toFixed(0)} vs ${(tot[1] + tot[3] + tot[5]).toFixed(0)} ms`);
}
process.exit(0);
