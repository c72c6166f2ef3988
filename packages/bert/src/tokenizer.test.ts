// BertTokenizer against the reference algorithm (Hugging Face's BertTokenizer, transcribed in
// scripts/make_tokenizer_fixture.py) on tricky strings with committed uncased and cased
// vocabularies; then encode's truncation / padding choices, batches as int32 tensors, decode, the
// typed errors, and vocab.txt / tokenizer_config.json round trips.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DLError, IndexError } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { BertTokenizer, TokenizerError, WordpieceTokenizer, cleanUpTokenization, tokenizerOptionsFromConfig, type Truncation } from './tokenizer.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const read = (name: string) => readFileSync(fixture(name), 'utf8');

interface Cases {
  configs: Record<string, { vocab: string; doLowerCase: boolean; neverSplit: string[] }>;
  tokenize: { config: string; text: string; tokens: string[]; ids: number[]; decoded: string; decodedSkip: string }[];
  encode: { config: string; text: string; pair: string | null; maxLength: number; truncation: Truncation; padding: false | 'max_length'; inputIds: number[]; tokenTypeIds: number[]; attentionMask: number[] }[];
}
const CASES = JSON.parse(read('tokenizer-cases.json')) as Cases;
const TOKENIZERS = Object.fromEntries(Object.entries(CASES.configs).map(([name, c]) => [name, BertTokenizer.fromVocabTxt(read(c.vocab), { doLowerCase: c.doLowerCase, neverSplit: c.neverSplit })]));
const uncased = TOKENIZERS.uncased;

describe('BertTokenizer matches the reference algorithm', () => {
  it.each(CASES.tokenize.map((c) => [c.config, JSON.stringify(c.text).slice(0, 40), c] as const))('%s %s', (config, _, c) => {
    const tok = TOKENIZERS[config];
    expect(tok.tokenize(c.text)).toEqual(c.tokens);
    expect(tok.convertTokensToIds(tok.tokenize(c.text))).toEqual(c.ids);
    const ids = tok.encode(c.text).inputIds;
    expect(tok.decode(ids)).toBe(c.decoded);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(c.decodedSkip);
  });

  it.each(CASES.encode.map((c) => [c.config, c.truncation, c.maxLength, JSON.stringify([c.text, c.pair]).slice(0, 50), c] as const))('encode %s %s to %i: %s', (config, _t, _m, _s, c) => {
    const tok = TOKENIZERS[config];
    const enc = tok.encode(c.text, c.pair, { maxLength: c.maxLength, truncation: c.truncation, padding: c.padding });
    expect(enc.inputIds).toEqual(c.inputIds);
    expect(enc.tokenTypeIds).toEqual(c.tokenTypeIds);
    expect(enc.attentionMask).toEqual(c.attentionMask);
  });

  it('the fixture covers what it claims: accents, CJK, astral characters, [UNK], long words, special tokens', () => {
    const texts = CASES.tokenize.filter((c) => c.config === 'uncased');
    const all = texts.flatMap((c) => c.tokens);
    expect(all).toContain('[UNK]');
    expect(all).toContain('\u{20000}'); // a CJK extension-B ideograph, split off as a word
    expect(all).toContain('[MASK]');
    expect(texts.find((c) => c.text.startsWith('a'.repeat(100)))!.tokens.slice(-1)).toEqual(['[UNK]']); // 101 chars
    expect(TOKENIZERS.cased.tokenize('Héllo')).toEqual(['Héllo']);
    expect(uncased.tokenize('Héllo')).toEqual(['hello']);
  });
});

describe('WordpieceTokenizer', () => {
  it('is greedy longest-match-first, [UNK] for a word with an unmatched part or over maxInputCharsPerWord', () => {
    const vocab = new Map(['[UNK]', 'un', 'unaff', '##aff', '##able', '##a', '##ble', 'a', '##😀'].map((t, i) => [t, i]));
    const wp = new WordpieceTokenizer(vocab, '[UNK]', 5);
    expect(wp.tokenize('unaffable')).toEqual(['[UNK]']); // 9 characters > 5
    const wide = new WordpieceTokenizer(vocab, '[UNK]');
    expect(wide.tokenize('unaffable a😀 unx')).toEqual(['unaff', '##able', 'a', '##😀', '[UNK]']);
    expect(new WordpieceTokenizer(vocab, '[UNK]', 2).tokenize('a😀')).toEqual(['a', '##😀']); // 2 code points, 3 UTF-16 units
  });
});

