/**
 * WebGPU figures: matmul GFLOP/s (256, 1024, and 4096 on a real GPU), conv2d and softmax times,
 * dispatches per step, with the CPU backend's figures from the same process beside them.
 * Bundled to bench/dist/gpu-bench.mjs (Dawn stays external) so it runs where only Node is present:
 *
 *   pnpm --filter @dl/gpu bench
 *   DL_WEBGPU_MODULE=/path/to/webgpu/index.js node bench/dist/gpu-bench.mjs
 */
import { noGrad, valueAndGrad } from '@dl/autograd';
import { conv2d, gather, layerNorm, manualSeed, maxPool2d, randint, randn, registerBackend, scope, type Tensor } from '@dl/tensor';
import { createWebGPUBackend } from '../src/index.js';

const gpu = await createWebGPUBackend({ powerPreference: 'high-performance' }).catch((e: Error) => {
  // `pnpm bench` runs every package's bench: without an adapter this one says why and steps aside
  console.log(`@dl/gpu bench skipped: ${e.message}`);
  process.exit(0);
});
registerBackend(gpu);
const software = gpu.adapter.software;
const quick = process.argv.includes('--quick');
console.log(`adapter: ${gpu.adapter.vendor} / ${gpu.adapter.architecture} / ${gpu.adapter.description} (features: ${gpu.features.join(', ')})`);

