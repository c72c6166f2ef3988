/**
 * The encoder-decoder Transformer of "Attention Is All You Need", layer for layer as PyTorch's
 * `nn.Transformer`, `nn.TransformerEncoder(Layer)` and `nn.TransformerDecoder(Layer)`: the same
 * parameter names (`encoder.layers.0.self_attn.in_proj_weight`, `decoder.layers.1.norm3.bias`),
 * options (normFirst, activation, batchFirst, bias) and masks (srcMask, tgtMask, memoryMask: bool
 * true = not allowed, or float added; *KeyPaddingMask [B, S]: true = padding), so a state dict
 * moves between the two with `strict: true`.
 */
import { DLError, DTypeError, ShapeError, fmt, full, type Tensor } from '@dl/tensor';
import { Dropout, LayerNorm, Linear, Module, init } from '@dl/layers';
import { applyActivation } from './mlp.js';
import { MultiheadAttention } from './multihead.js';

/** 'relu' (default), 'gelu' (exact, erf), or any function of a tensor. */
export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions {
  /** 2048; width of the feed-forward network */
  dimFeedforward?: number;
  /** 0.1; dropout after attention, in the feed-forward network and on the attention weights */
  dropout?: number;
  /** 'relu' */
  activation?: TransformerActivation;
  /** 1e-5 */
  layerNormEps?: number;
  /** false: inputs are (S, B, E), as PyTorch's default; true: (B, S, E) */
  batchFirst?: boolean;
  /** false: post-norm (LayerNorm after each residual add, the original); true: pre-norm */
  normFirst?: boolean;
  /** true; biases in the linear layers and layer norms */
  bias?: boolean;
  device?: string;
}

export interface EncoderLayerCallOptions {
  /** [S, S] or [B*nhead, S, S]; bool true = not allowed, or float added */
  srcMask?: Tensor;
  /** [B, S] bool, true where src is padding */
  srcKeyPaddingMask?: Tensor;
  /** apply the causal mask (without srcMask, it is made here) */
  isCausal?: boolean;
}

export interface DecoderLayerCallOptions {
  /** [T, T] or [B*nhead, T, T]; bool true = not allowed, or float added */
  tgtMask?: Tensor;
  /** [T, S] or [B*nhead, T, S] over the memory */
  memoryMask?: Tensor;
  /** [B, T] bool, true where tgt is padding */
  tgtKeyPaddingMask?: Tensor;
  /** [B, S] bool, true where the memory (src) is padding */
  memoryKeyPaddingMask?: Tensor;
  /** apply the causal mask to the self-attention (without tgtMask, it is made here) */
  tgtIsCausal?: boolean;
  /** apply a causal mask to the cross-attention */
  memoryIsCausal?: boolean;
}

interface ResolvedOptions extends Required<Omit<TransformerLayerOptions, 'device'>> {
  device: string | undefined;
}

function resolve(owner: string, dModel: number, nhead: number, o: TransformerLayerOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    dimFeedforward: o.dimFeedforward ?? 2048,
    dropout: o.dropout ?? 0.1,
    activation: o.activation ?? 'relu',
    layerNormEps: o.layerNormEps ?? 1e-5,
    batchFirst: o.batchFirst ?? false,
    normFirst: o.normFirst ?? false,
    bias: o.bias ?? true,
    device: o.device,
  };
  if (typeof r.activation !== 'function' && r.activation !== 'relu' && r.activation !== 'gelu') {
    throw new DLError(owner, `activation must be 'relu', 'gelu' or a function, got ${JSON.stringify(r.activation)}`);
  }
  if (!Number.isInteger(dModel) || dModel < 1 || !Number.isInteger(nhead) || nhead < 1) throw new DLError(owner, `dModel and nhead must be positive integers, got ${dModel} and ${nhead}`);
  if (dModel % nhead) throw new ShapeError(owner, `dModel (${dModel}) must be divisible by nhead (${nhead})`);
  return r;
}

