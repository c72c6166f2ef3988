/**
 * Runs every `ts` block of README.md as a module, with the training budgets cut so the suite stays
 * fast (the full budgets are what `dl train ppo-cartpole` / `dqn-cartpole` run): 100_000 env steps
 * become 1_024, 50_000 become 1_500, `episodes: 100` becomes 3 and `episodes: 120` becomes 8; files
 * go to a temporary folder. Each block's printed values are checked.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const dir = `${root}.readme/`;
const readme = readFileSync(`${root}README.md`, 'utf8');

function blocks(): string[] {
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) =>
    m[1]
      .replaceAll("from '@dl/rl'", `from '${root}src/index.ts'`)
      .replaceAll('100_000', '1_024')
      .replaceAll('50_000', '1_500')
      .replaceAll('episodes: 100,', 'episodes: 3,')
      .replaceAll('episodes: 120', 'episodes: 8')
      .replaceAll("'ppo-cartpole.safetensors'", `'${dir}ppo-cartpole.safetensors'`),
  );
}

describe('README examples run', () => {
  beforeAll(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const mods = blocks();
  it('has the four examples', () => expect(mods).toHaveLength(4));

  mods.forEach((code, i) => {
    it(`block ${i + 1}: ${code.split('\n')[0]}`, async () => {
      const file = `${dir}block-${i + 1}.ts`;
      writeFileSync(file, code);
      const logs: unknown[][] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args));
      try {
        await import(/* @vite-ignore */ file);
      } finally {
        log.mockRestore();
      }
      if (i === 0) {
        // onProgress lines: step, episodes, mean return, steps/s
        expect(logs.length).toBeGreaterThan(0);
        expect(logs.at(-1)![0]).toBe(1024);
        expect(readFileSync(`${dir}ppo-cartpole.safetensors`).length).toBeGreaterThan(1000);
      }
      if (i === 1) {
        expect(String(logs[0][0])).toMatch(/ResetNeededError: .*the episode terminated; call reset\(\)/);
        expect(logs[1]).toEqual([true]);
      }
    });
  });
});
