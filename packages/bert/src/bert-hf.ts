/**
 * Hugging Face's BERT folder format: `config.json` (BertConfig) and `model.safetensors`. A
 * checkpoint may hold a bare BertModel's keys (`embeddings.word_embeddings.weight`) or a head's
 * `bert.`-prefixed ones, TensorFlow's old LayerNorm names (`gamma` / `beta`), the `position_ids`
 * buffer, the tied decoder weight and bias (stored or not) and heads this model does not have
 * (`cls.seq_relationship` of BertForPreTraining, a classifier, a pooler). These are mapped onto
 * the model's own names, which equal transformers' for the same class.
 */
import { fmt, type Tensor } from '@dl/tensor';
import type { Module, StateDict } from '@dl/layers';
import { ConfigError, readPretrainedFolder, writePretrainedFolder } from '@dl/transformer';
import { bertConfig, bertConfigFromJson, bertConfigToJson, type BertConfig } from './config.js';

export interface BertLoadOptions {
  /** where the loaded model lives (default 'cpu') */
  device?: string;
  /** settings over config.json's: `{ numLabels: 2 }` to fine-tune a pretrained BERT, dropout rates, ... */
  config?: Partial<BertConfig>;
  /**
   * false: a head (pooler, MLM head, classifier) of which the checkpoint holds no tensor at all is
   * freshly initialised, as transformers does; true: that is a missing-keys error too
   */
  strict?: boolean;
}

/** What loadBertWeights did beyond copying tensors. */
export interface BertLoadReport<M> {
  /** the model, in eval mode, on the device asked for */
  model: M;
  /** the model's tensors the checkpoint had no value for (a whole head), left as initialised */
  newlyInitialized: string[];
  /** the checkpoint's tensors the model has no place for (other heads, buffers), skipped */
  ignored: string[];
}

type BertLike = Module & { readonly config: Readonly<BertConfig> };

const WORD = 'bert.embeddings.word_embeddings.weight';
const DECODER_WEIGHT = 'cls.predictions.decoder.weight';
const DECODER_BIAS = 'cls.predictions.decoder.bias';
const MLM_BIAS = 'cls.predictions.bias';
/** parts a checkpoint may hold or lack as a whole; absent ones start fresh (not strict) */
const HEADS = ['bert.pooler.', 'cls.predictions.', 'classifier.'];
/** what no class here has: BertForPreTraining's next-sentence head, and buffers */
const isForeign = (k: string): boolean => k.startsWith('cls.seq_relationship.') || /^bert\.embeddings\.(position_ids|token_type_ids)$/.test(k);

/**
 * A checkpoint's tensors under the full transformers names of a BERT head model: `bert.` put in
 * front of a bare BertModel's keys, and TensorFlow's LayerNorm `gamma` / `beta` renamed `weight` /
 * `bias` (as transformers does on load).
 *
 *   normalizeBertKeys({ 'embeddings.LayerNorm.gamma': g }); // { 'bert.embeddings.LayerNorm.weight': g }
 */
export function normalizeBertKeys(tensors: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, v] of Object.entries(tensors)) {
    let k = key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (/^(embeddings|encoder|pooler)\./.test(k)) k = `bert.${k}`;
    out[k] = v;
  }
  return out;
}

