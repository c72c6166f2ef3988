/**
 * Constrained decoding at the token level: which tokens of a vocabulary keep the output a valid
 * prefix of JSON for a schema. Works with any tokenizer whose tokens decode to text or bytes (one
 * character per token, byte-level BPE, ...): the tokens' bytes go into a trie, and one walk of
 * the trie from the automaton's state finds every allowed token, sharing the work of common
 * prefixes.
 */
import { ChainsError } from '../errors.js';
import { JsonAutomaton, type JsonState } from './json-automaton.js';
import type { JSONSchema } from '../schema/json-schema.js';
import { compileJsonSchema, type SchemaNode } from './schema.js';

/** Constrained decoding cannot go on: the vocabulary lacks what the JSON needs, or no token fits. */
export class ConstraintError extends ChainsError {
  override name = 'ConstraintError';
}

/** What TokenVocabulary.fromTokenizer needs of a tokenizer (CharTokenizer and BPETokenizer of @dl/transformer fit). */
export interface TokenizerLike {
  readonly vocabSize: number;
  decode(ids: Iterable<number>): string;
  /** the raw bytes of ids (byte-level BPE), used when present so a token may hold part of a character */
  decodeBytes?(ids: Iterable<number>): Uint8Array;
  /** special tokens (text -> id): never part of the JSON */
  readonly specialTokens?: ReadonlyMap<string, number>;
}

interface TrieNode {
  bytes: number[];
  kids: TrieNode[];
  /** tokens whose bytes end here */
  ids: number[];
}

const enc = new TextEncoder();

/**
 * The bytes of every token, in a trie. Special tokens (end of text, ...) have no bytes.
 *
 *   const vocab = TokenVocabulary.fromTokenizer(tokenizer); // CharTokenizer, BPETokenizer, ...
 *   const vocab2 = new TokenVocabulary(['{', '}', '"', 'a', ...]); // one string (or bytes) per id
 */
export class TokenVocabulary {
  readonly size: number;
  readonly #bytes: (Uint8Array | null)[];
  readonly #root: TrieNode = { bytes: [], kids: [], ids: [] };
  /** ids of the tokens that are exactly one byte, by byte */
  readonly #single = new Map<number, number>();

