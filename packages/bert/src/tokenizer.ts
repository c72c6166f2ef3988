/**
 * BERT's WordPiece tokenizer (Hugging Face's BertTokenizer, Google's FullTokenizer): special tokens
 * split off whole, basic tokenization, then greedy longest-match-first WordPiece with `##`
 * continuation pieces; `[CLS] A [SEP] B [SEP]` with segment ids, truncation, padding, batches as
 * int32 tensors, decoding, and vocab.txt / tokenizer_config.json in Hugging Face's layout.
 */
import { writeFileAtomic } from '@dl/layers';
import { DLError, IndexError, tensor, type Tensor } from '@dl/tensor';
import { BasicTokenizer, whitespaceTokenize, type BasicTokenizerOptions } from './basic-tokenizer.js';

/** A vocabulary without the special tokens, an input too long to encode as asked, a bad option. */
export class TokenizerError extends DLError {}

const codePoints = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) if ((s.charCodeAt(i) & 0xfc00) !== 0xdc00) n++; // skip low surrogates
  return n;
};

/**
 * Greedy longest-match-first WordPiece over one vocabulary: each word becomes the longest vocabulary
 * prefix, then the longest `##` continuations; a word some part of which has no piece, or longer
 * than `maxInputCharsPerWord` code points, becomes the unknown token.
 *
 *   new WordpieceTokenizer(new Map([['un', 0], ['##aff', 1], ['##able', 2]]), '[UNK]').tokenize('unaffable');
 *   // ['un', '##aff', '##able']
 */
export class WordpieceTokenizer {
  readonly #maxPiece: number; // the longest piece in code points ('##' not counted): no longer match exists

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    readonly unkToken: string,
    readonly maxInputCharsPerWord = 100,
  ) {
    let m = 0;
    for (const t of vocab.keys()) m = Math.max(m, codePoints(t) - (t.startsWith('##') ? 2 : 0));
    this.#maxPiece = m;
  }

  /**
   * The pieces of each whitespace-separated word of `text` (already basic-tokenized).
   *
   *   wp.tokenize('unaffable xyz'); // ['un', '##aff', '##able', '[UNK]']
   */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const word of whitespaceTokenize(text)) this.tokenizeWord(word, out);
    return out;
  }

  /** Appends the pieces of one word (no whitespace in it) to `out`. */
  tokenizeWord(word: string, out: string[]): void {
    const offs: number[] = []; // UTF-16 offset of each code point, then the end
    for (let i = 0; i < word.length; i++) if ((word.charCodeAt(i) & 0xfc00) !== 0xdc00) offs.push(i);
    const n = offs.length;
    offs.push(word.length);
    if (n > this.maxInputCharsPerWord) {
      out.push(this.unkToken);
      return;
    }
    const pieces: string[] = [];
    for (let start = 0; start < n; ) {
      let end = Math.min(n, start + this.#maxPiece);
      let piece: string | undefined;
      for (; end > start; end--) {
        const sub = word.slice(offs[start], offs[end]);
        const cand = start > 0 ? `##${sub}` : sub;
        if (this.vocab.has(cand)) {
          piece = cand;
          break;
        }
      }
      if (piece === undefined) {
        out.push(this.unkToken);
        return;
      }
      pieces.push(piece);
      start = end;
    }
    for (const p of pieces) out.push(p);
  }
}

export interface BertTokenizerOptions extends BasicTokenizerOptions {
  /** true: basic tokenization before WordPiece (false: WordPiece on whitespace-separated words) */
  doBasicTokenize?: boolean;
  unkToken?: string; // '[UNK]'
  sepToken?: string; // '[SEP]'
  padToken?: string; // '[PAD]'
  clsToken?: string; // '[CLS]'
  maskToken?: string; // '[MASK]'
  /** 100: longer words become the unknown token */
  maxInputCharsPerWord?: number;
  /** the model's maximum input length: encode's maxLength when none is given (undefined: no limit) */
  modelMaxLength?: number;
}

