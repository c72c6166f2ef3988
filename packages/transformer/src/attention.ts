/**
 * Scaled dot-product attention with PyTorch's `F.scaled_dot_product_attention` semantics: a bool
 * mask says which keys take part (true = attend), a float mask is added to the scores, isCausal
 * is the top-left lower triangle, and a query row with every key masked gives zeros.
 */
import { DLError, DTypeError, ShapeError, broadcastShapes, fmt, getBackend, isFloat, matmul, softmax, where, type Generator, type Tensor } from '@dl/tensor';
import { dropout } from '@dl/layers';
import { futureMask, fusedAttention, isEmptyAttention } from './fused-attention.js';

export interface ScaledDotProductAttentionOptions {
  /**
   * null; broadcastable to [..., L, S]: bool (true = the key takes part) or float added to the
   * scores (0 or -Infinity for a mask, any value for a bias such as ALiBi)
   */
  attnMask?: Tensor | null;
  /** false; query i sees keys 0..i (the top-left lower triangle of [L, S], as PyTorch) */
  isCausal?: boolean;
  /** 0; dropout on the attention weights (applied whenever > 0: pass 0 in eval, as PyTorch) */
  dropoutP?: number;
  /** 1 / sqrt(E) */
  scale?: number;
  /** where the dropout masks come from (default: the global generator) */
  generator?: Generator;
  /**
   * true; run the fused kernel where it applies (float32 on CPU and WebGPU, float64 on CPU, no
   * dropout); false: always the composed reference (matmul, softmax, matmul)
   */
  fused?: boolean;
}

/**
 * @internal The causal offset beside the public options: query i sees keys j <= i + offset
 * (a KV cache holding P keys uses P: the bottom-right triangle).
 */
export interface AttendOptions extends ScaledDotProductAttentionOptions {
  causalOffset?: number;
}

const OP = 'scaledDotProductAttention';

/**
 * softmax(q k^T * scale + mask) v: query [..., L, E], key [..., S, E], value [..., S, Ev] ->
 * [..., L, Ev], the leading dims broadcast. One fused kernel per call where it applies, else
 * matmul, softmax and matmul.
 *
 *   const y = scaledDotProductAttention(q, k, v, { isCausal: true }); // (B, nh, T, hs)
 *   scaledDotProductAttention(q, k, v, { attnMask: keep }); // keep: bool [B, 1, 1, S], true = attend
 */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor {
  return attend(query, key, value, opts);
}

/** @internal scaledDotProductAttention with a causal offset (see AttendOptions). */
export function attend(query: Tensor, key: Tensor, value: Tensor, opts: AttendOptions = {}): Tensor {
  const { attnMask = null, isCausal = false, dropoutP = 0, generator, fused = true } = opts;
  const batch = checkArgs(query, key, value, opts);
  const L = query.shape[query.ndim - 2];
  const S = key.shape[key.ndim - 2];
  const E = query.shape[query.ndim - 1];
  const Ev = value.shape[value.ndim - 1];
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const causal = opts.causalOffset ?? (isCausal ? 0 : null);
  if (fused && dropoutP === 0 && canFuse(query, L, S, batch) && !isEmptyAttention(query, key, value)) {
    // 4-D views (B, H, T, E) of the broadcast inputs; leading dims past two fold into B
    const lead = batch.length <= 2 ? [...Array(2 - batch.length).fill(1), ...batch] : [batch.slice(0, -1).reduce((a, b) => a * b, 1), batch[batch.length - 1]];
    const as4d = (t: Tensor, rows: number, cols: number) => t.expand([...batch, rows, cols]).reshape([...lead, rows, cols]);
    const inputs = [as4d(query, L, E), as4d(key, S, E), as4d(value, S, Ev)];
    if (attnMask) inputs.push(as4d(additive(attnMask, query), L, S));
    const y = fusedAttention(inputs, { scale, causal }); // (B, H, L, Ev)
    return y.reshape([...batch, L, Ev]);
  }
  let s = matmul(query.mul(scale), key.transpose(-2, -1)); // (..., L, S)
  if (attnMask) s = attnMask.dtype === 'bool' ? s.maskedFill(attnMask.logicalNot(), -Infinity) : s.add(attnMask);
  if (causal !== null) s = s.maskedFill(futureMask(L, S, causal, s.device), -Infinity);
  let p = softmax(s, -1); // rows with every key masked are 0
  if (dropoutP > 0) p = dropout(p, dropoutP, true, generator);
  return matmul(p, value); // (..., L, Ev)
}

