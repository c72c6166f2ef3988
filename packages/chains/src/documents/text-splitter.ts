/**
 * Text splitters with LangChain's behaviour: CharacterTextSplitter (one separator) and
 * RecursiveCharacterTextSplitter (paragraphs, then lines, then words, then characters), merging
 * the pieces into chunks of at most chunkSize with chunkOverlap of context carried over.
 */
import { ChainsError } from '../errors.js';
import { Document, type Metadata } from './document.js';

export interface TextSplitterParams {
  /** 1000: the most a chunk may measure (by lengthFunction) */
  chunkSize?: number;
  /** 200: how much of the end of a chunk the next one repeats (less than chunkSize) */
  chunkOverlap?: number;
  /** keep each separator, at the start of the piece after it (RecursiveCharacterTextSplitter: true; CharacterTextSplitter: false) */
  keepSeparator?: boolean;
  /** the length of a text (default: characters in UTF-16 units, as LangChain) */
  lengthFunction?: (text: string) => number | Promise<number>;
}

const escapeRegExp = (s: string) => s.replace(/[/\-\\^$*+?.()|[\]{}]/g, '\\$&');
const newlines = (s: string) => (s.match(/\n/g) ?? []).length;

/** Base class: `splitText` is the splitter's; documents, merging and line numbers are shared. */
export abstract class TextSplitter {
  readonly chunkSize: number;
  readonly chunkOverlap: number;
  readonly keepSeparator: boolean;
  readonly lengthFunction: (text: string) => number | Promise<number>;

  constructor(fields: TextSplitterParams = {}, keepSeparatorDefault = false) {
    this.chunkSize = fields.chunkSize ?? 1000;
    this.chunkOverlap = fields.chunkOverlap ?? 200;
    this.keepSeparator = fields.keepSeparator ?? keepSeparatorDefault;
    this.lengthFunction = fields.lengthFunction ?? ((t) => t.length);
    const op = this.constructor.name;
    if (!(Number.isInteger(this.chunkSize) && this.chunkSize > 0)) throw new ChainsError(op, `chunkSize must be an integer > 0, got ${fields.chunkSize}`);
    if (!(Number.isInteger(this.chunkOverlap) && this.chunkOverlap >= 0)) throw new ChainsError(op, `chunkOverlap must be an integer >= 0, got ${fields.chunkOverlap}`);
    if (this.chunkOverlap >= this.chunkSize) throw new ChainsError(op, `chunkOverlap (${this.chunkOverlap}) must be less than chunkSize (${this.chunkSize})`);
  }

  abstract splitText(text: string): Promise<string[]>;

  /** `text` cut at each `separator` (kept at the start of the next piece when keepSeparator); no empty pieces. */
  protected splitOnSeparator(text: string, separator: string): string[] {
    const pieces = separator === '' ? [...text] : this.keepSeparator ? text.split(new RegExp(`(?=${escapeRegExp(separator)})`)) : text.split(separator);
    return pieces.filter((p) => p !== '');
  }

  /**
   * Pieces joined into chunks of at most chunkSize (a piece longer than that is a chunk of its
   * own); each chunk starts with the end of the one before, up to chunkOverlap.
   */
  protected async mergeSplits(splits: readonly string[], separator: string): Promise<string[]> {
    const docs: string[] = [];
    const current: string[] = [];
    const lengths: number[] = [];
    let total = 0;
    const join = () => {
      const t = current.join(separator).trim();
      if (t !== '') docs.push(t);
    };
    for (const d of splits) {
      const len = await this.lengthFunction(d);
      if (total + len + current.length * separator.length > this.chunkSize) {
        if (current.length > 0) {
          join();
          // drop pieces from the front until what is left fits as the overlap and leaves room for d
          while (total > this.chunkOverlap || (total + len + current.length * separator.length > this.chunkSize && total > 0)) {
            total -= lengths.shift()!;
            current.shift();
          }
        }
      }
      current.push(d);
      lengths.push(len);
      total += len;
    }
    join();
    return docs;
  }

