// MLM masking: the 15% / 80-10-10 proportions on a large sample (tolerances of about 5 standard
// deviations, so a wrong rate fails), special and padding positions never chosen, labels, whole-word
// masking, seeding, and the typed errors.
import { DLError, DTypeError, Generator, ShapeError, tensor, zeros } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { maskTokens } from './masking.js';

const V = 30000; // large, so a random replacement rarely equals the original
const [PAD, UNK, CLS, SEP, MASK] = [0, 1, 2, 3, 4];
const SPECIAL = [PAD, UNK, CLS, SEP, MASK];

/** B rows of L: [CLS] tokens [SEP] [PAD]..., the tokens drawn from ids >= 5. */
function batch(B: number, L: number, seed: number): Int32Array {
  const g = new Generator(seed);
  const perm = g.permutation(B * L);
  const ids = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const len = 2 + (perm[b] % (L - 2)); // tokens before padding, with [CLS] and [SEP]
    ids[b * L] = CLS;
    for (let i = 1; i < len - 1; i++) ids[b * L + i] = 5 + (perm[b * L + i] % (V - 5));
    ids[b * L + len - 1] = SEP;
    // the rest stays [PAD] (0)
  }
  return ids;
}

describe('maskTokens', () => {
  it('chooses 15% of the ordinary tokens; of those 80% [MASK], 10% random, 10% unchanged; never a special or pad', () => {
    const B = 400;
    const L = 512;
    const ids = batch(B, L, 1);
    const { inputIds, labels } = maskTokens(tensor(ids, { shape: [B, L], dtype: 'int32' }), { maskTokenId: MASK, vocabSize: V, specialIds: SPECIAL, generator: new Generator(7) });
    expect(inputIds.shape).toEqual([B, L]);
    expect(labels.dtype).toBe('int32');
    const out = inputIds.dataSync();
    const lab = labels.dataSync();
    let eligible = 0;
    let chosen = 0;
    let masked = 0;
    let random = 0;
    let kept = 0;
    const wrong: string[] = []; // collected, not asserted per position: 200k expects would be slow
    for (let i = 0; i < ids.length; i++) {
      const special = SPECIAL.includes(ids[i]);
      if (!special) eligible++;
      if (lab[i] === -100) {
        if (out[i] !== ids[i]) wrong.push(`${i}: not chosen but changed`);
        continue;
      }
      if (special) wrong.push(`${i}: special id ${ids[i]} chosen`);
      if (lab[i] !== ids[i]) wrong.push(`${i}: label ${lab[i]} is not the original ${ids[i]}`);
      chosen++;
      if (out[i] === MASK) masked++;
      else if (out[i] === ids[i]) kept++;
      else random++;
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(eligible).toBeGreaterThan(90000);
    // sd of the chosen share: sqrt(.15 * .85 / ~100k) ~ 0.0011; of each kind's share of ~15k: ~0.003 / 0.0025
    expect(Math.abs(chosen / eligible - 0.15)).toBeLessThan(0.006);
    expect(Math.abs(masked / chosen - 0.8)).toBeLessThan(0.016);
    expect(Math.abs(random / chosen - 0.1)).toBeLessThan(0.013);
    expect(Math.abs(kept / chosen - 0.1)).toBeLessThan(0.013);
  });

  it('random replacements are spread over the vocabulary', () => {
    const ids = new Int32Array(200000).fill(5);
    const { inputIds, labels } = maskTokens(ids, { maskTokenId: MASK, vocabSize: 10, mlmProbability: 1, maskReplaceProb: 0, randomReplaceProb: 1, generator: new Generator(3) });
    expect(labels.every((l) => l === 5)).toBe(true);
    const counts = new Array(10).fill(0);
    for (const id of inputIds) counts[id]++;
    for (const c of counts) expect(Math.abs(c / ids.length - 0.1)).toBeLessThan(0.004); // sd 0.00067
  });

  it('is seeded: the same generator state gives the same masks, another seed others', () => {
    const ids = batch(4, 64, 2);
    const opts = { maskTokenId: MASK, vocabSize: V, specialIds: SPECIAL };
    const a = maskTokens(ids, { ...opts, generator: new Generator(5) });
    const b = maskTokens(ids, { ...opts, generator: new Generator(5) });
    const c = maskTokens(ids, { ...opts, generator: new Generator(6) });
    expect(b.inputIds).toEqual(a.inputIds);
    expect(b.labels).toEqual(a.labels);
    expect(c.labels).not.toEqual(a.labels);
    expect(ids).toEqual(batch(4, 64, 2)); // the input is not modified
  });

  it('a specialTokensMask keeps those positions, whatever their ids', () => {
    const ids = new Int32Array(1000).fill(7);
    const keep = Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : 0));
    const { labels } = maskTokens(ids, { maskTokenId: MASK, vocabSize: V, mlmProbability: 0.5, specialTokensMask: keep, generator: new Generator(1) });
    labels.forEach((l, i) => {
      if (i % 2) expect(l).toBe(-100);
    });
    expect(labels.filter((l) => l !== -100).length).toBeGreaterThan(150);
  });

  it('whole-word masking chooses all pieces of a word together, about 15% of words', () => {
    // words of 1-3 pieces, with specials between sentences
    const ids: number[] = [];
    const wordIds: number[] = [];
    let word = 0;
    for (let s = 0; s < 4000; s++) {
      ids.push(CLS);
      wordIds.push(-1);
      for (let w = 0; w < 6; w++, word++) {
        for (let p = 0; p <= (s + w) % 3; p++) {
          ids.push(100 + p);
          wordIds.push(word);
        }
      }
      ids.push(SEP);
      wordIds.push(-1);
    }
    const { labels } = maskTokens(ids, { maskTokenId: MASK, vocabSize: V, specialIds: SPECIAL, wholeWordMask: true, wordIds, generator: new Generator(11) });
    const chosenWords = new Map<number, number>();
    const size = new Map<number, number>();
    wordIds.forEach((w, i) => {
      if (w < 0) return expect(labels[i]).toBe(-100);
      size.set(w, (size.get(w) ?? 0) + 1);
      if (labels[i] !== -100) chosenWords.set(w, (chosenWords.get(w) ?? 0) + 1);
    });
    for (const [w, n] of chosenWords) expect(n, `word ${w}`).toBe(size.get(w)); // all of its pieces
    expect(Math.abs(chosenWords.size / word - 0.15)).toBeLessThan(0.012); // sd ~0.0018 over 24k words
  });

  it('names bad options and inputs with typed errors', () => {
    const o = { maskTokenId: MASK, vocabSize: V };
    expect(() => maskTokens([5, 6], { ...o, wholeWordMask: true })).toThrow(/wholeWordMask needs wordIds/);
    expect(() => maskTokens([5, 6], { ...o, wordIds: [0] })).toThrow(ShapeError);
    expect(() => maskTokens([5, 6], { ...o, specialTokensMask: [0, 0, 0] })).toThrow(/specialTokensMask has 3 entries but inputIds has 2/);
    expect(() => maskTokens([5, 6], { ...o, mlmProbability: 1.5 })).toThrow(/mlmProbability must be a probability/);
    expect(() => maskTokens([5, 6], { ...o, maskReplaceProb: 0.8, randomReplaceProb: 0.3 })).toThrow(/at most 1/);
    expect(() => maskTokens([5, 6], { maskTokenId: V, vocabSize: V })).toThrow(DLError);
    expect(() => maskTokens(zeros([2, 3]), o)).toThrow(DTypeError);
  });
});
