/**
 * Full definition of a GPT language model, all of it in this single file (after nanoGPT's
 * model.py). Names and weight layout are Hugging Face's GPT2LMHeadModel
 * (`transformer.h.0.attn.c_attn.weight`, Conv1D weights stored [in, out]), so
 * `GPT.fromPretrained(dir)` reads a GPT-2 folder and `savePretrained(dir)` writes one.
 *
 * References:
 * 1) the official GPT-2 TensorFlow implementation released by OpenAI:
 *    https://github.com/openai/gpt-2/blob/master/src/model.py
 * 2) huggingface/transformers PyTorch implementation:
 *    https://github.com/huggingface/transformers/blob/main/src/transformers/models/gpt2/modeling_gpt2.py
 * 3) nanoGPT: https://github.com/karpathy/nanoGPT/blob/master/model.py
 */
import { noGrad } from '@dl/autograd';
import { DLError, DTypeError, Generator, IndexError, ShapeError, arange, fmt, generator as globalGenerator, matmul, rand, scope, tensor, zeros, type Tensor } from '@dl/tensor';
import { Dropout, Embedding, LayerNorm, Linear, Module, crossEntropy, init, param, parseSafetensors, type ParamGroupInput } from '@dl/layers';
import { attend } from './attention.js';
import { applyActivation, checkActivation, type MLPActivation } from './mlp.js';
import { checkSampling, sampleLogits, type SamplingOptions } from './sampling.js';
import { gpt2ConfigFromJson, loadGPT2StateDict, readGPT2Folder, writeGPT2Folder } from './gpt2-hf.js';

export interface GPTConfig {
  /** 1024; the longest sequence (GPT-2's n_positions) */
  blockSize: number;
  /** 50304; GPT-2's 50257 padded up to a multiple of 64 for efficiency (nanoGPT) */
  vocabSize: number;
  /** 12; Transformer blocks */
  nLayer: number;
  /** 12; attention heads (nEmbd must divide by it) */
  nHead: number;
  /** 768; the model width */
  nEmbd: number;
  /** 0; dropout on the embeddings, the attention weights and each residual branch while training */
  dropout: number;
  /** true: biases in the linear layers and LayerNorms, as GPT-2; false: a bit better and faster */
  bias: boolean;
  /** null (4 * nEmbd); the MLP's hidden width (GPT-2's n_inner) */
  nInner: number | null;
  /** 'geluTanh' (GPT-2's gelu_new); 'gelu' is nanoGPT's exact GELU */
  activation: MLPActivation;
  /** 1e-5; LayerNorm epsilon (GPT-2's layer_norm_epsilon) */
  layerNormEpsilon: number;
  /** 0.02; standard deviation of the initial weights (GPT-2's initializer_range) */
  initializerRange: number;
}

/** GPT-2 small (124M); every option of `new GPT({...})` left out takes its value here. */
export const defaultGPTConfig: Readonly<GPTConfig> = Object.freeze({
  blockSize: 1024,
  vocabSize: 50304,
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  dropout: 0,
  bias: true,
  nInner: null,
  activation: 'geluTanh',
  layerNormEpsilon: 1e-5,
  initializerRange: 0.02,
});

