/**
 * Language models by sequence length: the gpt-char and mamba-char training steps (charLmStep: AdamW,
 * clip 1) at T = 64, 256 and 1,024 with about the same tokens per step at every length, so that
 * tokens/s shows what a token costs at each length. Attention's work per token grows with T (its
 * score matrix is T x T); Mamba's selective scan does the same work per token at any length, so the
 * Mamba/GPT ratio falls as T grows — below 1 past the crossover. On @dl's wasm kernels (2 and 1
 * threads), WebGPU when an adapter is found, and PyTorch (torch/gpt_char.py and torch/mamba_char.py
 * with `T batch reps`; PyTorch's Mamba is the reference's sequential scan, a Python loop over time).
 */
import * as dl from '@dl/tensor';
import { torchStep } from './peers.js';
import { msStr, printTable, time, type Row } from './timing.js';
import { onWebgpu, webgpu } from './webgpu.js';
import { gptCharStep } from './workloads/gpt.js';
import { mambaCharStep } from './workloads/mamba.js';
import type { Step } from './workloads/index.js';

/** One length of the table: windows of `T` characters, `batch` of them per step. */
export interface LengthCase {
  T: number;
  batch: number;
}

/**
 * 768 tokens per step at 64 and 256 (batch 12 and 3: gpt-char's own batch at 64), and one window
 * of 1,024 at 1,024, the fewest there are: tokens/s, not ms/step, is what compares across rows.
 */
export const LENGTHS: readonly LengthCase[] = [
  { T: 64, batch: 12 },
  { T: 256, batch: 3 },
  { T: 1024, batch: 1 },
];

/** The longest T timed on a software WebGPU adapter (lavapipe runs a T=1,024 step in minutes). */
const SOFTWARE_MAX_T = 256;

interface LengthModel {
  id: 'gpt-char' | 'mamba-char';
  label: string;
  make(c: LengthCase): Step;
  torch: string;
  /** the script's arguments at a length (`T batch reps [warmup]`), or why PyTorch is not run there */
  torchArgs(c: LengthCase): number[] | string;
}

const MODELS: readonly LengthModel[] = [
  { id: 'gpt-char', label: 'gpt-char (GPT, 4 layers, d=128, 4 heads, block T)', make: (c) => gptCharStep(c.batch, c.T), torch: 'gpt_char.py', torchArgs: (c) => [c.T, c.batch, 3] },
  {
    id: 'mamba-char',
    label: 'mamba-char (MambaLM, 7 layers, d=128, N=16; PyTorch: the sequential-scan reference)',
    make: (c) => mambaCharStep(c.batch, c.T),
    torch: 'mamba_char.py',
    // the reference's backward writes a whole (batch, d, L, N) gradient per time step (the loop's
    // dA[:, :, t]): O(L^2), minutes per step from T=256; one step there, without the warm-up
    torchArgs: (c) => (c.T >= 1024 ? 'not run: the reference backward is O(L^2) (a (b, d, L, N) gradient per time step), many minutes per step' : c.T >= 256 ? [c.T, c.batch, 1, 0] : [c.T, c.batch, 1]),
  },
];

const tokS = (tokens: number, ms: number): string => `${msStr(ms)} (${((1000 * tokens) / ms).toFixed(0)} tok/s)`;

/** One column's ms/step: `times[model id][i]` at `lengths[i]`, or why there is none. */
type Times = Record<string, (number | string)[]>;

async function dlColumn(models: readonly LengthModel[], lengths: readonly LengthCase[], reps: { minReps: number; maxReps: number; budgetMs?: number }, skip?: (c: LengthCase) => string | undefined): Promise<Times> {
  const out: Times = {};
  for (const m of models) {
    out[m.id] = [];
    for (const c of lengths) {
      const why = skip?.(c);
      if (why) {
        out[m.id].push(why);
        continue;
      }
      dl.manualSeed(0);
      const step = m.make(c);
      out[m.id].push(await time(() => step.run(), reps));
    }
  }
  return out;
}

/**
 * Where Mamba's step becomes the cheaper one in a column: the first length whose Mamba/GPT ratio
 * is below 1, between which lengths the ratio crosses 1, or that it does not within the lengths timed.
 */
