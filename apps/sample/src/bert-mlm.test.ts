import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertForMaskedLM, BertTokenizer, trainWordPiece } from '@dl/bert';
import { crossEntropy } from '@dl/layers';
import { Generator, manualSeed, tensor } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { englishText, splitAt } from './english-text.js';
import { mobyDickText } from './moby-dick.js';
import { runCli } from './test-helpers.js';
import { BERT_MLM_DEFAULTS, bertMlmConfig, loadMlmCorpus, maskBatch, maskedLogits, sampleWindows } from './train-bert-mlm.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dl-bert-mlm-'));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

// a model small enough for a test: the first 20,000 characters of each text, 1 layer, width 32, windows of 32 tokens
const tiny = ['--limit', '20000', '--vocab-size', '600', '--layers', '1', '--heads', '2', '--width', '32', '--seq-len', '32', '--batch-size', '8', '--lr', '1e-2', '--warmup', '2', '--eval-interval', '10'];

describe('the bert-mlm corpus', () => {
  it('splitAt cuts at the first whitespace at or after the fraction', () => {
    expect(splitAt('call me ishmael', 0.5)).toEqual(['call me', 'ishmael']);
    expect(splitAt('call me ishmael', 0.45)).toEqual(['call me', 'ishmael']);
    expect(splitAt('whale', 0.5)).toEqual(['whale', '']);
  });

  it('holds out the last 5% of the characters of each text: the end of the book and the addresses from 2007 on', () => {
    const [moby, sotu] = englishText();
    expect([moby.name, moby.train.length, moby.heldOut.length]).toEqual(['Moby-Dick', 1_152_356, 60_649]);
    expect([sotu.name, sotu.train.length, sotu.heldOut.length]).toEqual(['State of the Union', 10_222_059, 538_003]);
    const book = mobyDickText();
    expect(`${moby.train}${book[moby.train.length]}${moby.heldOut}`).toBe(book);
    expect(moby.heldOut.endsWith('only found another orphan.\n')).toBe(true);
    expect(sotu.heldOut.startsWith('At the same time, we need to reform and modernize fuel economy standards')).toBe(true); // 2007
  });

  it('the WordPiece vocabulary comes from the training part only; held-out windows are whole and fixed', () => {
    const corpus = loadMlmCorpus(600, 32, 20_000);
    const parts = englishText(20_000);
    expect(corpus.tokenizer.idsToTokens).toEqual(trainWordPiece(parts.map((p) => p.train), 600));
    expect(corpus.tokenizer.idsToTokens).not.toEqual(trainWordPiece(parts.map((p) => `${p.train} ${p.heldOut}`), 600));
    expect(corpus.heldOut.map((h) => h.name)).toEqual(['Moby-Dick', 'State of the Union']);
    for (const h of corpus.heldOut) {
      expect(h.windows.length).toBeGreaterThan(0);
      for (const w of h.windows) expect(w.length).toBe(30);
    }
    // the stream is both training parts, each closed by [SEP]
    const sep = corpus.tokenizer.sepTokenId;
    expect(corpus.train.filter((id) => id === sep).length).toBe(2);
    expect(corpus.train.at(-1)).toBe(sep);
  });

  it('windows are [CLS] 126 tokens [SEP]; masking chooses about 15% of the tokens, never [CLS] or [SEP]', () => {
    const { tokenizer: tok, train } = loadMlmCorpus(600, 128, 20_000);
    const g = new Generator(0);
    const rows = sampleWindows(train, 64, 128, tok, g);
    expect(rows.length).toBe(64 * 128);
    for (let b = 0; b < 64; b++) expect([rows[b * 128], rows[b * 128 + 127]]).toEqual([tok.clsTokenId, tok.sepTokenId]);
    const batch = maskBatch(rows, [64, 128], tok, BERT_MLM_DEFAULTS, g);
    const share = batch.positions.length / (64 * 126);
    expect(share).toBeGreaterThan(0.13);
    expect(share).toBeLessThan(0.17);
    let masked = 0;
    batch.positions.forEach((p, i) => {
      expect(p % 128).not.toBe(0);
      expect(p % 128).not.toBe(127);
      expect(batch.targets[i]).toBe(rows[p]); // the original token
      if (batch.inputIds[p] === tok.maskTokenId) masked++;
    });
    expect(masked / batch.positions.length).toBeGreaterThan(0.75);
    expect(masked / batch.positions.length).toBeLessThan(0.85);
    // untouched where not chosen
    const chosen = new Set(batch.positions);
    rows.forEach((id, i) => chosen.has(i) || expect(batch.inputIds[i]).toBe(id));
  });

  it("maskedLogits' loss is BertForMaskedLM's loss with labels -100 where not chosen", () => {
    const { tokenizer: tok, train } = loadMlmCorpus(600, 32, 20_000);
    manualSeed(0);
    const model = new BertForMaskedLM(bertMlmConfig({ layers: 1, heads: 2, width: 32, seqLen: 32, dropout: 0 }, tok.vocabSize)).eval();
    const g = new Generator(1);
    const batch = maskBatch(sampleWindows(train, 4, 32, tok, g), [4, 32], tok, BERT_MLM_DEFAULTS, g);
    const ours = crossEntropy(maskedLogits(model, batch, [4, 32], 'cpu'), tensor(batch.targets, { dtype: 'int32' })).item();
    const labels = new Int32Array(4 * 32).fill(-100);
    batch.positions.forEach((p, i) => (labels[p] = batch.targets[i]));
    const { loss } = model.forward(tensor(batch.inputIds, { shape: [4, 32], dtype: 'int32' }), { labels: tensor(labels, { shape: [4, 32], dtype: 'int32' }) });
    expect(ours).toBeCloseTo(loss.item(), 5);
  });
});

