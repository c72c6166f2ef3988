import { DLError, IndexError } from '@dl/tensor';

/** What GPT.generate's callers need of a tokenizer. */
export interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: Iterable<number>): string;
  /** Decodes a stream of ids a piece at a time (a piece may be '' until a character is complete). */
  streamDecoder(): StreamDecoder;
}

/** Turns ids into text as they come; `flush()` ends the stream and returns what was held back. */
export interface StreamDecoder {
  push(id: number): string;
  flush(): string;
}

const byCodePoint = (a: string, b: string): number => a.codePointAt(0)! - b.codePointAt(0)!;

/**
 * One token per character (Unicode code point), the vocabulary being the sorted characters of a
 * text, as nanoGPT's shakespeare_char (Python's `sorted(set(text))`).
 *
 *   const tok = CharTokenizer.fromText(text);
 *   tok.encode('hii there'); // [46, 47, 47, 1, 58, 46, 43, 56, 43]
 *   tok.decode(tok.encode('hii there')); // 'hii there'
 */
export class CharTokenizer implements Tokenizer {
  /** itos: the character of each id */
  readonly chars: readonly string[];
  readonly #stoi: Map<string, number>;

  constructor(chars: Iterable<string>) {
    this.chars = [...chars];
    this.#stoi = new Map();
    this.chars.forEach((c, i) => {
      if ([...c].length !== 1) throw new DLError('CharTokenizer', `each entry must be one character (code point), got ${JSON.stringify(c)} at ${i}`);
      if (this.#stoi.has(c)) throw new DLError('CharTokenizer', `character ${JSON.stringify(c)} appears twice (ids ${this.#stoi.get(c)} and ${i})`);
      this.#stoi.set(c, i);
    });
    if (!this.chars.length) throw new DLError('CharTokenizer', 'the vocabulary is empty');
  }

  /** The sorted unique characters (code points) of `text`. */
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(text)].sort(byCodePoint));
  }

  /** From `toJSON()`'s output (for checkpoints). */
  static fromJSON(json: { chars: string }): CharTokenizer {
    if (typeof json?.chars !== 'string') throw new DLError('CharTokenizer.fromJSON', `expected { chars: string }, got ${JSON.stringify(json)?.slice(0, 80)}`);
    return new CharTokenizer(json.chars);
  }

  toJSON(): { chars: string } {
    return { chars: this.chars.join('') };
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  /** ids of the characters; a character outside the vocabulary throws, naming it and where it is */
  encode(text: string): number[] {
    const out: number[] = [];
    let at = 0;
    for (const c of text) {
      const id = this.#stoi.get(c);
      if (id === undefined) {
        throw new IndexError('CharTokenizer.encode', `character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at index ${at} is not in the vocabulary of ${this.vocabSize}`);
      }
      out.push(id);
      at += c.length;
    }
    return out;
  }

  decode(ids: Iterable<number>): string {
    let s = '';
    for (const id of ids) s += this.#char(id);
    return s;
  }

  streamDecoder(): StreamDecoder {
    return { push: (id) => this.#char(id), flush: () => '' };
  }

  #char(id: number): string {
    const c = this.chars[id];
    if (c === undefined || !Number.isInteger(id)) throw new IndexError('CharTokenizer.decode', `id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    return c;
  }
}
