/**
 * WebGPU work per training step, without the timing loops: dispatches and submits for every workload
 * of workloads/index.ts, counted on the third step (after optimizer state exists).
 *   pnpm --filter @dl/bench dispatches      (builds the packages it needs first)
 *   pnpm --filter @dl/bench dispatches -- --only gpt-char,mnist-cnn
 *   pnpm --filter @dl/bench dispatches -- --no-fusion   (every elementwise op a dispatch of its own)
 */
import { printTable, type Row } from './timing.js';
import { countStep, onWebgpu, webgpu } from './webgpu.js';
import { WORKLOADS } from './workloads/index.js';

async function main(): Promise<void> {
  const gpu = await webgpu();
  if (!gpu) process.exit(1);
  const rows: Row[] = [];
  const only = process.argv.find((a, i) => process.argv[i - 1] === '--only')?.split(',');
  for (const { id, make } of WORKLOADS) {
    if (only && !only.includes(id)) continue;
    // the reinforcement-learning runs read results back every environment step: CPU only (as in the training table)
    const cpuOnly = make().cpuOnly;
    if (cpuOnly) {
      rows.push({ work: make().name, 'dispatches/step': `not run: ${cpuOnly}`, 'submits/step': '' });
      continue;
    }
    const counts = await onWebgpu(async () => {
      const step = make();
      for (let i = 0; i < 2; i++) {
        step.run();
        await gpu.sync();
      }
      return { name: step.name, ...(await countStep(gpu, step)) };
    });
    rows.push({ work: counts.name, 'dispatches/step': String(counts.dispatches), 'submits/step': String(counts.submits) });
    console.log(`${id}: ${counts.dispatches} dispatches, ${counts.submits} submits`);
  }
  printTable(`WebGPU work per training step (${gpu.adapter.description || gpu.adapter.vendor})`, rows);
  gpu.destroy();
}

await main();
