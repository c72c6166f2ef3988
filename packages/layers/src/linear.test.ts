import { manualSeed, tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Embedding, Identity, Linear } from './linear.js';
import { checkLayerCase } from './test-helpers.js';

describe('Linear', () => {
  it('matches PyTorch: output and gradients', () => {
    checkLayerCase('linear', new Linear(5, 3));
    checkLayerCase('linear3d', new Linear(5, 3, { bias: false }));
  });

  it('initialises weight and bias within 1/sqrt(fanIn), reproducibly from the seed', () => {
    manualSeed(7);
    const a = new Linear(16, 8);
    manualSeed(7);
    const b = new Linear(16, 8);
    expect(a.weight.toArray()).toEqual(b.weight.toArray());
    const w = a.weight.dataSync();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.2);
    expect(Math.max(...a.bias!.dataSync().map(Math.abs))).toBeLessThanOrEqual(0.25);
  });

  it('names the layer and the expected size on a wrong input', () => {
    expect(() => new Linear(5, 3).forward(tensor([[1, 2, 3]]))).toThrow('Linear: expected input [...,5], got [1,3]');
  });

  it('Identity returns its input', () => {
    const x = tensor([1, 2]);
    expect(new Identity().forward(x)).toBe(x);
  });
});

describe('Embedding', () => {
  it('matches PyTorch, with no gradient into the padding row', () => {
    checkLayerCase('embedding', new Embedding(10, 4, { paddingIdx: 1 }));
  });

  it('starts the padding row at zero and rejects float indices', () => {
    const e = new Embedding(5, 3, { paddingIdx: 2 });
    expect(e.weight.select(0, 2).toArray()).toEqual([0, 0, 0]);
    expect(() => e.forward(tensor([1, 2]))).toThrow(/expected int32 indices/);
    expect(() => e.forward(tensor([7], { dtype: 'int32' }))).toThrow(/^Embedding: indices must be in \[0, 5\) \(indices \[1\], flattened for the lookup\); indexSelect: index 7 at \[0\] of index \[1\] is out of range \[0, 5\)/);
  });
});
