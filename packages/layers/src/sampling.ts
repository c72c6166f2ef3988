/**
 * Picking the next token from a row of logits on the host: greedy, temperature, top-k and top-p
 * (nucleus) sampling, as nanoGPT's and Hugging Face's generate. Done on the host because the
 * token is needed there anyway (to stream it, to test for a stop token), and so that one seed
 * gives the same tokens on every device.
 */
import { DLError } from '@dl/tensor';

export interface SamplingOptions {
  /** 1; divides the logits; 0 takes the most likely token (greedy) */
  temperature?: number;
  /** null; keep only the k most likely tokens (ties with the k-th kept, as nanoGPT) */
  topK?: number | null;
  /** 1; keep the most likely tokens whose probabilities first sum to at least topP (HF's top_p) */
  topP?: number;
}

/** Throws a DLError naming the bad sampling option. */
export function checkSampling(op: string, { temperature = 1, topK = null, topP = 1 }: SamplingOptions): void {
  if (!(temperature >= 0 && Number.isFinite(temperature))) throw new DLError(op, `temperature must be a finite number >= 0 (0 = greedy), got ${temperature}`);
  if (topK !== null && !(Number.isInteger(topK) && topK >= 1)) throw new DLError(op, `topK must be an integer >= 1 or null, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new DLError(op, `topP must be in (0, 1], got ${topP}`);
}

/** Index of the largest value (the first one on ties, as torch.argmax). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * The next token from one row of logits, given a uniform number u in [0, 1).
 *
 *   sampleLogits(logits, { temperature: 0.8, topK: 200 }, Math.random());
 *   sampleLogits(logits, { temperature: 0 }, 0); // greedy
 */
export function sampleLogits(row: ArrayLike<number>, { temperature = 1, topK = null, topP = 1 }: SamplingOptions, u: number): number {
  if (temperature === 0) return argmax(row);
  const V = row.length;
  const l = Float64Array.from(row, (x) => x / temperature);
  if (topK !== null && topK < V) {
    const kth = Float64Array.from(l).sort()[V - topK]; // the k-th largest
    for (let i = 0; i < V; i++) if (l[i] < kth) l[i] = -Infinity;
  }
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (l[i] > mx) mx = l[i];
  if (mx === -Infinity || Number.isNaN(mx)) throw new DLError('sampleLogits', `no token can be sampled: the logits are all -Infinity or NaN (vocabulary ${V})`);
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += p[i] = Math.exp(l[i] - mx);
  for (let i = 0; i < V; i++) p[i] /= sum;
  if (topP < 1) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    let cum = 0;
    let kept = 0;
    for (const i of order) {
      if (cum >= topP) p[i] = 0;
      else {
        cum += p[i];
        kept += p[i];
      }
    }
    for (let i = 0; i < V; i++) p[i] /= kept;
  }
  let c = 0;
  let last = 0;
  for (let i = 0; i < V; i++) {
    if (p[i] === 0) continue;
    c += p[i];
    last = i;
    if (u < c) return i;
  }
  return last; // u within rounding of 1
}