describe('dl train bert-mlm', () => {
  it('trains a tiny BERT: estimates every --eval-interval, checkpoint, loss.png, a Hugging Face folder; last line val mlm accuracy; --resume continues', async () => {
    const out = join(dir, 'run');
    const lines = await runCli(['train', 'bert-mlm', ...tiny, '--steps', '20', '--out', out]);
    expect(lines.at(-1)).toMatch(/^val mlm accuracy: 0\.\d{4}$/);
    const estimates = lines.filter((l) => /^step (10|20): held-out estimate \(\d+ windows, [\d,]+ masked tokens\): accuracy \d+\.\d\d%, loss \d+\.\d{4}, perplexity [\d.]+$/.test(l));
    expect(estimates).toHaveLength(2);
    const final = lines.find((l) => l.startsWith('held out: all '))!;
    expect(final).toMatch(/accuracy \d+\.\d\d%, loss \d+\.\d{4}, perplexity [\d.]+$/);
    // 20 steps learn the token frequencies: the held-out loss falls below ln(vocabulary), the untrained model's (5.8 against 6.4)
    const tok = await BertTokenizer.fromPretrained(out);
    expect(Number(/loss (\d+\.\d+)/.exec(final)![1])).toBeLessThan(0.95 * Math.log(tok.vocabSize));
    for (const f of ['checkpoint.safetensors', 'loss.png', 'config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const mlm = await BertForMaskedLM.fromPretrained(out);
    expect(mlm.config).toMatchObject({ numHiddenLayers: 1, hiddenSize: 32, numAttentionHeads: 2, intermediateSize: 128, maxPositionEmbeddings: 32, vocabSize: tok.vocabSize });

    const resumed = await runCli(['train', 'bert-mlm', ...tiny, '--steps', '25', '--out', out, '--resume']);
    expect(resumed).toContain(`resumed from ${join(out, 'checkpoint.safetensors')} at step 20`);
    expect(resumed.some((l) => /^training: 5 steps in /.test(l))).toBe(true);
    expect(resumed.at(-1)).toMatch(/^val mlm accuracy: 0\.\d{4}$/);
  });

  it('bad flags are named', async () => {
    await expect(runCli(['train', 'bert-mlm', '--width', '30', '--heads', '4'])).rejects.toThrow('--width (30) must be a multiple of --heads (4)');
    await expect(runCli(['train', 'bert-mlm', '--seq-len', '2'])).rejects.toThrow('--seq-len must be at least 3');
    await expect(runCli(['train', 'bert-mlm', '--steps', '0'])).rejects.toThrow("--steps must be a positive integer, got '0'");
    await expect(runCli(['train', 'bert-mlm', '--mlm-probability', '1.5'])).rejects.toThrow("--mlm-probability must be a number from 0.01 to below 1, got '1.5'");
    await expect(runCli(['train', 'bert-mlm', '--max-length', '64'])).rejects.toThrow('--max-length is not an option of bert-mlm');
    await expect(runCli(['train', 'bert-mlm', '--limit', '200', '--seq-len', '128', '--out', join(dir, 'short')])).rejects.toThrow(/the text is too short for windows of 126 tokens \(--seq-len 128 - 2\): [\d,]+ training tokens and 0 held-out windows/);
  });
});