/**
 * On the CPU the composed path's two GEMMs (WebAssembly SIMD on both threads) beat the fused
 * kernel's scalar loop once a head has more than a few query rows; the fused kernel keeps the
 * decoding steps (a few rows over a KV cache, read in place) and score tensors too large to
 * materialise. (`pnpm bench`, 2 threads: BERT's step, B=16, 4 heads, T=128, 880 -> 514 ms; char GPT's, T=64, 209 -> 154 ms.)
 */
const CPU_FUSED_MAX_ROWS = 8;
const CPU_COMPOSED_MAX_SCORES = 1 << 24;

/** True where the fused kernel runs: a device with custom kernels, a dtype they take, and (CPU) a shape it is faster on. */
function canFuse(q: Tensor, L: number, S: number, batch: readonly number[]): boolean {
  const kind = getBackend(q.device, OP).customKernels;
  if (kind === 'wgsl') return q.dtype === 'float32';
  if (kind !== 'cpu' || (q.dtype !== 'float32' && q.dtype !== 'float64')) return false;
  return L <= CPU_FUSED_MAX_ROWS || batch.reduce((a, b) => a * b, 1) * L * S > CPU_COMPOSED_MAX_SCORES;
}

/** A bool mask (true = attend) as 0 / -Infinity in q's dtype; a float mask as it is. */
function additive(mask: Tensor, q: Tensor): Tensor {
  return mask.dtype === 'bool' ? where(mask, 0, -Infinity).cast(q.dtype) : mask;
}

/** Checks every argument before any work; returns the broadcast leading dims. */
function checkArgs(q: Tensor, k: Tensor, v: Tensor, { attnMask, isCausal, causalOffset, dropoutP = 0, scale }: AttendOptions): number[] {
  const all = (): string => `query ${fmt(q.shape)}, key ${fmt(k.shape)}, value ${fmt(v.shape)}${attnMask ? `, attnMask ${fmt(attnMask.shape)}` : ''}`;
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) throw new ShapeError(OP, `query, key and value need at least 2 dims ([..., L, E], [..., S, E], [..., S, Ev]); got ${all()}`);
  if (!isFloat(q.dtype)) throw new DTypeError(OP, `query must be float, got ${q.dtype} (${all()})`);
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) throw new DTypeError(OP, `key (${k.dtype}) and value (${v.dtype}) must have query's dtype ${q.dtype} (${all()})`);
  const E = q.shape[q.ndim - 1];
  const S = k.shape[k.ndim - 2];
  if (k.shape[k.ndim - 1] !== E) throw new ShapeError(OP, `key's last dim (${k.shape[k.ndim - 1]}) must equal query's (${E}); got ${all()}`);
  if (v.shape[v.ndim - 2] !== S) throw new ShapeError(OP, `value's length (dim -2, ${v.shape[v.ndim - 2]}) must equal key's (${S}); got ${all()}`);
  let batch: number[];
  try {
    batch = broadcastShapes(OP, q.shape.slice(0, -2), k.shape.slice(0, -2), v.shape.slice(0, -2));
  } catch {
    throw new ShapeError(OP, `the leading (batch) dims of query, key and value must broadcast; got ${all()}`);
  }
  if (attnMask) {
    if (attnMask.dtype !== 'bool' && attnMask.dtype !== q.dtype) {
      throw new DTypeError(OP, `attnMask must be bool (true = attend) or query's dtype ${q.dtype}, got ${attnMask.dtype} (${all()})`);
    }
    const want = [...batch, q.shape[q.ndim - 2], S];
    let ok = attnMask.ndim <= want.length;
    if (ok) {
      try {
        ok = broadcastShapes(OP, attnMask.shape, want).every((d, i) => d === want[i]);
      } catch {
        ok = false;
      }
    }
    if (!ok) throw new ShapeError(OP, `attnMask ${fmt(attnMask.shape)} must broadcast to [...batch, L, S] = ${fmt(want)} (${all()})`);
    if (isCausal) throw new DLError(OP, `give attnMask or isCausal, not both (as PyTorch); fold the causal mask into attnMask (${all()})`);
  }
  if (causalOffset !== undefined && !Number.isInteger(causalOffset)) throw new DLError(OP, `causalOffset must be an integer, got ${causalOffset}`);
  if (!(dropoutP >= 0 && dropoutP < 1)) throw new DLError(OP, `dropoutP must be in [0, 1), got ${dropoutP}`);
  if (scale !== undefined && !Number.isFinite(scale)) throw new DLError(OP, `scale must be a finite number, got ${scale}`);
  return batch;
}