  /**
   * Documents of the chunks of each text, with its metadata and `loc.lines` (first and last line
   * of the chunk in the text, from 1).
   *
   *   await splitter.createDocuments([chapterText], [{ chapter: 1 }]);
   */
  async createDocuments(texts: readonly string[], metadatas: readonly Metadata[] = []): Promise<Document[]> {
    const out: Document[] = [];
    for (const [i, text] of texts.entries()) {
      let line = 1;
      let prev: { chunk: string; at: number } | null = null;
      for (const chunk of await this.splitText(text)) {
        const at = text.indexOf(chunk, prev ? prev.at + 1 : 0);
        if (!prev) line += newlines(text.slice(0, at));
        else {
          const prevEnd = prev.at + prev.chunk.length;
          if (prevEnd < at) line += newlines(text.slice(prevEnd, at));
          else line -= newlines(text.slice(at, prevEnd)); // the overlap: lines counted twice
        }
        const n = newlines(chunk);
        const meta = metadatas[i] ?? {};
        const loc = typeof meta.loc === 'object' && meta.loc !== null ? { ...(meta.loc as object) } : {};
        out.push(new Document({ pageContent: chunk, metadata: { ...meta, loc: { ...loc, lines: { from: line, to: line + n } } } }));
        line += n;
        prev = { chunk, at };
      }
    }
    return out;
  }

  /** The chunks of each document, keeping its metadata. */
  async splitDocuments(documents: readonly Document[]): Promise<Document[]> {
    return this.createDocuments(
      documents.map((d) => d.pageContent),
      documents.map((d) => d.metadata),
    );
  }
}

/**
 * Splits on one separator ('\n\n' by default), then merges the pieces into chunks.
 *
 *   await new CharacterTextSplitter({ separator: ' ', chunkSize: 7, chunkOverlap: 3 }).splitText('foo bar baz 123');
 *   // ['foo bar', 'bar baz', 'baz 123']
 */
export class CharacterTextSplitter extends TextSplitter {
  readonly separator: string;

  constructor(fields: TextSplitterParams & { separator?: string } = {}) {
    super(fields, false);
    this.separator = fields.separator ?? '\n\n';
  }

  async splitText(text: string): Promise<string[]> {
    return this.mergeSplits(this.splitOnSeparator(text, this.separator), this.keepSeparator ? '' : this.separator);
  }
}

/**
 * Splits on the first separator found in the text ('\n\n', then '\n', ' ', '' by default); a piece
 * still too long is split again with the separators after it. Keeps paragraphs, then lines, then
 * words together as long as they fit.
 *
 *   const splitter = new RecursiveCharacterTextSplitter({ chunkSize: 1000, chunkOverlap: 100 });
 *   const docs = await splitter.createDocuments([mobyDick]);
 */
export class RecursiveCharacterTextSplitter extends TextSplitter {
  readonly separators: readonly string[];

  constructor(fields: TextSplitterParams & { separators?: string[] } = {}) {
    super(fields, true);
    this.separators = fields.separators ?? ['\n\n', '\n', ' ', ''];
    if (!this.separators.length) throw new ChainsError('RecursiveCharacterTextSplitter', 'separators must not be empty');
  }

  async #split(text: string, separators: readonly string[]): Promise<string[]> {
    let separator = separators[separators.length - 1];
    let rest: readonly string[] | undefined;
    for (const [i, s] of separators.entries()) {
      if (s === '') {
        separator = s;
        break;
      }
      if (text.includes(s)) {
        separator = s;
        rest = separators.slice(i + 1);
        break;
      }
    }
    const out: string[] = [];
    let good: string[] = [];
    const joinWith = this.keepSeparator ? '' : separator;
    for (const piece of this.splitOnSeparator(text, separator)) {
      if ((await this.lengthFunction(piece)) < this.chunkSize) {
        good.push(piece);
        continue;
      }
      if (good.length) {
        out.push(...(await this.mergeSplits(good, joinWith)));
        good = [];
      }
      out.push(...(rest ? await this.#split(piece, rest) : [piece]));
    }
    if (good.length) out.push(...(await this.mergeSplits(good, joinWith)));
    return out;
  }

  async splitText(text: string): Promise<string[]> {
    return this.#split(text, this.separators);
  }
}
