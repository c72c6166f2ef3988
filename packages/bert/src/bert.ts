/**
 * Full definition of BERT (Devlin et al. 2018, arXiv 1810.04805) in one file: the encoder, the
 * masked-language-model head and a sequence classifier. Module names and math follow Hugging Face's
 * modeling_bert.py (`bert.encoder.layer.0.attention.self.query.weight`, post-LayerNorm residual
 * blocks, exact erf GELU, padded keys masked by adding the dtype's lowest value, a tanh pooler on
 * [CLS], the MLM decoder tied to the word embeddings), so `fromPretrained(dir)` reads a transformers
 * folder and `savePretrained(dir)` writes one.
 *
 * References:
 * 1) the official TensorFlow implementation: https://github.com/google-research/bert/blob/master/modeling.py
 * 2) huggingface/transformers PyTorch implementation:
 *    https://github.com/huggingface/transformers/blob/main/src/transformers/models/bert/modeling_bert.py
 */
import { DTypeError, IndexError, ShapeError, arange, fmt, isFloat, zeros, type DType, type Tensor } from '@dl/tensor';
import { Dropout, Embedding, LayerNorm, Linear, Module, bceWithLogits, crossEntropy, init, mseLoss, param } from '@dl/layers';
import { applyActivation, scaledDotProductAttention, type MLPActivation } from '@dl/transformer';
import { bertConfig, type BertConfig } from './config.js';
import { loadBertWeights, readBertFolder, writeBertFolder, type BertLoadOptions } from './bert-hf.js';
import { meanPooling } from './pooling.js';

/** What every BERT forward takes beside the token ids. */
export interface BertInputs {
  /** null: every token real; (B, T) int32, bool or float: 1 / true at real tokens, 0 at padding */
  attentionMask?: Tensor | null;
  /** null: segment 0 everywhere; (B, T) int32 segment ids in [0, typeVocabSize) */
  tokenTypeIds?: Tensor | null;
}

export interface BertModelInputs extends BertInputs {
  /** false; true: also return the embeddings' output and every layer's (numHiddenLayers + 1 tensors) */
  outputHiddenStates?: boolean;
}

export interface BertModelOutput {
  /** (B, T, hiddenSize): the last layer's hidden states */
  lastHiddenState: Tensor;
  /** (B, hiddenSize): tanh(dense(hidden state of [CLS])); null for a model built without the pooler */
  poolerOutput: Tensor | null;
  /** with outputHiddenStates: the embeddings' output, then each layer's, each (B, T, hiddenSize) */
  hiddenStates?: Tensor[];
}

/** The lowest finite value of a float dtype (torch.finfo(dtype).min): what padded keys get added. */
function lowest(dtype: DType): number {
  return dtype === 'float64' ? -Number.MAX_VALUE : dtype === 'float16' ? -65504 : -3.4028234663852886e38;
}

/**
 * transformers' get_extended_attention_mask: (B, T) 1 = keep, 0 = padding -> (B, 1, 1, T) added to
 * every head's scores: 0 where kept, the dtype's lowest value where padded. A row with every key
 * padded then attends uniformly, as in transformers.
 */
function extendedAttentionMask(mask: Tensor, dtype: DType): Tensor {
  const [B, T] = mask.shape;
  return mask.cast(dtype).neg().add(1).mul(lowest(dtype)).reshape([B, 1, 1, T]);
}

/** BERT's init (transformers' _init_weights): normal(0, initializerRange) weights, zero biases, the [PAD] embedding zero. */
function initWeights(m: Module, std: number): void {
  m.apply((c) => {
    if (c instanceof Linear) {
      init.normal(c.weight, 0, std);
      if (c.bias) init.zeros(c.bias);
    } else if (c instanceof Embedding) {
      init.normal(c.weight, 0, std);
      if (c.paddingIdx !== null) init.zeros(c.weight.select(0, c.paddingIdx));
    }
  });
}

/** Word, position and token-type (segment) embeddings, summed, then LayerNorm and dropout. */
export class BertEmbeddings extends Module {
  wordEmbeddings: Embedding;
  positionEmbeddings: Embedding;
  tokenTypeEmbeddings: Embedding;
  layerNorm: LayerNorm;
  dropout: Dropout;