function crossover(column: string, times: Times, lengths: readonly LengthCase[]): string {
  const ratios = lengths.flatMap((c, i) => {
    const [g, m] = [times['gpt-char'][i], times['mamba-char'][i]];
    return typeof g === 'number' && typeof m === 'number' ? [{ T: c.T, r: m / g }] : [];
  });
  if (ratios.length === 0) return `${column}: no lengths timed`;
  const at = ratios.findIndex((x) => x.r < 1);
  const trend = ratios.map((x) => `${x.r.toFixed(2)}x at ${x.T}`).join(', ');
  if (at < 0) return `${column}: Mamba slower at every length timed (${trend})`;
  if (at === 0) return `${column}: Mamba faster from T=${ratios[0].T} on (${trend})`;
  return `${column}: Mamba faster between T=${ratios[at - 1].T} and T=${ratios[at].T} (${trend})`;
}

/** Rows per length: one per model, and the ratio row when both models are in. */
const rowsPer = (models: readonly LengthModel[]): number => models.length + (models.length === 2 ? 1 : 0);

/** Writes a column: per length, each model's ms/step (tokens/s) and the Mamba/GPT time ratio. */
function fill(rows: Row[], column: string, times: Times, models: readonly LengthModel[], lengths: readonly LengthCase[]): void {
  const per = rowsPer(models);
  for (const [i, c] of lengths.entries()) {
    for (const [j, m] of models.entries()) {
      const t = times[m.id][i];
      rows[i * per + j][column] = typeof t === 'string' ? t : tokS(c.T * c.batch, t);
    }
    if (models.length === 2) {
      const [g, mb] = [times['gpt-char'][i], times['mamba-char'][i]];
      rows[i * per + 2][column] = typeof g === 'number' && typeof mb === 'number' ? `${(mb / g).toFixed(2)}x` : '-';
    }
  }
}

/**
 * Prints the table for the models of `only` among gpt-char and mamba-char (both when absent; the
 * ratio row needs both). `quick`: T = 64 and 256 only.
 */
export async function printLengths(opts: { peers: boolean; quick: boolean; only?: readonly string[] }): Promise<void> {
  const models = MODELS.filter((m) => !opts.only || opts.only.includes(m.id));
  if (models.length === 0) return;
  const lengths = opts.quick ? LENGTHS.filter((c) => c.T <= 256) : LENGTHS;
  const columns: [string, Times][] = [];
  const rows: Row[] = lengths.flatMap((c) => [
    ...models.map((m) => ({ work: `T=${c.T}, batch ${c.batch} (${c.T * c.batch} tokens): ${m.label}` })),
    ...(models.length === 2 ? [{ work: `T=${c.T}: Mamba/GPT time per token (< 1: Mamba faster)` }] : []),
  ]);
  for (const threads of [2, 1]) {
    dl.setCpuKernels('wasm');
    dl.setNumThreads(threads);
    if (threads > 1) await new Promise((r) => setTimeout(r, 300)); // let the workers start
    columns.push([`@dl wasm ${threads}T`, await dlColumn(models, lengths, { minReps: 1, maxReps: 10, budgetMs: 3000 })]);
  }
  const gpu = await webgpu();
  if (gpu) {
    const column = `@dl webgpu (${gpu.adapter.description.split(/[:(]/)[0].trim() || gpu.adapter.vendor})`;
    const soft = gpu.adapter.software;
    const times = await onWebgpu(() =>
      dlColumn(
        models.map((m) => ({ ...m, make: (c: LengthCase) => synced(m.make(c), gpu.sync.bind(gpu)) })),
        lengths,
        soft ? { minReps: 1, maxReps: 1 } : { minReps: 1, maxReps: 10, budgetMs: 3000 },
        (c) => (soft && c.T > SOFTWARE_MAX_T ? `not run: software adapter, T <= ${SOFTWARE_MAX_T} only` : undefined),
      ),
    );
    columns.push([column, times]);
  }
  if (opts.peers) {
    const times: Times = {};
    for (const m of models) {
      times[m.id] = lengths.map((c) => {
        const args = m.torchArgs(c);
        return typeof args === 'string' ? args : torchStep(m.torch, args.map(String));
      });
    }
    columns.push(['PyTorch CPU', times]);
  }
  for (const [column, times] of columns) fill(rows, column, times, models, lengths);
  printTable('language models by length: training step, ms/step and tokens/s (higher tok/s is better; about the same tokens per step at every length)', rows);
  if (models.length === 2) console.log(`crossover (Mamba/GPT time per token below 1):\n  ${columns.map(([c, t]) => crossover(c, t, lengths)).join('\n  ')}`);
}

/** A step whose run waits for the GPU's queue, so that its time is the step's and not only its recording. */
function synced(step: Step, sync: () => Promise<void>): Step & { run(): Promise<void> } {
  return { ...step, run: async () => (step.run(), await sync()) };
}
