// BasicTokenizer's pieces on the reference's definitions (punctuation, CJK ranges, control and
// whitespace characters, Python's str.split()) and its options; whole strings are compared with the
// reference in tokenizer.test.ts.
import { describe, expect, it } from 'vitest';
import { BasicTokenizer, cleanText, isChineseChar, isPunctuation, splitOnPunctuation, stripAccents, whitespaceTokenize } from './basic-tokenizer.js';

describe('character classes', () => {
  it("punctuation is every non-alphanumeric printable ASCII character and every Unicode P* character", () => {
    for (const c of '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~') expect(isPunctuation(c), c).toBe(true);
    for (const c of ['\u00bf', '\u2014', '\u3002', '\uff01', '\u00ab']) expect(isPunctuation(c), c).toBe(true);
    for (const c of ['a', 'Z', '0', ' ', '\u00e9', '\u20ac', '\u00a9', '\u{1F600}', '\u4e2d']) expect(isPunctuation(c), c).toBe(false); // € © are S*, not P*
  });

  it('CJK ideographs are the reference ranges, not Hangul or kana', () => {
    for (const cp of [0x4e00, 0x9fff, 0x3400, 0x4dbf, 0x20000, 0x2a6df, 0x2a700, 0x2b81f, 0x2b820, 0x2ceaf, 0xf900, 0xfaff, 0x2f800, 0x2fa1f]) expect(isChineseChar(cp), cp.toString(16)).toBe(true);
    for (const cp of [0x4dff, 0x3041, 0x30a2, 0xac00, 0x2a6e0, 0x2ceb0, 0x2fa20, 0x41]) expect(isChineseChar(cp), cp.toString(16)).toBe(false);
  });

  it('cleanText drops NUL, U+FFFD and Cc/Cf characters and maps whitespace (Zs, \\t \\n \\r) to spaces', () => {
    expect(cleanText('a\u0000b\ufffdc\u0007d\u200be\u00adf\u2060g')).toBe('abcdefg');
    expect(cleanText('a\tb\nc\rd\u00a0e\u3000f\u2028g')).toBe('a b c d e f\u2028g'); // U+2028 is Zl: kept, split later
    expect(cleanText('x中y', true)).toBe('x 中 y');
    expect(cleanText('plain text')).toBe('plain text');
  });

  it("whitespaceTokenize splits where Python's str.split() does", () => {
    expect(whitespaceTokenize(' a\u2028b\u2029c\u000bd\u001ce\u0085f  ')).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(whitespaceTokenize('a\u200bb\ufeffc')).toEqual(['a\u200bb\ufeffc']); // zero-width space and BOM are not whitespace there
    expect(whitespaceTokenize('   ')).toEqual([]);
  });

  it('stripAccents drops combining marks of the NFD form; splitOnPunctuation splits every mark off', () => {
    expect(stripAccents('Héllo wörld ñ Å ǅ')).toBe('Hello world n A ǅ'); // ǅ's decomposition is a compatibility one: NFD keeps it
    expect(stripAccents('\u0301\u0302')).toBe('');
    expect(splitOnPunctuation('a,b!!c')).toEqual(['a', ',', 'b', '!', '!', 'c']);
    expect(splitOnPunctuation('\u{1F600}.\u{1F600}')).toEqual(['\u{1F600}', '.', '\u{1F600}']);
  });
});

describe('BasicTokenizer', () => {
  it('lower-cases and strips accents when uncased; stripAccents overrides either way', () => {
    expect(new BasicTokenizer().tokenize('Héllo, WÖRLD!')).toEqual(['hello', ',', 'world', '!']);
    expect(new BasicTokenizer({ stripAccents: false }).tokenize('Héllo')).toEqual(['héllo']);
    expect(new BasicTokenizer({ doLowerCase: false }).tokenize('Héllo')).toEqual(['Héllo']);
    expect(new BasicTokenizer({ doLowerCase: false, stripAccents: true }).tokenize('Héllo')).toEqual(['Hello']);
    // a word is lower-cased whole, as Python's str.lower(): final sigma (BertTokenizer differs, see tokenizer.ts)
    expect(new BasicTokenizer().tokenize('ΟΔΟΣ ΣΑΣ.')).toEqual(['οδος', 'σας', '.']);
  });

  it('splits CJK ideographs unless told not to, and keeps neverSplit words whole', () => {
    expect(new BasicTokenizer().tokenize('ab中文cd')).toEqual(['ab', '中', '文', 'cd']);
    expect(new BasicTokenizer({ tokenizeChineseChars: false }).tokenize('ab中文cd')).toEqual(['ab中文cd']);
    const tok = new BasicTokenizer({ neverSplit: ['C++'] });
    expect(tok.tokenize('I like C++, C++ and c++')).toEqual(['i', 'like', 'c', '+', '+', ',', 'C++', 'and', 'c', '+', '+']);
    expect(tok.tokenize('a <x> b', ['<x>'])).toEqual(['a', '<x>', 'b']);
  });
});