  constructor(config: BertConfig, device?: string) {
    super();
    const { vocabSize, hiddenSize, padTokenId } = config;
    this.wordEmbeddings = new Embedding(vocabSize, hiddenSize, { paddingIdx: padTokenId ?? undefined, device });
    this.positionEmbeddings = new Embedding(config.maxPositionEmbeddings, hiddenSize, { device });
    this.tokenTypeEmbeddings = new Embedding(config.typeVocabSize, hiddenSize, { device });
    // 'LayerNorm', not snake-cased, as TensorFlow's checkpoints named it
    this.layerNorm = new LayerNorm(hiddenSize, { eps: config.layerNormEps, device });
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['word_embeddings', this.wordEmbeddings], ['position_embeddings', this.positionEmbeddings], ['token_type_embeddings', this.tokenTypeEmbeddings], ['LayerNorm', this.layerNorm], ['dropout', this.dropout]];
  }

  /** inputIds (B, T) int32, tokenTypeIds (B, T) int32 or null (segment 0) -> (B, T, hiddenSize) */
  forward(inputIds: Tensor, tokenTypeIds: Tensor | null = null): Tensor {
    const T = inputIds.shape[1];
    const positionIds = arange(0, T, 1, { dtype: 'int32', device: inputIds.device }); // (T)
    const inputsEmbeds = this.wordEmbeddings.forward(inputIds); // (B, T, H)
    // no token types: every token is segment 0, row 0 of the table broadcast (the same values and gradient as a lookup of zeros)
    const tokenTypeEmbeds = tokenTypeIds ? this.tokenTypeEmbeddings.forward(tokenTypeIds) : this.tokenTypeEmbeddings.weight.narrow(0, 0, 1); // (B, T, H) or (1, H)
    const embeddings = inputsEmbeds.add(tokenTypeEmbeds).add(this.positionEmbeddings.forward(positionIds)); // (B, T, H)
    return this.dropout.forward(this.layerNorm.forward(embeddings));
  }
}

/** Multi-head self-attention with separate query, key and value projections, through scaledDotProductAttention. */
export class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  readonly numAttentionHeads: number;
  readonly attentionProbsDropoutProb: number;

  constructor(config: BertConfig, device?: string) {
    super();
    const H = config.hiddenSize;
    this.query = new Linear(H, H, { device });
    this.key = new Linear(H, H, { device });
    this.value = new Linear(H, H, { device });
    this.numAttentionHeads = config.numAttentionHeads;
    this.attentionProbsDropoutProb = config.attentionProbsDropoutProb;
  }

  /** hiddenStates (B, T, H), mask (B, 1, 1, T) additive or null -> (B, T, H) */
  forward(hiddenStates: Tensor, mask: Tensor | null): Tensor {
    const [B, T, H] = hiddenStates.shape;
    const nh = this.numAttentionHeads;
    const split = (x: Tensor): Tensor => x.reshape([B, T, nh, H / nh]).transpose(1, 2); // (B, nh, T, hs)
    const q = split(this.query.forward(hiddenStates));
    const k = split(this.key.forward(hiddenStates));
    const v = split(this.value.forward(hiddenStates));
    // softmax(q k^T / sqrt(hs) + mask) v, dropout on the attention weights while training
    const context = scaledDotProductAttention(q, k, v, { attnMask: mask, dropoutP: this.training ? this.attentionProbsDropoutProb : 0 }); // (B, nh, T, hs)
    return context.transpose(1, 2).reshape([B, T, H]); // the heads side by side again
  }
}

/** dense, dropout, then LayerNorm of the residual sum: what follows attention (BertSelfOutput) and the feed-forward layer (BertOutput). */
export class BertSelfOutput extends Module {
  dense: Linear;
  layerNorm: LayerNorm;
  dropout: Dropout;

