import { fileURLToPath } from 'node:url';
import { BPETokenizer, CharTokenizer } from '@dl/transformer';
import { describe, expect, it } from 'vitest';
import { ConstraintError, JsonDecoder, TokenVocabulary } from './token-constraint.js';
import type { JSONSchema } from '../schema/json-schema.js';

/** A seeded uniform in [0, 1) (mulberry32), so the random "models" repeat. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decodes with random logits (a stand-in for an untrained model): the most likely allowed token each step. */
function decodeRandom(schema: JSONSchema, vocab: TokenVocabulary, maxTokens: number, seed: number, eos?: number[]): { text: string; tokens: number } {
  const dec = new JsonDecoder(schema, vocab, { maxTokens, eos });
  const r = rng(seed);
  let tokens = 0;
  while (!dec.done && tokens < maxTokens) {
    const logits = Float32Array.from({ length: vocab.size }, () => r() * 4);
    dec.mask(logits);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    dec.push(best);
    tokens++;
  }
  return { text: dec.text, tokens };
}

const CHARS = CharTokenizer.fromText(' !"#,-.0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]_abcdefghijklmnopqrstuvwxyz{}\né');
const SCHEMA: JSONSchema = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    days: { type: 'integer' },
    unit: { enum: ['celsius', 'fahrenheit'] },
    hourly: { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 4 },
    windy: { type: ['boolean', 'null'] },
  },
  required: ['city', 'unit', 'hourly'],
};

describe('JsonDecoder', () => {
  it('random logits over a character vocabulary always give valid JSON of the schema within maxTokens', () => {
    const vocab = TokenVocabulary.fromTokenizer(CHARS);
    for (let seed = 0; seed < 20; seed++) {
      const maxTokens = 45 + seed * 5; // the shortest valid output is 41 characters
      const { text, tokens } = decodeRandom(SCHEMA, vocab, maxTokens, seed);
      expect(tokens).toBeLessThanOrEqual(maxTokens);
      const v = JSON.parse(text) as Record<string, unknown>;
      expect(typeof v.city, text).toBe('string');
      expect(['celsius', 'fahrenheit']).toContain(v.unit);
      expect(Array.isArray(v.hourly) && v.hourly.length >= 1 && v.hourly.length <= 4 && v.hourly.every((x) => typeof x === 'number'), text).toBe(true);
      if ('days' in v) expect(Number.isInteger(v.days), text).toBe(true);
      if ('windy' in v) expect([true, false, null]).toContain(v.windy);
      expect(Object.keys(v).every((k) => k in (SCHEMA as { properties: object }).properties), text).toBe(true);
    }
  });

  it('byte-level BPE: multi-character tokens, tokens that cross JSON tokens, and an end token allowed only once whole', async () => {
    const tok = await BPETokenizer.fromPretrained(fileURLToPath(new URL('../../../transformer/fixtures/bpe-tiny', import.meta.url)));
    const vocab = TokenVocabulary.fromTokenizer(tok);
    const eos = [...tok.specialTokens.values()];
    expect(eos.length).toBeGreaterThan(0);
    expect(vocab.bytes(eos[0])).toBeNull();
    for (let seed = 0; seed < 10; seed++) {
      const { text } = decodeRandom({ type: 'object' }, vocab, 30, seed, eos);
      expect(JSON.parse(text), text).toBeTypeOf('object');
    }
  });

  it('a tight budget closes the value in time; the mask allows exactly the tokens that keep a valid prefix', () => {
    const vocab = TokenVocabulary.fromTokenizer(CHARS);
    const { text, tokens } = decodeRandom({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, vocab, 8, 1);
    expect(text).toMatch(/^\{"a":"[^"]?"\}$/);
    expect(tokens).toBeLessThanOrEqual(8);
    const dec = new JsonDecoder({ type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] }, vocab);
    for (const c of '{"ok":') dec.push(CHARS.encode(c)[0]);
    const logits = new Float32Array(vocab.size);
    dec.mask(logits);
    const open = [...logits.keys()].filter((i) => logits[i] === 0).map((i) => CHARS.chars[i]);
    expect(open.sort()).toEqual(['f', 't']);
  });

  it('says what is missing: a vocabulary without braces, a token that breaks the JSON', () => {
    const noBraces = TokenVocabulary.fromTokenizer(CharTokenizer.fromText('abc"0:,'));
    expect(() => new JsonDecoder({ type: 'object' }, noBraces)).toThrow(ConstraintError);
    expect(() => new JsonDecoder({ type: 'object' }, noBraces)).toThrow(/"\{", "\}"/);
    const dec = new JsonDecoder({ type: 'object' }, TokenVocabulary.fromTokenizer(CHARS));
    expect(() => dec.push(CHARS.encode('x')[0])).toThrow(/does not continue "" as JSON/);
  });
});