/** `true` = 'longest_first'; false: a text longer than maxLength throws a TokenizerError. */
export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';
/** `true` = 'longest' (the longest row of the batch); 'max_length' pads to maxLength. */
export type Padding = boolean | 'longest' | 'max_length';

export interface EncodeOptions {
  /** true: `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` */
  addSpecialTokens?: boolean;
  /** the most tokens (special ones included); default the tokenizer's modelMaxLength */
  maxLength?: number;
  /** false: a longer input throws (default); see Truncation */
  truncation?: Truncation;
  /** false for encode, 'longest' for encodeBatch */
  padding?: Padding;
}

/** One encoded input, as Hugging Face's encode_plus returns it (camelCase). */
export interface BertEncoding {
  inputIds: number[];
  /** segment ids: 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`, 0 for padding */
  tokenTypeIds: number[];
  /** 1 for tokens, 0 for padding */
  attentionMask: number[];
  /** 1 where encode added a special token ([CLS], [SEP], [PAD]), 0 for the text's tokens */
  specialTokensMask: number[];
}

/** int32 tensors [B, L], the inputs of BertModel.forward. */
export interface BertBatch {
  inputIds: Tensor;
  tokenTypeIds: Tensor;
  attentionMask: Tensor;
}

export interface DecodeOptions {
  /** false: drop [CLS], [SEP], [PAD], [MASK] and [UNK] */
  skipSpecialTokens?: boolean;
  /** true: ' .' -> '.', " n't" -> "n't", ... (Hugging Face's clean_up_tokenization) */
  cleanUpTokenizationSpaces?: boolean;
}

