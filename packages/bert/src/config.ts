/**
 * BertConfig: Hugging Face's BertConfig fields in camelCase, with the mapping to and from its
 * config.json (snake_case) so a folder moves between this package and `transformers` unchanged.
 */
import { DLError, ShapeError } from '@dl/tensor';
import { ConfigError, activationFromHF, activationToHF, configNumber, type MLPActivation } from '@dl/transformer';

/** How BertForSequenceClassification turns labels into a loss (transformers' `problem_type`). */
export type BertProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

export interface BertConfig {
  /** 30522; the WordPiece vocabulary (bert-base-uncased's) */
  vocabSize: number;
  /** 768; the model width */
  hiddenSize: number;
  /** 12; encoder layers */
  numHiddenLayers: number;
  /** 12; attention heads (hiddenSize must divide by it) */
  numAttentionHeads: number;
  /** 3072; the feed-forward width */
  intermediateSize: number;
  /** 'gelu' (exact, erf, as BERT); 'geluTanh' is transformers' gelu_new */
  hiddenAct: MLPActivation;
  /** 0.1; dropout on the embeddings and each residual branch while training */
  hiddenDropoutProb: number;
  /** 0.1; dropout on the attention weights while training */
  attentionProbsDropoutProb: number;
  /** 512; the longest sequence */
  maxPositionEmbeddings: number;
  /** 2; segment ids (token types) 0 .. typeVocabSize - 1 */
  typeVocabSize: number;
  /** 0.02; standard deviation of the initial weights */
  initializerRange: number;
  /** 1e-12; LayerNorm epsilon */
  layerNormEps: number;
  /** 0; the [PAD] id: its word embedding starts at zero and gets no gradient (null: none) */
  padTokenId: number | null;
  /** 2; BertForSequenceClassification's outputs (transformers' num_labels) */
  numLabels: number;
  /** null: hiddenDropoutProb; dropout before the classifier */
  classifierDropout: number | null;
  /** null: regression when numLabels is 1, else single-label classification */
  problemType: BertProblemType | null;
  /** null: LABEL_0, LABEL_1, ...; the name of each label (transformers' id2label) */
  id2label: readonly string[] | null;
}

/** bert-base-uncased; every option of `new BertModel({...})` left out takes its value here. */
export const defaultBertConfig: Readonly<BertConfig> = Object.freeze({
  vocabSize: 30522,
  hiddenSize: 768,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  hiddenAct: 'gelu',
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  initializerRange: 0.02,
  layerNormEps: 1e-12,
  padTokenId: 0,
  numLabels: 2,
  classifierDropout: null,
  problemType: null,
  id2label: null,
});

const PROBLEM_TYPES: readonly string[] = ['regression', 'single_label_classification', 'multi_label_classification'];
const ACTIVATIONS: readonly string[] = ['gelu', 'geluTanh', 'relu', 'silu'];

/**
 * The full config from a partial one (defaults filled in), checked: typed errors name the field.
 *
 *   const c = bertConfig({ vocabSize: 8000, hiddenSize: 256, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 1024 });
 */