  constructor(config: BertConfig, inFeatures: number, device?: string) {
    super();
    this.dense = new Linear(inFeatures, config.hiddenSize, { device });
    this.layerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps, device });
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['dense', this.dense], ['LayerNorm', this.layerNorm], ['dropout', this.dropout]];
  }

  /** hiddenStates (B, T, in), inputTensor (B, T, H): the residual -> (B, T, H) */
  forward(hiddenStates: Tensor, inputTensor: Tensor): Tensor {
    return this.layerNorm.forward(this.dropout.forward(this.dense.forward(hiddenStates)).add(inputTensor));
  }
}

/** BertOutput: the feed-forward layer's projection back to hiddenSize, with its residual LayerNorm. */
export class BertOutput extends BertSelfOutput {
  constructor(config: BertConfig, device?: string) {
    super(config, config.intermediateSize, device);
  }
}

/** Self-attention (`self`) and its output block (`output`). */
export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertSelfOutput;

  constructor(config: BertConfig, device?: string) {
    super();
    this.self = new BertSelfAttention(config, device);
    this.output = new BertSelfOutput(config, config.hiddenSize, device);
  }

  forward(hiddenStates: Tensor, mask: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(hiddenStates, mask), hiddenStates); // (B, T, H)
  }
}

/** The feed-forward layer's first half: dense to intermediateSize, then the activation (exact GELU). */
export class BertIntermediate extends Module {
  dense: Linear;
  readonly hiddenAct: MLPActivation;

  constructor(config: BertConfig, device?: string) {
    super();
    this.dense = new Linear(config.hiddenSize, config.intermediateSize, { device });
    this.hiddenAct = config.hiddenAct;
  }

  forward(hiddenStates: Tensor): Tensor {
    return applyActivation(this.dense.forward(hiddenStates), this.hiddenAct); // (B, T, intermediateSize)
  }
}

/** One encoder layer (post-LayerNorm): attention with its residual, then the feed-forward layer with its own. */
export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertOutput;

  constructor(config: BertConfig, device?: string) {
    super();
    this.attention = new BertAttention(config, device);
    this.intermediate = new BertIntermediate(config, device);
    this.output = new BertOutput(config, device);
  }

  forward(hiddenStates: Tensor, mask: Tensor | null): Tensor {
    const attentionOutput = this.attention.forward(hiddenStates, mask); // (B, T, H)
    return this.output.forward(this.intermediate.forward(attentionOutput), attentionOutput); // (B, T, H)
  }
}

/** numHiddenLayers BertLayers (`layer.0`, `layer.1`, ...). */
export class BertEncoder extends Module {
  layer: BertLayer[];

  constructor(config: BertConfig, device?: string) {
    super();
    this.layer = Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config, device));
  }

  /** (B, T, H) -> (B, T, H); each layer's output is pushed onto `states` when given */
  forward(hiddenStates: Tensor, mask: Tensor | null, states?: Tensor[]): Tensor {
    for (const layer of this.layer) {
      hiddenStates = layer.forward(hiddenStates, mask);
      states?.push(hiddenStates);
    }
    return hiddenStates;
  }
}

/** tanh(dense(the hidden state of the first token, [CLS])): (B, T, H) -> (B, H). */
export class BertPooler extends Module {
  dense: Linear;

  constructor(config: BertConfig, device?: string) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize, { device });
  }

  forward(hiddenStates: Tensor): Tensor {
    return this.dense.forward(hiddenStates.select(1, 0)).tanh(); // (B, H)
  }
}

/** Options of every BERT class's constructor beside the config. */
export interface BertModuleOptions {
  /** where the parameters live (default: the default device) */
  device?: string;
}