const SPECIALS = ['unkToken', 'sepToken', 'padToken', 'clsToken', 'maskToken'] as const;
const DEFAULTS = { unkToken: '[UNK]', sepToken: '[SEP]', padToken: '[PAD]', clsToken: '[CLS]', maskToken: '[MASK]' };
/** Lower-cases code point by code point, as Python's `c.lower()` per character. */
function lowerEachChar(text: string): string {
  if (/^[\x00-\x7f]*$/.test(text)) return text.toLowerCase();
  let out = '';
  for (const c of text) out += c.toLowerCase();
  return out;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Hugging Face's clean_up_tokenization: removes the spaces decoding leaves before punctuation and
 * English contractions.
 *
 *   cleanUpTokenization("it is n't here ."); // "it isn't here."
 */
export function cleanUpTokenization(text: string): string {
  const rules: [string, string][] = [[' .', '.'], [' ?', '?'], [' !', '!'], [' ,', ','], [" ' ", "'"], [" n't", "n't"], [" 'm", "'m"], [" 's", "'s"], [" 've", "'ve"], [" 're", "'re"]];
  for (const [a, b] of rules) text = text.split(a).join(b);
  return text;
}

/**
 * BERT's WordPiece tokenizer, Hugging Face BertTokenizer's behaviour and names (camelCase).
 *
 *   const tok = BertTokenizer.fromVocabTxt(readFileSync('vocab.txt', 'utf8')); // uncased by default
 *   tok.tokenize('Héllo, unaffable!'); // ['hello', ',', 'un', '##aff', '##able', '!']
 *   const { inputIds, tokenTypeIds, attentionMask } = tok.encode('a question', 'a passage', { maxLength: 128, truncation: 'only_second' });
 *   const batch = tok.encodeBatch(['short', 'a longer text'], { maxLength: 64, truncation: true }); // int32 [2, L]
 *   tok.decode(inputIds, { skipSpecialTokens: true });
 */
export class BertTokenizer {
  /** token -> id (a token listed twice keeps its last id, as Hugging Face's load_vocab) */
  readonly vocab: ReadonlyMap<string, number>;
  /** the token of each id: vocab.txt's lines */
  readonly idsToTokens: readonly string[];
  readonly basicTokenizer: BasicTokenizer;
  readonly wordpieceTokenizer: WordpieceTokenizer;
  readonly doBasicTokenize: boolean;
  readonly unkToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly clsToken: string;
  readonly maskToken: string;
  readonly modelMaxLength: number | undefined;
  readonly #special: RegExp;
  readonly #specialIds: ReadonlySet<number>;
  readonly #cache = new Map<string, string[]>();

  /**
   * From the tokens in id order (vocab.txt's lines).
   *
   *   new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', '##s']);
   */
  constructor(tokens: readonly string[], opts: BertTokenizerOptions = {}) {
    const op = 'BertTokenizer';
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) throw new TokenizerError(op, 'expected the vocabulary as an array of token strings in id order');
    this.idsToTokens = [...tokens];
    this.vocab = new Map(tokens.map((t, i) => [t, i]));
    const names = { ...DEFAULTS };
    for (const k of SPECIALS) if (opts[k] !== undefined) names[k] = opts[k]!;
    ({ unkToken: this.unkToken, sepToken: this.sepToken, padToken: this.padToken, clsToken: this.clsToken, maskToken: this.maskToken } = names);
    const missing = SPECIALS.filter((k) => !this.vocab.has(names[k])).map((k) => `${k} ${JSON.stringify(names[k])}`);
    if (missing.length) {
      throw new TokenizerError(op, `the vocabulary (${tokens.length} tokens) lacks the special token${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; add them to vocab.txt or name the vocabulary's own with the ${SPECIALS.join('/')} options`);
    }
    const { modelMaxLength, maxInputCharsPerWord = 100, doBasicTokenize = true } = opts;
    if (modelMaxLength !== undefined && !(Number.isInteger(modelMaxLength) && modelMaxLength > 0)) throw new TokenizerError(op, `modelMaxLength must be a positive integer, got ${modelMaxLength}`);
    if (!(Number.isInteger(maxInputCharsPerWord) && maxInputCharsPerWord > 0)) throw new TokenizerError(op, `maxInputCharsPerWord must be a positive integer, got ${maxInputCharsPerWord}`);
    this.modelMaxLength = modelMaxLength;
    this.doBasicTokenize = doBasicTokenize;
    this.basicTokenizer = new BasicTokenizer(opts);
    this.wordpieceTokenizer = new WordpieceTokenizer(this.vocab, this.unkToken, maxInputCharsPerWord);
    // longest first, so a special token that contains another wins
    const specials = [...new Set(this.allSpecialTokens)].sort((a, b) => b.length - a.length);
    this.#special = new RegExp(`(${specials.map(escapeRegExp).join('|')})`, 'u');
    this.#specialIds = new Set(this.allSpecialIds);
  }

  /**
   * From vocab.txt's contents: one token per line, the line number being the id.
   *
   *   BertTokenizer.fromVocabTxt(readFileSync('vocab.txt', 'utf8'), { doLowerCase: false });
   */
  static fromVocabTxt(text: string, opts: BertTokenizerOptions = {}): BertTokenizer {
    if (typeof text !== 'string') throw new TokenizerError('BertTokenizer.fromVocabTxt', `expected vocab.txt's text, got ${typeof text}`);
    // Python's text-mode readlines: \n, \r\n and \r end lines; the last line may lack one
    const lines = text.split(/\r\n|\r|\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    return new BertTokenizer(lines, opts);
  }

  /**
   * From a Hugging Face tokenizer folder (vocab.txt, and tokenizer_config.json when present for
   * do_lower_case, strip_accents, special tokens, model_max_length, ...) or a vocab.txt path (Node);
   * `opts` override the folder's settings.
   *
   *   const tok = await BertTokenizer.fromPretrained('checkpoints/bert-mlm');
   */
  static async fromPretrained(path: string, opts: BertTokenizerOptions = {}): Promise<BertTokenizer> {
    const fs = await import('node:fs/promises');
    const notFound = (e: unknown, what: string) => {
      if ((e as { code?: string }).code === 'ENOENT') return new TokenizerError('BertTokenizer.fromPretrained', `${what} does not exist`);
      return e;
    };
    const isDir = (await fs.stat(path).catch((e) => Promise.reject(notFound(e, path)))).isDirectory();
    const vocabPath = isDir ? `${path}/vocab.txt` : path;
    let config: BertTokenizerOptions = {};
    if (isDir) {
      try {
        config = tokenizerOptionsFromConfig(JSON.parse(await fs.readFile(`${path}/tokenizer_config.json`, 'utf8')));
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
      }
    }
    const text = await fs.readFile(vocabPath, 'utf8').catch((e) => Promise.reject(notFound(e, vocabPath)));
    return BertTokenizer.fromVocabTxt(text, { ...config, ...opts });
  }

  /** The number of ids (vocab.txt's lines): the model's vocab_size. */
  get vocabSize(): number {
    return this.idsToTokens.length;
  }

  get unkTokenId(): number {
    return this.vocab.get(this.unkToken)!;
  }
  get sepTokenId(): number {
    return this.vocab.get(this.sepToken)!;
  }
  get padTokenId(): number {
    return this.vocab.get(this.padToken)!;
  }
  get clsTokenId(): number {
    return this.vocab.get(this.clsToken)!;
  }
  get maskTokenId(): number {
    return this.vocab.get(this.maskToken)!;
  }

  /** [UNK], [SEP], [PAD], [CLS], [MASK] (Hugging Face's all_special_tokens order). */
  get allSpecialTokens(): string[] {
    return [this.unkToken, this.sepToken, this.padToken, this.clsToken, this.maskToken];
  }

  /** The ids of allSpecialTokens: what masking must never choose. */
  get allSpecialIds(): number[] {
    return this.allSpecialTokens.map((t) => this.vocab.get(t)!);
  }

  /**
   * Text -> WordPiece tokens; special tokens in the text ('[MASK]') stay whole.
   *
   *   tok.tokenize('The [MASK] barked.'); // ['the', '[MASK]', 'barked', '.']
   */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new TokenizerError('tokenize', `text must be a string, got ${text === null ? 'null' : typeof text}`);
    const out: string[] = [];
    text.split(this.#special).forEach((chunk, i) => {
      if (i % 2 === 1) out.push(chunk); // a captured special token
      else if (chunk) this.#tokenizeChunk(chunk, out);
    });
    return out;
  }

  #tokenizeChunk(text: string, out: string[]): void {
    if (!this.doBasicTokenize) {
      for (const w of whitespaceTokenize(text)) this.#wordpiece(w, out);
      return;
    }
    // transformers lower-cases the text outside special tokens before basic tokenization, one
    // character at a time: no final-sigma rule ('ΟΔΟΣ' -> 'οδοσ'), and an upper-case neverSplit
    // word is lower-cased before it is looked up
    if (this.basicTokenizer.doLowerCase) text = lowerEachChar(text);
    // transformers also passes the special tokens as never-split words; tokenize() has split them off already
    const neverSplit = this.basicTokenizer.neverSplit;
    for (const w of this.basicTokenizer.tokenize(text)) {
      if (neverSplit.has(w)) out.push(w);
      else this.#wordpiece(w, out);
    }
  }

  #wordpiece(word: string, out: string[]): void {
    let pieces = this.#cache.get(word);
    if (pieces === undefined) {
      pieces = [];
      this.wordpieceTokenizer.tokenizeWord(word, pieces);
      if (this.#cache.size >= 1 << 16) this.#cache.clear();
      this.#cache.set(word, pieces);
    }
    for (const p of pieces) out.push(p);
  }

  /**
   * Tokens -> ids; a token outside the vocabulary gives the [UNK] id.
   *
   *   tok.convertTokensToIds(['hello', 'qqq']); // [id of hello, id of [UNK]]
   */
  convertTokensToIds(tokens: string): number;
  convertTokensToIds(tokens: readonly string[]): number[];
  convertTokensToIds(tokens: string | readonly string[]): number | number[] {
    const unk = this.unkTokenId;
    if (typeof tokens === 'string') return this.vocab.get(tokens) ?? unk;
    return tokens.map((t) => this.vocab.get(t) ?? unk);
  }

  /**
   * Ids -> tokens; an id outside [0, vocabSize) throws an IndexError naming it.
   *
   *   tok.convertIdsToTokens([2, 7, 3], { skipSpecialTokens: true }); // the tokens between [CLS] and [SEP]
   */
  convertIdsToTokens(ids: ArrayLike<number> | Iterable<number>, { skipSpecialTokens = false }: { skipSpecialTokens?: boolean } = {}): string[] {
    const arr = Array.from(ids as ArrayLike<number>);
    const out: string[] = [];
    arr.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.idsToTokens.length) {
        throw new IndexError('convertIdsToTokens', `id ${id} at position ${i} is outside the vocabulary [0, ${this.idsToTokens.length})`);
      }
      if (!(skipSpecialTokens && this.#specialIds.has(id))) out.push(this.idsToTokens[id]);
    });
    return out;
  }

  /**
   * Joins WordPiece tokens into text: pieces after `##` glue to the word before.
   *
   *   tok.convertTokensToString(['un', '##aff', '##able', '!']); // 'unaffable !'
   */
  convertTokensToString(tokens: readonly string[]): string {
    return tokens.join(' ').split(' ##').join('').trim();
  }

  /**
   * Ids -> text (Hugging Face's decode): tokens joined by spaces, `##` pieces glued, spaces
   * before punctuation and contractions removed.
   *
   *   tok.decode(tok.encode("Isn't it unaffable?").inputIds, { skipSpecialTokens: true }); // "isn ' t it unaffable?"
   */
  decode(ids: ArrayLike<number> | Iterable<number>, { skipSpecialTokens = false, cleanUpTokenizationSpaces = true }: DecodeOptions = {}): string {
    const text = this.convertTokensToString(this.convertIdsToTokens(ids, { skipSpecialTokens }));
    return cleanUpTokenizationSpaces ? cleanUpTokenization(text) : text;
  }

  /**
   * `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`.
   *
   *   tok.buildInputsWithSpecialTokens([7, 8], [9]); // [cls, 7, 8, sep, 9, sep]
   */
  buildInputsWithSpecialTokens(ids0: readonly number[], ids1?: readonly number[] | null): number[] {
    const cls = this.clsTokenId;
    const sep = this.sepTokenId;
    return ids1 == null ? [cls, ...ids0, sep] : [cls, ...ids0, sep, ...ids1, sep];
  }

  /**
   * Word index of each position: a `##` piece belongs to the word before it; special tokens
   * ([UNK] included, as in allSpecialIds) get -1.
   * Whole-word masking groups positions by it.
   *
   *   tok.wordIds(tok.encode('unaffable dog').inputIds); // [-1, 0, 0, 0, 1, -1]
   */
  wordIds(ids: ArrayLike<number> | Iterable<number>): Int32Array {
    const arr = Array.from(ids as ArrayLike<number>);
    const toks = this.convertIdsToTokens(arr);
    const out = new Int32Array(toks.length);
    let word = -1;
    let inWord = false;
    toks.forEach((t, i) => {
      if (this.#specialIds.has(arr[i])) {
        out[i] = -1;
        inWord = false;
        return;
      }
      if (!(inWord && t.startsWith('##'))) word++;
      out[i] = word;
      inWord = true;
    });
    return out;
  }

  /**
   * Encodes a text or a text pair: ids with special tokens, segment ids and attention mask,
   * truncated and padded as asked. A text longer than maxLength throws unless `truncation` says how
   * to cut it.
   *
   *   tok.encode('Hello world'); // { inputIds: [cls, hello, world, sep], tokenTypeIds: [0, 0, 0, 0], ... }
   *   tok.encode('question?', 'passage', { maxLength: 16, truncation: 'only_second', padding: 'max_length' });
   */
  encode(text: string, opts?: EncodeOptions): BertEncoding;
  encode(text: string, textPair: string | null | undefined, opts?: EncodeOptions): BertEncoding;
  encode(text: string, pairOrOpts?: string | null | EncodeOptions, maybeOpts?: EncodeOptions): BertEncoding {
    const pair = typeof pairOrOpts === 'string' ? pairOrOpts : null;
    const opts = (typeof pairOrOpts === 'object' && pairOrOpts !== null ? pairOrOpts : maybeOpts) ?? {};
    const enc = this.#encodeIds('encode', text, pair, opts);
    const padding = opts.padding === true ? 'longest' : (opts.padding ?? false);
    if (padding === 'max_length') this.#pad(enc, this.#maxLength('encode', opts, true)!);
    return enc;
  }

  /**
   * Encodes a batch of texts (or [text, pair] tuples) into int32 tensors [B, L] for BertModel,
   * padded to the longest row (default) or to maxLength.
   *
   *   const { inputIds, tokenTypeIds, attentionMask } = tok.encodeBatch(texts, { maxLength: 128, truncation: true });
   *   model.forward(inputIds, { attentionMask, tokenTypeIds });
   */
  encodeBatch(texts: readonly (string | readonly [string, string])[], opts: EncodeOptions & { device?: string } = {}): BertBatch {
    const op = 'encodeBatch';
    if (!Array.isArray(texts) || texts.length === 0) throw new TokenizerError(op, `expected a non-empty array of texts or [text, pair] tuples, got ${Array.isArray(texts) ? 'an empty array' : typeof texts}`);
    const rows = texts.map((t, i) => {
      if (typeof t === 'string') return this.#encodeIds(op, t, null, opts, i);
      if (Array.isArray(t) && t.length === 2) return this.#encodeIds(op, t[0], t[1], opts, i);
      throw new TokenizerError(op, `texts[${i}] must be a string or a [text, pair] tuple, got ${JSON.stringify(t)?.slice(0, 60)}`);
    });
    const padding = opts.padding === true || opts.padding === undefined ? 'longest' : opts.padding;
    const lengths = rows.map((r) => r.inputIds.length);
    let L = Math.max(...lengths);
    if (padding === 'max_length') L = this.#maxLength(op, opts, true)!;
    else if (padding === false && lengths.some((n) => n !== L)) {
      throw new TokenizerError(op, `rows have different lengths (${lengths.join(', ')}) and padding is false; a tensor needs padding: 'longest' or 'max_length'`);
    }
    const B = rows.length;
    const ids = new Int32Array(B * L); // (B, L)
    const types = new Int32Array(B * L);
    const mask = new Int32Array(B * L);
    rows.forEach((r, b) => {
      this.#pad(r, L);
      ids.set(r.inputIds, b * L);
      types.set(r.tokenTypeIds, b * L);
      mask.set(r.attentionMask, b * L);
    });
    const t = (a: Int32Array) => tensor(a, { shape: [B, L], dtype: 'int32', device: opts.device });
    return { inputIds: t(ids), tokenTypeIds: t(types), attentionMask: t(mask) };
  }

  #maxLength(op: string, opts: EncodeOptions, required: boolean): number | undefined {
    const m = opts.maxLength ?? this.modelMaxLength;
    if (m === undefined) {
      if (required) throw new TokenizerError(op, "padding: 'max_length' needs maxLength (or the tokenizer's modelMaxLength)");
      return undefined;
    }
    if (!(Number.isInteger(m) && m > 0)) throw new TokenizerError(op, `maxLength must be a positive integer, got ${m}`);
    return m;
  }

  /** Tokens -> ids with special tokens, truncated to maxLength as `opts.truncation` says (not padded). */
  #encodeIds(op: string, text: string, pair: string | null, opts: EncodeOptions, row?: number): BertEncoding {
    const where = row === undefined ? '' : ` (texts[${row}])`;
    if (typeof text !== 'string' || (pair !== null && typeof pair !== 'string')) {
      throw new TokenizerError(op, `text${pair !== null ? ' and textPair' : ''} must be strings${where}, got ${typeof text}${pair !== null ? ` and ${typeof pair}` : ''}`);
    }
    const { addSpecialTokens = true, truncation = false } = opts;
    const strategy = truncation === true ? 'longest_first' : truncation;
    if (![false, 'longest_first', 'only_first', 'only_second'].includes(strategy)) {
      throw new TokenizerError(op, `truncation must be true, false, 'longest_first', 'only_first' or 'only_second', got ${JSON.stringify(truncation)}`);
    }
    let a = this.convertTokensToIds(this.tokenize(text));
    let b = pair === null ? null : this.convertTokensToIds(this.tokenize(pair));
    const nSpecial = addSpecialTokens ? (b ? 3 : 2) : 0;
    const maxLength = this.#maxLength(op, opts, false);
    const total = a.length + (b?.length ?? 0) + nSpecial;
    if (maxLength !== undefined && total > maxLength) {
      const parts = `${a.length}${b ? ` + ${b.length}` : ''} tokens${nSpecial ? ` + ${nSpecial} special` : ''}`;
      if (strategy === false) {
        throw new TokenizerError(op, `the input${where} is ${total} tokens (${parts}), more than maxLength ${maxLength}; pass truncation: true ('longest_first'), 'only_first' or 'only_second' to cut it`);
      }
      const remove = total - maxLength;
      if (strategy === 'longest_first') {
        if (remove > a.length + (b?.length ?? 0)) throw new TokenizerError(op, `maxLength ${maxLength} leaves no room for text${where}: the ${nSpecial} special tokens alone fill it`);
        if (!b) a = a.slice(0, a.length - remove);
        else {
          // cut the longer until both are as long, then alternate, the pair first (Hugging Face's order)
          const first = Math.min(Math.abs(a.length - b.length), remove);
          const rest = remove - first;
          const cutA = (a.length > b.length ? first : 0) + Math.floor(rest / 2);
          const cutB = remove - cutA;
          a = a.slice(0, a.length - cutA);
          b = b.slice(0, b.length - cutB);
        }
      } else {
        const cut = strategy === 'only_first' ? a : b;
        if (!cut || cut.length <= remove) {
          const which = strategy === 'only_first' ? 'first text' : 'second text';
          throw new TokenizerError(op, `truncation '${strategy}'${where} must remove ${remove} tokens (${parts} > maxLength ${maxLength}) but the ${which} has ${cut ? `only ${cut.length}` : 'none (no pair given)'}; use 'longest_first' or a larger maxLength`);
        }
        if (strategy === 'only_first') a = a.slice(0, a.length - remove);
        else b = b!.slice(0, b!.length - remove);
      }
    }
    const inputIds = addSpecialTokens ? this.buildInputsWithSpecialTokens(a, b) : b ? [...a, ...b] : a;
    const lenA = a.length + (addSpecialTokens ? 2 : 0);
    const tokenTypeIds = inputIds.map((_, i) => (i < lenA ? 0 : 1));
    const specialTokensMask = inputIds.map((_, i) => (addSpecialTokens && (i === 0 || i === lenA - 1 || i === inputIds.length - 1) ? 1 : 0));
    return { inputIds, tokenTypeIds, attentionMask: inputIds.map(() => 1), specialTokensMask };
  }

  /** Right-pads to `length` with [PAD] (segment 0, attention 0). */
  #pad(enc: BertEncoding, length: number): void {
    const n = length - enc.inputIds.length;
    if (n <= 0) return;
    const pad = this.padTokenId;
    for (let i = 0; i < n; i++) {
      enc.inputIds.push(pad);
      enc.tokenTypeIds.push(0);
      enc.attentionMask.push(0);
      enc.specialTokensMask.push(1);
    }
  }

  /**
   * Writes `dir/vocab.txt` (one token per line, atomically; the folder is made if missing) and
   * returns its path (Node).
   *
   *   await tok.saveVocabulary('checkpoints/bert-mlm');
   */
  async saveVocabulary(dir: string): Promise<string> {
    const fs = await import('node:fs/promises');
    await fs.mkdir(dir, { recursive: true });
    const path = `${dir}/vocab.txt`;
    await writeFileAtomic(path, new TextEncoder().encode(this.idsToTokens.map((t) => `${t}\n`).join('')));
    return path;
  }

  /**
   * Writes vocab.txt and tokenizer_config.json as Hugging Face's BertTokenizer.save_pretrained
   * does, so `BertTokenizer.from_pretrained(dir)` in Python reads the same tokenizer (Node).
   *
   *   await tok.savePretrained('checkpoints/bert-mlm');
   */
  async savePretrained(dir: string): Promise<void> {
    await this.saveVocabulary(dir);
    const b = this.basicTokenizer;
    const config = {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: b.doLowerCase,
      do_basic_tokenize: this.doBasicTokenize,
      never_split: b.neverSplit.size ? [...b.neverSplit] : null,
      unk_token: this.unkToken,
      sep_token: this.sepToken,
      pad_token: this.padToken,
      cls_token: this.clsToken,
      mask_token: this.maskToken,
      tokenize_chinese_chars: b.tokenizeChineseChars,
      strip_accents: b.stripAccents ?? null,
      ...(this.modelMaxLength !== undefined ? { model_max_length: this.modelMaxLength } : {}),
    };
    await writeFileAtomic(`${dir}/tokenizer_config.json`, new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
  }
}