/** Checks a sequence input: (B, S, dModel) with batchFirst, else (S, B, dModel). */
function checkSeq(label: string, arg: string, x: Tensor, dModel: number, batchFirst: boolean): void {
  if (x.ndim !== 3 || x.shape[2] !== dModel) {
    throw new ShapeError(label, `expected ${arg} ${batchFirst ? '[B,S,' : '[S,B,'}${dModel}] (batchFirst ${batchFirst}), got ${fmt(x.shape)}`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'float64' && x.dtype !== 'float16') throw new DTypeError(label, `expected a float ${arg}, got ${x.dtype} ${fmt(x.shape)}`);
}

/** Attention of x over mem in the layer's layout (PyTorch's _sa_block / _mha_block without the dropout). */
function attendIn(attn: MultiheadAttention, x: Tensor, mem: Tensor, batchFirst: boolean, attnMask?: Tensor, keyPaddingMask?: Tensor, isCausal?: boolean): Tensor {
  const q = batchFirst ? x : x.transpose(0, 1); // (B, L, E)
  const kv = mem === x ? q : batchFirst ? mem : mem.transpose(0, 1); // (B, S, E)
  const [y] = attn.forward(q, kv, kv, { attnMask, keyPaddingMask, isCausal, needWeights: false });
  return batchFirst ? y : y.transpose(0, 1);
}

/**
 * One encoder layer: self-attention and a feed-forward network, each in a residual branch with
 * dropout and LayerNorm (after the add, or before the branch with normFirst). Input and output
 * (S, B, dModel), or (B, S, dModel) with batchFirst.
 *
 *   const layer = new TransformerEncoderLayer(64, 4, { dimFeedforward: 128, batchFirst: true });
 *   layer.forward(x, { srcKeyPaddingMask: pad }); // (B, S, 64)
 */
export class TransformerEncoderLayer extends Module {
  selfAttn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly options: ResolvedOptions;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    options: TransformerLayerOptions = {},
  ) {
    super();
    const o = (this.options = resolve('TransformerEncoderLayer', dModel, nhead, options));
    const { bias, device } = o;
    this.selfAttn = new MultiheadAttention(dModel, nhead, { dropout: o.dropout, bias, device });
    this.linear1 = new Linear(dModel, o.dimFeedforward, { bias, device });
    this.dropout = new Dropout(o.dropout);
    this.linear2 = new Linear(o.dimFeedforward, dModel, { bias, device });
    this.norm1 = new LayerNorm(dModel, { eps: o.layerNormEps, bias, device });
    this.norm2 = new LayerNorm(dModel, { eps: o.layerNormEps, bias, device });
    this.dropout1 = new Dropout(o.dropout);
    this.dropout2 = new Dropout(o.dropout);
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['self_attn', this.selfAttn], ['linear1', this.linear1], ['dropout', this.dropout], ['linear2', this.linear2], ['norm1', this.norm1], ['norm2', this.norm2], ['dropout1', this.dropout1], ['dropout2', this.dropout2]];
  }

  forward(src: Tensor, { srcMask, srcKeyPaddingMask, isCausal }: EncoderLayerCallOptions = {}): Tensor {
    const { batchFirst, normFirst } = this.options;
    checkSeq(this.label(), 'src', src, this.dModel, batchFirst);
    const sa = (x: Tensor) => this.dropout1.forward(attendIn(this.selfAttn, x, x, batchFirst, srcMask, srcKeyPaddingMask, isCausal));
    let x = src;
    if (normFirst) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(this.#ff(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(this.#ff(x)));
    }
    return x;
  }

  #ff(x: Tensor): Tensor {
    const h = this.dropout.forward(applyActivation(this.linear1.forward(x), this.options.activation)); // (.., dimFeedforward)
    return this.dropout2.forward(this.linear2.forward(h));
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, normFirst=${this.options.normFirst}, batchFirst=${this.options.batchFirst}`;
  }
}

/**
 * One decoder layer: masked self-attention, cross-attention over the encoder's output (memory)
 * and a feed-forward network, each in a residual branch with dropout and LayerNorm.
 *
 *   const layer = new TransformerDecoderLayer(64, 4, { batchFirst: true });
 *   layer.forward(tgt, memory, { tgtIsCausal: true }); // (B, T, 64)
 */
export class TransformerDecoderLayer extends Module {
  selfAttn: MultiheadAttention;
  multiheadAttn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly options: ResolvedOptions;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    options: TransformerLayerOptions = {},
  ) {
    super();
    const o = (this.options = resolve('TransformerDecoderLayer', dModel, nhead, options));
    const { bias, device } = o;
    this.selfAttn = new MultiheadAttention(dModel, nhead, { dropout: o.dropout, bias, device });
    this.multiheadAttn = new MultiheadAttention(dModel, nhead, { dropout: o.dropout, bias, device });
    this.linear1 = new Linear(dModel, o.dimFeedforward, { bias, device });
    this.dropout = new Dropout(o.dropout);
    this.linear2 = new Linear(o.dimFeedforward, dModel, { bias, device });
    this.norm1 = new LayerNorm(dModel, { eps: o.layerNormEps, bias, device });
    this.norm2 = new LayerNorm(dModel, { eps: o.layerNormEps, bias, device });
    this.norm3 = new LayerNorm(dModel, { eps: o.layerNormEps, bias, device });
    this.dropout1 = new Dropout(o.dropout);
    this.dropout2 = new Dropout(o.dropout);
    this.dropout3 = new Dropout(o.dropout);
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [
      ['self_attn', this.selfAttn],
      ['multihead_attn', this.multiheadAttn],
      ['linear1', this.linear1],
      ['dropout', this.dropout],
      ['linear2', this.linear2],
      ['norm1', this.norm1],
      ['norm2', this.norm2],
      ['norm3', this.norm3],
      ['dropout1', this.dropout1],
      ['dropout2', this.dropout2],
      ['dropout3', this.dropout3],
    ];
  }

  forward(tgt: Tensor, memory: Tensor, o: DecoderLayerCallOptions = {}): Tensor {
    const { batchFirst, normFirst } = this.options;
    const label = this.label();
    checkSeq(label, 'tgt', tgt, this.dModel, batchFirst);
    checkSeq(label, 'memory', memory, this.dModel, batchFirst);
    const b = batchFirst ? 0 : 1;
    if (memory.shape[b] !== tgt.shape[b]) throw new ShapeError(label, `tgt ${fmt(tgt.shape)} and memory ${fmt(memory.shape)} must have one batch size (dim ${b}, batchFirst ${batchFirst})`);
    const sa = (x: Tensor) => this.dropout1.forward(attendIn(this.selfAttn, x, x, batchFirst, o.tgtMask, o.tgtKeyPaddingMask, o.tgtIsCausal));
    const mha = (x: Tensor) => this.dropout2.forward(attendIn(this.multiheadAttn, x, memory, batchFirst, o.memoryMask, o.memoryKeyPaddingMask, o.memoryIsCausal));
    let x = tgt;
    if (normFirst) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(mha(this.norm2.forward(x)));
      x = x.add(this.#ff(this.norm3.forward(x)));
    } else {
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(mha(x)));
      x = this.norm3.forward(x.add(this.#ff(x)));
    }
    return x;
  }

  #ff(x: Tensor): Tensor {
    const h = this.dropout.forward(applyActivation(this.linear1.forward(x), this.options.activation)); // (.., dimFeedforward)
    return this.dropout3.forward(this.linear2.forward(h));
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, normFirst=${this.options.normFirst}, batchFirst=${this.options.batchFirst}`;
  }
}