export function bertConfig(partial: Partial<BertConfig> = {}, owner = 'BertConfig'): Readonly<BertConfig> {
  const c: BertConfig = { ...defaultBertConfig, ...partial };
  for (const k of ['vocabSize', 'hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'maxPositionEmbeddings', 'typeVocabSize', 'numLabels'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new DLError(owner, `config.${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.hiddenSize % c.numAttentionHeads) throw new ShapeError(owner, `config.hiddenSize (${c.hiddenSize}) must be divisible by config.numAttentionHeads (${c.numAttentionHeads})`);
  for (const k of ['hiddenDropoutProb', 'attentionProbsDropoutProb', 'classifierDropout'] as const) {
    const p = c[k];
    if (p !== null && !(p >= 0 && p < 1)) throw new DLError(owner, `config.${k} must be in [0, 1), got ${p}`);
  }
  if (!(c.layerNormEps > 0)) throw new DLError(owner, `config.layerNormEps must be > 0, got ${c.layerNormEps}`);
  if (!(c.initializerRange >= 0)) throw new DLError(owner, `config.initializerRange must be >= 0, got ${c.initializerRange}`);
  if (c.padTokenId !== null && (!Number.isInteger(c.padTokenId) || c.padTokenId < 0 || c.padTokenId >= c.vocabSize)) {
    throw new DLError(owner, `config.padTokenId must be null or an id in [0, ${c.vocabSize}) (config.vocabSize), got ${c.padTokenId}`);
  }
  if (typeof c.hiddenAct !== 'function' && !ACTIVATIONS.includes(c.hiddenAct)) {
    throw new DLError(owner, `config.hiddenAct must be one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')} or a function, got ${JSON.stringify(c.hiddenAct)}`);
  }
  if (c.problemType !== null && !PROBLEM_TYPES.includes(c.problemType)) throw new DLError(owner, `config.problemType must be null or one of ${PROBLEM_TYPES.join(', ')}, got ${JSON.stringify(c.problemType)}`);
  if (c.id2label !== null && c.id2label.length !== c.numLabels) {
    throw new DLError(owner, `config.id2label names ${c.id2label.length} labels but config.numLabels is ${c.numLabels}`);
  }
  return Object.freeze(c);
}

/**
 * A BertConfig from a parsed config.json (transformers' BertConfig); `where` names the file in
 * errors. Settings this model does not implement (relative positions, a decoder, cross-attention,
 * untied output embeddings) throw a ConfigError naming the key.
 *
 *   bertConfigFromJson({ vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 });
 */
export function bertConfigFromJson(json: Record<string, unknown>, where = 'config.json', op = 'BertModel.fromPretrained'): Readonly<BertConfig> {
  const num = (key: string, fallback?: number): number => configNumber(op, where, json, key, fallback);
  const optional = (key: string): number | null => configNumber(op, where, json, key, null);
  if (json.model_type !== undefined && json.model_type !== 'bert') throw new ConfigError(op, `${where}: model_type is ${JSON.stringify(json.model_type)}, this reads 'bert'`, ['model_type']);
  const unsupported: [string, unknown, unknown][] = [
    ['position_embedding_type', json.position_embedding_type ?? 'absolute', 'absolute'],
    ['is_decoder', json.is_decoder ?? false, false],
    ['add_cross_attention', json.add_cross_attention ?? false, false],
    ['tie_word_embeddings', json.tie_word_embeddings ?? true, true],
  ];
  for (const [key, got, want] of unsupported) {
    if (got !== want) throw new ConfigError(op, `${where}: ${key} is ${JSON.stringify(got)}; BERT here supports only ${JSON.stringify(want)}`, [key]);
  }
  const problemType = json.problem_type ?? null;
  if (problemType !== null && !PROBLEM_TYPES.includes(problemType as string)) {
    throw new ConfigError(op, `${where}: problem_type ${JSON.stringify(problemType)} is not one of ${PROBLEM_TYPES.join(', ')}`, ['problem_type']);
  }
  const id2label = labelsFromJson(json.id2label, where, op);
  const numLabels = id2label?.length ?? num('num_labels', defaultBertConfig.numLabels);
  const partial: Partial<BertConfig> = {
    vocabSize: num('vocab_size'),
    hiddenSize: num('hidden_size'),
    numHiddenLayers: num('num_hidden_layers'),
    numAttentionHeads: num('num_attention_heads'),
    intermediateSize: num('intermediate_size'),
    hiddenAct: activationFromHF(op, where, 'hidden_act', json.hidden_act ?? 'gelu'),
    hiddenDropoutProb: num('hidden_dropout_prob', defaultBertConfig.hiddenDropoutProb),
    attentionProbsDropoutProb: num('attention_probs_dropout_prob', defaultBertConfig.attentionProbsDropoutProb),
    maxPositionEmbeddings: num('max_position_embeddings', defaultBertConfig.maxPositionEmbeddings),
    typeVocabSize: num('type_vocab_size', defaultBertConfig.typeVocabSize),
    initializerRange: num('initializer_range', defaultBertConfig.initializerRange),
    layerNormEps: num('layer_norm_eps', defaultBertConfig.layerNormEps),
    // pad_token_id absent means BertConfig's default 0; an explicit null means none
    padTokenId: json.pad_token_id === undefined ? 0 : optional('pad_token_id'),
    numLabels,
    classifierDropout: optional('classifier_dropout'),
    problemType: problemType as BertProblemType | null,
    id2label,
  };
  try {
    return bertConfig(partial, op);
  } catch (e) {
    if (!(e instanceof DLError)) throw e;
    // the same check, told in config.json's names: config.hiddenSize -> hidden_size
    const snake = (k: string): string => k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
    const keys = [...e.message.matchAll(/config\.(\w+)/g)].map((m) => snake(m[1]));
    throw new ConfigError(op, `${where}: ${e.message.slice(op.length + 2).replace(/config\.(\w+)/g, (_, k: string) => snake(k))}`, keys);
  }
}

/** id2label ({"0": "NEG", "1": "POS"}) as a list; null when absent. */
function labelsFromJson(v: unknown, where: string, op: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(op, `${where}: id2label must be an object of id -> name, got ${JSON.stringify(v)}`, ['id2label']);
  const entries = Object.entries(v as Record<string, unknown>);
  const out: string[] = [];
  for (const [k, name] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof name !== 'string') {
      throw new ConfigError(op, `${where}: id2label must map the ids 0 .. ${entries.length - 1} to names, got ${JSON.stringify(k)}: ${JSON.stringify(name)}`, ['id2label']);
    }
    out[i] = name;
  }
  return out;
}

/**
 * The config.json of a BertConfig, as transformers' save_pretrained writes it for `architecture`
 * (labels only for a classifier). A function activation has no name there: ConfigError.
 *
 *   bertConfigToJson(model.config, 'BertForMaskedLM'); // { architectures: ['BertForMaskedLM'], hidden_size: 768, ... }
 */
export function bertConfigToJson(c: Readonly<BertConfig>, architecture: string): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: [architecture],
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    classifier_dropout: c.classifierDropout,
    hidden_act: activationToHF(`${architecture}.savePretrained`, 'hidden_act', c.hiddenAct),
    hidden_dropout_prob: c.hiddenDropoutProb,
    hidden_size: c.hiddenSize,
    initializer_range: c.initializerRange,
    intermediate_size: c.intermediateSize,
    layer_norm_eps: c.layerNormEps,
    max_position_embeddings: c.maxPositionEmbeddings,
    model_type: 'bert',
    num_attention_heads: c.numAttentionHeads,
    num_hidden_layers: c.numHiddenLayers,
    pad_token_id: c.padTokenId,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    type_vocab_size: c.typeVocabSize,
    use_cache: true,
    vocab_size: c.vocabSize,
  };
  if (architecture === 'BertForSequenceClassification') {
    const names = c.id2label ?? Array.from({ length: c.numLabels }, (_, i) => `LABEL_${i}`);
    json.id2label = Object.fromEntries(names.map((n, i) => [String(i), n]));
    json.label2id = Object.fromEntries(names.map((n, i) => [n, i]));
    if (c.problemType !== null) json.problem_type = c.problemType;
  }
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : 1)));
}