/** Compares the sizes the weights imply with the config; one ConfigError naming every disagreement, the keys and both sizes. */
function checkAgainstConfig(c: Readonly<BertConfig>, sd: Record<string, Tensor>, where: string, op: string, classifier: boolean): void {
  const problems: { msg: string; keys: string[] }[] = [];
  const expect = (key: string, want: number[], fields: [string, number][]): void => {
    const got = sd[key]?.shape;
    if (got && (got.length !== want.length || got.some((d, i) => d !== want[i]))) {
      problems.push({ msg: `${fields.map(([f, v]) => `${f} ${v}`).join(' and ')} give ${key} ${fmt(want)}, but it is ${fmt(got)}`, keys: [...fields.map(([f]) => f), key] });
    }
  };
  const H: [string, number] = ['hidden_size', c.hiddenSize];
  expect(WORD, [c.vocabSize, c.hiddenSize], [['vocab_size', c.vocabSize], H]);
  expect('bert.embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, c.hiddenSize], [['max_position_embeddings', c.maxPositionEmbeddings], H]);
  expect('bert.embeddings.token_type_embeddings.weight', [c.typeVocabSize, c.hiddenSize], [['type_vocab_size', c.typeVocabSize], H]);
  expect('bert.encoder.layer.0.intermediate.dense.weight', [c.intermediateSize, c.hiddenSize], [['intermediate_size', c.intermediateSize], H]);
  expect(DECODER_WEIGHT, [c.vocabSize, c.hiddenSize], [['vocab_size', c.vocabSize], H]);
  if (classifier) expect('classifier.weight', [c.numLabels, c.hiddenSize], [['num_labels', c.numLabels], H]);
  const layers = new Set(Object.keys(sd).flatMap((k) => /^bert\.encoder\.layer\.(\d+)\./.exec(k)?.[1] ?? []));
  if (layers.size && layers.size !== c.numHiddenLayers) {
    const held = [...layers].map(Number).sort((a, b) => a - b);
    problems.push({ msg: `num_hidden_layers ${c.numHiddenLayers} but the weights hold ${held.length} layers (layer.${held.join(', layer.')})`, keys: ['num_hidden_layers', ...held.map((i) => `bert.encoder.layer.${i}`)] });
  }
  if (problems.length) throw new ConfigError(op, `${where} does not match the weights: ${problems.map((p) => p.msg).join('; ')}`, problems.flatMap((p) => p.keys));
}

/**
 * Loads a BERT checkpoint's tensors (any layout above) into `model` (a BertModel, BertForMaskedLM or
 * BertForSequenceClassification), after checking them against its config: ConfigError for sizes
 * that disagree with it, StateDictError (loadStateDict, strict) naming missing, unexpected and
 * misshapen tensors with both shapes. Then moves it to `device` and sets eval mode.
 *
 *   const { model, newlyInitialized } = loadBertWeights(new BertForSequenceClassification(config), tensors);
 *   newlyInitialized; // ['classifier.weight', 'classifier.bias'] from a pretrained BERT
 */
export function loadBertWeights<M extends BertLike>(model: M, tensors: Record<string, Tensor>, opts: BertLoadOptions & { where?: string } = {}): BertLoadReport<M> {
  const { device, strict = false, where = 'the checkpoint' } = opts;
  const op = `${model.constructor.name}.fromPretrained`;
  const src = normalizeBertKeys(tensors);
  const target = model.stateDict();
  // a BertModel's own names have no prefix; every head's start with `bert.`
  const bare = Object.hasOwn(target, 'embeddings.word_embeddings.weight');
  const full = (k: string): string => (bare ? `bert.${k}` : k);
  const targetFull = new Set(Object.keys(target).map(full));
  checkAgainstConfig(model.config, src, `the config of ${where}`, op, targetFull.has('classifier.weight'));

  const sd: StateDict = {};
  const used = new Set<string>();
  const take = (name: string, ...keys: string[]): void => {
    const k = keys.find((key) => Object.hasOwn(src, key));
    if (k === undefined) return; // reported missing by loadStateDict
    sd[name] = src[k];
    used.add(k);
  };
  for (const name of Object.keys(target)) {
    const f = full(name);
    // tied: the decoder's weight is the word-embedding table and its bias is cls.predictions.bias,
    // whatever the file holds under the decoder's own names
    if (f === DECODER_WEIGHT) take(name, WORD);
    else if (f === DECODER_BIAS || f === MLM_BIAS) take(name, MLM_BIAS, DECODER_BIAS);
    else take(name, f);
  }
  used.add(DECODER_WEIGHT).add(DECODER_BIAS); // stored copies of tied tensors: checked for size above, values taken from the tied ones

  const newlyInitialized: string[] = [];
  for (const head of HEADS) {
    const names = Object.keys(target).filter((n) => full(n).startsWith(head) && full(n) !== DECODER_WEIGHT);
    const present = Object.keys(src).some((k) => k.startsWith(head) && k !== DECODER_WEIGHT);
    if (strict || present || !names.length) continue;
    for (const n of names) {
      sd[n] = target[n]; // keeps its initial values
      newlyInitialized.push(n);
    }
  }
  const ignored: string[] = [];
  for (const k of Object.keys(src)) {
    if (used.has(k)) continue;
    // a part this model does not have: another head, a pooler, a buffer; anything else is unexpected
    const otherPart = isForeign(k) || (HEADS.some((h) => k.startsWith(h)) && !HEADS.some((h) => k.startsWith(h) && [...targetFull].some((t) => t.startsWith(h))));
    if (otherPart) ignored.push(k);
    else sd[k] = src[k];
  }
  model.loadStateDict(sd, { strict: true });
  if (device && device !== 'cpu') model.to(device);
  model.eval();
  return { model, newlyInitialized, ignored };
}

/**
 * config.json (with `overrides` over it) and the tensors of model.safetensors (Node); errors name
 * `op` and the file.
 *
 *   const { config, tensors } = await readBertFolder('models/bert', 'BertModel.fromPretrained');
 */
export async function readBertFolder(dir: string, op: string, overrides: Partial<BertConfig> = {}): Promise<{ config: Readonly<BertConfig>; tensors: Record<string, Tensor> }> {
  const { json, tensors, configPath } = await readPretrainedFolder(dir, op);
  const fromJson = bertConfigFromJson(json, configPath, op);
  if (!Object.keys(overrides).length) return { config: fromJson, tensors };
  // a new label count drops config.json's label names unless they still fit
  const relabel = overrides.numLabels !== undefined && overrides.id2label === undefined && fromJson.id2label?.length !== overrides.numLabels;
  const config = bertConfig({ ...fromJson, ...overrides, ...(relabel ? { id2label: null } : {}) }, op);
  return { config, tensors };
}

/**
 * Writes config.json and model.safetensors for `architecture`, the tied decoder weight and bias
 * left out (transformers ties them again on load), each file atomically.
 *
 *   await writeBertFolder('runs/bert', model.config, 'BertForMaskedLM', model.stateDict());
 */
export async function writeBertFolder(dir: string, config: Readonly<BertConfig>, architecture: string, sd: StateDict): Promise<void> {
  const json = bertConfigToJson(config, architecture);
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sd)) if (k !== DECODER_WEIGHT && k !== DECODER_BIAS) out[k] = v;
  await writePretrainedFolder(dir, json, out);
}
