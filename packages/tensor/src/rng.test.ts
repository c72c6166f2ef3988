import { describe, expect, it } from 'vitest';
import { DLError, Generator, fillNormal, fillUniform, generator, manualSeed, philox, rand, randn } from './index.js';

describe('rng far into the stream', () => {
  it('a counter of 2^32 does not repeat draw 0', () => {
    manualSeed(3);
    const first = Array.from(randn([8]).dataSync());
    manualSeed(3);
    generator.counter = 2 ** 32;
    const far = Array.from(randn([8]).dataSync());
    expect(far).not.toEqual(first);
  });

  it('uses the counter as (low 32 bits, high bits): 2^32 + c differs from c, and 2^32 from 2^33', () => {
    const word = (c: number): number[] => {
      const r = new Uint32Array(4);
      philox(c, 7, 8, r);
      return Array.from(r);
    };
    expect(word(2 ** 32 + 5)).not.toEqual(word(5));
    expect(word(2 ** 33)).not.toEqual(word(2 ** 32));
    expect(word(2 ** 40)).not.toEqual(word(0));
  });

  it('a tensor whose counters cross 2^32 (or 2^40) is the same stream as tensors made on either side', () => {
    for (const start of [2 ** 32 - 2, 2 ** 40 + 2 ** 32 - 2]) {
      const whole = new Float32Array(16); // counters start .. start + 3
      fillUniform(whole, [1, 2], start);
      const after = new Float32Array(8); // counters start + 2, start + 3
      fillUniform(after, [1, 2], start + 2);
      expect(Array.from(whole.subarray(8))).toEqual(Array.from(after));
      const n = new Float32Array(16);
      fillNormal(n, [1, 2], start);
      const n2 = new Float32Array(8);
      fillNormal(n2, [1, 2], start + 2);
      expect(Array.from(n.subarray(8))).toEqual(Array.from(n2));
    }
  });

  it('works near 2^40: uniform numbers in [0, 1) with a plausible mean, none repeated from the start', () => {
    const g = new Generator(9);
    const start = rand([4000], { generator: g }).dataSync();
    g.counter = 2 ** 40 - 500; // the tensor's 1000 counters cross 2^40
    const far = rand([4000], { generator: g }).dataSync();
    expect(g.counter).toBe(2 ** 40 + 500);
    let mean = 0;
    for (const v of far) {
      expect(v >= 0 && v < 1).toBe(true);
      mean += v / far.length;
    }
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    const seen = new Set(start);
    let same = 0;
    for (const v of far) if (seen.has(v)) same++;
    expect(same).toBeLessThan(10); // chance collisions of 24-bit values only
  });

  it('refuses to run past 2^53', () => {
    const g = new Generator(1);
    g.counter = 2 ** 53 - 2;
    expect(() => rand([100], { generator: g })).toThrow(DLError);
  });
});

describe('Generator', () => {
  it('gives the same numbers as the global generator for the same seed', () => {
    manualSeed(11);
    const a = Array.from(randn([10]).dataSync());
    const b = Array.from(randn([10], { generator: new Generator(11) }).dataSync());
    expect(b).toEqual(a);
    // an unseeded generator starts where an unseeded global one does
    expect(new Generator().getState()).toEqual({ key: [0x2545f491, 0x4f6cdd1d], counter: 0 });
  });

  it('has its own key and counter: drawing from it leaves the global stream alone', () => {
    manualSeed(5);
    const expected = Array.from(rand([6]).dataSync());
    manualSeed(5);
    const g = new Generator(5);
    rand([100], { generator: g });
    expect(Array.from(rand([6]).dataSync())).toEqual(expected);
    expect(g.counter).toBe(25);
  });

  it('getState/setState checkpoint the stream, through JSON', () => {
    const g = new Generator(3);
    rand([7], { generator: g });
    const saved = JSON.stringify(g.getState());
    const next = Array.from(randn([5], { generator: g }).dataSync());
    g.manualSeed(99);
    g.setState(JSON.parse(saved));
    expect(Array.from(randn([5], { generator: g }).dataSync())).toEqual(next);
    // the state is a copy
    const s = g.getState();
    s.key[0] = 0;
    expect(g.key[0]).toBe(3);
  });

  it('setState and manualSeed reject malformed input', () => {
    const g = new Generator(1);
    expect(() => g.setState({ key: [1, -1], counter: 0 })).toThrow(/Generator.setState/);
    expect(() => g.setState({ key: [1, 2], counter: 0.5 })).toThrow(DLError);
    expect(() => g.setState({ key: [1, 2], counter: 2 ** 53 })).toThrow(DLError);
    expect(() => g.setState(undefined as never)).toThrow(DLError);
    expect(() => g.manualSeed(Number.NaN)).toThrow(/manualSeed: seed must be a finite number/);
    expect(g.getState()).toEqual({ key: [1, 0], counter: 0 });
  });

  it('seed() picks a fresh seed and returns it, so the run can be repeated', () => {
    const g = new Generator();
    const s = g.seed();
    expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
    const a = Array.from(rand([4], { generator: g }).dataSync());
    expect(Array.from(rand([4], { generator: new Generator(s) }).dataSync())).toEqual(a);
    expect(new Generator().seed()).not.toBe(s);
  });

  it('permutation is a permutation, fixed by the seed, and advances the stream', () => {
    const g = new Generator(4);
    const p = Array.from(g.permutation(50));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(new Generator(4).permutation(50))).toEqual(p);
    expect(Array.from(g.permutation(50))).not.toEqual(p);
    expect(Array.from(g.permutation(0))).toEqual([]);
    expect(() => g.permutation(-1)).toThrow(DLError);
  });

  it('permutation is uniform: each of the 6 orders of 3 appears about equally often', () => {
    const g = new Generator(8);
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const k = g.permutation(3).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(120); // ~4 sd
  });
});
