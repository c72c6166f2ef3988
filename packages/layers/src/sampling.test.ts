import { DLError } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { argmax, checkSampling, sampleLogits } from './index.js';

describe('sampling helpers', () => {
  const row = [1, 3, 2, 3, -1];
  it('greedy takes the first largest; temperature 1 follows the softmax', () => {
    expect(argmax(row)).toBe(1);
    expect(sampleLogits(row, { temperature: 0 }, 0.99)).toBe(1);
    const p = row.map((x) => Math.exp(x));
    const s = p.reduce((a, b) => a + b);
    // u just past the first two probabilities falls on token 2
    expect(sampleLogits(row, {}, (p[0] + p[1]) / s + 1e-9)).toBe(2);
  });
  it('topK keeps the k largest (ties kept), topP the smallest prefix reaching p', () => {
    for (let u = 0; u < 1; u += 0.05) {
      expect([1, 3]).toContain(sampleLogits(row, { topK: 1 }, u));
      expect([1, 3]).toContain(sampleLogits(row, { topP: 0.5 }, u));
    }
  });
  it('refuses bad options by name', () => {
    expect(() => checkSampling('gen', { temperature: -1 })).toThrow(new DLError('gen', 'temperature must be a finite number >= 0 (0 = greedy), got -1'));
    expect(() => checkSampling('gen', { topK: 0 })).toThrow(/topK must be an integer >= 1/);
    expect(() => checkSampling('gen', { topP: 0 })).toThrow(/topP must be in \(0, 1\]/);
  });
});
