/**
 * GPT-2's byte-level BPE (OpenAI's encoder.py; Hugging Face's GPT2Tokenizer and the ByteLevel
 * BPE of tokenizers): text -> UTF-8 bytes -> one printable character per byte -> words by GPT-2's
 * pre-tokenization regex -> BPE merges in rank order -> ids. Every byte has a token, so any text
 * round-trips.
 */
import { DLError, IndexError } from '@dl/tensor';
import type { StreamDecoder, Tokenizer } from './char-tokenizer.js';

/**
 * GPT-2's byte -> character table: printable Latin-1 bytes map to themselves, the other 68 to
 * U+0100.. in order, so no token holds whitespace or a control character.
 *
 *   bytesToUnicode()[32]; // 'Ġ' (U+0120): the space
 */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  return table;
}

/**
 * GPT-2's pre-tokenization pattern: contractions, letters with an optional leading space, digits,
 * other symbols, and whitespace (a run before a word leaves its last space to the word). `\s` is
 * Unicode White_Space, as the `regex` module OpenAI's encoder uses.
 */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

export interface BPEOptions {
  /** token -> id (vocab.json) */
  vocab: Record<string, number>;
  /** merge rules in priority order, each a pair of tokens (merges.txt) */
  merges: readonly (readonly [string, string])[];
  /**
   * strings matched whole in the text before pre-tokenization, with their ids (GPT-2's
   * `<|endoftext|>`; tokenizer.json's added_tokens). Default: `<|endoftext|>` when the vocabulary has it.
   */
  specialTokens?: Record<string, number>;
  /** false; put a space before the text (tokenizer.json's add_prefix_space) */
  addPrefixSpace?: boolean;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Byte-level BPE with GPT-2's files.
 *
 *   const tok = await BPETokenizer.fromPretrained('models/gpt2'); // tokenizer.json or vocab.json + merges.txt
 *   tok.encode('Hello world'); // [15496, 995]
 *   tok.decode([15496, 995]); // 'Hello world'
 */
export class BPETokenizer implements Tokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly addPrefixSpace: boolean;
  readonly #ranks = new Map<string, number>();
  readonly #idToToken: string[] = [];
  readonly #byteEncoder = bytesToUnicode();
  readonly #byteDecoder = new Map(this.#byteEncoder.map((c, b) => [c, b]));
  readonly #cache = new Map<string, number[]>();
  readonly #special: RegExp | null;