/** Checks the token ids and the inputs beside them; values are read where they are on the CPU (elsewhere the lookups check what they can). */
function checkInputs(label: string, config: BertConfig, inputIds: Tensor, { attentionMask, tokenTypeIds }: BertInputs): void {
  const { vocabSize, typeVocabSize, maxPositionEmbeddings } = config;
  if (inputIds.dtype !== 'int32') throw new DTypeError(label, `inputIds must be int32 token ids, got ${inputIds.dtype} ${fmt(inputIds.shape)}`);
  if (inputIds.ndim !== 2 || inputIds.shape[0] === 0 || inputIds.shape[1] === 0) throw new ShapeError(label, `inputIds must be [B,T] with B, T >= 1, got ${fmt(inputIds.shape)}`);
  const [B, T] = inputIds.shape;
  if (T > maxPositionEmbeddings) {
    throw new ShapeError(label, `inputIds ${fmt(inputIds.shape)} holds ${T} tokens per row, more than maxPositionEmbeddings ${maxPositionEmbeddings}; truncate the sequences`);
  }
  const sameShape = (name: string, t: Tensor): void => {
    if (t.ndim !== 2 || t.shape[0] !== B || t.shape[1] !== T) throw new ShapeError(label, `${name} ${fmt(t.shape)} must have inputIds' shape ${fmt(inputIds.shape)}`);
  };
  if (attentionMask) {
    sameShape('attentionMask', attentionMask);
    if (attentionMask.dtype !== 'int32' && attentionMask.dtype !== 'bool' && !isFloat(attentionMask.dtype)) {
      throw new DTypeError(label, `attentionMask must be int32, bool or float (1 = token, 0 = padding), got ${attentionMask.dtype} ${fmt(attentionMask.shape)}`);
    }
  }
  if (tokenTypeIds) {
    sameShape('tokenTypeIds', tokenTypeIds);
    if (tokenTypeIds.dtype !== 'int32') throw new DTypeError(label, `tokenTypeIds must be int32 segment ids, got ${tokenTypeIds.dtype} ${fmt(tokenTypeIds.shape)}`);
  }
  const inRange = (name: string, t: Tensor, limit: string, n: number): void => {
    if (t.device !== 'cpu') return; // read asynchronously elsewhere
    const v = t.dataSync();
    for (let i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] >= n) throw new IndexError(label, `${name}: id ${v[i]} at ${fmt([Math.floor(i / T), i % T])} of ${name} ${fmt(t.shape)} is outside [0, ${n}) (${limit})`);
    }
  };
  inRange('inputIds', inputIds.contiguous(), `vocabSize ${vocabSize}`, vocabSize);
  if (tokenTypeIds) inRange('tokenTypeIds', tokenTypeIds.contiguous(), `typeVocabSize ${typeVocabSize}`, typeVocabSize);
}

/**
 * The BERT encoder (transformers' BertModel): embeddings, numHiddenLayers post-LayerNorm layers and,
 * unless built without it, the [CLS] pooler. Token ids (B, T) -> `{ lastHiddenState (B, T, H),
 * poolerOutput (B, H) }`.
 *
 *   const bert = new BertModel({ vocabSize: 8000, hiddenSize: 256, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 1024 });
 *   const { lastHiddenState, poolerOutput } = bert.forward(inputIds, { attentionMask, tokenTypeIds });
 */
