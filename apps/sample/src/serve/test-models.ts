/**
 * Tiny random models for the serve tests (and anyone trying `dl serve` without training): a
 * character GPT saved as a `dl train gpt-char` checkpoint, a GPT-2 folder with a byte-level BPE
 * tokenizer, and a BERT folder with a WordPiece vocabulary trained on a few sentences.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BertModel, BertTokenizer, trainWordPiece } from '@dl/bert';
import { saveCheckpoint } from '@dl/layers';
import { manualSeed } from '@dl/tensor';
import { BPETokenizer, CharTokenizer, GPT, type GPTConfig } from '@dl/transformer';

/** Letters, digits, punctuation, JSON's characters and the chat template's: what the tests type. */
export const TEST_CHARS = '\n !"#\'(),-.0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]_abcdefghijklmnopqrstuvwxyz{}';

const SENTENCES = [
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.',
  'The whale is a mammal that lives in the sea, and the ship sailed after the white whale.',
  'It is a way I have of driving off the spleen and regulating the circulation.',
  'The harpooneer threw his harpoon at the whale from the boat.',
  'Whenever I find myself growing grim about the mouth, I account it high time to get to sea.',
];

/** A random character GPT written as a gpt-char checkpoint (config and characters in its metadata); `chars` defaults to TEST_CHARS. */
export async function makeCharCheckpoint(file: string, { blockSize = 256, seed = 0, chars = TEST_CHARS }: { blockSize?: number; seed?: number; chars?: string } = {}): Promise<void> {
  manualSeed(seed);
  const tokenizer = new CharTokenizer(chars);
  const config: Partial<GPTConfig> = { vocabSize: tokenizer.vocabSize, blockSize, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, activation: 'gelu' };
  mkdirSync(dirname(file), { recursive: true });
  await saveCheckpoint(file, { model: new GPT(config), step: 0, extra: { config, tokenizer: tokenizer.toJSON() } });
}

/** A random GPT-2 folder (config.json, model.safetensors) with @dl/transformer's tiny byte-level BPE tokenizer fixture. */
export async function makeBpeFolder(dir: string, seed = 1): Promise<void> {
  const fixture = join(dirname(createRequire(import.meta.url).resolve('@dl/transformer/package.json')), 'fixtures', 'bpe-tiny');
  const tokenizer = await BPETokenizer.fromPretrained(fixture);
  manualSeed(seed);
  await new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 256, nLayer: 1, nHead: 2, nEmbd: 16 }).savePretrained(dir);
  for (const f of ['vocab.json', 'merges.txt']) copyFileSync(join(fixture, f), join(dir, f));
}

/** A random BERT folder with a WordPiece vocabulary trained on a few sentences (config.json, model.safetensors, vocab.txt). */
export async function makeBertFolder(dir: string, seed = 2): Promise<void> {
  const tokenizer = new BertTokenizer(trainWordPiece(SENTENCES, 200));
  manualSeed(seed);
  await new BertModel({ vocabSize: tokenizer.vocabSize, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 64 }).savePretrained(dir);
  await tokenizer.savePretrained(dir);
}