/** Median ms per call of `f` (queued work included) over `reps` timed calls, batched between syncs. */
async function time(f: () => Tensor, reps: number, device: string): Promise<number> {
  const sync = async (t: Tensor): Promise<void> => {
    if (device === 'cpu') return;
    await gpu.sync();
    t.dispose();
  };
  await sync(f()); // compile and warm
  const samples: number[] = [];
  const rounds = Math.max(3, Math.min(7, reps));
  const per = Math.max(1, Math.floor(reps / rounds));
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const outs: Tensor[] = [];
    for (let i = 0; i < per; i++) outs.push(f());
    if (device !== 'cpu') await gpu.sync();
    samples.push((performance.now() - t0) / per);
    for (const o of outs) o.dispose();
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

const rows: string[][] = [['work', 'webgpu', 'cpu (same process)']];
const fmt = (v: number, d = 1): string => v.toFixed(d);

manualSeed(0);
const sizes = [256, 1024, ...(software ? [] : [2048, 4096])];
for (const n of sizes) {
  const a = randn([n, n]);
  const b = randn([n, n]);
  const ga = a.to('webgpu');
  const gb = b.to('webgpu');
  const flop = 2 * n * n * n;
  const reps = software ? (n <= 256 ? 10 : 3) : n <= 1024 ? 50 : 20;
  const g = await time(() => ga.matmul(gb), quick ? 2 : reps, 'webgpu');
  const c = n <= 1024 && !quick ? await time(() => a.matmul(b), n <= 256 ? 10 : 3, 'cpu') : NaN;
  rows.push([`matmul ${n}x${n}x${n} GFLOP/s`, fmt(flop / g / 1e6), Number.isNaN(c) ? '-' : fmt(flop / c / 1e6)]);
}

{
  // a linear layer's x @ w.T and its weight gradient gy.T @ x (transposed operands)
  const n = software ? 512 : 4096;
  const a = randn([n, n], { device: 'webgpu' });
  const b = randn([n, n], { device: 'webgpu' });
  const flop = 2 * n * n * n;
  const reps = software ? 3 : 20;
  rows.push([`matmul ${n} a @ b.T GFLOP/s`, fmt(flop / (await time(() => a.matmul(b.transpose(0, 1)), reps, 'webgpu')) / 1e6), '-']);
  rows.push([`matmul ${n} a.T @ b GFLOP/s`, fmt(flop / (await time(() => a.transpose(0, 1).matmul(b), reps, 'webgpu')) / 1e6), '-']);
}

{
  const x = randn([32, 16, 28, 28]);
  const w = randn([32, 16, 3, 3]);
  const gx = x.to('webgpu');
  const gw = w.to('webgpu');
  const g = await time(() => conv2d(gx, gw, { padding: 1 }), software ? 3 : 50, 'webgpu');
  const c = await time(() => conv2d(x, w, { padding: 1 }), 3, 'cpu');
  const flop = 2 * 32 * 32 * 28 * 28 * 16 * 9;
  rows.push(['conv2d x[32,16,28,28] w[32,16,3,3] pad 1, ms', `${fmt(g, 2)} (${fmt(flop / g / 1e6)} GFLOP/s)`, `${fmt(c, 2)} (${fmt(flop / c / 1e6)} GFLOP/s)`]);
}

{
  const x = randn([1024, 1024]);
  const gx = x.to('webgpu');
  const g = await time(() => gx.softmax(1), software ? 5 : 50, 'webgpu');
  const c = await time(() => x.softmax(1), 5, 'cpu');
  rows.push(['softmax [1024,1024] dim 1, ms', fmt(g, 2), fmt(c, 2)]);
}

{
  // layer norm: the fused row kernels next to the same computation composed from primitives
  const x = randn([1024, 1024]);
  const w = randn([1024]);
  const b = randn([1024]);
  const [gx, gw, gb, r] = [x, w, b, randn([1024, 1024])].map((t) => t.to('webgpu'));
  const fused = (x: Tensor, w: Tensor, b: Tensor): Tensor => layerNorm(x, 1024, w, b);
  const composed = (x: Tensor, w: Tensor, b: Tensor): Tensor => {
    const xc = x.sub(x.mean(1, true));
    return xc.mul(xc.mul(xc).mean(1, true).add(1e-5).rsqrt()).mul(w).add(b);
  };
  // forward alone, and forward + backward to x, weight and bias (loss: sum of the output times r)
  const forward = (ln: typeof fused) => (): Tensor => ln(gx, gw, gb);
  const train = (ln: typeof fused) => (): Tensor => valueAndGrad((x: Tensor, w: Tensor, b: Tensor) => ln(x, w, b).mul(r).sum(), { argnums: [0, 1, 2] })(gx, gw, gb).value;
  const dispatches = (f: () => Tensor): number => {
    const d0 = gpu.stats().dispatches;
    scope(f);
    return gpu.stats().dispatches - d0;
  };
  const reps = software ? 5 : 50;
  const cpu = await time(() => fused(x, w, b), 5, 'cpu');
  for (const [what, f, c] of [
    ['fused', forward(fused), fmt(cpu, 2)],
    ['from primitives', forward(composed), '-'],
    ['fwd+bwd fused', train(fused), '-'],
    ['fwd+bwd from primitives', train(composed), '-'],
  ] as const) {
    rows.push([`layerNorm [1024,1024] ${what}, ms (dispatches)`, `${fmt(await time(f, reps, 'webgpu'), 2)} (${dispatches(f)})`, c]);
  }
}

{
  // dispatches of one inference step of a small CNN (conv-relu-pool-conv-relu-pool-fc-logSoftmax)
  const x = randn([64, 1, 28, 28], { device: 'webgpu' });
  const w1 = randn([16, 1, 3, 3], { device: 'webgpu' });
  const w2 = randn([32, 16, 3, 3], { device: 'webgpu' });
  const fc = randn([32 * 7 * 7, 10], { device: 'webgpu' });
  const cnn = (): Tensor => {
    const h = maxPool2d(conv2d(maxPool2d(conv2d(x, w1, { padding: 1 }).relu(), 2), w2, { padding: 1 }).relu(), 2);
    return h.reshape([64, 32 * 7 * 7]).matmul(fc).logSoftmax(1);
  };
  await gpu.sync();
  const before = gpu.stats();
  const out = cnn();
  await out.data();
  const after = gpu.stats();
  const ms = await time(cnn, software ? 3 : 50, 'webgpu');
  rows.push(['small CNN forward (batch 64): dispatches / submits / ms', `${after.dispatches - before.dispatches} / ${after.submits - before.submits} / ${fmt(ms, 2)}`, '-']);

  // one training step: forward, nll loss, backward through @dl/autograd, SGD update in place
  const label = randint(0, 10, [64, 1], { device: 'webgpu' });
  const params = [w1, w2, fc];
  const loss = (p1: Tensor, p2: Tensor, p3: Tensor): Tensor => {
    const h = maxPool2d(conv2d(maxPool2d(conv2d(x, p1, { padding: 1 }).relu(), 2), p2, { padding: 1 }).relu(), 2);
    return gather(h.reshape([64, 32 * 7 * 7]).matmul(p3).logSoftmax(1), 1, label).mean().neg();
  };
  const vg = valueAndGrad(loss, { argnums: [0, 1, 2] });
  const train = (): Tensor =>
    scope(() => {
      const { value, grads } = vg(w1, w2, fc);
      noGrad(() => params.forEach((p, i) => p.sub_(grads[i].mul(0.01))));
      return value;
    });
  await gpu.sync();
  const b0 = gpu.stats();
  await train().data();
  const b1 = gpu.stats();
  const tms = await time(train, software ? 3 : 50, 'webgpu');
  rows.push(['small CNN train step (batch 64, SGD): dispatches / submits / ms', `${b1.dispatches - b0.dispatches} / ${b1.submits - b0.submits} / ${fmt(tms, 2)}`, '-']);
}

const width = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(width[i])).join('  '));
const s = gpu.stats();
console.log(`shaders ${s.shaders}, pipelines ${s.pipelines}, pooled buffers ${s.pooledBuffers} (${(s.pooledBytes / 2 ** 20).toFixed(1)} MiB)`);
gpu.destroy();
process.exit(0);
