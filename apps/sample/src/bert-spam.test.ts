import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertForMaskedLM, BertForSequenceClassification, BertTokenizer, trainWordPiece } from '@dl/bert';
import { manualSeed } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { englishText } from './english-text.js';
import { runCli } from './test-helpers.js';
import { bertMlmConfig } from './train-bert-mlm.js';

let dir = '';
let pretrained = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-bert-spam-'));
  // a stand-in for a `dl train bert-mlm` folder: a tiny untrained BERT and a vocabulary from a little English
  pretrained = join(dir, 'mlm');
  const tok = new BertTokenizer(trainWordPiece(englishText(20_000).map((p) => p.train), 600));
  manualSeed(7); // not the task's seed 0, so the scratch model starts elsewhere
  await new BertForMaskedLM(bertMlmConfig({ layers: 1, heads: 2, width: 32, seqLen: 32, dropout: 0 }, tok.vocabSize)).savePretrained(pretrained);
  await tok.savePretrained(pretrained);
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const tiny = ['--limit', '48', '--max-length', '32', '--batch-size', '8', '--lr', '1e-3', '--epochs', '1'];

describe('dl train bert-spam', () => {
  it('fine-tunes the checkpoint and the same model from scratch; writes both as Hugging Face folders; last line the pretrained test accuracy', async () => {
    const out = join(dir, 'run');
    const lines = await runCli(['train', 'bert-spam', ...tiny, '--checkpoint', pretrained, '--out', out]);
    expect(lines.at(-1)).toMatch(/^test accuracy: [01]\.\d{4}$/);
    expect(lines.find((l) => l.startsWith('data: '))).toMatch(/6,046 messages .* 48 train \(\d+ spam\) \/ 48 test \(\d+ spam\): 20\.00% of each class held out, seed 0/);
    const tuned = lines.find((l) => l.startsWith(`fine-tuned from ${pretrained}: `))!;
    const scratch = lines.find((l) => l.startsWith('the same model from scratch: '))!;
    for (const l of [tuned, scratch]) expect(l).toMatch(/test accuracy [01]\.\d{4} \(spam caught \d+\/\d+, ham flagged \d+\/\d+\); 6 steps in /);
    expect(lines.at(-1)).toBe(`test accuracy: ${/test accuracy ([01]\.\d{4})/.exec(tuned)![1]}`);
    expect(lines.some((l) => /^pretraining gives -?\d+\.\d\d points of test accuracy/.test(l))).toBe(true);
    for (const f of ['loss-pretrained.png', 'loss-scratch.png', 'pretrained/config.json', 'pretrained/model.safetensors', 'pretrained/vocab.txt', 'scratch/config.json', 'scratch/model.safetensors']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const clf = await BertForSequenceClassification.fromPretrained(join(out, 'pretrained'), { strict: true });
    expect(clf.config).toMatchObject({ numLabels: 2, hiddenSize: 32, numHiddenLayers: 1 });
    expect(JSON.parse(readFileSync(join(out, 'pretrained', 'config.json'), 'utf8')).id2label).toEqual({ 0: 'ham', 1: 'spam' });
    // the encoder of the fine-tuned model started from the checkpoint, the scratch one did not
    const start = await BertForMaskedLM.fromPretrained(pretrained);
    const scratchModel = await BertForSequenceClassification.fromPretrained(join(out, 'scratch'));
    const dist = (m: BertForSequenceClassification) => m.bert.embeddings.positionEmbeddings.weight.sub(start.bert.embeddings.positionEmbeddings.weight).abs().max().item();
    expect(dist(clf)).toBeLessThan(0.02); // 6 steps of lr 1e-3 move each weight by at most ~6e-3
    expect(dist(scratchModel)).toBeGreaterThan(0.02);
  });

  it('--no-baseline trains the pretrained model only', async () => {
    const lines = await runCli(['train', 'bert-spam', ...tiny, '--checkpoint', pretrained, '--out', join(dir, 'only'), '--no-baseline']);
    expect(lines.some((l) => l.startsWith('the same model from scratch'))).toBe(false);
    expect(existsSync(join(dir, 'only', 'scratch'))).toBe(false);
    expect(lines.at(-1)).toMatch(/^test accuracy: [01]\.\d{4}$/);
  });

  it('says to run bert-mlm first when the checkpoint is missing; bad flags are named', async () => {
    await expect(runCli(['train', 'bert-spam', '--checkpoint', join(dir, 'none')])).rejects.toThrow(
      `no pretrained BERT in ${join(dir, 'none')} (it needs config.json, model.safetensors and vocab.txt): run \`dl train bert-mlm\` first (it writes runs/bert-mlm), or pass --checkpoint DIR`,
    );
    await expect(runCli(['train', 'bert-spam', '--checkpoint', pretrained, '--max-length', '64'])).rejects.toThrow(`--max-length 64 is more than the 32 positions of the model in ${pretrained}`);
    await expect(runCli(['train', 'bert-spam', '--max-length', '2'])).rejects.toThrow('--max-length must be at least 3');
    await expect(runCli(['train', 'bert-spam', '--test-fraction', '1'])).rejects.toThrow("--test-fraction must be a number from 0.01 to below 1, got '1'");
    await expect(runCli(['train', 'bert-spam', '--vocab-size', '100'])).rejects.toThrow('--vocab-size is not an option of bert-spam');
  });
});
