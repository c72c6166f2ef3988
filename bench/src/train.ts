/**
 * Training-step benchmarks: @dl (wasm kernels on 1 and 2 threads, the js reference, and WebGPU when
 * an adapter is found) next to TensorFlow.js and, when Debian's python3-torch is installed, PyTorch
 * CPU, for every workload of workloads/index.ts, in the same run.
 */
import * as dl from '@dl/tensor';
import type { WebGPUBackend } from '@dl/gpu';
import { torchStep, useTfjs } from './peers.js';
import { msStr, printTable, time, type Row } from './timing.js';
import { countStep, onWebgpu, webgpu } from './webgpu.js';
import { WORKLOADS, type Step, type Workload } from './workloads/index.js';

const IMPLS = [
  { name: '@dl wasm 2T', use: async () => (dl.setCpuKernels('wasm'), dl.setNumThreads(2), await new Promise((r) => setTimeout(r, 300))) },
  { name: '@dl wasm 1T', use: async () => (dl.setCpuKernels('wasm'), dl.setNumThreads(1)) },
  { name: '@dl js', use: async () => dl.setCpuKernels('js') },
];

/** ms/step, and tokens/s (env steps/s) for a step that says how many tokens (env steps) it trains on. */
const perStep = (ms: number, tokens?: number, envSteps?: number): string =>
  tokens ? `${msStr(ms)} (${((1000 * tokens) / ms).toFixed(0)} tok/s)` : envSteps ? `${msStr(ms)} (${((1000 * envSteps) / ms).toFixed(0)} env steps/s)` : msStr(ms);

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
    return `${perStep(ms, step.tokens, step.envSteps)} (${dispatches} dispatches, ${submits} submits)`;
  });
}

/** The workloads named in `only` (all when absent); an unknown id is an error listing the known ones. */
export function selectWorkloads(only?: readonly string[]): Workload[] {
  if (!only) return [...WORKLOADS];
  return only.map((id) => {
    const w = WORKLOADS.find((x) => x.id === id);
    if (!w) throw new Error(`--only: unknown workload '${id}' (known: ${WORKLOADS.map((x) => x.id).join(', ')})`);
    return w;
  });
}

export async function trainRows(opts: { peers: boolean; only?: readonly string[] }): Promise<Row[]> {
  const workloads = selectWorkloads(opts.only);
  const rows: Row[] = [];
  const tokens: (number | undefined)[] = [];
  const envSteps: (number | undefined)[] = [];
  const wasm2T: number[] = []; // ms/step of '@dl wasm 2T', for the ratio to PyTorch (also 2 threads)
  const gpu = await webgpu();
  for (const w of workloads) {
    const row: Row = { work: '' };
    for (const impl of IMPLS) {
      await impl.use();
      const step = w.make();
      row.work = step.name;
      tokens[rows.length] = step.tokens;
      envSteps[rows.length] = step.envSteps;
      const ms = await time(() => step.run(), { minReps: 3, maxReps: 20, budgetMs: 4000 });
      if (impl === IMPLS[0]) wasm2T[rows.length] = ms;
      row[impl.name] = perStep(ms, step.tokens, step.envSteps);
    }
    const cpuOnly = w.make().cpuOnly;
    if (gpu) row[`@dl webgpu (${gpu.adapter.description.split(/[:(]/)[0].trim() || gpu.adapter.vendor})`] = cpuOnly ? `not run: ${cpuOnly}` : await webgpuStep(gpu, w.make);
    rows.push(row);
  }
  if (opts.peers) {
    for (const backend of ['wasm', 'cpu'] as const) {
      const tf = await useTfjs(backend);
      workloads.forEach((w, i) => (rows[i][`tfjs ${backend}`] = typeof w.tfjs === 'string' ? w.tfjs : ''));
      for (const [i, w] of workloads.entries()) {
        if (typeof w.tfjs === 'string') continue;
        try {
          // ~13 s per MNIST step on TensorFlow.js cpu: one timed step after the warm-up
          rows[i][`tfjs ${backend}`] = msStr(await time(w.tfjs(tf), { minReps: 1, maxReps: 1 }));
        } catch (e) {
          // a backend without a kernel the step needs (wasm has no conv2d weight gradient) says which
          rows[i][`tfjs ${backend}`] = `cannot train: ${(e as Error).message.split('\n')[0]}`;
        }
      }
    }
    for (const [i, w] of workloads.entries()) {
      const ms = torchStep(w.torch);
      rows[i]['PyTorch CPU'] = typeof ms === 'string' ? ms : perStep(ms, tokens[i], envSteps[i]);
      // the measure: @dl's step over PyTorch's, same model, batch and thread count
      rows[i][`${IMPLS[0].name} / PyTorch`] = typeof ms === 'string' ? '-' : `${(wasm2T[i] / ms).toFixed(2)}x`;
    }
  }
  return rows;
}

export async function printTrain(opts: { peers: boolean; only?: readonly string[] }): Promise<void> {
  printTable('training steps, ms/step (lower is better)', await trainRows(opts));
}