  constructor({ vocab, merges, specialTokens, addPrefixSpace = false }: BPEOptions) {
    const op = 'BPETokenizer';
    this.vocab = new Map(Object.entries(vocab));
    for (const [tok, id] of this.vocab) {
      if (!Number.isInteger(id) || id < 0) throw new DLError(op, `vocab entry ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; ids must be integers >= 0`);
      if (this.#idToToken[id] !== undefined) throw new DLError(op, `id ${id} is given to both ${JSON.stringify(this.#idToToken[id])} and ${JSON.stringify(tok)}`);
      this.#idToToken[id] = tok;
    }
    merges.forEach(([a, b], i) => {
      const key = `${a} ${b}`;
      if (!this.#ranks.has(key)) this.#ranks.set(key, i);
    });
    const special = specialTokens ?? (this.vocab.has('<|endoftext|>') ? { '<|endoftext|>': this.vocab.get('<|endoftext|>')! } : {});
    this.specialTokens = new Map(Object.entries(special));
    for (const [tok, id] of this.specialTokens) {
      if (!Number.isInteger(id) || id < 0) throw new DLError(op, `special token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; ids must be integers >= 0`);
      const had = this.#idToToken[id];
      if (had !== undefined && had !== tok) throw new DLError(op, `special token ${JSON.stringify(tok)} takes id ${id} of ${JSON.stringify(had)}`);
      this.#idToToken[id] = tok;
    }
    // longest first, so a special token that contains another wins
    const keys = [...this.specialTokens.keys()].filter((k) => k).sort((a, b) => b.length - a.length);
    this.#special = keys.length ? new RegExp(`(${keys.map(escapeRegExp).join('|')})`, 'u') : null;
    this.addPrefixSpace = addPrefixSpace;
    for (const c of this.#byteEncoder) {
      if (!this.vocab.has(c)) throw new DLError(op, `the vocabulary has no token for byte character ${JSON.stringify(c)}; a byte-level vocabulary holds all 256`);
    }
  }

  /**
   * From vocab.json and merges.txt contents (merges.txt: an optional `#version` line, then one
   * `a b` pair per line).
   *
   *   BPETokenizer.fromFiles(readFileSync('vocab.json', 'utf8'), readFileSync('merges.txt', 'utf8'));
   */
  static fromFiles(vocabJson: string | Record<string, number>, mergesTxt: string, opts: Omit<BPEOptions, 'vocab' | 'merges'> = {}): BPETokenizer {
    const vocab = typeof vocabJson === 'string' ? parseJson('vocab.json', vocabJson) : vocabJson;
    return new BPETokenizer({ ...opts, vocab: vocab as Record<string, number>, merges: parseMerges(mergesTxt) });
  }

  /**
   * From a Hugging Face tokenizer.json of a byte-level BPE (GPT-2's): model.vocab, model.merges
   * (either "a b" strings or [a, b] pairs), added_tokens as special tokens, add_prefix_space.
   *
   *   BPETokenizer.fromTokenizerJson(readFileSync('tokenizer.json', 'utf8'));
   */
  static fromTokenizerJson(json: string | Record<string, unknown>): BPETokenizer {
    const op = 'BPETokenizer.fromTokenizerJson';
    const j = (typeof json === 'string' ? parseJson('tokenizer.json', json) : json) as {
      model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
      added_tokens?: { id: number; content: string }[];
      pre_tokenizer?: { type?: string; add_prefix_space?: boolean; pretokenizers?: { type?: string; add_prefix_space?: boolean }[] } | null;
    };
    const m = j.model;
    if (!m || m.type !== 'BPE' || typeof m.vocab !== 'object' || !Array.isArray(m.merges)) {
      throw new DLError(op, `expected model.type 'BPE' with model.vocab and model.merges, got model.type ${JSON.stringify(m?.type)}`);
    }
    const pre = j.pre_tokenizer;
    const byteLevel = pre?.type === 'ByteLevel' ? pre : pre?.type === 'Sequence' ? pre.pretokenizers?.find((p) => p.type === 'ByteLevel') : undefined;
    if (!byteLevel) throw new DLError(op, `pre_tokenizer must be ByteLevel (GPT-2's byte-level BPE), got ${JSON.stringify(pre?.type ?? null)}`);
    const merges = m.merges.map((x, i): [string, string] => {
      const pair = typeof x === 'string' ? x.split(' ') : x;
      if (pair.length !== 2) throw new DLError(op, `merge ${i} must be a pair of tokens, got ${JSON.stringify(x)}`);
      return [pair[0], pair[1]];
    });
    const specialTokens = Object.fromEntries((j.added_tokens ?? []).map((t) => [t.content, t.id]));
    return new BPETokenizer({ vocab: m.vocab, merges, specialTokens, addPrefixSpace: byteLevel.add_prefix_space ?? false });
  }

  /** From a folder holding tokenizer.json, or vocab.json and merges.txt (Node). */
  static async fromPretrained(dir: string): Promise<BPETokenizer> {
    const fs = await import('node:fs/promises');
    const read = (name: string) => fs.readFile(`${dir}/${name}`, 'utf8');
    try {
      return BPETokenizer.fromTokenizerJson(await read('tokenizer.json'));
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
    try {
      return BPETokenizer.fromFiles(await read('vocab.json'), await read('merges.txt'));
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
      throw new DLError('BPETokenizer.fromPretrained', `${dir} holds neither tokenizer.json nor vocab.json and merges.txt`);
    }
  }

  get vocabSize(): number {
    return this.#idToToken.length;
  }

  /**
   * Token ids of `text`. Special tokens in the text become their ids unless `allowSpecial` is
   * false. A lone surrogate (not valid Unicode) is encoded as U+FFFD, as TextEncoder does.
   */
  encode(text: string, { allowSpecial = true }: { allowSpecial?: boolean } = {}): number[] {
    if (this.addPrefixSpace && !text.startsWith(' ')) text = ` ${text}`;
    const out: number[] = [];
    const parts = allowSpecial && this.#special ? text.split(this.#special) : [text];
    parts.forEach((part, i) => {
      // split() puts the captured separators at odd positions
      if (i % 2 === 1) out.push(this.specialTokens.get(part)!);
      else for (const [word] of part.matchAll(GPT2_PATTERN)) out.push(...this.#word(word));
    });
    return out;
  }

  /** The ids of one pre-tokenized word, cached. */
  #word(word: string): number[] {
    let ids = this.#cache.get(word);
    if (ids) return ids;
    const chars = [...new TextEncoder().encode(word)].map((b) => this.#byteEncoder[b]);
    ids = this.bpe(chars).map((t) => {
      const id = this.vocab.get(t);
      if (id === undefined) throw new DLError('BPETokenizer.encode', `the merges make ${JSON.stringify(t)}, which vocab.json does not hold (from the word ${JSON.stringify(word)})`);
      return id;
    });
    if (this.#cache.size < 100_000) this.#cache.set(word, ids);
    return ids;
  }

  /**
   * Applies the merges to a word given as byte characters: the adjacent pair with the lowest rank
   * is merged everywhere, again and again, until no pair has a rank.
   *
   *   tok.bpe(['h', 'e', 'l', 'l', 'o']); // ['hello'] with GPT-2's merges
   */
  bpe(word: readonly string[]): string[] {
    let w = [...word];
    while (w.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < w.length - 1; i++) {
        const r = this.#ranks.get(`${w[i]} ${w[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [first, second] = [w[best], w[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < w.length; ) {
        if (i < w.length - 1 && w[i] === first && w[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else merged.push(w[i++]);
      }
      w = merged;
    }
    return w;
  }

  /** The UTF-8 bytes of ids (special tokens as their text). */
  decodeBytes(ids: Iterable<number>): Uint8Array {
    const bytes: number[] = [];
    for (const id of ids) {
      const tok = this.#token(id);
      if (this.specialTokens.has(tok)) bytes.push(...new TextEncoder().encode(tok));
      else {
        for (const c of tok) {
          const b = this.#byteDecoder.get(c);
          // a character outside the byte table (a hand-made vocabulary): its own UTF-8
          if (b === undefined) bytes.push(...new TextEncoder().encode(c));
          else bytes.push(b);
        }
      }
    }
    return Uint8Array.from(bytes);
  }

  /** The text of ids; bytes that are not valid UTF-8 (a cut multi-byte character) become U+FFFD. */
  decode(ids: Iterable<number>): string {
    return new TextDecoder('utf-8').decode(this.decodeBytes(ids));
  }

  /** Decodes as ids arrive, holding back the bytes of a character until it is complete. */
  streamDecoder(): StreamDecoder {
    const dec = new TextDecoder('utf-8');
    return {
      push: (id) => dec.decode(this.decodeBytes([id]), { stream: true }),
      flush: () => dec.decode(),
    };
  }

  /** The token string of an id. */
  #token(id: number): string {
    const tok = Number.isInteger(id) ? this.#idToToken[id] : undefined;
    if (tok === undefined) throw new IndexError('BPETokenizer.decode', `id ${id} is not in the vocabulary (ids 0..${this.vocabSize - 1})`);
    return tok;
  }
}

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DLError('BPETokenizer', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** merges.txt: `#version` lines skipped, one `a b` pair per non-empty line. */
function parseMerges(text: string): [string, string][] {
  const out: [string, string][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const pair = line.split(' ');
    if (pair.length !== 2) throw new DLError('BPETokenizer', `merges.txt line ${i + 1} must be two tokens separated by one space, got ${JSON.stringify(line)}`);
    out.push([pair[0], pair[1]]);
  });
  return out;
}
