/**
 * Generation benchmarks: greedy tokens/s of the gpt-char model (batch 1, from one token to each
 * length) with and without the KV cache, on @dl's wasm kernels, on WebGPU when an adapter is found,
 * and in PyTorch (torch/gpt_char_generate.py). With the cache a token costs O(T) (one position
 * attends to T keys); without it O(T^2) (the whole window again), so tokens/s falls with the
 * length there and hardly at all with the cache.
 */
import * as dl from '@dl/tensor';
import { GPT } from '@dl/transformer';
import { torchGeneration } from './peers.js';
import { printTable, time, type Row } from './timing.js';
import { onWebgpu, webgpu } from './webgpu.js';
import { gptCharConfig } from './workloads/gpt.js';

const tokS = (tokens: number, ms: number): string => `${((1000 * tokens) / ms).toFixed(1)} tok/s`;

/** Median tokens/s of greedy generation from one token to `length` tokens, per length and cache setting, on the default device. */
async function dlRows(rows: Row[], column: string, lengths: readonly number[], reps: { minReps: number; maxReps: number; budgetMs?: number }): Promise<void> {
  dl.manualSeed(0);
  const model = new GPT(gptCharConfig(Math.max(...lengths))).eval();
  for (const [i, n] of lengths.entries()) {
    for (const [j, useCache] of [true, false].entries()) {
      const ms = await time(async () => (await model.generate([0], { maxNewTokens: n - 1, temperature: 0, useCache })).dispose(), reps);
      rows[2 * i + j][column] = tokS(n - 1, ms);
    }
  }
}

export async function printGenerate(opts: { peers: boolean; lengths?: readonly number[] }): Promise<void> {
  const lengths = opts.lengths ?? [64, 256];
  const rows: Row[] = lengths.flatMap((n) => [true, false].map((c) => ({ work: `gpt-char greedy generation to ${n} tokens, ${c ? 'KV cache' : 'no cache (whole window every token)'}` })));
  for (const threads of [2, 1]) {
    dl.setCpuKernels('wasm');
    dl.setNumThreads(threads);
    await dlRows(rows, `@dl wasm ${threads}T`, lengths, { minReps: 1, maxReps: 5, budgetMs: 3000 });
  }
  const gpu = await webgpu();
  if (gpu) {
    const column = `@dl webgpu (${gpu.adapter.description.split(/[:(]/)[0].trim() || gpu.adapter.vendor})`;
    await onWebgpu(() => dlRows(rows, column, lengths, gpu.adapter.software ? { minReps: 1, maxReps: 1 } : { minReps: 1, maxReps: 5, budgetMs: 3000 }));
  }
  if (opts.peers) {
    const torch = torchGeneration(lengths);
    for (const [i, n] of lengths.entries()) {
      for (const [j, c] of ['cache', 'no cache'].entries()) rows[2 * i + j]['PyTorch CPU'] = typeof torch === 'string' ? torch : `${torch[`${c} ${n}`].toFixed(1)} tok/s`;
    }
  }
  printTable(`generation, tokens/s (higher is better; model block = ${Math.max(...lengths)})`, rows);
}
