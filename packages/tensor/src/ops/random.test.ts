import { describe, expect, it } from 'vitest';
import { DLError, DTypeError, Generator, ShapeError, bernoulli, full, manualSeed, memory, multinomial, rand, randint, randn, randperm, tensor } from '../index.js';

/** Frequencies of the values 0..k-1 in xs. */
function freqs(xs: ArrayLike<number>, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (let i = 0; i < xs.length; i++) c[xs[i]] += 1 / xs.length;
  return c;
}

describe('random ops take a generator', () => {
  it('rand, randn, randint and randperm draw from the generator given, the global one otherwise', () => {
    const draws = (opts: { generator?: Generator }) => [
      Array.from(rand([5], opts).dataSync()),
      Array.from(randn([5], opts).dataSync()),
      Array.from(randint(0, 100, [5], opts).dataSync()),
      Array.from(randperm(9, opts).dataSync()),
    ];
    manualSeed(21);
    const global = draws({});
    expect(draws({ generator: new Generator(21) })).toEqual(global);
    expect(draws({ generator: new Generator(22) })).not.toEqual(global);
  });

  it('randperm is a permutation (int32, or the dtype asked)', () => {
    const p = randperm(20, { generator: new Generator(1) });
    expect(p.dtype).toBe('int32');
    expect(Array.from(p.dataSync()).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(randperm(3, { dtype: 'float32' }).dtype).toBe('float32');
    expect(() => randperm(-1)).toThrow(ShapeError);
  });
});

describe('bernoulli', () => {
  it('gives ones with probability p, in the shape and dtype of p', () => {
    const p = tensor([0, 0.25, 0.5, 1]).reshape([4, 1]).expand([4, 4000]);
    const b = bernoulli(p, { generator: new Generator(2) });
    expect(b.shape).toEqual([4, 4000]);
    expect(b.dtype).toBe('float32');
    const m = Array.from(b.mean(1).dataSync());
    expect(m[0]).toBe(0);
    expect(m[3]).toBe(1);
    expect(Math.abs(m[1] - 0.25)).toBeLessThan(0.03); // sd 0.007
    expect(Math.abs(m[2] - 0.5)).toBeLessThan(0.03);
    const again = bernoulli(p, { generator: new Generator(2) });
    expect(Array.from(again.dataSync())).toEqual(Array.from(b.dataSync()));
  });

  it('rejects p outside [0, 1] and non-float p', () => {
    expect(() => bernoulli(tensor([0.5, 1.5]))).toThrow(/bernoulli: p must be in \[0, 1\]; element 1 of p \[2\] is 1.5/);
    expect(() => bernoulli(tensor([Number.NaN]))).toThrow(DLError);
    expect(() => bernoulli(tensor(new Int32Array([0, 1])))).toThrow(DTypeError);
  });

  it('leaves no tensors behind but its result', () => {
    const p = full([3, 3], 0.3);
    const before = memory().tensors;
    const b = bernoulli(p);
    expect(memory().tensors).toBe(before + 1);
    b.dispose();
  });
});

describe('multinomial', () => {
  it('with replacement: frequencies follow the probabilities, zero-probability categories never appear', () => {
    const probs = tensor([
      [0.1, 0, 0.6, 0.3],
      [0, 0, 2, 2], // unnormalised
    ]);
    const s = multinomial(probs, 5000, { replacement: true, generator: new Generator(3) });
    expect(s.shape).toEqual([2, 5000]);
    expect(s.dtype).toBe('int32');
    const v = s.dataSync();
    const f0 = freqs(v.subarray(0, 5000), 4);
    const f1 = freqs(v.subarray(5000), 4);
    expect(f0[1]).toBe(0);
    expect(f1[0] + f1[1]).toBe(0);
    // standard deviations are at most 0.007
    [0.1, 0, 0.6, 0.3].forEach((p, i) => expect(Math.abs(f0[i] - p)).toBeLessThan(0.03));
    expect(Math.abs(f1[2] - 0.5)).toBeLessThan(0.03);
  });

  it('1-D probs give [numSamples]; a one-hot row always gives its category', () => {
    const s = multinomial(tensor([0, 0, 1]), 7, { replacement: true });
    expect(s.shape).toEqual([7]);
    expect(Array.from(s.dataSync())).toEqual([2, 2, 2, 2, 2, 2, 2]);
  });

  it('the extreme draws u = 0 and u = 1 - 2^-24 fall on the first and last non-zero categories', () => {
    // found by search: with Generator(0)'s key, element 9320226 of the stream has the largest
    // uniform value and element 59535980 is 0
    const g = new Generator(0);
    g.counter = Math.floor(9320226 / 4);
    const top = multinomial(tensor([[0.25, 0.75, 0, 0]]), 3, { replacement: true, generator: g });
    expect(top.dataSync()[9320226 % 4]).toBe(1);
    g.counter = Math.floor(59535980 / 4);
    const bottom = multinomial(tensor([[0, 0, 0.5, 0.5]]), 3, { replacement: true, generator: g });
    expect(bottom.dataSync()[59535980 % 4]).toBe(2);
    g.counter = Math.floor(9320226 / 4);
    expect(rand([3], { generator: g }).dataSync()[2]).toBe(1 - 2 ** -24);
    g.counter = Math.floor(59535980 / 4);
    expect(rand([3], { generator: g }).dataSync()[0]).toBe(0);
  });

  it('without replacement: distinct categories per row, first draws follow the probabilities', () => {
    const probs = tensor([0.5, 0.3, 0.2, 0]);
    const g = new Generator(5);
    const all = multinomial(probs.reshape([1, 4]).expand([3000, 4]), 3, { generator: g });
    expect(all.shape).toEqual([3000, 3]);
    const v = all.dataSync();
    const first: number[] = [];
    for (let r = 0; r < 3000; r++) {
      const row = [v[r * 3], v[r * 3 + 1], v[r * 3 + 2]];
      expect(new Set(row).size).toBe(3);
      expect(row).not.toContain(3); // probability 0
      first.push(row[0]);
    }
    const f = freqs(first, 4);
    [0.5, 0.3, 0.2].forEach((p, i) => expect(Math.abs(f[i] - p)).toBeLessThan(0.04)); // sd <= 0.009
    // P(second = 2 | first = 0) = 0.2 / 0.5 = 0.4
    let n0 = 0;
    let n02 = 0;
    for (let r = 0; r < 3000; r++) {
      if (v[r * 3] === 0) {
        n0++;
        if (v[r * 3 + 1] === 2) n02++;
      }
    }
    expect(Math.abs(n02 / n0 - 0.4)).toBeLessThan(0.05);
  });

  it('without replacement, numSamples = categories gives a permutation of each row', () => {
    const s = multinomial(tensor([[1, 2, 3, 4, 5]]), 5, { generator: new Generator(6) });
    expect(Array.from(s.dataSync()).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('is fixed by the generator, and does not draw from the global stream when given one', () => {
    const probs = tensor([0.2, 0.2, 0.6]);
    const a = multinomial(probs, 10, { replacement: true, generator: new Generator(7) });
    const b = multinomial(probs, 10, { replacement: true, generator: new Generator(7) });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    manualSeed(1);
    const before = rand([3]).dataSync()[0];
    manualSeed(1);
    multinomial(probs, 10, { replacement: true, generator: new Generator(7) });
    expect(rand([3]).dataSync()[0]).toBe(before);
  });

  it('throws typed errors for bad input', () => {
    const ok = tensor([0.5, 0.5]);
    expect(() => multinomial(tensor(new Int32Array([1, 2])), 1)).toThrow(DTypeError);
    expect(() => multinomial(ok.reshape([1, 1, 2]), 1)).toThrow(/multinomial: probs must be 1-D or 2-D, got \[1,1,2\]/);
    expect(() => multinomial(ok, 3)).toThrow(/numSamples \(3\) > categories \(2\) without replacement; probs \[2\]/);
    expect(() => multinomial(ok, 0)).toThrow(ShapeError);
    expect(() => multinomial(ok, 1.5)).toThrow(ShapeError);
    expect(() => multinomial(tensor([0.5, -0.1]), 1)).toThrow(/row 0 of probs \[2\] has -0\.1\d* at 1/);
    expect(() => multinomial(tensor([0.5, Number.POSITIVE_INFINITY]), 1)).toThrow(DLError);
    expect(() => multinomial(tensor([[0.5, 0.5], [0, 0]]), 1, { replacement: true })).toThrow(/row 1 of probs \[2,2\] sums to 0/);
    expect(() => multinomial(tensor([0.5, 0, 0.5]), 3)).toThrow(/2 non-zero categories, fewer than numSamples \(3\)/);
    expect(() => multinomial(tensor([[]]).reshape([1, 0]), 1, { replacement: true })).toThrow(ShapeError);
    expect(multinomial(tensor([0.5, 0, 0.5]), 3, { replacement: true }).shape).toEqual([3]);
  });

  it('leaves no tensors behind but its result', () => {
    const probs = tensor([[0.2, 0.8], [0.5, 0.5]]);
    for (const replacement of [true, false]) {
      const before = memory().tensors;
      const s = multinomial(probs, 2, { replacement });
      expect(memory().tensors).toBe(before + 1);
      s.dispose();
    }
  });
});
