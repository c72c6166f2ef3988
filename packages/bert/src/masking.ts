/**
 * Masked-language-model inputs as in BERT's paper and Hugging Face's DataCollatorForLanguageModeling:
 * each non-special position is chosen with probability mlmProbability (15%); a chosen position
 * becomes [MASK] 80% of the time, a random token 10%, stays as it is 10%; labels hold the original
 * id at chosen positions and the ignore index (-100) elsewhere, so crossEntropy scores only them.
 */
import { DeviceError, DLError, DTypeError, fillUniform, generator as globalGenerator, ShapeError, tensor, type Generator, Tensor } from '@dl/tensor';

export interface MaskTokensOptions {
  /** the [MASK] token's id */
  maskTokenId: number;
  /** random replacements are drawn uniformly from [0, vocabSize) (as Hugging Face does) */
  vocabSize: number;
  /** 0.15: the chance that a position (a word, with wholeWordMask) is chosen */
  mlmProbability?: number;
  /** 0.8: the share of chosen positions that become [MASK] */
  maskReplaceProb?: number;
  /** 0.1: the share of chosen positions that become a random token (the rest stay unchanged) */
  randomReplaceProb?: number;
  /** ids never chosen ([CLS], [SEP], [PAD], ...: a tokenizer's allSpecialIds) */
  specialIds?: Iterable<number>;
  /** per position, truthy where it must never be chosen (encode's specialTokensMask); same length as inputIds */
  specialTokensMask?: ArrayLike<number | boolean>;
  /** the random stream (default: the global generator) */
  generator?: Generator;
  /** false: choose whole words (all their pieces together) instead of single tokens */
  wholeWordMask?: boolean;
  /**
   * per position, the word it belongs to (tokenizer.wordIds), -1 for none; a word is a run of
   * equal ids within a row. Needed for wholeWordMask.
   */
  wordIds?: ArrayLike<number>;
  /** -100: the label of positions not chosen (crossEntropy's default ignoreIndex) */
  ignoreIndex?: number;
}

export interface MaskedTokens<T> {
  /** the inputs with chosen positions replaced */
  inputIds: T;
  /** the original id at chosen positions, ignoreIndex elsewhere */
  labels: T;
}

const prob = (op: string, name: string, p: number): number => {
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new DLError(op, `${name} must be a probability in [0, 1], got ${p}`);
  return p;
};

/**
 * Chooses MLM positions and corrupts them (80% [MASK], 10% random, 10% kept), seeded by a
 * Generator. Takes int32 ids as a CPU tensor of any shape (rows are its last dim) or as a flat
 * array (one row), and returns the same kind.
 *
 *   const batch = tok.encodeBatch(texts, { maxLength: 128, truncation: true });
 *   const { inputIds, labels } = maskTokens(batch.inputIds, { maskTokenId: tok.maskTokenId, vocabSize: tok.vocabSize, specialIds: tok.allSpecialIds, generator: new Generator(0) });
 *   const logits = mlm.forward(inputIds, { attentionMask: batch.attentionMask }); // (B, L, V)
 *   crossEntropy(logits.reshape([-1, V]), labels.reshape([-1])); // -100 labels are ignored
 */
