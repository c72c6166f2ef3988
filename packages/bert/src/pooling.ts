/**
 * Sentence embeddings from token states: the mean over the real tokens (sentence-transformers'
 * mean pooling), for retrieval and similarity.
 */
import { DTypeError, ShapeError, fmt, isFloat, type Tensor } from '@dl/tensor';

/**
 * lastHiddenState (B, T, H) averaged over the positions where attentionMask (B, T) is 1 / true ->
 * (B, H); every position without a mask. As sentence-transformers: the count is clamped at 1e-9, so
 * a row without tokens gives zeros. `normalize` scales each row to unit L2 norm (F.normalize, eps
 * 1e-12), so dot products are cosine similarities.
 *
 *   const { lastHiddenState } = bert.forward(inputIds, { attentionMask });
 *   const e = meanPooling(lastHiddenState, attentionMask, { normalize: true }); // (B, H)
 *   const similarity = e.matmul(e.T); // (B, B)
 */
export function meanPooling(lastHiddenState: Tensor, attentionMask: Tensor | null = null, { normalize = false }: { normalize?: boolean } = {}): Tensor {
  const h = lastHiddenState;
  if (h.ndim !== 3 || !isFloat(h.dtype)) throw new ShapeError('meanPooling', `lastHiddenState must be float [B,T,H], got ${h.dtype} ${fmt(h.shape)}`);
  const [B, T] = h.shape;
  let pooled: Tensor;
  if (attentionMask) {
    if (attentionMask.ndim !== 2 || attentionMask.shape[0] !== B || attentionMask.shape[1] !== T) {
      throw new ShapeError('meanPooling', `attentionMask ${fmt(attentionMask.shape)} must be [B,T] = ${fmt([B, T])} of lastHiddenState ${fmt(h.shape)}`);
    }
    if (attentionMask.dtype !== 'int32' && attentionMask.dtype !== 'bool' && !isFloat(attentionMask.dtype)) {
      throw new DTypeError('meanPooling', `attentionMask must be int32, bool or float, got ${attentionMask.dtype} ${fmt(attentionMask.shape)}`);
    }
    const m = attentionMask.cast(h.dtype).unsqueeze(-1); // (B, T, 1)
    pooled = h.mul(m).sum(1).div(m.sum(1).clamp(1e-9)); // (B, H)
  } else {
    pooled = h.mean(1); // (B, H)
  }
  if (!normalize) return pooled;
  return pooled.div(pooled.square().sum(-1, true).sqrt().clamp(1e-12)); // (B, H), unit rows
}
