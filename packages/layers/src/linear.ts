import { noGrad } from '@dl/autograd';
import { DTypeError, IndexError, ShapeError, fmt, indexSelect, matmul, zeros, type Tensor } from '@dl/tensor';
import { checkSize } from './args.js';
import { defaultLinearInit, normal } from './init.js';
import { Module, param } from './module.js';

export interface LinearOptions {
  /** add a learned bias (default true) */
  bias?: boolean;
  device?: string;
}

/**
 * y = x W^T + b over the last dim: x [..., inFeatures] -> [..., outFeatures].
 * Weight [out, in], initialised as PyTorch (kaiming_uniform with a=sqrt(5)).
 *
 *   const fc = new Linear(784, 128);
 *   fc.forward(x); // [N, 128]
 */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, device }: LinearOptions = {},
  ) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    this.weight = param(zeros([outFeatures, inFeatures], { device }));
    this.bias = bias ? param(zeros([outFeatures], { device })) : null;
    defaultLinearInit(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(this.label(), `expected input [...,${this.inFeatures}], got ${fmt(x.shape)}`);
    }
    this.checkFloat(x);
    const y = matmul(x, this.weight.T); // [..., out]
    return this.bias ? y.add(this.bias) : y;
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input: a placeholder that keeps layer indices stable. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export interface EmbeddingOptions {
  /** this row gets no gradient (and starts at zero) */
  paddingIdx?: number;
  device?: string;
}

/**
 * A lookup table: int32 indices [...] -> [..., embeddingDim]; weight [num, dim] starts N(0, 1).
 *
 *   const emb = new Embedding(65, 128);
 *   emb.forward(tensor([[1, 2, 3]], { dtype: 'int32' })); // [1, 3, 128]
 */
export class Embedding extends Module {
  weight: Tensor;
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    { paddingIdx, device }: EmbeddingOptions = {},
  ) {
    super();
    checkSize('Embedding', 'numEmbeddings', numEmbeddings);
    checkSize('Embedding', 'embeddingDim', embeddingDim);
    if (paddingIdx !== undefined && (!Number.isInteger(paddingIdx) || paddingIdx < -numEmbeddings || paddingIdx >= numEmbeddings)) {
      throw new IndexError('Embedding', `paddingIdx (${paddingIdx}) must be within [${-numEmbeddings}, ${numEmbeddings}) (numEmbeddings ${numEmbeddings})`);
    }
    this.weight = param(zeros([numEmbeddings, embeddingDim], { device }));
    normal(this.weight);
    this.paddingIdx = paddingIdx === undefined ? null : paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
    if (this.paddingIdx !== null) {
      const row = this.paddingIdx;
      noGrad(() => this.weight.select(0, row).zero_());
    }
  }

  forward(idx: Tensor): Tensor {
    if (idx.dtype !== 'int32') throw new DTypeError(this.label(), `expected int32 indices, got ${idx.dtype} ${fmt(idx.shape)}`);
    const flat = idx.reshape([idx.size]);
    let rows: Tensor;
    try {
      rows = indexSelect(this.weight, 0, flat); // [n, dim]
    } catch (e) {
      if (e instanceof IndexError) throw new IndexError(this.label(), `indices must be in [0, ${this.numEmbeddings}) (indices ${fmt(idx.shape)}, flattened for the lookup); ${e.message}`);
      throw e;
    }
    let out = rows;
    if (this.paddingIdx !== null) {
      // same values as the lookup, but the padding rows come from a detached copy: no gradient
      const isPad = flat.eq(this.paddingIdx).unsqueeze(1);
      out = rows.where(isPad.logicalNot(), rows.detach());
    }
    return out.reshape([...idx.shape, this.embeddingDim]);
  }

  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : ''}`;
  }
}