describe('encode', () => {
  it('rejects a text longer than maxLength unless truncation says how to cut, naming the lengths', () => {
    expect(() => uncased.encode('hello world the end', { maxLength: 4 })).toThrow(TokenizerError);
    expect(() => uncased.encode('hello world the end', { maxLength: 4 })).toThrow(/6 tokens \(4 tokens \+ 2 special\), more than maxLength 4; pass truncation/);
    expect(uncased.encode('hello world the end', { maxLength: 4, truncation: true }).inputIds).toEqual(uncased.encode('hello world', { maxLength: 4 }).inputIds);
    const tight = new BertTokenizer(uncased.idsToTokens, { modelMaxLength: 3 });
    expect(() => tight.encode('hello world')).toThrow(/more than maxLength 3/);
    expect(tight.encode('hello world', { maxLength: 8 }).inputIds).toHaveLength(4);
  });

  it("throws where the chosen truncation cannot fit the input, rather than exceed maxLength", () => {
    expect(() => uncased.encode('x', 'hello world the end', { maxLength: 5, truncation: 'only_first' })).toThrow(/'only_first' must remove 3 tokens .* the first text has only 1/);
    expect(() => uncased.encode('hello world the end', { maxLength: 3, truncation: 'only_second' })).toThrow(/the second text has none \(no pair given\)/);
    expect(() => uncased.encode('hello', 'world', { maxLength: 2, truncation: true })).toThrow(/the 3 special tokens alone fill it/);
    expect(() => uncased.encode('hello', { truncation: 'first' as Truncation, maxLength: 2 })).toThrow(/truncation must be/);
    expect(() => uncased.encode('hello', { padding: 'max_length' })).toThrow(/needs maxLength/);
  });

  it('without special tokens, and the special-tokens mask', () => {
    const e = uncased.encode('hello world', 'end', { addSpecialTokens: false });
    expect(uncased.convertIdsToTokens(e.inputIds)).toEqual(['hello', 'world', 'end']);
    expect(e.tokenTypeIds).toEqual([0, 0, 1]);
    const p = uncased.encode('hello', 'end', { maxLength: 7, padding: 'max_length' });
    expect(uncased.convertIdsToTokens(p.inputIds)).toEqual(['[CLS]', 'hello', '[SEP]', 'end', '[SEP]', '[PAD]', '[PAD]']);
    expect(p.specialTokensMask).toEqual([1, 0, 1, 0, 1, 1, 1]);
  });

  it('encodeBatch gives int32 [B, L] tensors padded to the longest row or to maxLength', () => {
    const b = uncased.encodeBatch(['hello world', ['hello', 'the end']]);
    expect(b.inputIds.shape).toEqual([2, 6]);
    expect(b.inputIds.dtype).toBe('int32');
    const ids = uncased.vocab;
    const [cls, sep, pad] = ['[CLS]', '[SEP]', '[PAD]'].map((t) => ids.get(t)!);
    expect(Array.from(b.inputIds.dataSync())).toEqual([cls, ids.get('hello'), ids.get('world'), sep, pad, pad, cls, ids.get('hello'), sep, ids.get('the'), ids.get('end'), sep]);
    expect(Array.from(b.tokenTypeIds.dataSync())).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    expect(Array.from(b.attentionMask.dataSync())).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(uncased.encodeBatch(['hello'], { maxLength: 5, padding: 'max_length' }).inputIds.shape).toEqual([1, 5]);
    expect(() => uncased.encodeBatch(['hello', 'the end'], { padding: false })).toThrow(/different lengths \(3, 4\)/);
    expect(() => uncased.encodeBatch(['hello', 'hello world the end'], { maxLength: 4 })).toThrow(/\(texts\[1\]\) is 6 tokens/);
    expect(() => uncased.encodeBatch([])).toThrow(TokenizerError);
  });
});

