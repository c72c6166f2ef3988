import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BertModel, BertTokenizer } from '@dl/bert';
import { TokenVocabulary } from '@dl/chains';
import { BPETokenizer, CharTokenizer, GPT, type Tokenizer } from '@dl/transformer';
import { loadGptChar } from '../train-gpt-char.js';

/** A language model the server generates with: a GPT and its tokenizer. */
export interface TextModel {
  kind: 'text';
  name: string;
  /** where it came from (shown by /v1/models as owned_by's neighbour, and in logs) */
  source: string;
  model: GPT;
  tokenizer: Tokenizer;
  /** token ids that end a reply (GPT-2's <|endoftext|>); none for a character model */
  eos: number[];
  /** the tokens' bytes, built on first use by constrained decoding */
  vocabulary(): TokenVocabulary;
  created: number;
}

/** An embedding model: a BERT encoder, mean-pooled. */
export interface EmbeddingModel {
  kind: 'embedding';
  name: string;
  source: string;
  model: BertModel;
  tokenizer: BertTokenizer;
  created: number;
}

export type ServedModel = TextModel | EmbeddingModel;

/** `name=path` of --model (a bare path is named after its file or folder; a checkpoint.safetensors after its folder). */
export function parseModelSpec(spec: string): { name: string; path: string } {
  const eq = spec.indexOf('=');
  if (eq === 0) throw new Error(`--model ${spec}: the name before '=' is empty`);
  if (eq > 0) {
    const path = spec.slice(eq + 1);
    if (!path) throw new Error(`--model ${spec}: the path after '=' is empty`);
    return { name: spec.slice(0, eq), path };
  }
  const parts = spec.replace(/[/\\]+$/, '').split(/[/\\]/);
  // runs/gpt-char/checkpoint.safetensors is named after its run folder
  const last = parts.at(-1) === 'checkpoint.safetensors' && parts.length > 1 ? parts.at(-2)! : parts.at(-1)!;
  return { name: last.replace(/\.safetensors$/, ''), path: spec };
}

/**
 * Loads a model for serving from:
 * - a `dl train gpt-char` checkpoint file (checkpoint.safetensors), or the run's folder holding one;
 * - a Hugging Face GPT-2 folder (config.json with model_type gpt2 + model.safetensors) with its
 *   tokenizer (tokenizer.json, or vocab.json + merges.txt, or the chars.json that gpt-char writes);
 * - a Hugging Face BERT folder (model_type bert, vocab.txt): an embedding model.
 *
 *   const m = await loadServedModel('gpt-char', 'runs/gpt-char/checkpoint.safetensors', 'cpu');
 */
export async function loadServedModel(name: string, path: string, device: string): Promise<ServedModel> {
  if (!existsSync(path)) throw new Error(`--model ${name}=${path}: no such file or folder`);
  const created = Math.floor(statSync(path).mtimeMs / 1000);
  if (statSync(path).isFile()) return gptChar(name, path, device, created);
  const config = join(path, 'config.json');
  if (!existsSync(config)) {
    const ckpt = join(path, 'checkpoint.safetensors');
    if (existsSync(ckpt)) return gptChar(name, ckpt, device, created);
    throw new Error(`--model ${name}=${path}: the folder holds neither config.json (a Hugging Face folder) nor checkpoint.safetensors (a dl train gpt-char run)`);
  }
  const type = (JSON.parse(readFileSync(config, 'utf8')) as { model_type?: string }).model_type;
  if (type === 'bert') {
    const [model, tokenizer] = await Promise.all([BertModel.fromPretrained(path), BertTokenizer.fromPretrained(path)]);
    return { kind: 'embedding', name, source: path, model: model.to(device).eval(), tokenizer, created };
  }
  if (type !== undefined && type !== 'gpt2') throw new Error(`--model ${name}=${path}: model_type '${type}' is not served (gpt2 for text, bert for embeddings)`);
  const model = await GPT.fromPretrained(path, { device });
  const chars = join(path, 'chars.json');
  const tokenizer = existsSync(chars) ? CharTokenizer.fromJSON(JSON.parse(readFileSync(chars, 'utf8')) as { chars: string }) : await BPETokenizer.fromPretrained(path);
  if (tokenizer.vocabSize > model.config.vocabSize) throw new Error(`--model ${name}=${path}: the tokenizer has ${tokenizer.vocabSize} tokens, the model only ${model.config.vocabSize}`);
  const eos = tokenizer instanceof BPETokenizer ? [...tokenizer.specialTokens.values()] : [];
  return textModel(name, path, model, tokenizer, eos, created);
}

async function gptChar(name: string, file: string, device: string, created: number): Promise<TextModel> {
  const { model, tokenizer } = await loadGptChar(file, device);
  return textModel(name, file, model, tokenizer, [], created);
}

function textModel(name: string, source: string, model: GPT, tokenizer: Tokenizer, eos: number[], created: number): TextModel {
  let vocab: TokenVocabulary | undefined;
  return { kind: 'text', name, source, model: model.eval(), tokenizer, eos, created, vocabulary: () => (vocab ??= TokenVocabulary.fromTokenizer(tokenizer)) };
}

/** Frees every model's weights. */
export function disposeModels(models: Iterable<ServedModel>): void {
  for (const m of models) for (const t of new Set(Object.values(m.model.stateDict()))) t.dispose(); // tied weights once
}