function checkConfig(c: GPTConfig): void {
  for (const k of ['blockSize', 'vocabSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new DLError('GPT', `config.${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead) throw new ShapeError('GPT', `config.nEmbd (${c.nEmbd}) must be divisible by config.nHead (${c.nHead})`);
  if (c.nInner !== null && (!Number.isInteger(c.nInner) || c.nInner < 1)) throw new DLError('GPT', `config.nInner must be a positive integer or null, got ${c.nInner}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new DLError('GPT', `config.dropout must be in [0, 1), got ${c.dropout}`);
  if (!(c.layerNormEpsilon > 0)) throw new DLError('GPT', `config.layerNormEpsilon must be > 0, got ${c.layerNormEpsilon}`);
  checkActivation('GPT', c.activation);
}

/**
 * A linear layer with its weight stored [in, out] (GPT-2's Conv1D, named after the original
 * TensorFlow code): y = x W + b, x [..., nx] -> [..., nf].
 *
 *   const proj = new Conv1D(768, 2304); // weight [768, 2304]
 */
export class Conv1D extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(readonly nx: number, readonly nf: number, { bias = true, std = 0.02, device }: { bias?: boolean; std?: number; device?: string } = {}) {
    super();
    this.weight = param(zeros([nx, nf], { device }));
    init.normal(this.weight, 0, std);
    this.bias = bias ? param(zeros([nf], { device })) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.nx) throw new ShapeError(this.label(), `expected input [...,${this.nx}], got ${fmt(x.shape)}`);
    const y = matmul(x, this.weight); // (..., nf)
    return this.bias ? y.add(this.bias) : y;
  }

  protected override extraRepr(): string {
    return `nx=${this.nx}, nf=${this.nf}`;
  }
}

/**
 * Keys and values of every layer for the tokens seen so far, so each new token costs one pass
 * over its own position: per layer (B, nHead, blockSize, headSize), filled up to `length`.
 *
 *   const cache = model.newCache(1);
 *   let logits = model.forwardCached(prompt, cache); // (1, vocab)
 *   logits = model.forwardCached(next, cache); // next (1, 1): attends to the prompt through the cache
 */
export class KVCache {
  /** positions filled */
  length = 0;

  constructor(
    readonly keys: Tensor[],
    readonly values: Tensor[],
  ) {}

  get batchSize(): number {
    return this.keys[0].shape[0];
  }
  /** positions it holds (the model's blockSize) */
  get capacity(): number {
    return this.keys[0].shape[2];
  }
  /** Forgets every position (the memory is kept for reuse). */
  reset(): void {
    this.length = 0;
  }
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}

/** Where a layer's attention reads and writes its cache. */
interface CacheSlot {
  cache: KVCache;
  layer: number;
}

/**
 * Multi-head masked self-attention with the projections of GPT-2 (c_attn packs q, k and v;
 * c_proj), through scaledDotProductAttention's fused kernel.
 */
export class CausalSelfAttention extends Module {
  cAttn: Conv1D;
  cProj: Conv1D;
  attnDropout: Dropout;
  residDropout: Dropout;
  readonly nHead: number;
  readonly nEmbd: number;
  readonly dropoutP: number;

  constructor(config: GPTConfig, device?: string) {
    super();
    const { nEmbd, bias, initializerRange: std } = config;
    // key, query, value projections for all heads, but in a batch
    this.cAttn = new Conv1D(nEmbd, 3 * nEmbd, { bias, std, device });
    // output projection; scaled init per GPT-2 paper: std / sqrt(2 * n_layer)
    this.cProj = new Conv1D(nEmbd, nEmbd, { bias, std: std / Math.sqrt(2 * config.nLayer), device });
    this.attnDropout = new Dropout(config.dropout);
    this.residDropout = new Dropout(config.dropout);
    this.nHead = config.nHead;
    this.nEmbd = nEmbd;
    this.dropoutP = config.dropout;
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['c_attn', this.cAttn], ['c_proj', this.cProj], ['attn_dropout', this.attnDropout], ['resid_dropout', this.residDropout]];
  }

  forward(x: Tensor, slot?: CacheSlot): Tensor {
    const [B, T, C] = x.shape; // batch size, sequence length, embedding dimensionality (nEmbd)
    const hs = C / this.nHead;
    // calculate query, key, values for all heads in batch and move head forward to be the batch dim
    const [q, k, v] = this.cAttn.forward(x).split(C, 2).map((t) => t.reshape([B, T, this.nHead, hs]).transpose(1, 2)); // (B, nh, T, hs)
    let y: Tensor;
    if (!slot) {
      // causal self-attention; self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T) -> (B, nh, T, hs)
      y = attend(q, k, v, { isCausal: true, dropoutP: this.training ? this.dropoutP : 0 });
    } else {
      // write this step's keys and values after the P cached ones, attend over all P + T
      const { cache, layer } = slot;
      const P = cache.length;
      cache.keys[layer].narrow(2, P, T).copy_(k);
      cache.values[layer].narrow(2, P, T).copy_(v);
      const ks = cache.keys[layer].narrow(2, 0, P + T); // (B, nh, P + T, hs)
      const vs = cache.values[layer].narrow(2, 0, P + T);
      y = attend(q, ks, vs, { causalOffset: P }); // query t sees keys 0 .. P + t
    }
    y = y.transpose(1, 2).reshape([B, T, C]); // re-assemble all head outputs side by side
    return this.residDropout.forward(this.cProj.forward(y)); // output projection
  }
}

/** The feed-forward network of a block: c_fc, GELU, c_proj, dropout. */
export class GPTMLP extends Module {
  cFc: Conv1D;
  cProj: Conv1D;
  dropout: Dropout;
  readonly activation: MLPActivation;

  constructor(config: GPTConfig, device?: string) {
    super();
    const inner = config.nInner ?? 4 * config.nEmbd;
    const { bias, initializerRange: std } = config;
    this.cFc = new Conv1D(config.nEmbd, inner, { bias, std, device });
    this.cProj = new Conv1D(inner, config.nEmbd, { bias, std: std / Math.sqrt(2 * config.nLayer), device });
    this.dropout = new Dropout(config.dropout);
    this.activation = config.activation;
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['c_fc', this.cFc], ['c_proj', this.cProj], ['dropout', this.dropout]];
  }

  forward(x: Tensor): Tensor {
    const h = applyActivation(this.cFc.forward(x), this.activation); // (B, T, nInner)
    return this.dropout.forward(this.cProj.forward(h)); // (B, T, nEmbd)
  }
}

/** A pre-norm Transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
export class GPTBlock extends Module {
  ln1: LayerNorm;
  attn: CausalSelfAttention;
  ln2: LayerNorm;
  mlp: GPTMLP;

  constructor(config: GPTConfig, device?: string) {
    super();
    const ln = { eps: config.layerNormEpsilon, bias: config.bias, device };
    this.ln1 = new LayerNorm(config.nEmbd, ln);
    this.attn = new CausalSelfAttention(config, device);
    this.ln2 = new LayerNorm(config.nEmbd, ln);
    this.mlp = new GPTMLP(config, device);
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['ln_1', this.ln1], ['attn', this.attn], ['ln_2', this.ln2], ['mlp', this.mlp]];
  }

  forward(x: Tensor, slot?: CacheSlot): Tensor {
    x = x.add(this.attn.forward(this.ln1.forward(x), slot));
    return x.add(this.mlp.forward(this.ln2.forward(x)));
  }
}

/**
 * The decoder stack without the language-model head (Hugging Face's GPT2Model): token and
 * position embeddings, the blocks, a final LayerNorm. ids (B, T) -> hidden states (B, T, nEmbd).
 */
export class GPTModel extends Module {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: GPTBlock[];
  lnF: LayerNorm;

  constructor(config: GPTConfig, device?: string) {
    super();
    this.wte = new Embedding(config.vocabSize, config.nEmbd, { device });
    this.wpe = new Embedding(config.blockSize, config.nEmbd, { device });
    init.normal(this.wte.weight, 0, config.initializerRange);
    init.normal(this.wpe.weight, 0, config.initializerRange);
    this.drop = new Dropout(config.dropout);
    this.h = Array.from({ length: config.nLayer }, () => new GPTBlock(config, device));
    this.lnF = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon, bias: config.bias, device });
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['wte', this.wte], ['wpe', this.wpe], ['drop', this.drop], ['h', this.h], ['ln_f', this.lnF]];
  }

  /** idx (B, T) int32 at positions past .. past + T - 1 (past: tokens already in `cache`) */
  forward(idx: Tensor, cache?: KVCache): Tensor {
    const T = idx.shape[1];
    const past = cache?.length ?? 0;
    const pos = arange(past, past + T, 1, { dtype: 'int32', device: idx.device }); // shape (T)
    const tokEmb = this.wte.forward(idx); // token embeddings of shape (B, T, nEmbd)
    const posEmb = this.wpe.forward(pos); // position embeddings of shape (T, nEmbd)
    let x = this.drop.forward(tokEmb.add(posEmb));
    this.h.forEach((block, layer) => {
      x = block.forward(x, cache && { cache, layer });
    });
    if (cache) cache.length = past + T;
    return this.lnF.forward(x); // (B, T, nEmbd)
  }
}

export interface GenerateOptions extends SamplingOptions {
  /** tokens to add to each row */
  maxNewTokens: number;
  /** token ids that end a row (kept in the output); generation ends when every row has ended */
  stop?: number | readonly number[];
  /** what an ended row gets for the rest of the steps (default: the stop token that ended it) */
  padTokenId?: number;
  /** seed of a Generator of its own for this call (sampling only) */
  seed?: number;
  /** where the sampling's random numbers come from (default: the global generator, or `seed`) */
  generator?: Generator;
  /** true: keep keys and values, one position per step; false: run the whole context every step */
  useCache?: boolean;
  /** called with each step's tokens (one per row) as soon as they are picked */
  onToken?: (tokens: number[], step: number) => void;
  /**
   * edits a row's next-token logits in place before sampling (set -Infinity to forbid a token:
   * constrained decoding, banned words); `ids` is the row so far, prompt included. Not called
   * for rows that have ended.
   */
  logitsProcessor?: (logits: Float32Array | Float64Array, ids: readonly number[], row: number) => void;
}

/** Token ids as rows: a Tensor [B, T] int32, one row number[], or rows number[][]. */
export type TokenInput = Tensor | readonly number[] | readonly (readonly number[])[];

/**
 * The GPT language model: token ids (B, T) -> next-token logits (B, T, vocabSize). The output
 * head shares its weight with the token embedding (`lm_head.weight` is `transformer.wte.weight`).
 *
 *   const model = new GPT({ vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 });
 *   const logits = model.forward(idx); // (B, T, 65)
 *   const { loss } = model.forward(idx, targets); // cross-entropy, targets -1 ignored
 *   const out = await model.generate([[0]], { maxNewTokens: 100, temperature: 0.8, topK: 10 });
 */
export class GPT extends Module {
  transformer: GPTModel;
  lmHead: Linear;
  readonly config: Readonly<GPTConfig>;

  constructor(config: Partial<GPTConfig> = {}, { device }: { device?: string } = {}) {
    super();
    const c: GPTConfig = { ...defaultGPTConfig, ...config };
    checkConfig(c);
    this.config = Object.freeze(c);
    this.transformer = new GPTModel(c, device);
    this.lmHead = new Linear(c.nEmbd, c.vocabSize, { bias: false, device });
    // weight tying: https://paperswithcode.com/method/weight-tying
    this.lmHead.weight = this.transformer.wte.weight;
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['transformer', this.transformer], ['lm_head', this.lmHead]];
  }

  /**
   * Number of parameters, the tied head counted once; without the position embeddings when
   * `nonEmbedding` (as nanoGPT's get_num_params).
   */
  getNumParams(nonEmbedding = true): number {
    return this.numParameters() - (nonEmbedding ? this.transformer.wpe.weight.size : 0);
  }

  forward(idx: Tensor): Tensor;
  forward(idx: Tensor, targets: Tensor): { logits: Tensor; loss: Tensor };
  forward(idx: Tensor, targets?: Tensor): Tensor | { logits: Tensor; loss: Tensor } {
    this.#checkIds('idx', idx, 0);
    const [B, T] = idx.shape;
    const x = this.transformer.forward(idx); // (B, T, nEmbd)
    const logits = this.lmHead.forward(x); // (B, T, vocabSize)
    if (!targets) return logits;
    if (targets.dtype !== 'int32' || targets.ndim !== 2 || targets.shape[0] !== B || targets.shape[1] !== T) {
      throw new ShapeError(this.label(), `targets must be int32 [${B},${T}] like idx, got ${targets.dtype} ${fmt(targets.shape)}`);
    }
    const loss = crossEntropy(logits.reshape([B * T, this.config.vocabSize]), targets.reshape([B * T]), { ignoreIndex: -1 });
    return { logits, loss };
  }

  /** A cache for `batchSize` rows of up to blockSize tokens, on the model's device. */
  newCache(batchSize: number): KVCache {
    const { nLayer, nHead, nEmbd, blockSize } = this.config;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new DLError('GPT.newCache', `batchSize must be a positive integer, got ${batchSize}`);
    const w = this.transformer.wte.weight;
    const make = () => Array.from({ length: nLayer }, () => zeros([batchSize, nHead, blockSize, nEmbd / nHead], { dtype: w.dtype, device: w.device }));
    return new KVCache(make(), make());
  }

  /**
   * The next-token logits (B, vocabSize) after idx (B, T), which follows the cache's tokens; the
   * cache then holds them too. No gradients.
   *
   *   const cache = model.newCache(1);
   *   model.forwardCached(prompt, cache); // prefill
   *   model.forwardCached(tensor([[token]], { dtype: 'int32' }), cache); // one position
   */
  forwardCached(idx: Tensor, cache: KVCache): Tensor {
    this.#checkIds('idx', idx, cache.length);
    if (cache.batchSize !== idx.shape[0] || cache.keys.length !== this.config.nLayer) {
      throw new ShapeError(`${this.label()}.forwardCached`, `the cache holds ${cache.batchSize} rows for ${cache.keys.length} layers; idx ${fmt(idx.shape)} needs ${idx.shape[0]} rows for ${this.config.nLayer} layers`);
    }
    return noGrad(() => scope(() => this.#lastLogits(this.transformer.forward(idx, cache))));
  }

  /** Logits of the last position only (B, vocabSize): all generation needs. */
  #lastLogits(x: Tensor): Tensor {
    const T = x.shape[1];
    return this.lmHead.forward(x.narrow(1, T - 1, 1)).squeeze(1); // (B, vocabSize)
  }

  /**
   * Takes token ids idx and completes each row maxNewTokens times, feeding the predictions back
   * into the model each time; resolves to (B, T + new) int32. Runs in eval mode (dropout off) and
   * restores the mode after. Past blockSize tokens, the context is the last blockSize (nanoGPT's
   * crop): then every step runs the whole window again.
   *
   *   const out = await model.generate(tok.encode('Call me'), { maxNewTokens: 50, temperature: 0 });
   *   tok.decode([...(await out.data())]);
   */
  async generate(idx: TokenInput, opts: GenerateOptions): Promise<Tensor> {
    const rows = (await toRows(idx)).map((r) => [...r]);
    for await (const tokens of this.stream(rows, opts)) tokens.forEach((t, b) => rows[b].push(t));
    return tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
  }

  /**
   * generate() as an async iterator: yields each step's tokens (one per row) as soon as they are
   * picked.
   *
   *   for await (const [id] of model.stream(tok.encode('Call me'), { maxNewTokens: 200 })) {
   *     process.stdout.write(decoder.push(id));
   *   }
   */
  async *stream(idx: TokenInput, opts: GenerateOptions): AsyncGenerator<number[], void, undefined> {
    const op = `${this.label()}.generate`;
    const { maxNewTokens, useCache = true, onToken } = opts;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new DLError(op, `maxNewTokens must be an integer >= 0, got ${maxNewTokens}`);
    checkSampling(op, opts);
    const { vocabSize, blockSize } = this.config;
    const stop = new Set(opts.stop === undefined ? [] : typeof opts.stop === 'number' ? [opts.stop] : opts.stop);
    for (const s of [...stop, ...(opts.padTokenId === undefined ? [] : [opts.padTokenId])]) {
      if (!Number.isInteger(s) || s < 0 || s >= vocabSize) throw new IndexError(op, `stop and padTokenId must be token ids in [0, ${vocabSize}), got ${s}`);
    }
    const rows = (await toRows(idx)).map((r) => [...r]);
    if (rows.length === 0 || rows[0].length === 0) throw new ShapeError(op, `idx needs at least one row of at least one token, got ${rows.length} rows of ${rows[0]?.length ?? 0}`);
    rows.forEach((r, b) =>
      r.forEach((t, i) => {
        if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new IndexError(op, `token id ${t} at [${b},${i}] of idx is outside the vocabulary [0, ${vocabSize})`);
      }),
    );
    const rng = opts.generator ?? (opts.seed !== undefined ? new Generator(opts.seed) : globalGenerator);
    const B = rows.length;
    const device = this.transformer.wte.weight.device;
    const window = (): Tensor => {
      const T = Math.min(rows[0].length, blockSize);
      return tensor(Int32Array.from(rows.flatMap((r) => r.slice(r.length - T))), { shape: [B, T], device });
    };
    const ended: (number | null)[] = rows.map(() => null);
    const wasTraining = this.training;
    this.eval();
    const cache = useCache ? this.newCache(B) : null;
    try {
      let logits = cache ? this.forwardCached(window(), cache) : this.#windowLogits(window());
      for (let step = 0; step < maxNewTokens; step++) {
        const data = await logits.data(); // (B, vocabSize)
        logits.dispose();
        const u = opts.temperature === 0 ? null : rand([B], { generator: rng, dtype: 'float64', device: 'cpu' }).dataSync();
        const next = rows.map((_, b) => {
          const done = ended[b];
          if (done !== null) return opts.padTokenId ?? done;
          let row = data.subarray(b * vocabSize, (b + 1) * vocabSize) as Float32Array | Float64Array;
          if (opts.logitsProcessor) opts.logitsProcessor((row = row.slice()), rows[b], b); // a copy: the processor writes to it
          const t = sampleLogits(row, opts, u ? u[b] : 0);
          if (stop.has(t)) ended[b] = t;
          return t;
        });
        next.forEach((t, b) => rows[b].push(t));
        onToken?.(next, step);
        yield next;
        if (step === maxNewTokens - 1 || ended.every((e) => e !== null)) break;
        if (!cache) logits = this.#windowLogits(window());
        else if (cache.length < blockSize) logits = this.forwardCached(tensor(Int32Array.from(next), { shape: [B, 1], device }), cache);
        else {
          // the window slides past blockSize: positions shift, so the cache is rebuilt from it
          cache.reset();
          logits = this.forwardCached(window(), cache);
        }
      }
    } finally {
      cache?.dispose();
      this.train(wasTraining);
    }
  }

  #windowLogits(idx: Tensor): Tensor {
    return noGrad(() => scope(() => this.#lastLogits(this.transformer.forward(idx))));
  }

  /** Checks ids: int32 (B, T), T within the block after `past` cached tokens, every id in the vocabulary (where readable now). */
  #checkIds(arg: string, idx: Tensor, past: number): void {
    const { vocabSize, blockSize } = this.config;
    const label = this.label();
    if (idx.dtype !== 'int32') throw new DTypeError(label, `${arg} must be int32 token ids, got ${idx.dtype} ${fmt(idx.shape)}`);
    if (idx.ndim !== 2 || idx.shape[1] === 0) throw new ShapeError(label, `${arg} must be [B,T] with T >= 1, got ${fmt(idx.shape)}`);
    const T = idx.shape[1];
    if (past + T > blockSize) {
      throw new ShapeError(label, past ? `${past} cached + ${T} new tokens (${arg} ${fmt(idx.shape)}) pass blockSize ${blockSize}` : `cannot forward a sequence of length ${T} (${arg} ${fmt(idx.shape)}): blockSize is only ${blockSize}`);
    }
    if (idx.device !== 'cpu') return; // read asynchronously on other devices; Embedding checks what it can
    const ids = idx.dataSync();
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= vocabSize) {
        throw new IndexError(label, `token id ${ids[i]} at ${fmt([Math.floor(i / T), i % T])} of ${arg} ${fmt(idx.shape)} is outside the vocabulary [0, ${vocabSize})`);
      }
    }
  }

  /**
   * AdamW parameter groups as nanoGPT's configure_optimizers: weight decay on every matrix
   * (weights, embeddings), none on biases and LayerNorm parameters.
   *
   *   const opt = new AdamW(model.paramGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
   */
  paramGroups(weightDecay: number): ParamGroupInput<{ weightDecay: number }>[] {
    const params = this.parameters();
    return [
      { params: params.filter((p) => p.ndim >= 2), weightDecay },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ];
  }

  /**
   * Reads a Hugging Face GPT-2 folder (`config.json` + `model.safetensors`, as `save_pretrained`
   * writes it or as the hub holds it) into a GPT in eval mode. A config that does not match the
   * weights, or missing and unexpected tensors, throw errors naming the keys.
   *
   *   const gpt2 = await GPT.fromPretrained('models/gpt2');
   */
  static async fromPretrained(dir: string, { device }: { device?: string } = {}): Promise<GPT> {
    const { config, tensors } = await readGPT2Folder(dir);
    return GPT.#fromTensors(config, tensors, dir, device);
  }

  /**
   * fromPretrained from the two files' contents (a browser fetches them): the parsed config.json
   * and the bytes of model.safetensors.
   *
   *   const gpt2 = GPT.fromGPT2Files(await (await fetch('gpt2/config.json')).json(), new Uint8Array(await (await fetch('gpt2/model.safetensors')).arrayBuffer()));
   */
  static fromGPT2Files(configJson: Record<string, unknown>, safetensors: Uint8Array, { device }: { device?: string } = {}): GPT {
    const config = gpt2ConfigFromJson(configJson);
    return GPT.#fromTensors(config, parseSafetensors(safetensors).tensors, 'config.json', device);
  }

  static #fromTensors(config: GPTConfig, tensors: Record<string, Tensor>, where: string, device: string | undefined): GPT {
    const model = new GPT(config, { device: 'cpu' });
    loadGPT2StateDict(model, tensors, where);
    if (device && device !== 'cpu') model.to(device);
    return model.eval();
  }

  /**
   * Writes `config.json` and `model.safetensors` (Hugging Face's names, the tied head left out)
   * atomically, so `GPT2LMHeadModel.from_pretrained(dir)` loads it in Python.
   *
   *   await model.savePretrained('runs/gpt-char');
   */
  async savePretrained(dir: string): Promise<void> {
    await writeGPT2Folder(dir, this.config, this.stateDict());
  }

  /** The same as savePretrained. */
  save(dir: string): Promise<void> {
    return this.savePretrained(dir);
  }

  protected override extraRepr(): string {
    const { nLayer, nHead, nEmbd, blockSize, vocabSize } = this.config;
    return `nLayer=${nLayer}, nHead=${nHead}, nEmbd=${nEmbd}, blockSize=${blockSize}, vocabSize=${vocabSize}`;
  }
}

/** Token rows from any TokenInput (a Tensor is read, on any device). */
async function toRows(idx: TokenInput): Promise<number[][]> {
  if (Array.isArray(idx) && (idx.length === 0 || typeof idx[0] === 'number')) return [[...(idx as number[])]];
  if (Array.isArray(idx)) {
    const rows = (idx as number[][]).map((r) => [...r]);
    if (rows.some((r) => r.length !== rows[0].length)) throw new ShapeError('GPT.generate', `rows of idx must have one length, got ${rows.map((r) => r.length).join(', ')}`);
    return rows;
  }
  const t = idx as Tensor;
  if (t.dtype !== 'int32' || t.ndim !== 2) throw new ShapeError('GPT.generate', `idx must be int32 [B,T], got ${t.dtype} ${fmt(t.shape)}`);
  const d = await t.data();
  const [B, T] = t.shape;
  return Array.from({ length: B }, (_, b) => Array.from(d.subarray(b * T, (b + 1) * T)));
}
