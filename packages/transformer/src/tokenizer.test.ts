// Tokenizers: the character-level one as nanoGPT builds it, and byte-level BPE against OpenAI's
// encoder.py algorithm run in Python on a small vocabulary trained by gen_fixtures.py
// (fixtures/bpe-tiny, fixtures/bpe-cases.json), read from vocab.json + merges.txt and from
// tokenizer.json; round trips of tricky text and of arbitrary bytes.
import { readFileSync } from 'node:fs';
import { DLError, Generator, IndexError } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { BPETokenizer, GPT2_PATTERN, bytesToUnicode } from './bpe-tokenizer.js';
import { CharTokenizer } from './char-tokenizer.js';
import { fixturePath } from './test-helpers.js';

const read = (name: string) => readFileSync(fixturePath(name), 'utf8');
const CASES = JSON.parse(read('bpe-cases.json')) as { text: string; ids: number[]; words: string[] }[];

const TRICKY = [
  'emoji 😀👍🏽👨‍👩‍👧 🇫🇷',
  'CJK 数据科学 日本語のテキスト 한국어',
  'combining e\u0301 n\u0303 Z\u0335\u0321',
  '   whitespace\t\t runs \n\n\r\n   ',
  '\u00a0\u2009\u3000\ufeff\u200d',
  'ends with an astral 𝄞',
  '',
];

describe('CharTokenizer', () => {
  it('is nanoGPT\'s: the sorted unique characters (code points, astral ones whole) of the text', () => {
    const tok = CharTokenizer.fromText('hello\u{1F600} world\uff01');
    // sorted by code point: ' ', d, e, h, l, o, r, w, U+FF01, U+1F600 (UTF-16 order would put the emoji first)
    expect(tok.chars).toEqual([' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w', '\uff01', '\u{1F600}']);
    expect(tok.encode('hello\u{1F600}')).toEqual([3, 2, 4, 4, 5, 9]);
    expect(tok.decode(tok.encode('world\uff01 \u{1F600}'))).toBe('world\uff01 \u{1F600}');
    expect(CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tok))).chars).toEqual(tok.chars);
  });

  it('names a character it does not know, and an id outside the vocabulary', () => {
    const tok = CharTokenizer.fromText('abc');
    expect(() => tok.encode('abz')).toThrow(IndexError);
    expect(() => tok.encode('abz')).toThrow(/character "z" \(U\+007A\) at index 2 is not in the vocabulary of 3/);
    expect(() => tok.decode([0, 3])).toThrow(/id 3 is outside the vocabulary \[0, 3\)/);
    expect(() => new CharTokenizer(['a', 'a'])).toThrow(DLError);
  });
});

describe('BPETokenizer (GPT-2 byte-level BPE)', () => {
  const fromFiles = BPETokenizer.fromFiles(read('bpe-tiny/vocab.json'), read('bpe-tiny/merges.txt'));
  const fromJson = BPETokenizer.fromTokenizerJson(read('bpe-tiny/tokenizer.json'));

  it('bytesToUnicode is GPT-2\'s table: printable bytes map to themselves, the rest to U+0100.. in order', () => {
    const t = bytesToUnicode();
    expect(new Set(t).size).toBe(256);
    expect([t[33], t[126], t[161], t[255]]).toEqual(['!', '~', '¡', 'ÿ']);
    expect([t[0], t[32], t[127], t[173]]).toEqual(['\u0100', '\u0120', '\u0121', '\u0143']);
  });

  it.each(CASES.map((c) => [JSON.stringify(c.text).slice(0, 40), c] as const))('%s: pre-tokenization and ids equal encoder.py\'s', (_, c) => {
    expect([...c.text.matchAll(GPT2_PATTERN)].map((m) => m[0])).toEqual(c.words);
    expect(fromFiles.encode(c.text)).toEqual(c.ids);
    expect(fromJson.encode(c.text)).toEqual(c.ids);
    expect(fromFiles.decode(c.ids)).toBe(c.text);
  });

  it('round-trips tricky text (emoji, CJK, combining marks, whitespace runs, BOM, ZWJ)', () => {
    for (const text of TRICKY) expect(fromJson.decode(fromJson.encode(text))).toBe(text);
  });

  it('a lone surrogate (not valid Unicode, so not UTF-8) is encoded as U+FFFD, as TextEncoder does; the rest round-trips', () => {
    const text = 'a\ud800b\udc00c \ud83d';
    expect(fromFiles.decode(fromFiles.encode(text))).toBe('a\ufffdb\ufffdc \ufffd');
  });

  it('every byte string survives encode -> decodeBytes, and a cut multi-byte character decodes to U+FFFD', () => {
    const g = new Generator(5);
    for (let n = 0; n < 20; n++) {
      const bytes = Uint8Array.from({ length: 40 }, (_, i) => g.permutation(256)[i]);
      const ids = bytes.reduce<number[]>((acc, b) => [...acc, fromFiles.vocab.get(bytesToUnicode()[b])!], []);
      expect([...fromFiles.decodeBytes(ids)]).toEqual([...bytes]);
    }
    const ids = fromFiles.encode('é'); // two bytes
    const firstByte = fromFiles.vocab.get(bytesToUnicode()[0xc3])!;
    expect(fromFiles.decode([firstByte])).toBe('\ufffd');
    expect(fromFiles.decode(ids)).toBe('é');
  });

  it('streamDecoder holds back a character until its bytes are complete', () => {
    const text = 'a 😀 数据 é';
    const pieces: string[] = [];
    const bytesIds = [...new TextEncoder().encode(text)].map((b) => fromFiles.vocab.get(bytesToUnicode()[b])!);
    const dec = fromFiles.streamDecoder();
    for (const id of bytesIds) pieces.push(dec.push(id));
    pieces.push(dec.flush());
    expect(pieces.join('')).toBe(text);
    expect(pieces.every((p) => !p.includes('\ufffd'))).toBe(true);
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0); // held-back bytes
  });

  it('<|endoftext|> in the text is the special token (unless allowSpecial is false); its id decodes to its text', () => {
    const eot = fromFiles.vocab.get('<|endoftext|>')!;
    const ids = fromFiles.encode('a<|endoftext|>b');
    expect(ids).toContain(eot);
    expect(fromFiles.decode(ids)).toBe('a<|endoftext|>b');
    expect(fromFiles.encode('a<|endoftext|>b', { allowSpecial: false })).not.toContain(eot);
    expect(fromFiles.vocabSize).toBe(377);
  });

  it('names what is wrong with its files and ids', () => {
    expect(() => fromFiles.decode([377])).toThrow(/id 377 is not in the vocabulary \(ids 0\.\.376\)/);
    expect(() => BPETokenizer.fromFiles('{"a": 0}', '')).toThrow(/no token for byte character/);
    expect(() => BPETokenizer.fromFiles(read('bpe-tiny/vocab.json'), '#version: 0.2\na b c\n')).toThrow(/merges.txt line 2 must be two tokens/);
    expect(() => BPETokenizer.fromTokenizerJson({ model: { type: 'WordPiece' } })).toThrow(/expected model.type 'BPE'/);
    expect(() => BPETokenizer.fromTokenizerJson('{')).toThrow(/tokenizer.json is not valid JSON/);
  });
});
