// Shared by the model tests: the committed fixtures made by ../scripts/make_bert_fixture.py
// (a tiny BERT in plain PyTorch with transformers' names and math). Not exported from the package.
import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';

export const fixturePath = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname;

let io: Record<string, Tensor> | null = null;

/** bert-tiny-io.safetensors' tensor `key` (inputs, expected outputs, gradients); throws when it is missing. */
export function expected(key: string): Tensor {
  io ??= parseSafetensors(new Uint8Array(readFileSync(fixturePath('bert-tiny-io.safetensors')))).tensors;
  const t = io[key];
  if (!t) throw new Error(`bert-tiny-io.safetensors has no ${key}`);
  return t;
}

/** A fixture folder's model.safetensors, parsed. */
export function folderTensors(folder: string): Record<string, Tensor> {
  return parseSafetensors(new Uint8Array(readFileSync(fixturePath(`${folder}/model.safetensors`)))).tensors;
}

/** A fixture folder's config.json, parsed. */
export function folderConfig(folder: string): Record<string, unknown> {
  return JSON.parse(readFileSync(fixturePath(`${folder}/config.json`), 'utf8')) as Record<string, unknown>;
}

/** The padded batch every fixture output was computed for. */
export const batch = (): { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor } => ({
  inputIds: expected('input_ids'),
  attentionMask: expected('attention_mask'),
  tokenTypeIds: expected('token_type_ids'),
});
