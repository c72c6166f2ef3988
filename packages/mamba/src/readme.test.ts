/**
 * Runs every `ts` block of README.md (a block starting with "// continues the example above" runs
 * in one module with the block before; `ts norun` blocks are skipped) and checks what they print.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const dir = `${root}node_modules/.readme/`;

function modules(): string[] {
  const out: string[] = [];
  const readme = readFileSync(`${root}README.md`, 'utf8');
  for (const m of readme.matchAll(/^```ts([^\n]*)\n([\s\S]*?)^```/gm)) {
    if (m[1].trim() === 'norun') continue;
    if (m[2].startsWith('// continues the example above')) out[out.length - 1] += `\n${m[2]}`;
    else out.push(m[2]);
  }
  return out;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README examples', () => {
  it('run and print what their comments say', async () => {
    mkdirSync(dir, { recursive: true });
    const printed: unknown[][] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a));
    try {
      for (const [i, code] of modules().entries()) {
        const file = `${dir}example-${i}.ts`;
        writeFileSync(file, code);
        await import(/* @vite-ignore */ file);
      }
    } finally {
      log.mockRestore();
    }
    expect(printed).toHaveLength(3);
    expect(printed[0][0]).toMatch(/^Call.{20}$/s);
    expect(printed[1]).toEqual([[1, 32], 8]);
    expect(printed[2]).toEqual([[2, 8, 16], [2, 8, 4], true, [2, 8, 16]]);
  });
});
