import { MultiheadAttention as LayersMultiheadAttention, type AttentionCallOptions } from '@dl/layers';
import { where, type Tensor } from '@dl/tensor';
import { scaledDotProductAttention } from './attention.js';
import { futureMask } from './fused-attention.js';

/**
 * Multi-head self- and cross-attention: @dl/layers' MultiheadAttention (PyTorch's
 * nn.MultiheadAttention with batch_first=True: `in_proj_weight`, `in_proj_bias`, `out_proj.*`,
 * PyTorch's mask conventions) whose attention runs through `scaledDotProductAttention` — one fused
 * kernel — when no weights are asked for (`needWeights: false`), as PyTorch's own does. Masks keep
 * nn.MultiheadAttention's meaning: a bool attnMask or keyPaddingMask is true where a key must be
 * ignored; a float one is added. A query whose keys are all masked gives zeros.
 *
 *   const attn = new MultiheadAttention(64, 4);
 *   const [y] = attn.forward(x, x, x, { isCausal: true, needWeights: false }); // self-attention, (B, T, 64)
 *   const [z] = attn.forward(x, memory, memory, { keyPaddingMask: pad, needWeights: false }); // cross-attention
 */
export class MultiheadAttention extends LayersMultiheadAttention {
  override forward(query: Tensor, key: Tensor, value: Tensor, opts: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    if (opts.needWeights !== false) return super.forward(query, key, value, opts);
    this.checkArgs(query, key, value, opts);
    const [B, L] = query.shape;
    const S = key.shape[1];
    const [qp, kp, vp] = query === key && key === value ? this.projectPacked(query) : [this.project(query, 0), this.project(key, 1), this.project(value, 2)];
    const mask = mergeMasks(opts, B, this.numHeads, L, S, query);
    const ctx = scaledDotProductAttention(this.heads(qp), this.heads(kp), this.heads(vp), {
      attnMask: mask,
      isCausal: !mask && opts.isCausal === true,
      dropoutP: this.training ? this.dropoutP : 0,
    }); // (B, H, L, hd)
    return [this.outProj.forward(ctx.transpose(1, 2).reshape([B, L, this.embedDim])), null];
  }
}

/**
 * nn.MultiheadAttention's masks (attnMask [L, S] or [B*H, L, S], keyPaddingMask [B, S], true =
 * ignore; float = added; isCausal) as one scaledDotProductAttention mask broadcastable to
 * (B, H, L, S): bool with true = attend while every part is bool, else additive.
 */
function mergeMasks({ attnMask, keyPaddingMask, isCausal }: AttentionCallOptions, B: number, H: number, L: number, S: number, query: Tensor): Tensor | null {
  const parts: Tensor[] = [];
  if (attnMask) parts.push(attnMask.ndim === 3 ? attnMask.reshape([B, H, L, S]) : attnMask);
  if (keyPaddingMask) parts.push(keyPaddingMask.reshape([B, 1, 1, S]));
  if (!parts.length) return null;
  if (isCausal) parts.push(futureMask(L, S, 0, query.device));
  if (parts.every((m) => m.dtype === 'bool')) return parts.map((m) => m.logicalNot()).reduce((a, b) => a.logicalAnd(b));
  return parts.map((m) => (m.dtype === 'bool' ? where(m, -Infinity, 0).cast(query.dtype) : m)).reduce((a, b) => a.add(b));
}