/**
 * BertTokenizer options from a Hugging Face tokenizer_config.json (special tokens given as strings
 * or as AddedToken objects; model_max_length's "no limit" value, 1e30, is dropped).
 *
 *   tokenizerOptionsFromConfig({ do_lower_case: false, model_max_length: 512 }); // { doLowerCase: false, modelMaxLength: 512 }
 */
export function tokenizerOptionsFromConfig(config: Record<string, unknown>): BertTokenizerOptions {
  const op = 'tokenizerOptionsFromConfig';
  if (typeof config !== 'object' || config === null) throw new TokenizerError(op, `expected tokenizer_config.json's object, got ${JSON.stringify(config)}`);
  const out: BertTokenizerOptions = {};
  const bool = (key: string): boolean | undefined => {
    const v = config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new TokenizerError(op, `${key} must be true, false or null, got ${JSON.stringify(v)}`);
    return v;
  };
  out.doLowerCase = bool('do_lower_case');
  out.doBasicTokenize = bool('do_basic_tokenize');
  out.tokenizeChineseChars = bool('tokenize_chinese_chars');
  out.stripAccents = bool('strip_accents');
  const never = config.never_split;
  if (Array.isArray(never)) out.neverSplit = never.map(String);
  const keys = { unk_token: 'unkToken', sep_token: 'sepToken', pad_token: 'padToken', cls_token: 'clsToken', mask_token: 'maskToken' } as const;
  for (const [key, name] of Object.entries(keys)) {
    const v = config[key] as string | { content?: unknown } | undefined | null;
    if (v === undefined || v === null) continue;
    const content = typeof v === 'string' ? v : v.content;
    if (typeof content !== 'string') throw new TokenizerError(op, `${key} must be a string or {"content": string}, got ${JSON.stringify(v)}`);
    out[name] = content;
  }
  const m = config.model_max_length;
  if (typeof m === 'number' && Number.isSafeInteger(m) && m > 0) out.modelMaxLength = m;
  for (const k of Object.keys(out) as (keyof BertTokenizerOptions)[]) if (out[k] === undefined) delete out[k];
  return out;
}
