import { DLError, DTypeError, ShapeError, arange, fmt, isFloat, matmul, softmax, zeros, type Tensor } from '@dl/tensor';
import { dropout } from './activation.js';
import { checkSize } from './args.js';
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
    checkSize('MultiheadAttention', 'embedDim', embedDim);
    checkSize('MultiheadAttention', 'numHeads', numHeads);
    if (!(p >= 0 && p <= 1)) throw new DLError('MultiheadAttention', `dropout must be in [0, 1], got ${p}`);
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

  /** x [B, T, E] through the i-th (0 q, 1 k, 2 v) slice of the packed projection; protected for subclasses that attend differently */
  protected project(x: Tensor, i: number): Tensor {
    const E = this.embedDim;
    const w = this.inProjWeight.narrow(0, i * E, E); // [E, E]
    const y = matmul(x, w.T);
    const b = this.inProjBias;
    return b ? y.add(b.narrow(0, i * E, E)) : y;
  }

  /** q, k, v [B, T, E] of x [B, T, E]: views into one [B, T, 3E] projection */
  protected projectPacked(x: Tensor): Tensor[] {
    const y = matmul(x, this.inProjWeight.T); // (B, T, 3E)
    const b = this.inProjBias;
    return (b ? y.add(b) : y).chunk(3, -1);
  }

  /** [B, T, E] -> (B, H, T, hd), a view */
  protected heads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return x.reshape([B, T, this.numHeads, this.headDim]).transpose(1, 2); // (B, H, T, hd)
  }

  /**
   * Checks every argument against the others before any work, naming the wrong one with all the
   * shapes involved (a mismatch found inside matmul would name none of them).
   */
  protected checkArgs(query: Tensor, key: Tensor, value: Tensor, { attnMask, keyPaddingMask }: AttentionCallOptions): void {
    const E = this.embedDim;
    const label = this.label();
    const all = (): string => `query ${fmt(query.shape)}, key ${fmt(key.shape)}, value ${fmt(value.shape)}`;
    for (const [name, t, len] of [['query', query, 'L'], ['key', key, 'S'], ['value', value, 'S']] as const) {
      if (t.ndim !== 3 || t.shape[2] !== E) throw new ShapeError(label, `${name} must be [B, ${len}, ${E}] (batch first), got ${fmt(t.shape)} (${all()})`);
    }
    if (key.shape[0] !== query.shape[0]) throw new ShapeError(label, `key's batch size ${key.shape[0]} must equal query's ${query.shape[0]} (${all()})`);
    if (value.shape[0] !== key.shape[0] || value.shape[1] !== key.shape[1]) {
      throw new ShapeError(label, `value ${fmt(value.shape)} must have key's batch and length [${key.shape[0]},${key.shape[1]}] (${all()})`);
    }
    if (!isFloat(query.dtype)) throw new DTypeError(label, `query must be float, got ${query.dtype} (${all()})`);
    if (key.dtype !== query.dtype || value.dtype !== query.dtype) {
      throw new DTypeError(label, `key (${key.dtype}) and value (${value.dtype}) must have query's dtype ${query.dtype} (${all()})`);
    }
    const [B, L] = query.shape;
    const S = key.shape[1];
    const BH = B * this.numHeads;
    if (attnMask) {
      if (attnMask.dtype !== 'bool' && attnMask.dtype !== query.dtype) {
        throw new DTypeError(label, `attnMask must be bool or query's float dtype (${query.dtype}), got ${attnMask.dtype} ${fmt(attnMask.shape)}`);
      }
      const m = attnMask.shape;
      if (!((m.length === 2 && m[0] === L && m[1] === S) || (m.length === 3 && m[0] === BH && m[1] === L && m[2] === S))) {
        throw new ShapeError(label, `attnMask must be [${L},${S}] or [${BH},${L},${S}] ([L,S] or [B*numHeads,L,S]), got ${fmt(m)} (${all()})`);
      }
    }
    if (keyPaddingMask) {
      if (keyPaddingMask.dtype !== 'bool') throw new DTypeError(label, `keyPaddingMask must be bool, got ${keyPaddingMask.dtype} ${fmt(keyPaddingMask.shape)}`);
      const k = keyPaddingMask.shape;
      if (k.length !== 2 || k[0] !== B || k[1] !== S) throw new ShapeError(label, `keyPaddingMask must be [${B},${S}] ([B,S]), got ${fmt(k)} (${all()})`);
    }
  }

  forward(query: Tensor, key: Tensor, value: Tensor, opts: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    this.checkArgs(query, key, value, opts);
    const E = this.embedDim;
    const H = this.numHeads;
    const [B, L] = query.shape;
    const S = key.shape[1];
    // self-attention projects q, k and v in one product with the packed weight (one GEMM, and one
    // weight gradient instead of three assembled from slices), as PyTorch does
    const [qp, kp, vp] = query === key && key === value ? this.projectPacked(query) : [this.project(query, 0), this.project(key, 1), this.project(value, 2)];
    // q is scaled before the product, as PyTorch does: (B, H, L, hd) is smaller than (B, H, L, S)
    const q = this.heads(qp).mul(1 / Math.sqrt(this.headDim)); // (B, H, L, hd)
    const k = this.heads(kp); // (B, H, S, hd)
    const v = this.heads(vp); // (B, H, S, hd)
    let scores = matmul(q, k.transpose(2, 3)); // (B, H, L, S)

    const { attnMask, keyPaddingMask, isCausal } = opts;
    if (attnMask) {
      const m = attnMask.ndim === 3 ? attnMask.reshape([B, H, L, S]) : attnMask;
      scores = attnMask.dtype === 'bool' ? scores.maskedFill(m, -Infinity) : scores.add(m);
    }
    if (isCausal) {
      const rows = arange(0, L, 1, { device: query.device }).reshape([L, 1]);
      const cols = arange(0, S, 1, { device: query.device }).reshape([1, S]);
      scores = scores.maskedFill(cols.gt(rows), -Infinity);
    }
    if (keyPaddingMask) {
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
