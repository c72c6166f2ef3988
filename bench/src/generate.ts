/**
 * Generation benchmarks: greedy tokens/s (batch 1, from one token to each length) of the gpt-char
 * model with and without the KV cache, and of the mamba-char model with its recurrent state, on
 * @dl's wasm kernels, on WebGPU when an adapter is found, and in PyTorch
 * (torch/gpt_char_generate.py). With the cache a GPT token costs O(T) (one position attends to T
 * keys); without it O(T^2) (the whole window again), so tokens/s falls with the length there and
 * hardly at all with the cache. A Mamba token is one recurrent step on a state of fixed size
 * (per layer a conv window and a dInner x dState SSM state): O(1), whatever the length.
 */
import * as dl from '@dl/tensor';
import { MambaLM } from '@dl/mamba';
import { GPT } from '@dl/transformer';
import { torchGeneration } from './peers.js';
import { printTable, time, type Row } from './timing.js';
import { onWebgpu, webgpu } from './webgpu.js';
import { gptCharConfig } from './workloads/gpt.js';

const tokS = (tokens: number, ms: number): string => `${((1000 * tokens) / ms).toFixed(1)} tok/s`;

/** The longest generation timed on a software WebGPU adapter (lavapipe: a few tokens/s, mostly dispatch overhead, at any length). */
const SOFTWARE_MAX_LENGTH = 64;

/** One kind of row: a model and how it carries the past from token to token. */
interface GenKind {
  model: 'gpt-char' | 'mamba-char';
  label: string;
  /** GPT only: the KV cache, or the whole window every token */
  useCache?: boolean;
  /** key of torch/gpt_char_generate.py's output, or why PyTorch has no figure */
  torch: { key: string } | { none: string };
}

const KINDS: readonly GenKind[] = [
  { model: 'gpt-char', label: 'gpt-char, KV cache', useCache: true, torch: { key: 'cache' } },
  { model: 'gpt-char', label: 'gpt-char, no cache (whole window every token)', useCache: false, torch: { key: 'no cache' } },
  {
    model: 'mamba-char',
    label: 'mamba-char, recurrent state (one step per token)',
    // make_mamba_fixture.py transcribes the reference's forward (the sequential-scan slow path) only
    torch: { none: 'not available: the PyTorch reference (make_mamba_fixture.py) has no step form' },
  },
];

type Generate = (maxNewTokens: number) => Promise<void>;

/** Greedy generation of each kind from token 0, on the default device. */
function generators(kinds: readonly GenKind[], maxLength: number): Generate[] {
  dl.manualSeed(0);
  let gpt: GPT | undefined;
  let mamba: MambaLM | undefined;
  return kinds.map((k): Generate => {
    if (k.model === 'mamba-char') {
      const m = (mamba ??= new MambaLM({ dModel: 128, nLayer: 7, vocabSize: 89, dState: 16 }).eval());
      return async (n) => (await m.generate([0], { maxNewTokens: n, temperature: 0 })).dispose();
    }
    const g = (gpt ??= new GPT(gptCharConfig(maxLength)).eval());
    return async (n) => (await g.generate([0], { maxNewTokens: n, temperature: 0, useCache: k.useCache })).dispose();
  });
}

/**
 * Median tokens/s of each kind at each length into `column`; the warm-up is a generation of 8
 * tokens (a whole one without the cache at 1,024 would double a run of minutes).
 */
async function dlRows(rows: Row[], column: string, kinds: readonly GenKind[], lengths: readonly number[], reps: { minReps: number; maxReps: number; budgetMs?: number }, maxLength = Infinity): Promise<void> {
  const gens = generators(kinds, Math.max(...lengths));
  for (const [i, n] of lengths.entries()) {
    for (const [j, gen] of gens.entries()) {
      const row = rows[i * kinds.length + j];
      if (n > maxLength) {
        row[column] = `not run: software adapter, <= ${maxLength} tokens only`;
        continue;
      }
      const ms = await time(() => gen(n - 1), { ...reps, warmUp: () => gen(8) });
      row[column] = tokS(n - 1, ms);
    }
  }
}

/** The generation table for the models of `only` among gpt-char and mamba-char (both when absent). */
export async function printGenerate(opts: { peers: boolean; lengths?: readonly number[]; only?: readonly string[] }): Promise<void> {
  const lengths = opts.lengths ?? [64, 256, 1024];
  const kinds = KINDS.filter((k) => !opts.only || opts.only.includes(k.model));
  if (kinds.length === 0) return;
  const rows: Row[] = lengths.flatMap((n) => kinds.map((k) => ({ work: `to ${n} tokens: ${k.label}` })));
  for (const threads of [2, 1]) {
    dl.setCpuKernels('wasm');
    dl.setNumThreads(threads);
    await dlRows(rows, `@dl wasm ${threads}T`, kinds, lengths, { minReps: 1, maxReps: 5, budgetMs: 3000 });
  }
  const gpu = await webgpu();
  if (gpu) {
    const column = `@dl webgpu (${gpu.adapter.description.split(/[:(]/)[0].trim() || gpu.adapter.vendor})`;
    const soft = gpu.adapter.software;
    await onWebgpu(() => dlRows(rows, column, kinds, lengths, soft ? { minReps: 1, maxReps: 1 } : { minReps: 1, maxReps: 5, budgetMs: 3000 }, soft ? SOFTWARE_MAX_LENGTH : Infinity));
  }
  if (opts.peers) {
    const torch = kinds.some((k) => 'key' in k.torch) ? torchGeneration(lengths) : {};
    for (const [i, n] of lengths.entries()) {
      for (const [j, k] of kinds.entries()) {
        const v = 'none' in k.torch ? k.torch.none : torch[`${k.torch.key} ${n}`];
        rows[i * kinds.length + j]['PyTorch CPU'] = typeof v === 'number' ? `${v.toFixed(1)} tok/s` : v;
      }
    }
  }
  printTable(`generation, greedy, batch 1, tokens/s from one token to each length (higher is better; GPT block = ${Math.max(...lengths)})`, rows);
}