type LayerSource<L> = L | ((i: number) => L);

/**
 * numLayers layers from `layer`: a layer is copied with its weights (as PyTorch's deep copies, so
 * all start equal), a function `(i) => layer` makes each (independently initialised).
 */
function stack<L extends TransformerEncoderLayer | TransformerDecoderLayer>(owner: string, layer: LayerSource<L>, numLayers: number): L[] {
  if (!Number.isInteger(numLayers) || numLayers < 1) throw new DLError(owner, `numLayers must be a positive integer, got ${numLayers}`);
  if (typeof layer === 'function') return Array.from({ length: numLayers }, (_, i) => layer(i));
  const copies: L[] = [layer];
  const device = layer.parameters()[0]?.device;
  for (let i = 1; i < numLayers; i++) {
    const Ctor = layer.constructor as new (dModel: number, nhead: number, o: TransformerLayerOptions) => L;
    const c = new Ctor(layer.dModel, layer.nhead, { ...layer.options, device });
    c.loadStateDict(layer.stateDict());
    copies.push(c);
  }
  return copies;
}

/**
 * numLayers encoder layers and an optional final norm (PyTorch's nn.TransformerEncoder; `layers.i.*`, `norm.*`).
 *
 *   const enc = new TransformerEncoder(new TransformerEncoderLayer(64, 4, { batchFirst: true }), 2);
 *   const memory = enc.forward(src, { srcKeyPaddingMask: pad }); // (B, S, 64)
 */
export class TransformerEncoder extends Module {
  layers: TransformerEncoderLayer[];
  norm: LayerNorm | null;

  constructor(encoderLayer: LayerSource<TransformerEncoderLayer>, readonly numLayers: number, { norm = null }: { norm?: LayerNorm | null } = {}) {
    super();
    this.layers = stack('TransformerEncoder', encoderLayer, numLayers);
    this.norm = norm;
  }

  forward(src: Tensor, { mask, srcKeyPaddingMask, isCausal }: { mask?: Tensor; srcKeyPaddingMask?: Tensor; isCausal?: boolean } = {}): Tensor {
    let x = src;
    for (const layer of this.layers) x = layer.forward(x, { srcMask: mask, srcKeyPaddingMask, isCausal });
    return this.norm ? this.norm.forward(x) : x;
  }
}