export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;
  readonly config: Readonly<BertConfig>;

  constructor(config: Partial<BertConfig> = {}, { device, addPoolingLayer = true }: BertModuleOptions & { addPoolingLayer?: boolean } = {}) {
    super();
    const c = bertConfig(config, 'BertModel');
    this.config = c;
    this.embeddings = new BertEmbeddings(c, device);
    this.encoder = new BertEncoder(c, device);
    this.pooler = addPoolingLayer ? new BertPooler(c, device) : null;
    initWeights(this, c.initializerRange);
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['embeddings', this.embeddings], ['encoder', this.encoder], ...(this.pooler ? [['pooler', this.pooler] as [string, unknown]] : [])];
  }

  forward(inputIds: Tensor, opts: BertModelInputs = {}): BertModelOutput {
    const { attentionMask = null, tokenTypeIds = null, outputHiddenStates = false } = opts;
    checkInputs(this.label(), this.config, inputIds, opts);
    const embeddingOutput = this.embeddings.forward(inputIds, tokenTypeIds); // (B, T, H)
    const mask = attentionMask ? extendedAttentionMask(attentionMask, embeddingOutput.dtype) : null; // (B, 1, 1, T)
    const hiddenStates = outputHiddenStates ? [embeddingOutput] : undefined;
    const lastHiddenState = this.encoder.forward(embeddingOutput, mask, hiddenStates); // (B, T, H)
    const poolerOutput = this.pooler ? this.pooler.forward(lastHiddenState) : null; // (B, H)
    return hiddenStates ? { lastHiddenState, poolerOutput, hiddenStates } : { lastHiddenState, poolerOutput };
  }

  /**
   * Sentence embeddings (B, H): the last hidden states averaged over the real tokens (meanPooling,
   * sentence-transformers' pooling), unit length with `normalize`.
   *
   *   const e = bert.embed(inputIds, { attentionMask, normalize: true }); // (B, H); e @ e^T: cosine similarities
   */
  embed(inputIds: Tensor, opts: BertInputs & { normalize?: boolean } = {}): Tensor {
    const { lastHiddenState } = this.forward(inputIds, opts);
    return meanPooling(lastHiddenState, opts.attentionMask ?? null, { normalize: opts.normalize });
  }

  /**
   * Reads a transformers BERT folder (`config.json` + `model.safetensors`: a BertModel's keys, or any
   * BERT head's `bert.`-prefixed ones, old gamma/beta names too) into a BertModel in eval mode.
   *
   *   const bert = await BertModel.fromPretrained('models/bert-base-uncased');
   */
  static async fromPretrained(dir: string, opts: BertLoadOptions = {}): Promise<BertModel> {
    const { config, tensors } = await readBertFolder(dir, 'BertModel.fromPretrained', opts.config);
    return loadBertWeights(new BertModel(config, { device: 'cpu' }), tensors, { ...opts, where: dir }).model;
  }

  /**
   * Writes `config.json` and `model.safetensors` (BertModel's names, no prefix, as transformers'
   * BertModel.save_pretrained), each atomically.
   *
   *   await bert.savePretrained('runs/bert');
   */
  async savePretrained(dir: string): Promise<void> {
    await writeBertFolder(dir, this.config, 'BertModel', this.stateDict());
  }

  protected override extraRepr(): string {
    const { numHiddenLayers, numAttentionHeads, hiddenSize, vocabSize } = this.config;
    return `numHiddenLayers=${numHiddenLayers}, numAttentionHeads=${numAttentionHeads}, hiddenSize=${hiddenSize}, vocabSize=${vocabSize}`;
  }
}

/** dense, activation, LayerNorm: the MLM head's transform of each hidden state. */
export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  layerNorm: LayerNorm;
  readonly hiddenAct: MLPActivation;

  constructor(config: BertConfig, device?: string) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize, { device });
    this.layerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps, device });
    this.hiddenAct = config.hiddenAct;
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['dense', this.dense], ['LayerNorm', this.layerNorm]];
  }

  forward(hiddenStates: Tensor): Tensor {
    return this.layerNorm.forward(applyActivation(this.dense.forward(hiddenStates), this.hiddenAct)); // (B, T, H)
  }
}

/**
 * transform, then the decoder: a Linear whose weight is the word-embedding table (tied) and whose
 * bias is `bias` (one per vocabulary entry): (B, T, H) -> (B, T, vocabSize).
 */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  decoder: Linear;
  bias: Tensor;

  constructor(config: BertConfig, wordEmbeddings: Tensor, device?: string) {
    super();
    this.transform = new BertPredictionHeadTransform(config, device);
    this.decoder = new Linear(config.hiddenSize, config.vocabSize, { bias: false, device });
    this.bias = param(zeros([config.vocabSize], { dtype: wordEmbeddings.dtype, device: wordEmbeddings.device }));
    // the output embeddings are the input embeddings; decoder.bias is this.bias (one tensor, two names, as transformers)
    this.decoder.weight = wordEmbeddings;
    this.decoder.bias = this.bias;
  }

  forward(hiddenStates: Tensor): Tensor {
    return this.decoder.forward(this.transform.forward(hiddenStates)); // (B, T, vocabSize)
  }
}

/** The MLM head under its transformers name (`cls.predictions`). */
export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;

  constructor(config: BertConfig, wordEmbeddings: Tensor, device?: string) {
    super();
    this.predictions = new BertLMPredictionHead(config, wordEmbeddings, device);
  }

  forward(sequenceOutput: Tensor): Tensor {
    return this.predictions.forward(sequenceOutput); // (B, T, vocabSize)
  }
}

