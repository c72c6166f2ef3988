/**
 * Training-step benchmarks: @dl (wasm kernels on 1 and 2 threads, the js reference, and WebGPU when
 * an adapter is found) next to TensorFlow.js `cpu` and, when Debian's python3-torch is installed,
 * PyTorch CPU in the same run.
 */
import * as dl from '@dl/tensor';
import type { WebGPUBackend } from '@dl/gpu';
import { gptStep, mnistStep, type Step } from './models.js';
import { torchCpu, useTfjs } from './peers.js';
import { msStr, printTable, time, type Row } from './timing.js';
import { tfjsMnistStep } from './tfjs-models.js';
import { countStep, onWebgpu, webgpu } from './webgpu.js';

const IMPLS = [
  { name: '@dl wasm 2T', use: async () => (dl.setCpuKernels('wasm'), dl.setNumThreads(2), await new Promise((r) => setTimeout(r, 300))) },
  { name: '@dl wasm 1T', use: async () => (dl.setCpuKernels('wasm'), dl.setNumThreads(1)) },
  { name: '@dl js', use: async () => dl.setCpuKernels('js') },
];

/** ms/step and dispatches/submits per step with the model and data made on 'webgpu' (the default device meanwhile). */
async function webgpuStep(gpu: WebGPUBackend, make: () => Step): Promise<string> {
  return onWebgpu(async () => {
    const step = make();
    const ms = await time(
      async () => {
        step.run();
        await gpu.sync();
      },
      gpu.adapter.software ? { minReps: 1, maxReps: 2 } : { minReps: 3, maxReps: 50, budgetMs: 4000 },
    );
    const { dispatches, submits } = await countStep(gpu, step);
    return `${msStr(ms)} (${dispatches} dispatches, ${submits} submits)`;
  });
}

export async function trainRows(opts: { peers: boolean }): Promise<Row[]> {
  const makers = [mnistStep, gptStep];
  const rows: Row[] = [];
  const gpu = await webgpu();
  for (const make of makers) {
    const row: Row = { work: '' };
    for (const impl of IMPLS) {
      await impl.use();
      const step = make();
      row.work = step.name;
      row[impl.name] = msStr(await time(() => step.run(), { minReps: 3, maxReps: 20, budgetMs: 4000 }));
    }
    if (gpu) row[`@dl webgpu (${gpu.adapter.description.split(/[:(]/)[0].trim() || gpu.adapter.vendor})`] = await webgpuStep(gpu, make);
    rows.push(row);
  }
  if (opts.peers) {
    for (const backend of ['wasm', 'cpu'] as const) {
      const tf = await useTfjs(backend);
      try {
        // ~13 s per step on TensorFlow.js cpu: one timed step after the warm-up
        rows[0][`tfjs ${backend}`] = msStr(await time(tfjsMnistStep(tf), { minReps: 1, maxReps: 1 }));
      } catch (e) {
        // a backend without a kernel the step needs (wasm has no conv2d weight gradient) says which
        rows[0][`tfjs ${backend}`] = `cannot train: ${(e as Error).message.split('\n')[0]}`;
      }
      rows[1][`tfjs ${backend}`] = 'not run: bench/ has no TF.js char GPT';
    }
    const torch = torchCpu();
    rows[0]['PyTorch CPU'] = typeof torch === 'string' ? torch : msStr(torch.mnist);
    rows[1]['PyTorch CPU'] = typeof torch === 'string' ? torch : msStr(torch.gpt);
  }
  return rows;
}

export async function printTrain(peers: boolean): Promise<void> {
  printTable('training steps, ms/step (lower is better)', await trainRows({ peers }));
}
