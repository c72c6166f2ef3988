// Shared by the CLI tests: runs `dl` in this process and captures what it prints.
import { expect, vi } from 'vitest';
import { main } from './main.js';

/**
 * Runs `dl <args>` in-process and returns each chunk it wrote to stdout (streamed text arrives
 * in pieces); what it writes to stderr goes to `stderr` when given, else nowhere. Fails the test
 * unless the command exits 0.
 */
export async function runCliWrites(args: string[], stderr?: string[]): Promise<string[]> {
  const writes: string[] = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (writes.push(String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (stderr?.push(String(s)), true));
  try {
    expect(await main(args)).toBe(0);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return writes;
}

/** runCliWrites, as the lines of stdout. */
export async function runCli(args: string[], stderr?: string[]): Promise<string[]> {
  return (await runCliWrites(args, stderr)).join('').trim().split('\n');
}