/** BertInputs with the targets of a loss. */
export interface BertLabelInputs<L = Tensor> extends BertInputs {
  labels: L;
}

/**
 * BERT with the masked-language-model head (transformers' BertForMaskedLM; no pooler): token ids
 * (B, T) -> vocabulary logits (B, T, vocabSize). With `labels` (B, T) int32, the original ids at the
 * masked positions and -100 elsewhere, it also returns the mean cross-entropy over the masked
 * positions.
 *
 *   const mlm = new BertForMaskedLM({ vocabSize: 8000, hiddenSize: 256, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 1024 });
 *   const logits = mlm.forward(inputIds, { attentionMask }); // (B, T, 8000)
 *   const { loss } = mlm.forward(inputIds, { attentionMask, labels }); // labels -100 where not masked
 */
export class BertForMaskedLM extends Module {
  bert: BertModel;
  cls: BertOnlyMLMHead;
  readonly config: Readonly<BertConfig>;

  constructor(config: Partial<BertConfig> = {}, { device }: BertModuleOptions = {}) {
    super();
    this.bert = new BertModel(config, { device, addPoolingLayer: false });
    this.config = this.bert.config;
    this.cls = new BertOnlyMLMHead(this.config, this.bert.embeddings.wordEmbeddings.weight, device);
    initWeights(this.cls.predictions.transform, this.config.initializerRange);
  }

  forward(inputIds: Tensor, opts: BertLabelInputs): { logits: Tensor; loss: Tensor };
  forward(inputIds: Tensor, opts?: BertInputs): Tensor;
  forward(inputIds: Tensor, opts: BertInputs & { labels?: Tensor } = {}): Tensor | { logits: Tensor; loss: Tensor } {
    const { lastHiddenState } = this.bert.forward(inputIds, opts); // (B, T, H)
    const logits = this.cls.forward(lastHiddenState); // (B, T, vocabSize)
    const { labels } = opts;
    if (!labels) return logits;
    const [B, T] = inputIds.shape;
    if (labels.dtype !== 'int32' || labels.ndim !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) {
      throw new ShapeError(this.label(), `labels must be int32 with inputIds' shape ${fmt(inputIds.shape)} (-100 where not masked), got ${labels.dtype} ${fmt(labels.shape)}`);
    }
    const loss = crossEntropy(logits.reshape([B * T, this.config.vocabSize]), labels.reshape([B * T]), { ignoreIndex: -100 });
    return { logits, loss };
  }

  /**
   * Reads a transformers folder (BertForMaskedLM's or BertForPreTraining's keys, old gamma/beta
   * names, the tied decoder stored or not) into a BertForMaskedLM in eval mode.
   *
   *   const mlm = await BertForMaskedLM.fromPretrained('models/bert-base-uncased');
   */
  static async fromPretrained(dir: string, opts: BertLoadOptions = {}): Promise<BertForMaskedLM> {
    const { config, tensors } = await readBertFolder(dir, 'BertForMaskedLM.fromPretrained', opts.config);
    return loadBertWeights(new BertForMaskedLM(config, { device: 'cpu' }), tensors, { ...opts, where: dir }).model;
  }

  /**
   * Writes `config.json` and `model.safetensors` as transformers' save_pretrained (the tied decoder
   * weight and bias left out), each atomically.
   *
   *   await mlm.savePretrained('runs/bert-mlm');
   */
  async savePretrained(dir: string): Promise<void> {
    await writeBertFolder(dir, this.config, 'BertForMaskedLM', this.stateDict());
  }
}

/**
 * BERT with a classifier on the pooled [CLS] state (transformers' BertForSequenceClassification):
 * token ids (B, T) -> logits (B, numLabels). With `labels` it also returns the loss of the config's
 * problemType: cross-entropy for int32 class ids (B), mean squared error for float targets when
 * numLabels is 1, binary cross-entropy for float multi-label targets (B, numLabels).
 *
 *   const clf = await BertForSequenceClassification.fromPretrained('runs/bert-mlm', { config: { numLabels: 2 } });
 *   const { logits, loss } = clf.forward(inputIds, { attentionMask, labels }); // labels (B) int32
 */