describe('decode and ids', () => {
  it('joins ## pieces, cleans spaces before punctuation, skips special tokens, names a bad id', () => {
    const ids = uncased.convertTokensToIds(['[CLS]', 'un', '##aff', '##able', '!', 'don', "'", 't', '[SEP]', '[PAD]']);
    expect(uncased.decode(ids)).toBe("[CLS] unaffable! don't [SEP] [PAD]");
    expect(uncased.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false })).toBe("unaffable ! don ' t");
    expect(cleanUpTokenization("it is n't here . they 're , ok ?")).toBe("it isn't here. they're, ok?");
    expect(() => uncased.decode([2, uncased.vocabSize])).toThrow(IndexError);
    expect(() => uncased.decode([2, 1.5])).toThrow(`id 1.5 at position 1 is outside the vocabulary [0, ${uncased.vocabSize})`);
    expect(uncased.convertTokensToIds('qqqq')).toBe(uncased.unkTokenId);
  });

  it('wordIds groups ## pieces with their word and gives specials -1', () => {
    const ids = uncased.encode('unaffable hello tokenization').inputIds;
    expect(Array.from(uncased.wordIds(ids))).toEqual([-1, 0, 0, 0, 1, 2, 2, -1]);
  });
});

describe('vocabularies and files', () => {
  it('a vocabulary without special tokens is a TokenizerError naming each missing one', () => {
    const e = (() => {
      try {
        BertTokenizer.fromVocabTxt('[PAD]\n[UNK]\n[CLS]\nhello\n');
      } catch (err) {
        return err as DLError;
      }
    })();
    expect(e).toBeInstanceOf(TokenizerError);
    expect(e?.message).toMatch(/lacks the special tokens sepToken "\[SEP\]", maskToken "\[MASK\]"/);
    expect(() => new BertTokenizer(['<unk>', '[SEP]', '[PAD]', '[CLS]', '[MASK]'])).toThrow(/lacks the special token unkToken "\[UNK\]"/);
    expect(new BertTokenizer(['<unk>', '[SEP]', '[PAD]', '[CLS]', '[MASK]'], { unkToken: '<unk>' }).unkTokenId).toBe(0);
  });

  it("reads vocab.txt as Python's readlines: \\r\\n endings, a last line without one", () => {
    const tok = BertTokenizer.fromVocabTxt('[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhi');
    expect(tok.idsToTokens).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hi']);
    expect(tok.allSpecialIds).toEqual([1, 3, 0, 2, 4]);
  });

  it('saveVocabulary / savePretrained / fromPretrained round-trip the vocabulary and settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bert-tok-'));
    try {
      const cased = new BertTokenizer(TOKENIZERS.cased.idsToTokens, { doLowerCase: false, modelMaxLength: 64 });
      await cased.savePretrained(`${dir}/a`);
      expect(readFileSync(`${dir}/a/vocab.txt`, 'utf8')).toBe(read('tokenizer-cased-vocab.txt'));
      const back = await BertTokenizer.fromPretrained(`${dir}/a`);
      expect(back.basicTokenizer.doLowerCase).toBe(false);
      expect(back.modelMaxLength).toBe(64);
      expect(back.tokenize('Héllo World')).toEqual(['Héllo', 'World']);
      expect((await BertTokenizer.fromPretrained(`${dir}/a/vocab.txt`)).basicTokenizer.doLowerCase).toBe(true);
      expect(await uncased.saveVocabulary(`${dir}/b`)).toBe(`${dir}/b/vocab.txt`);
      writeFileSync(`${dir}/b/tokenizer_config.json`, JSON.stringify({ do_lower_case: false, unk_token: { content: '[UNK]', __type: 'AddedToken' }, model_max_length: 1e30 }));
      const hf = await BertTokenizer.fromPretrained(`${dir}/b`);
      expect(hf.basicTokenizer.doLowerCase).toBe(false);
      expect(hf.modelMaxLength).toBeUndefined();
      await expect(BertTokenizer.fromPretrained(`${dir}/none`)).rejects.toThrow(/fromPretrained: .*\/none does not exist/);
      await expect(BertTokenizer.fromPretrained(dir)).rejects.toThrow(/vocab.txt does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tokenizerOptionsFromConfig names a bad field', () => {
    expect(tokenizerOptionsFromConfig({ do_lower_case: false, strip_accents: null, model_max_length: 512 })).toEqual({ doLowerCase: false, modelMaxLength: 512 });
    expect(() => tokenizerOptionsFromConfig({ do_lower_case: 'yes' })).toThrow(/do_lower_case must be true, false or null, got "yes"/);
    expect(() => tokenizerOptionsFromConfig({ mask_token: 3 })).toThrow(/mask_token must be a string/);
  });
});
