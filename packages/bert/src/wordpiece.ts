/**
 * Builds a WordPiece vocabulary from a corpus, as Hugging Face tokenizers' WordPieceTrainer does:
 * words from BERT's basic tokenization, then byte-pair-encoding merges (the most frequent adjacent
 * pair of pieces first) with `##` on every piece that does not start a word.
 */
import { DLError } from '@dl/tensor';
import { BasicTokenizer, isChineseChar, isPunctuation, type BasicTokenizerOptions } from './basic-tokenizer.js';

export interface TrainWordPieceOptions extends BasicTokenizerOptions {
  /** the first ids, in BERT's order: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] */
  specialTokens?: readonly string[];
  /** 2: a pair seen fewer times in the corpus is never merged */
  minFrequency?: number;
  /** 1000: keep the most frequent characters only (a word with another one is left out) */
  limitAlphabet?: number;
  /** called every 500 merges and at the end with the vocabulary size so far */
  onProgress?: (p: { vocabSize: number; target: number }) => void;
}

const SHIFT = 2 ** 21; // pair key = a * SHIFT + b: ids below 2^21, keys below 2^42

/** A max-heap of (count, pair key), ties to the smaller key (the older pieces), for a stable order. */
class PairHeap {
  readonly counts: number[] = [];
  readonly keys: number[] = [];

  #above(i: number, j: number): boolean {
    const c = this.counts;
    return c[i] > c[j] || (c[i] === c[j] && this.keys[i] < this.keys[j]);
  }

  #swap(i: number, j: number): void {
    const c = this.counts;
    const k = this.keys;
    [c[i], c[j]] = [c[j], c[i]];
    [k[i], k[j]] = [k[j], k[i]];
  }

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.#above(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }

  /** Removes the top; read it from counts[0] / keys[0] first. */
  pop(): void {
    const last = this.counts.length - 1;
    this.#swap(0, last);
    this.counts.pop();
    this.keys.pop();
    const n = this.counts.length;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#above(l, m)) m = l;
      if (r < n && this.#above(r, m)) m = r;
      if (m === i) break;
      this.#swap(i, m);
      i = m;
    }
  }
}

/**
 * A WordPiece vocabulary (tokens in id order, for `new BertTokenizer(vocab)`) of at most `vocabSize`
 * tokens: the special tokens, every character of the corpus as a word start and (if it can continue
 * a word: not punctuation, not CJK) as a `##` piece, then merged pieces, the most frequent pair
 * first (BPE counts, as tokenizers' WordPieceTrainer; ties go to the pair of older pieces), until
 * the size is reached or no pair is seen minFrequency times. Deterministic. Lower-cases and strips
 * accents as the tokenizer will (doLowerCase, stripAccents, ... are BasicTokenizer's options).
 *
 *   const vocab = trainWordPiece([mobyDick, sotu], 8000);
 *   const tok = new BertTokenizer(vocab); // uncased, like the training
 */