export class BertForSequenceClassification extends Module {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;
  readonly config: Readonly<BertConfig>;

  constructor(config: Partial<BertConfig> = {}, { device }: BertModuleOptions = {}) {
    super();
    this.bert = new BertModel(config, { device });
    this.config = this.bert.config;
    this.dropout = new Dropout(this.config.classifierDropout ?? this.config.hiddenDropoutProb);
    this.classifier = new Linear(this.config.hiddenSize, this.config.numLabels, { device });
    initWeights(this.classifier, this.config.initializerRange);
  }

  forward(inputIds: Tensor, opts: BertLabelInputs): { logits: Tensor; loss: Tensor };
  forward(inputIds: Tensor, opts?: BertInputs): Tensor;
  forward(inputIds: Tensor, opts: BertInputs & { labels?: Tensor } = {}): Tensor | { logits: Tensor; loss: Tensor } {
    const { poolerOutput } = this.bert.forward(inputIds, opts);
    const logits = this.classifier.forward(this.dropout.forward(poolerOutput!)); // (B, numLabels)
    const { labels } = opts;
    if (!labels) return logits;
    return { logits, loss: this.#loss(logits, labels) };
  }

  /** transformers' choice: problemType, else regression for one label, single-label for int labels, multi-label for float ones. */
  #loss(logits: Tensor, labels: Tensor): Tensor {
    const [B, N] = logits.shape;
    const problem = this.config.problemType ?? (N === 1 ? 'regression' : labels.dtype === 'int32' ? 'single_label_classification' : 'multi_label_classification');
    const bad = (want: string): ShapeError => new ShapeError(this.label(), `labels for ${problem} must be ${want}, got ${labels.dtype} ${fmt(labels.shape)}`);
    if (problem === 'single_label_classification') {
      if (labels.dtype !== 'int32' || labels.ndim !== 1 || labels.shape[0] !== B) throw bad(`int32 class ids [${B}] in [0, ${N})`);
      return crossEntropy(logits, labels);
    }
    if (!isFloat(labels.dtype)) throw bad(problem === 'regression' ? `float targets [${B}]` : `float targets [${B},${N}]`);
    if (problem === 'regression') {
      // transformers squeezes a single label: (B, 1) against (B)
      if (N === 1) {
        if (labels.size !== B) throw bad(`float targets [${B}]`);
        return mseLoss(logits.reshape([B]), labels.reshape([B]));
      }
      if (labels.ndim !== 2 || labels.shape[0] !== B || labels.shape[1] !== N) throw bad(`float targets [${B},${N}]`);
      return mseLoss(logits, labels);
    }
    if (labels.ndim !== 2 || labels.shape[0] !== B || labels.shape[1] !== N) throw bad(`float targets [${B},${N}]`);
    return bceWithLogits(logits, labels);
  }

  /**
   * Reads a transformers folder into a BertForSequenceClassification in eval mode. A checkpoint
   * without a classifier (a pretrained BERT) leaves the classifier freshly initialised, as
   * transformers does; set the label count with `config: { numLabels }`.
   *
   *   const clf = await BertForSequenceClassification.fromPretrained('runs/bert-mlm', { config: { numLabels: 2 } });
   */
  static async fromPretrained(dir: string, opts: BertLoadOptions = {}): Promise<BertForSequenceClassification> {
    const { config, tensors } = await readBertFolder(dir, 'BertForSequenceClassification.fromPretrained', opts.config);
    return loadBertWeights(new BertForSequenceClassification(config, { device: 'cpu' }), tensors, { ...opts, where: dir }).model;
  }

  /**
   * Writes `config.json` (with id2label / label2id) and `model.safetensors` as transformers'
   * save_pretrained, each atomically.
   *
   *   await clf.savePretrained('runs/bert-spam');
   */
  async savePretrained(dir: string): Promise<void> {
    await writeBertFolder(dir, this.config, 'BertForSequenceClassification', this.stateDict());
  }
}
