import { DTypeError, ShapeError, arange, fmt, matmul, softmax, zeros, type Tensor } from '@dl/tensor';
import { dropout } from './activation.js';
import { xavierUniform, zeros as zeroInit } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface MultiheadAttentionOptions {
  /** dropout on the attention weights while training */
  dropout?: number;
  bias?: boolean;
  device?: string;
}

export interface AttentionCallOptions {
  /** [B, S] bool, true where a key is padding and must be ignored */
  keyPaddingMask?: Tensor;
  /** [L, S] or [B*numHeads, L, S]: bool (true = not allowed) or float (added to the scores) */
  attnMask?: Tensor;
  /** mask every key after the query's position */
  isCausal?: boolean;
  /** also return the attention weights (default true, as PyTorch) */
  needWeights?: boolean;
  /** average the returned weights over heads (default true) */
  averageAttnWeights?: boolean;
}

/**
 * Multi-head attention with batch-first inputs, as PyTorch's nn.MultiheadAttention with
 * batch_first=True (same parameter names: in_proj_weight, in_proj_bias, out_proj.*).
 * Returns [output [B, L, E], weights [B, L, S] (or [B, H, L, S]) | null].
 *
 *   const mha = new MultiheadAttention(128, 4);
 *   const [y] = mha.forward(x, x, x, { isCausal: true }); // self-attention, x [B, T, 128]
 */
export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly dropoutP: number;
  outProj: Linear;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    { dropout: p = 0, bias = true, device }: MultiheadAttentionOptions = {},
  ) {
    super();
    if (embedDim % numHeads) throw new ShapeError('MultiheadAttention', `embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    this.headDim = embedDim / numHeads;
    this.dropoutP = p;
    this.registerParameter('in_proj_weight', zeros([3 * embedDim, embedDim], { device }));
    this.registerParameter('in_proj_bias', bias ? zeros([3 * embedDim], { device }) : null);
    this.outProj = new Linear(embedDim, embedDim, { bias, device });
    xavierUniform(this.inProjWeight);
    if (this.outProj.bias) zeroInit(this.outProj.bias);
  }

  get inProjWeight(): Tensor {
    return this.parameter('in_proj_weight')!;
  }
  get inProjBias(): Tensor | null {
    return this.parameter('in_proj_bias');
  }

  // PyTorch names the output projection out_proj
  protected override entries(): Iterable<[string, unknown]> {
    return [['out_proj', this.outProj]];
  }

  #project(x: Tensor, i: number): Tensor {
    const E = this.embedDim;
    const w = this.inProjWeight.narrow(0, i * E, E); // [E, E]
    const y = matmul(x, w.T);
    const b = this.inProjBias;
    return b ? y.add(b.narrow(0, i * E, E)) : y;
  }

  /** q, k, v [B, T, E] of x [B, T, E]: views into one [B, T, 3E] projection */
  #projectPacked(x: Tensor): Tensor[] {
    const y = matmul(x, this.inProjWeight.T); // (B, T, 3E)
    const b = this.inProjBias;
    return (b ? y.add(b) : y).chunk(3, -1);
  }

  #heads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return x.reshape([B, T, this.numHeads, this.headDim]).transpose(1, 2); // (B, H, T, hd)
  }

  forward(query: Tensor, key: Tensor, value: Tensor, opts: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    const E = this.embedDim;
    const H = this.numHeads;
    this.checkInput(query, [null, null, E], ['B', 'L', 'E']);
    this.checkInput(key, [query.shape[0], null, E], ['B', 'S', 'E']);
    this.checkInput(value, [query.shape[0], key.shape[1], E], ['B', 'S', 'E']);
    const [B, L] = query.shape;
    const S = key.shape[1];
    // self-attention projects q, k and v in one product with the packed weight (one GEMM, and one
    // weight gradient instead of three assembled from slices), as PyTorch does
    const [qp, kp, vp] = query === key && key === value ? this.#projectPacked(query) : [this.#project(query, 0), this.#project(key, 1), this.#project(value, 2)];
    // q is scaled before the product, as PyTorch does: (B, H, L, hd) is smaller than (B, H, L, S)
    const q = this.#heads(qp).mul(1 / Math.sqrt(this.headDim)); // (B, H, L, hd)
    const k = this.#heads(kp); // (B, H, S, hd)
    const v = this.#heads(vp); // (B, H, S, hd)
    let scores = matmul(q, k.transpose(2, 3)); // (B, H, L, S)

    const { attnMask, keyPaddingMask, isCausal } = opts;
    if (attnMask) {
      const ok = (attnMask.ndim === 2 && attnMask.shape[0] === L && attnMask.shape[1] === S) || (attnMask.ndim === 3 && attnMask.shape[0] === B * H && attnMask.shape[1] === L && attnMask.shape[2] === S);
      if (!ok) throw new ShapeError(this.label(), `attnMask must be [${L},${S}] or [${B * H},${L},${S}], got ${fmt(attnMask.shape)}`);
      const m = attnMask.ndim === 3 ? attnMask.reshape([B, H, L, S]) : attnMask;
      scores = attnMask.dtype === 'bool' ? scores.maskedFill(m, -Infinity) : scores.add(m);
    }
    if (isCausal) {
      const rows = arange(0, L, 1, { device: query.device }).reshape([L, 1]);
      const cols = arange(0, S, 1, { device: query.device }).reshape([1, S]);
      scores = scores.maskedFill(cols.gt(rows), -Infinity);
    }
    if (keyPaddingMask) {
      if (keyPaddingMask.dtype !== 'bool') throw new DTypeError(this.label(), `keyPaddingMask must be bool, got ${keyPaddingMask.dtype}`);
      this.checkInput(keyPaddingMask, [B, S], ['B', 'S']);
      scores = scores.maskedFill(keyPaddingMask.reshape([B, 1, 1, S]), -Infinity);
    }
    const attn = softmax(scores, -1); // (B, H, L, S)
    const dropped = dropout(attn, this.dropoutP, this.training);
    const ctx = matmul(dropped, v).transpose(1, 2).reshape([B, L, E]); // (B, L, E)
    const out = this.outProj.forward(ctx);
    if (opts.needWeights === false) return [out, null];
    return [out, opts.averageAttnWeights === false ? attn : attn.mean(1)];
  }

  protected override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}`;
  }
}
