/**
 * Where a CPU training step's time goes, by op: every workload of workloads/index.ts on the wasm
 * kernels (2 threads unless --threads), with a dispatch listener that charges the wall time since
 * the previous op to each op as it finishes. CPU ops run to completion before they return, so the
 * gap is the op's own time plus the JavaScript between two ops (module code, autograd's
 * bookkeeping); what follows the last op of a step (the optimizer's host-side loops, reading a
 * loss back) is `(between steps)`.
 *   pnpm --filter @dl/bench profile
 *   pnpm --filter @dl/bench profile -- --only ddpm-mnist,gpt-char --top 12 --threads 1
 *   pnpm --filter @dl/bench profile -- --only ddpm-mnist --shapes   (each op split by its input shapes)
 */
import * as dl from '@dl/tensor';
import { printTable, type Row } from './timing.js';
import { selectWorkloads } from './train.js';

const arg = (name: string): string | undefined => process.argv.find((_, i) => process.argv[i - 1] === `--${name}`);
const only = arg('only')?.split(',');
const top = Number(arg('top') ?? 8);
const threads = Number(arg('threads') ?? 2);
const steps = Number(arg('steps') ?? 3);
const byShapes = process.argv.includes('--shapes');

/** ms per step charged to each op over `steps` profiled steps, after two unprofiled ones. */
function profileStep(run: () => void): { total: number; byOp: Map<string, number> } {
  for (let i = 0; i < 2; i++) run();
  const byOp = new Map<string, number>();
  let last = 0;
  const charge = (name: string) => {
    const now = performance.now();
    byOp.set(name, (byOp.get(name) ?? 0) + now - last);
    last = now;
  };
  const key = (op: string, inputs: readonly dl.Tensor[]) => (byShapes ? `${op} ${inputs.map((t) => dl.fmt(t.shape)).join(' ')}` : op);
  const remove = dl.addDispatchListener((op, inputs, _attrs, _out, custom) => charge(key(custom ? custom.name : op, inputs)), { name: 'bench profile' });
  let total = 0;
  try {
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      last = t0;
      run();
      charge('(between steps)');
      total += performance.now() - t0;
    }
  } finally {
    remove();
  }
  for (const [k, v] of byOp) byOp.set(k, v / steps);
  return { total: total / steps, byOp };
}

async function main(): Promise<void> {
  dl.setCpuKernels('wasm');
  dl.setNumThreads(threads);
  await new Promise((r) => setTimeout(r, 300)); // the workers start
  const rows: Row[] = [];
  for (const w of selectWorkloads(only)) {
    const step = w.make();
    const { total, byOp } = profileStep(() => step.run());
    const sorted = [...byOp].sort((a, b) => b[1] - a[1]);
    const shown = sorted.slice(0, top).map(([op, ms]) => `${op} ${((100 * ms) / total).toFixed(0)}%`);
    const rest = sorted.slice(top).reduce((s, [, ms]) => s + ms, 0);
    rows.push({ work: step.name, 'ms/step': total.toFixed(1), ops: sorted.length.toString(), [`share of the step (top ${top}, then the rest)`]: `${shown.join(', ')}, rest ${((100 * rest) / total).toFixed(0)}%` });
    console.log(`${w.id}: ${total.toFixed(1)} ms/step`);
  }
  printTable(`time per op of a training step, @dl wasm ${threads}T (${steps} steps after 2 warm-ups; an op's share includes the JavaScript since the previous op)`, rows);
}

await main();
