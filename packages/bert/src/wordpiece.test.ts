// trainWordPiece: a merge order worked out by hand, the same vocabulary as a plain recount-every-
// step BPE on a generated corpus (the incremental pair bookkeeping is where bugs hide), the
// alphabet's ## forms, determinism, and a trained vocabulary tokenizing its corpus without [UNK].
import { DLError, Generator } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { BasicTokenizer } from './basic-tokenizer.js';
import { BertTokenizer } from './tokenizer.js';
import { trainWordPiece } from './wordpiece.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** BPE with `##` pieces the slow, obvious way: recount every pair after each merge. */
function naiveWordPiece(text: string, vocabSize: number, minFrequency: number): string[] {
  const counts = new Map<string, number>();
  for (const w of new BasicTokenizer().tokenize(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const chars = [...new Set([...counts.keys()].flatMap((w) => [...w]))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab = [...SPECIALS, ...chars, ...chars.map((c) => `##${c}`)]; // the test corpus has letters only
  const id = (t: string) => vocab.indexOf(t);
  const words = [...counts].map(([w, c]) => ({ s: [...w].map((ch, i) => id(i ? `##${ch}` : ch)), c }));
  while (vocab.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { s, c } of words) for (let i = 0; i + 1 < s.length; i++) pairs.set(`${s[i]},${s[i + 1]}`, (pairs.get(`${s[i]},${s[i + 1]}`) ?? 0) + c);
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(',').map(Number);
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best || bestCount < minFrequency) break;
    const tok = vocab[best[0]] + vocab[best[1]].slice(2);
    if (id(tok) < 0) vocab.push(tok);
    const m = id(tok);
    for (const w of words) {
      for (let i = 0; i + 1 < w.s.length; i++) if (w.s[i] === best[0] && w.s[i + 1] === best[1]) w.s.splice(i, 2, m);
    }
  }
  return vocab;
}

describe('trainWordPiece', () => {
  it('merges the most frequent pair first, ties to the older pieces (worked by hand)', () => {
    // aab x3: (a,##a) 3, (##a,##b) 3; ab x2: (a,##b) 2  -> aa (tie, older first), then aab, then ab
    expect(trainWordPiece('aab aab aab ab ab', 100)).toEqual([...SPECIALS, 'a', 'b', '##a', '##b', 'aa', 'aab', 'ab']);
    expect(trainWordPiece('aab aab aab ab ab', 10)).toEqual([...SPECIALS, 'a', 'b', '##a', '##b', 'aa']);
    expect(trainWordPiece('aab aab aab ab ab', 100, { minFrequency: 3 })).toEqual([...SPECIALS, 'a', 'b', '##a', '##b', 'aa', 'aab']);
  });

  it('gives the same vocabulary as recounting every pair after each merge', () => {
    const g = new Generator(4);
    const syll = ['th', 'e', 'an', 'ing', 'o', 're', 'st', 'a', 'ou', 'nd', 'ea', 'l', 'y', 'ti', 'on', 'm'];
    const perm = g.permutation(40000);
    const words: string[] = [];
    for (let i = 0; i < 4000; i++) {
      let w = '';
      for (let k = 0; k < 1 + (perm[i] % 4); k++) w += syll[perm[(i * 7 + k * 13) % 40000] % syll.length];
      words.push(w);
    }
    const text = words.join(' ');
    const fast = trainWordPiece(text, 300, { minFrequency: 1 });
    expect(fast.length).toBeGreaterThan(150);
    expect(fast).toEqual(naiveWordPiece(text, 300, 1));
  });

  it('gives every character a word-start token and, unless punctuation or CJK, a ## token; lower-cases like the tokenizer', () => {
    const vocab = trainWordPiece(['Héllo, HELLO 中文!'], 40);
    expect(vocab.slice(0, 5)).toEqual(SPECIALS);
    for (const t of ['h', 'e', 'l', 'o', ',', '!', '中', '文', '##h', '##e', '##l', '##o']) expect(vocab).toContain(t);
    for (const t of ['##,', '##!', '##中', 'H', 'é']) expect(vocab).not.toContain(t);
    expect(trainWordPiece(['Héllo'], 40, { doLowerCase: false })).toContain('##é');
  });

  it('is deterministic, and its vocabulary tokenizes the corpus without [UNK]', () => {
    const text = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness. '.repeat(5);
    const a = trainWordPiece(text, 60);
    expect(trainWordPiece(text, 60)).toEqual(a);
    expect(a).toHaveLength(60);
    const words = new BasicTokenizer().tokenize(text);
    const whole = trainWordPiece(text, 500); // stops when every word is one token
    expect(whole.length).toBeLessThan(500);
    expect(new BertTokenizer(whole).tokenize(text)).toEqual(words);
    const tok = new BertTokenizer(a);
    const ids = tok.encode(text, { addSpecialTokens: false }).inputIds;
    expect(ids).not.toContain(tok.unkTokenId);
    expect(tok.decode(ids)).toBe(words.join(' ').replace(/ ([.,])/g, '$1'));
    expect(tok.tokenize('it was the')).toEqual(['it', 'was', 'the']); // frequent words became tokens
  });

  it('names a vocabSize too small for the alphabet and other bad options', () => {
    expect(() => trainWordPiece('abc', 8)).toThrow(DLError);
    expect(() => trainWordPiece('abc', 8)).toThrow(/vocabSize 8 is smaller than the 5 special tokens and 6 character tokens \(3 characters\)/);
    expect(trainWordPiece('abcd abcd', 7, { limitAlphabet: 1 })).toEqual([...SPECIALS, 'a', '##a']); // 'abcd' is left out
    expect(() => trainWordPiece('abc', 100, { minFrequency: 0 })).toThrow(/minFrequency/);
    expect(() => trainWordPiece(['a', 3 as unknown as string], 100)).toThrow(/texts must be strings/);
  });
});
