import { manualSeed } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { GPT } from './gpt.js';

describe('GPT.generate logitsProcessor', () => {
  const model = () => {
    manualSeed(3);
    return new GPT({ vocabSize: 12, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8 });
  };

  it('masks each row before sampling: only allowed tokens come out, rows apart, greedy and sampled, with and without the cache', async () => {
    const gpt = model();
    const seen: { ids: number[]; row: number }[] = [];
    const allow = (row: number) => (row === 0 ? [2, 5] : [7]);
    for (const useCache of [true, false]) {
      for (const temperature of [0, 1]) {
        const out = await gpt.generate([[1, 2], [3, 4]], {
          maxNewTokens: 6,
          temperature,
          seed: 1,
          useCache,
          logitsProcessor: (logits, ids, row) => {
            seen.push({ ids: [...ids], row });
            for (let i = 0; i < logits.length; i++) if (!allow(row).includes(i)) logits[i] = -Infinity;
          },
        });
        const rows = (await out.array()) as number[][];
        expect(rows[0].slice(2).every((t) => t === 2 || t === 5)).toBe(true);
        expect(rows[1].slice(2)).toEqual([7, 7, 7, 7, 7, 7]);
      }
    }
    // called with the row so far, prompt included
    expect(seen[0]).toEqual({ ids: [1, 2], row: 0 });
    expect(seen[3].ids.slice(0, 2)).toEqual([3, 4]);
    expect(seen[3].ids.length).toBe(3);
  });

  it('is not called for a row that has ended; without it generation is unchanged', async () => {
    const gpt = model();
    const plain = await (await gpt.generate([[1]], { maxNewTokens: 5, temperature: 0 })).array();
    const same = await (await gpt.generate([[1]], { maxNewTokens: 5, temperature: 0, logitsProcessor: () => {} })).array();
    expect(same).toEqual(plain);
    let calls = 0;
    await gpt.generate([[1], [1]], {
      maxNewTokens: 5,
      temperature: 0,
      stop: 9,
      logitsProcessor: (logits, _ids, row) => {
        calls++;
        logits.fill(-Infinity);
        logits[row === 0 ? 9 : 4] = 0; // row 0 stops at once
      },
    });
    expect(calls).toBe(1 + 5);
  });
});
