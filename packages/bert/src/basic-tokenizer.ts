/**
 * BERT's basic tokenization (Google's tokenization.py, Hugging Face's BasicTokenizer): clean the
 * text, put spaces around CJK ideographs, split on whitespace, lower-case and strip accents, split
 * off punctuation. Characters are Unicode code points, as Python's `list(text)` sees them.
 */

/** What one code point is to the reference tokenizer (bit flags, cached). */
const CONTROL = 1; // Cc or Cf, but not \t \n \r: removed by cleaning
const WHITESPACE = 2; // ' ', \t, \n, \r or Zs: becomes ' ' when cleaning
const PUNCT = 4; // ASCII 33-47, 58-64, 91-96, 123-126, or any P* category
const CJK = 8; // a CJK ideograph (the reference's code-point ranges)
const PY_SPACE = 16; // Python's str.isspace(): where str.split() splits
const ACCENT = 32; // Mn: dropped after NFD when stripping accents

const classes = new Map<number, number>();

function classify(cp: number): number {
  const c = String.fromCodePoint(cp);
  let f = 0;
  if (cp !== 9 && cp !== 10 && cp !== 13 && /[\p{Cc}\p{Cf}]/u.test(c)) f |= CONTROL;
  if (cp === 32 || cp === 9 || cp === 10 || cp === 13 || /\p{Zs}/u.test(c)) f |= WHITESPACE;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || /\p{P}/u.test(c)) f |= PUNCT;
  if (isChineseChar(cp)) f |= CJK;
  // Python's whitespace: bidi class WS, B or S, or category Zs
  if ((cp >= 9 && cp <= 13) || (cp >= 0x1c && cp <= 0x1f) || cp === 0x85 || cp === 0x2028 || cp === 0x2029 || /\p{Zs}/u.test(c)) f |= PY_SPACE;
  if (/\p{Mn}/u.test(c)) f |= ACCENT;
  return f;
}

const ASCII = Uint8Array.from({ length: 128 }, (_, cp) => classify(cp));

function charClass(cp: number): number {
  if (cp < 128) return ASCII[cp];
  let f = classes.get(cp);
  if (f === undefined) {
    f = classify(cp);
    if (classes.size < 1 << 16) classes.set(cp, f);
  }
  return f;
}

/**
 * True for the CJK Unified Ideographs and their extensions and compatibility blocks, the reference's
 * ranges (Hangul, Hiragana and Katakana are not in them: they are written with spaces).
 *
 *   isChineseChar('中'.codePointAt(0)!); // true
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * The reference's punctuation: every non-letter, non-digit printable ASCII character (so `$`, `^`,
 * `` ` `` count) and every character of a Unicode P* category.
 *
 *   isPunctuation('$'); // true
 */
export function isPunctuation(char: string): boolean {
  return (charClass(char.codePointAt(0)!) & PUNCT) !== 0;
}

/**
 * Splits on Python's whitespace (`str.split()`), dropping empty pieces.
 *
 *   whitespaceTokenize(' a\u2028b  c '); // ['a', 'b', 'c']
 */
export function whitespaceTokenize(text: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    if (charClass(cp) & PY_SPACE) {
      if (start >= 0) out.push(text.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
    i += n;
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}

/**
 * Removes NUL, U+FFFD and control characters and turns every whitespace character into ' ' (and,
 * with `cjk`, puts spaces around CJK ideographs): the reference's `_clean_text` and
 * `_tokenize_chinese_chars` in one pass.
 *
 *   cleanText('a\tb\u0000c\u200bd'); // 'a bcd'
 */
export function cleanText(text: string, cjk = false): string {
  let out = '';
  let from = 0; // start of the run copied unchanged
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    const f = charClass(cp);
    if (cp === 0 || cp === 0xfffd || f & CONTROL) {
      out += text.slice(from, i);
      from = i + n;
    } else if (f & WHITESPACE && cp !== 32) {
      out += text.slice(from, i) + ' ';
      from = i + n;
    } else if (cjk && f & CJK) {
      out += `${text.slice(from, i)} ${text.slice(i, i + n)} `;
      from = i + n;
    }
    i += n;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Drops the combining marks (Mn) of the text's NFD form: 'é' -> 'e', 'ñ' -> 'n'.
 *
 *   stripAccents('Héllo'); // 'Hello'
 */
export function stripAccents(text: string): string {
  if (/^[\x00-\x7f]*$/.test(text)) return text; // ASCII has no accents
  let out = '';
  for (const c of text.normalize('NFD')) if (!(charClass(c.codePointAt(0)!) & ACCENT)) out += c;
  return out;
}

/**
 * Splits every punctuation character off as a token of its own: 'a,b!!' -> ['a', ',', 'b', '!', '!'].
 *
 *   splitOnPunctuation("don't"); // ['don', "'", 't']
 */
export function splitOnPunctuation(text: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    if (charClass(cp) & PUNCT) {
      if (start >= 0) out.push(text.slice(start, i));
      out.push(text.slice(i, i + n));
      start = -1;
    } else if (start < 0) start = i;
    i += n;
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}

export interface BasicTokenizerOptions {
  /** true: lower-case the text (an uncased vocabulary) */
  doLowerCase?: boolean;
  /** words kept whole: not lower-cased, not split on punctuation (they must stand between spaces) */
  neverSplit?: Iterable<string>;
  /** true: put spaces around CJK ideographs, so each is a word */
  tokenizeChineseChars?: boolean;
  /** undefined: strip accents when lower-casing (the original BERT); true / false: always / never */
  stripAccents?: boolean;
}

/**
 * Hugging Face's BasicTokenizer: text -> words and punctuation, before WordPiece.
 *
 *   new BasicTokenizer().tokenize('Héllo, WORLD!'); // ['hello', ',', 'world', '!']
 *   new BasicTokenizer({ doLowerCase: false }).tokenize('Héllo!'); // ['Héllo', '!']
 */
export class BasicTokenizer {
  readonly doLowerCase: boolean;
  readonly neverSplit: ReadonlySet<string>;
  readonly tokenizeChineseChars: boolean;
  readonly stripAccents: boolean | undefined;

  constructor({ doLowerCase = true, neverSplit = [], tokenizeChineseChars = true, stripAccents }: BasicTokenizerOptions = {}) {
    this.doLowerCase = doLowerCase;
    this.neverSplit = new Set(neverSplit);
    this.tokenizeChineseChars = tokenizeChineseChars;
    this.stripAccents = stripAccents;
  }

  /**
   * The words of `text`; `neverSplit` adds words kept whole for this call.
   *
   *   tok.tokenize('a [X] b', ['[X]']); // ['a', '[X]', 'b']
   */
  tokenize(text: string, neverSplit?: Iterable<string>): string[] {
    const keep = neverSplit ? new Set([...this.neverSplit, ...neverSplit]) : this.neverSplit;
    const strip = this.doLowerCase ? this.stripAccents !== false : this.stripAccents === true;
    const out: string[] = [];
    for (let word of whitespaceTokenize(cleanText(text, this.tokenizeChineseChars))) {
      if (keep.has(word)) {
        out.push(word);
        continue;
      }
      if (this.doLowerCase) word = word.toLowerCase();
      if (strip) word = stripAccents(word);
      // the reference re-splits on whitespace after joining, which drops words left empty
      // (a word of combining marks only) and splits any whitespace case-mapping made
      for (const piece of keep.has(word) ? [word] : splitOnPunctuation(word)) {
        for (const w of whitespaceTokenize(piece)) out.push(w);
      }
    }
    return out;
  }
}