export function trainWordPiece(texts: string | Iterable<string>, vocabSize: number, opts: TrainWordPieceOptions = {}): string[] {
  const op = 'trainWordPiece';
  const { specialTokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], minFrequency = 2, limitAlphabet = 1000, onProgress } = opts;
  if (!(Number.isInteger(vocabSize) && vocabSize > 0 && vocabSize < SHIFT)) throw new DLError(op, `vocabSize must be an integer in [1, ${SHIFT}), got ${vocabSize}`);
  if (!(Number.isInteger(minFrequency) && minFrequency >= 1)) throw new DLError(op, `minFrequency must be an integer >= 1, got ${minFrequency}`);
  if (!(Number.isInteger(limitAlphabet) && limitAlphabet >= 1)) throw new DLError(op, `limitAlphabet must be an integer >= 1, got ${limitAlphabet}`);
  if (new Set(specialTokens).size !== specialTokens.length) throw new DLError(op, `specialTokens has duplicates: ${JSON.stringify(specialTokens)}`);

  // words and their counts
  const basic = new BasicTokenizer(opts);
  const wordCounts = new Map<string, number>();
  for (const text of typeof texts === 'string' ? [texts] : texts) {
    if (typeof text !== 'string') throw new DLError(op, `texts must be strings, got ${typeof text}`);
    for (const w of basic.tokenize(text)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  }

  // the alphabet: the limitAlphabet most frequent characters, in code-point order
  const charCounts = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  const byCodePoint = (a: string, b: string) => a.codePointAt(0)! - b.codePointAt(0)!;
  const alphabet = [...charCounts]
    .sort((a, b) => b[1] - a[1] || byCodePoint(a[0], b[0]))
    .slice(0, limitAlphabet)
    .map(([ch]) => ch)
    .sort(byCodePoint);

  const tokens: string[] = [...specialTokens];
  const ids = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const add = (t: string): number => {
    let id = ids.get(t);
    if (id === undefined) {
      id = tokens.push(t) - 1;
      ids.set(t, id);
    }
    return id;
  };
  for (const ch of alphabet) add(ch);
  for (const ch of alphabet) if (!isPunctuation(ch) && !isChineseChar(ch.codePointAt(0)!)) add(`##${ch}`);
  if (tokens.length > vocabSize) {
    throw new DLError(op, `vocabSize ${vocabSize} is smaller than the ${specialTokens.length} special tokens and ${tokens.length - specialTokens.length} character tokens (${alphabet.length} characters); raise vocabSize or lower limitAlphabet`);
  }

  // each word as piece ids; words of one piece have no pairs, words with a dropped character stay [UNK]
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of wordCounts) {
    const chars = [...w];
    if (chars.length < 2 || chars.some((ch) => !ids.has(ch))) continue;
    words.push(chars.map((ch, i) => ids.get(i ? `##${ch}` : ch)!));
    freq.push(c);
  }

  const pairCounts = new Map<number, number>();
  const where = new Map<number, number[]>(); // pair -> words that had it (stale entries are skipped)
  const addWhere = (key: number, w: number) => {
    const list = where.get(key);
    if (!list) where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  words.forEach((s, w) => {
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] * SHIFT + s[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + freq[w]);
      addWhere(key, w);
    }
  });
  const heap = new PairHeap();
  for (const [key, c] of pairCounts) heap.push(c, key);

  const seen = new Int32Array(words.length).fill(-1); // the merge that last visited each word
  let merges = 0;
  while (tokens.length < vocabSize && heap.size) {
    const count = heap.counts[0];
    const key = heap.keys[0];
    heap.pop();
    const now = pairCounts.get(key) ?? 0;
    if (now !== count) {
      if (now > 0) heap.push(now, key); // stale: requeue at its current count
      continue;
    }
    if (count < minFrequency) break;
    const a = Math.floor(key / SHIFT);
    const b = key - a * SHIFT;
    const merged = add(tokens[a] + tokens[b].slice(2)); // b never starts a word, so it has '##'
    merges++;
    const changed = new Set<number>();
    const bump = (k: number, d: number) => {
      const c = (pairCounts.get(k) ?? 0) + d;
      if (c) pairCounts.set(k, c);
      else pairCounts.delete(k);
      if (d > 0) changed.add(k);
    };
    for (const w of where.get(key) ?? []) {
      if (seen[w] === merges) continue;
      seen[w] = merges;
      const s = words[w];
      const f = freq[w];
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] !== a || s[i + 1] !== b) continue;
        if (i > 0) {
          bump(s[i - 1] * SHIFT + a, -f);
          bump(s[i - 1] * SHIFT + merged, f);
          addWhere(s[i - 1] * SHIFT + merged, w);
        }
        if (i + 2 < s.length) {
          bump(b * SHIFT + s[i + 2], -f);
          bump(merged * SHIFT + s[i + 2], f);
          addWhere(merged * SHIFT + s[i + 2], w);
        }
        bump(key, -f);
        s.splice(i, 2, merged);
      }
    }
    where.delete(key);
    for (const k of changed) {
      const c = pairCounts.get(k);
      if (c) heap.push(c, k);
    }
    if (onProgress && merges % 500 === 0) onProgress({ vocabSize: tokens.length, target: vocabSize });
  }
  onProgress?.({ vocabSize: tokens.length, target: vocabSize });
  return tokens;
}
