/**
 * CPU benchmarks: @dl/tensor next to TensorFlow.js `cpu` and `wasm` and (when Debian's python3-torch
 * is installed) PyTorch on the same work, in one run.
 *   pnpm bench                          (from the repo root; builds the packages first)
 *   pnpm bench -- --only mnist-cnn      (only these training workloads, ids from workloads/index.ts)
 *   pnpm bench -- --quick               (small sizes, no peers)
 *   pnpm bench -- --no-peers            (every size, @dl only: minutes instead of the peers' hour)
 *   pnpm bench -- --steps-only          (the op rows and training steps, without the length and generation tables)
 */
import * as dl from '@dl/tensor';
import { torchOps, useTfjs } from './peers.js';
import { printGenerate } from './generate.js';
import { printLengths } from './lengths.js';
import { simdPeak } from './simd-peak.js';
import { printTrain } from './train.js';
import { gflops, msStr, printTable, time, type Row } from './timing.js';

const quick = process.argv.includes('--quick');
const peers = !quick && !process.argv.includes('--no-peers');
// PyTorch's sequential-scan Mamba takes minutes a step in the length table: this leaves it and generation out
const stepsOnly = process.argv.includes('--steps-only');
// `--only mnist-cnn,char-gpt`: just those training workloads (no op rows)
const onlyArg = process.argv.find((a, i) => process.argv[i - 1] === '--only' || a.startsWith('--only='));
const only = onlyArg?.replace(/^--only=/, '').split(',');

/** The @dl CPU kernel sets: the pure-TypeScript reference and WebAssembly SIMD on 1 and 2 threads. */
const DL_IMPLS = [
  { name: '@dl js', use: async () => dl.setCpuKernels('js') },
  { name: '@dl wasm 1T', use: async () => (dl.setCpuKernels('wasm'), dl.setNumThreads(1)) },
  { name: '@dl wasm 2T', use: async () => (dl.setCpuKernels('wasm'), await initThreads(2)) },
];

async function initThreads(n: number): Promise<void> {
  dl.setNumThreads(n);
  // let the workers start before timing
  await new Promise((r) => setTimeout(r, 300));
}

async function matmulRows(): Promise<Row[]> {
  const sizes = quick ? [256] : [256, 512, 1024];
  const rows: Row[] = sizes.map((n) => ({ work: `matmul f32 ${n}x${n}x${n}` }));
  for (const impl of DL_IMPLS) {
    await impl.use();
    for (const [i, n] of sizes.entries()) {
      const a = dl.randn([n, n]);
      const b = dl.randn([n, n]);
      rows[i][impl.name] = gflops(2 * n ** 3, await time(() => dl.matmul(a, b).dispose(), { budgetMs: 3000 }));
    }
  }
  // what the wasm rows can reach at most on this machine, measured now
  rows.push({ work: 'wasm SIMD128 peak: f32x4 mul + add in 12 register chains, no memory', '@dl wasm 1T': await simdPeak(1), '@dl wasm 2T': await simdPeak(2) });
  for (const backend of ['wasm', 'cpu'] as const) {
    const tf = await useTfjs(backend);
    for (const [i, n] of sizes.entries()) {
      // tfjs cpu needs ~4 s per 1024 product: one timed repeat there
      const reps = backend === 'cpu' && n >= 1024 ? { minReps: 1, maxReps: 1 } : { budgetMs: 3000 };
      const a = tf.randomNormal([n, n]);
      const b = tf.randomNormal([n, n]);
      const ms = await time(async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      }, reps);
      rows[i][`tfjs ${backend}`] = gflops(2 * n ** 3, ms);
      a.dispose();
      b.dispose();
    }
  }
  const torch = torchOps();
  for (const [i, n] of sizes.entries()) rows[i]['PyTorch CPU'] = typeof torch === 'string' ? torch : gflops(2 * n ** 3, torch.matmul[n]);
  return rows;
}

async function convRows(): Promise<Row[]> {
  const row: Row = { work: 'conv2d x[32,16,28,28] w[32,16,3,3] pad 1' };
  const x = dl.randn([32, 16, 28, 28]);
  const w = dl.randn([32, 16, 3, 3]);
  for (const impl of DL_IMPLS) {
    await impl.use();
    row[impl.name] = msStr(await time(() => dl.conv2d(x, w, { padding: 1 }).dispose()));
  }
  for (const backend of ['wasm', 'cpu'] as const) {
    const tf = await useTfjs(backend);
    // tfjs is NHWC with HWIO filters: the same work, transposed layout
    const tx = tf.randomNormal([32, 28, 28, 16]) as import('@tensorflow/tfjs-core').Tensor4D;
    const tw = tf.randomNormal([3, 3, 16, 32]) as import('@tensorflow/tfjs-core').Tensor4D;
    const reps = backend === 'cpu' ? { minReps: 1, maxReps: 2 } : {};
    row[`tfjs ${backend}`] = msStr(
      await time(async () => {
        const y = tf.conv2d(tx, tw, 1, 'same');
        await y.data();
        y.dispose();
      }, reps),
    );
  }
  const torch = torchOps();
  row['PyTorch CPU'] = typeof torch === 'string' ? torch : msStr(torch.conv2d);
  return [row];
}

async function main(): Promise<void> {
  console.log(`@dl CPU benchmarks — Node ${process.version}, ${(await import('node:os')).cpus().length} cores${quick ? ' (quick)' : ''}`);
  if (!only) {
    printTable('matmul (higher is better)', await matmulRows());
    printTable('conv2d forward (lower is better)', await convRows());
  }
  await printTrain({ peers, only });
  if (stepsOnly) return;
  await printLengths({ peers, quick, only });
  if (!only || only.includes('gpt-char') || only.includes('mamba-char')) await printGenerate({ peers, lengths: quick ? [16, 64] : [64, 256, 1024], only });
}

await main();
