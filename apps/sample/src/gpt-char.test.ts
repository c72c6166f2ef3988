import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '@dl/transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliWrites } from './test-helpers.js';
import { loadMobyDick } from './moby-dick.js';
import { GPT_CHAR_DEFAULTS, gptCharConfig } from './train-gpt-char.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dl-gpt-char-'));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const lines = (writes: string[]) => writes.join('').trim().split('\n');

// a model small enough for a test: 1 layer, width 32, 16 characters of context, the first 20,000 characters
const tiny = ['--limit', '20000', '--layers', '1', '--heads', '2', '--width', '32', '--block-size', '16', '--batch-size', '8', '--lr', '1e-2', '--warmup', '2', '--eval-interval', '10', '--eval-iters', '2'];

describe('dl train gpt-char', () => {
  it('Moby-Dick: vocabulary from the whole book, the first 90% of its characters train, the last 10% validate', () => {
    const { text, tokenizer, train, val } = loadMobyDick();
    expect(text.length).toBe(1_213_006);
    expect(tokenizer.vocabSize).toBe(89);
    expect([train.length, val.length]).toEqual([1_091_705, 121_301]);
    expect(tokenizer.decode(train.subarray(0, 8))).toBe('CONTENTS');
    expect(tokenizer.decode(train) + tokenizer.decode(val)).toBe(text);
    expect(tokenizer.decode(val).endsWith('only found another orphan.\n')).toBe(true);
  });

  it("the default model is nanoGPT's CPU GPT: 4 layers, 4 heads, 128 wide, block 64 (0.80M parameters for 89 characters)", () => {
    const model = new GPT(gptCharConfig(GPT_CHAR_DEFAULTS, 89));
    expect(model.config).toMatchObject({ nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, vocabSize: 89, dropout: 0 });
    expect(model.getNumParams()).toBe(804_736);
  });

  it('trains a tiny model: estimates and samples every --eval-interval, checkpoint, loss.png, GPT-2 folder; last line val loss; --resume continues', async () => {
    const out = join(dir, 'run');
    const first = lines(await runCliWrites(['train', 'gpt-char', ...tiny, '--steps', '20', '--out', out]));
    expect(first.at(-1)).toMatch(/^val loss: \d+\.\d{4}$/);
    expect(first.filter((l) => /^step (10|20): train loss \d\.\d{4}, val loss \d\.\d{4}/.test(l)).length).toBe(2);
    expect(first.filter((l) => /^sample at step (10|20):$/.test(l)).length).toBe(2);
    // an untrained model costs about ln(vocabulary) nats per character; 20 steps learn the letter frequencies
    const vocab = loadMobyDick(20_000).tokenizer.vocabSize;
    expect(Number(first.at(-1)!.split(': ')[1])).toBeLessThan(0.85 * Math.log(vocab));
    for (const f of ['checkpoint.safetensors', 'loss.png', 'hf/config.json', 'hf/model.safetensors', 'hf/chars.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const hf = await GPT.fromPretrained(join(out, 'hf'));
    expect(hf.config).toMatchObject({ nLayer: 1, nEmbd: 32, blockSize: 16, vocabSize: vocab });
    expect(JSON.parse(readFileSync(join(out, 'hf', 'chars.json'), 'utf8')).chars).toHaveLength(vocab);

    const resumed = lines(await runCliWrites(['train', 'gpt-char', ...tiny, '--steps', '25', '--out', out, '--resume']));
    expect(resumed).toContain(`resumed from ${join(out, 'checkpoint.safetensors')} at step 20`);
    expect(resumed.some((l) => /^training: 5 steps in /.test(l))).toBe(true);
    expect(resumed.at(-1)).toMatch(/^val loss: \d+\.\d{4}$/);
  });

  it('dl generate gpt-char streams the prompt and then one write per character; greedy text is the same with and without the KV cache', async () => {
    const ckpt = join(dir, 'run', 'checkpoint.safetensors');
    const gen = (...more: string[]) => runCliWrites(['generate', 'gpt-char', '--checkpoint', ckpt, '--prompt', 'Call me', '--max-new-tokens', '40', '--temperature', '0', ...more]);
    const cached = await gen();
    const text = lines(cached);
    expect(text[1]).toMatch(/^loaded .*checkpoint\.safetensors \(step 25, [\d,]+ parameters, vocabulary \d+\)$/);
    expect(text.at(-1)).toMatch(/^tokens\/s: \d+(\.\d)?$/);
    const start = cached.indexOf('Call me');
    expect(start).toBeGreaterThan(0);
    const pieces = cached.slice(start + 1, start + 41);
    expect(pieces.every((p) => [...p].length === 1)).toBe(true); // streamed: one character per write
    const uncached = await gen('--no-cache');
    expect(uncached.slice(start, start + 41)).toEqual(cached.slice(start, start + 41));
    // 40 new characters pass the 16-character block: the window slides on both paths
    await expect(runCliWrites(['generate', 'gpt-char', '--checkpoint', ckpt, '--prompt', 'Call me \u{1F40B}'])).rejects.toThrow(/character "\u{1F40B}" \(U\+1F40B\) at index 8 is not in the vocabulary/u);
    await expect(runCliWrites(['generate', 'gpt-char'])).rejects.toThrow('dl generate gpt-char needs --checkpoint');
  });
});
