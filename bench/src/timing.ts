/**
 * Median wall time in ms of `fn` over repeats, after one warm-up, capped by a time budget. The
 * warm-up is a call of `fn`, or of `warmUp` where a whole call would take too long (a shorter run
 * of the same work).
 */
export async function time(
  fn: () => unknown | Promise<unknown>,
  opts: { minReps?: number; maxReps?: number; budgetMs?: number; warmUp?: () => unknown | Promise<unknown> } = {},
): Promise<number> {
  const { minReps = 3, maxReps = 50, budgetMs = 2000, warmUp = fn } = opts;
  await warmUp();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export interface Row {
  work: string;
  [impl: string]: string;
}

/** Prints rows as an aligned table; columns are the union of keys in first-seen order. */
export function printTable(title: string, rows: Row[]): void {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '-').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join('  ');
  console.log(`\n${title}`);
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => r[c] ?? '-')));
}

export const gflops = (flop: number, ms: number): string => `${(flop / ms / 1e6).toFixed(2)} GFLOP/s`;
export const msStr = (ms: number): string => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
