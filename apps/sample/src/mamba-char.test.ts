import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MambaLM } from '@dl/mamba';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMobyDick } from './moby-dick.js';
import { runCli } from './test-helpers.js';
import { GPT_CHAR_DEFAULTS } from './train-gpt-char.js';
import { MAMBA_CHAR_DEFAULTS, mambaCharConfig } from './train-mamba-char.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dl-mamba-char-'));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

// a model small enough for a test: 1 layer, width 16, 16 characters of context, the first 20,000 characters
const tiny = ['--limit', '20000', '--layers', '1', '--width', '16', '--d-state', '4', '--block-size', '16', '--batch-size', '4', '--lr', '1e-2', '--warmup', '2', '--eval-interval', '6', '--eval-iters', '1'];

describe('dl train mamba-char', () => {
  it("gpt-char's data, split, batch, block, schedule and steps; a Mamba of 7 layers at width 128 (828,672 parameters for 89 characters, padded to 96)", () => {
    const { layers, width, dState, out, ...recipe } = MAMBA_CHAR_DEFAULTS;
    const { layers: _l, heads: _h, width: _w, dropout: _d, out: _o, ...gpt } = GPT_CHAR_DEFAULTS;
    expect(recipe).toEqual(gpt);
    expect([layers, width, dState, out]).toEqual([7, 128, 16, 'runs/mamba-char']);
    const model = new MambaLM(mambaCharConfig(MAMBA_CHAR_DEFAULTS, 89));
    expect(model.numParameters()).toBe(828_672);
    expect(model.paddedVocabSize).toBe(96);
  });

  it('trains a tiny model: estimates and samples every --eval-interval, checkpoint, state-spaces folder; last line val loss; dl generate reads the checkpoint', async () => {
    const out = join(dir, 'run');
    const lines = await runCli(['train', 'mamba-char', ...tiny, '--steps', '12', '--out', out]);
    expect(lines.at(-1)).toMatch(/^val loss: \d+\.\d{4}$/);
    expect(lines.filter((l) => /^step (6|12): train loss \d\.\d{4}, val loss \d\.\d{4}/.test(l)).length).toBe(2);
    expect(lines.some((l) => /^model: Mamba \(1 layers, width 16, d_state 4, d_conv 4, expand 2, block 16\), [\d,]+ parameters/.test(l))).toBe(true);
    const vocab = loadMobyDick(20_000).tokenizer.vocabSize;
    expect(Number(lines.at(-1)!.split(': ')[1])).toBeLessThan(Math.log(vocab));
    for (const f of ['checkpoint.safetensors', 'loss.png', 'hf/config.json', 'hf/model.safetensors', 'hf/chars.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const hf = await MambaLM.fromPretrained(join(out, 'hf'));
    expect(hf.config).toMatchObject({ nLayer: 1, dModel: 16, dState: 4, vocabSize: vocab });
    const gen = await runCli(['generate', 'mamba-char', '--checkpoint', join(out, 'checkpoint.safetensors'), '--prompt', 'Call me', '--max-new-tokens', '10', '--temperature', '0']);
    expect(gen.at(-1)).toMatch(/^tokens\/s: \d+(\.\d)?$/);
    expect(gen.some((l) => l.startsWith('Call me') && l.length === 17)).toBe(true);
  });
});