/**
 * numLayers decoder layers and an optional final norm (PyTorch's nn.TransformerDecoder).
 *
 *   const dec = new TransformerDecoder((i) => new TransformerDecoderLayer(64, 4, { batchFirst: true }), 2);
 *   dec.forward(tgt, memory, { tgtIsCausal: true }); // (B, T, 64)
 */
export class TransformerDecoder extends Module {
  layers: TransformerDecoderLayer[];
  norm: LayerNorm | null;

  constructor(decoderLayer: LayerSource<TransformerDecoderLayer>, readonly numLayers: number, { norm = null }: { norm?: LayerNorm | null } = {}) {
    super();
    this.layers = stack('TransformerDecoder', decoderLayer, numLayers);
    this.norm = norm;
  }

  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerCallOptions = {}): Tensor {
    let x = tgt;
    for (const layer of this.layers) x = layer.forward(x, memory, opts);
    return this.norm ? this.norm.forward(x) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  /** 6 */
  numEncoderLayers?: number;
  /** 6 */
  numDecoderLayers?: number;
}

export interface TransformerCallOptions extends DecoderLayerCallOptions {
  /** [S, S] or [B*nhead, S, S] over src */
  srcMask?: Tensor;
  /** [B, S] bool, true where src is padding */
  srcKeyPaddingMask?: Tensor;
  /** causal self-attention in the encoder */
  srcIsCausal?: boolean;
}

/**
 * The whole encoder-decoder (PyTorch's nn.Transformer): an encoder and a decoder, each ending in a
 * LayerNorm, every matrix initialised Xavier-uniform. Embeddings, position encodings and the
 * output projection are the caller's, as in PyTorch.
 *
 *   const model = new Transformer({ dModel: 64, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 2, batchFirst: true });
 *   const tgtMask = Transformer.generateSquareSubsequentMask(T);
 *   const y = model.forward(src, tgt, { tgtMask }); // (B, T, 64)
 */
export class Transformer extends Module {
  encoder: TransformerEncoder;
  decoder: TransformerDecoder;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor({ dModel = 512, nhead = 8, numEncoderLayers = 6, numDecoderLayers = 6, ...layer }: TransformerOptions & { dModel?: number; nhead?: number } = {}) {
    super();
    const norm = () => new LayerNorm(dModel, { eps: layer.layerNormEps ?? 1e-5, bias: layer.bias ?? true, device: layer.device });
    this.encoder = new TransformerEncoder(() => new TransformerEncoderLayer(dModel, nhead, layer), numEncoderLayers, { norm: norm() });
    this.decoder = new TransformerDecoder(() => new TransformerDecoderLayer(dModel, nhead, layer), numDecoderLayers, { norm: norm() });
    this.dModel = dModel;
    this.nhead = nhead;
    this.batchFirst = layer.batchFirst ?? false;
    for (const p of this.parameters()) if (p.ndim > 1) init.xavierUniform(p);
  }

  forward(src: Tensor, tgt: Tensor, o: TransformerCallOptions = {}): Tensor {
    const b = this.batchFirst ? 0 : 1;
    if (src.ndim !== 3 || tgt.ndim !== 3 || src.shape[b] !== tgt.shape[b]) {
      throw new ShapeError(this.label(), `src ${fmt(src.shape)} and tgt ${fmt(tgt.shape)} must be 3-D with one batch size (dim ${b}, batchFirst ${this.batchFirst})`);
    }
    if (src.shape[2] !== this.dModel || tgt.shape[2] !== this.dModel) {
      throw new ShapeError(this.label(), `the feature size of src ${fmt(src.shape)} and tgt ${fmt(tgt.shape)} must equal dModel (${this.dModel})`);
    }
    const memory = this.encoder.forward(src, { mask: o.srcMask, srcKeyPaddingMask: o.srcKeyPaddingMask, isCausal: o.srcIsCausal });
    return this.decoder.forward(tgt, memory, o);
  }

  /**
   * [sz, sz] float: 0 on and below the diagonal, -Infinity above (position i sees 0..i), as
   * PyTorch's nn.Transformer.generate_square_subsequent_mask.
   *
   *   Transformer.generateSquareSubsequentMask(3); // [[0, -inf, -inf], [0, 0, -inf], [0, 0, 0]]
   */
  static generateSquareSubsequentMask(sz: number, { device }: { device?: string } = {}): Tensor {
    if (!Number.isInteger(sz) || sz < 0) throw new DLError('Transformer.generateSquareSubsequentMask', `sz must be an integer >= 0, got ${sz}`);
    return full([sz, sz], -Infinity, { device }).triu(1);
  }
}