export function maskTokens(inputIds: Tensor, opts: MaskTokensOptions): MaskedTokens<Tensor>;
export function maskTokens(inputIds: Int32Array | readonly number[], opts: MaskTokensOptions): MaskedTokens<Int32Array>;
export function maskTokens(inputIds: Tensor | Int32Array | readonly number[], opts: MaskTokensOptions): MaskedTokens<Tensor | Int32Array> {
  const op = 'maskTokens';
  let ids: Int32Array;
  let rowLength: number;
  if (inputIds instanceof Tensor) {
    if (inputIds.dtype !== 'int32') throw new DTypeError(op, `inputIds must be int32, got ${inputIds.dtype} of shape [${inputIds.shape}]`);
    if (inputIds.device !== 'cpu') throw new DeviceError(op, `inputIds must be on the CPU (masking prepares a batch before it moves), got device '${inputIds.device}'; mask the ids, then call .to('${inputIds.device}')`);
    if (inputIds.shape.length === 0) throw new ShapeError(op, 'inputIds must have at least one dim, got a scalar');
    ids = Int32Array.from(inputIds.dataSync() as Int32Array);
    rowLength = inputIds.shape[inputIds.shape.length - 1];
  } else {
    ids = Int32Array.from(inputIds);
    rowLength = ids.length;
  }
  const { maskTokenId, vocabSize, mlmProbability = 0.15, maskReplaceProb = 0.8, randomReplaceProb = 0.1, specialIds = [], specialTokensMask, wholeWordMask = false, wordIds, ignoreIndex = -100 } = opts;
  const g = opts.generator ?? globalGenerator;
  const n = ids.length;
  if (!(Number.isInteger(vocabSize) && vocabSize > 0)) throw new DLError(op, `vocabSize must be a positive integer, got ${vocabSize}`);
  if (!(Number.isInteger(maskTokenId) && maskTokenId >= 0 && maskTokenId < vocabSize)) throw new DLError(op, `maskTokenId must be an id in [0, vocabSize ${vocabSize}), got ${maskTokenId}`);
  prob(op, 'mlmProbability', mlmProbability);
  prob(op, 'maskReplaceProb', maskReplaceProb);
  prob(op, 'randomReplaceProb', randomReplaceProb);
  if (maskReplaceProb + randomReplaceProb > 1) throw new DLError(op, `maskReplaceProb + randomReplaceProb must be at most 1, got ${maskReplaceProb} + ${randomReplaceProb}`);
  if (specialTokensMask && specialTokensMask.length !== n) throw new ShapeError(op, `specialTokensMask has ${specialTokensMask.length} entries but inputIds has ${n}`);
  if (wholeWordMask && !wordIds) throw new DLError(op, 'wholeWordMask needs wordIds (tokenizer.wordIds(ids)): the word of each position');
  if (wordIds && wordIds.length !== n) throw new ShapeError(op, `wordIds has ${wordIds.length} entries but inputIds has ${n}`);

  const special = new Set(specialIds);
  const eligible = (i: number): boolean => !special.has(ids[i]) && !(specialTokensMask && specialTokensMask[i]);
  // three uniform numbers per position: chosen?, how to corrupt, which random token
  const u = new Float64Array(3 * n);
  fillUniform(u, g.key, g.takeCounters(3 * n));
  const chosen = new Uint8Array(n);
  if (wholeWordMask) {
    // a word is chosen by the draw at its first position; all its eligible pieces follow it
    let take = false;
    for (let i = 0; i < n; i++) {
      const w = wordIds![i];
      const starts = i % rowLength === 0 || w !== wordIds![i - 1];
      if (starts) take = w >= 0 && u[3 * i] < mlmProbability;
      chosen[i] = w >= 0 && take && eligible(i) ? 1 : 0;
    }
  } else {
    for (let i = 0; i < n; i++) chosen[i] = eligible(i) && u[3 * i] < mlmProbability ? 1 : 0;
  }
  const labels = new Int32Array(n).fill(ignoreIndex);
  for (let i = 0; i < n; i++) {
    if (!chosen[i]) continue;
    labels[i] = ids[i];
    const r = u[3 * i + 1];
    if (r < maskReplaceProb) ids[i] = maskTokenId;
    else if (r < maskReplaceProb + randomReplaceProb) ids[i] = Math.min(vocabSize - 1, Math.floor(u[3 * i + 2] * vocabSize));
  }
  if (inputIds instanceof Tensor) {
    const shape = [...inputIds.shape];
    return { inputIds: tensor(ids, { shape, dtype: 'int32', device: 'cpu' }), labels: tensor(labels, { shape, dtype: 'int32', device: 'cpu' }) };
  }
  return { inputIds: ids, labels };
}