  constructor(tokens: readonly (string | Uint8Array | null)[]) {
    this.size = tokens.length;
    this.#bytes = tokens.map((t) => (t === null ? null : typeof t === 'string' ? enc.encode(t) : t));
    this.#bytes.forEach((b, id) => {
      if (!b || b.length === 0) return;
      let node = this.#root;
      for (const byte of b) {
        let i = node.bytes.indexOf(byte);
        if (i < 0) {
          i = node.bytes.push(byte) - 1;
          node.kids.push({ bytes: [], kids: [], ids: [] });
        }
        node = node.kids[i];
      }
      node.ids.push(id);
      if (b.length === 1 && !this.#single.has(b[0])) this.#single.set(b[0], id);
    });
  }

  /** The tokens of a tokenizer: each id decoded alone (its bytes when the tokenizer has decodeBytes). */
  static fromTokenizer(tok: TokenizerLike): TokenVocabulary {
    const special = new Set(tok.specialTokens?.values() ?? []);
    const tokens = Array.from({ length: tok.vocabSize }, (_, id) => (special.has(id) ? null : tok.decodeBytes ? tok.decodeBytes([id]) : tok.decode([id])));
    return new TokenVocabulary(tokens);
  }

  /** The bytes of a token (null for a special token). */
  bytes(id: number): Uint8Array | null {
    return this.#bytes[id] ?? null;
  }

  /** Whether one token writes exactly these bytes. */
  hasToken(bytes: Uint8Array): boolean {
    if (bytes.length === 1) return this.#single.has(bytes[0]);
    let node = this.#root;
    for (const b of bytes) {
      const i = node.bytes.indexOf(b);
      if (i < 0) return false;
      node = node.kids[i];
    }
    return node.ids.length > 0;
  }

  /** Whether the vocabulary can write these bytes one token per character, or one per byte. */
  canWrite(char: string): boolean {
    const b = enc.encode(char);
    return this.hasToken(b) || [...b].every((x) => this.#single.has(x));
  }

  /** Whether some one-byte token is a printable ASCII character other than a quote or backslash (string filler). */
  hasPlainChar(): boolean {
    for (const b of this.#single.keys()) if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) return true;
    return false;
  }

  /**
   * Calls `visit(id, state)` for every token that leaves `automaton` in a live state from `state`,
   * with that state.
   */
  walk(automaton: JsonAutomaton, state: JsonState, visit: (id: number, next: JsonState) => void): void {
    const go = (node: TrieNode, s: JsonState) => {
      for (let i = 0; i < node.bytes.length; i++) {
        const next = automaton.step(s, node.bytes[i]);
        if (!next.length) continue;
        const kid = node.kids[i];
        for (const id of kid.ids) visit(id, next);
        go(kid, next);
      }
    };
    go(this.#root, state);
  }
}

export interface JsonDecoderOptions {
  /** tokens the decoder may still write in all (default no limit): near the end it steers to closing the JSON */
  maxTokens?: number;
  /** end-of-text token ids: allowed only once the JSON is whole */
  eos?: readonly number[];
}

/**
 * Decodes one JSON value token by token: `mask(logits)` sets to -Infinity every token that would
 * make the output stop being a valid prefix (or, near `maxTokens`, one that leaves too little room
 * to close it), `push(id)` takes the token picked. Stop when `done` (the value is closed) or at
 * an end-of-text token.
 *
 *   const dec = new JsonDecoder({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, vocab, { maxTokens: 64 });
 *   while (!dec.done) {
 *     const logits = nextLogits(); // Float32Array (vocabSize)
 *     dec.mask(logits);
 *     dec.push(sample(logits));
 *   }
 *   JSON.parse(dec.text);
 */
export class JsonDecoder {
  readonly automaton: JsonAutomaton;
  #state: JsonState;
  #written = 0;
  #bytes: number[] = [];
  #ended = false;
  readonly #eos: ReadonlySet<number>;

  constructor(
    schema: JSONSchema | boolean | SchemaNode | JsonAutomaton,
    readonly vocab: TokenVocabulary,
    readonly options: JsonDecoderOptions = {},
  ) {
    this.automaton = schema instanceof JsonAutomaton ? schema : new JsonAutomaton(isNode(schema) ? schema : compileJsonSchema(schema));
    this.#state = this.automaton.start();
    this.#eos = new Set(options.eos ?? []);
    checkVocabulary(this.automaton.schema, vocab);
  }

  /** Whether the value is closed (nothing may follow), or an end token ended it. */
  get done(): boolean {
    return this.#ended || this.automaton.isDone(this.#state);
  }

  /** Whether the output so far is a whole valid JSON text. */
  get complete(): boolean {
    return this.automaton.isComplete(this.#state);
  }

  /** The output so far. */
  get text(): string {
    return new TextDecoder().decode(Uint8Array.from(this.#bytes));
  }

  /** The tokens allowed next, with the fewest bytes each leaves to write. */
  allowed(): Map<number, number> {
    const out = new Map<number, number>();
    this.vocab.walk(this.automaton, this.#state, (id, next) => out.set(id, this.automaton.minCompletion(next)));
    if (this.automaton.isComplete(this.#state)) for (const id of this.#eos) out.set(id, 0);
    return out;
  }

  /**
   * Sets every disallowed logit to -Infinity (in place). With a token budget, a token is allowed
   * only if the JSON can still be closed within the tokens left after it (one byte per token
   * at worst); if none can, the tokens that come closest.
   */
  mask(logits: { length: number; [i: number]: number }): void {
    const allowed = this.allowed();
    if (!allowed.size) throw new ConstraintError('JsonDecoder.mask', `no token can continue ${JSON.stringify(this.text)} as JSON of the schema`);
    const left = (this.options.maxTokens ?? Infinity) - this.#written - 1;
    let keep = [...allowed].filter(([, need]) => need <= left);
    if (!keep.length) {
      const least = Math.min(...allowed.values());
      keep = [...allowed].filter(([, need]) => need === least);
    }
    const ok = new Uint8Array(logits.length);
    for (const [id] of keep) ok[id] = 1;
    for (let i = 0; i < logits.length; i++) if (!ok[i]) logits[i] = -Infinity;
  }

  /** Takes the token written next; a token the automaton refuses is a ConstraintError. */
  push(id: number): void {
    if (this.done) throw new ConstraintError('JsonDecoder.push', `the JSON is already whole; token ${id} cannot follow`);
    this.#written++;
    if (this.#eos.has(id)) {
      if (!this.complete) throw new ConstraintError('JsonDecoder.push', `end token ${id} before the JSON is whole (${JSON.stringify(this.text)})`);
      this.#ended = true;
      return;
    }
    const bytes = this.vocab.bytes(id);
    if (!bytes) throw new ConstraintError('JsonDecoder.push', `token ${id} has no text`);
    const next = this.automaton.advance(this.#state, bytes);
    if (!next.length) throw new ConstraintError('JsonDecoder.push', `token ${id} (${JSON.stringify(new TextDecoder().decode(bytes))}) does not continue ${JSON.stringify(this.text)} as JSON of the schema`);
    this.#state = next;
    this.#bytes.push(...bytes);
  }
}

function isNode(s: JSONSchema | boolean | SchemaNode): s is SchemaNode {
  return typeof s === 'object' && s !== null && typeof (s as { kind?: unknown }).kind === 'string' && !('type' in s);
}

/**
 * Throws a ConstraintError when the vocabulary has no single-byte token for a character that
 * closing a value may need (structure, digits, the bytes of keys and literals), since the
 * decoder relies on writing a completion one byte per token.
 */
function checkVocabulary(node: SchemaNode, vocab: TokenVocabulary): void {
  const needed = new Set<string>(['"', '0']);
  const visit = (n: SchemaNode): void => {
    switch (n.kind) {
      case 'any':
        for (const c of '{}[]:,') needed.add(c);
        return;
      case 'object':
        for (const c of '{}:,') needed.add(c);
        if (n.props) for (const [k, v] of n.props) for (const c of JSON.stringify(k)) needed.add(c), visit(v);
        else visit(n.values);
        return;
      case 'array':
        for (const c of '[],') needed.add(c);
        return visit(n.items);
      case 'string':
        if (n.minLength > 0 && !vocab.hasPlainChar()) throw new ConstraintError('JsonDecoder', 'the vocabulary has no one-character token to fill a string of minLength > 0');
        return;
      case 'literal':
        for (const t of n.texts) for (const c of t) needed.add(c);
        return;
      case 'union':
        return n.options.forEach(visit);
      case 'number':
        return;
    }
  };
  visit(node);
  const missing = [...needed].filter((c) => !vocab.canWrite(c));
  if (missing.length) {
    throw new ConstraintError('JsonDecoder', `the vocabulary has no token for ${missing.map((c) => JSON.stringify(c)).join(', ')}, which the JSON may need`);
  }
}
