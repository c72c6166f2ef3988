import { arange, manualSeed, ones, tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { compose, normalize, randomCrop, randomHorizontalFlip } from './transforms.js';

describe('transforms', () => {
  it('normalize subtracts the mean and divides by the std per channel', () => {
    const x = ones([1, 2, 1, 2]);
    expect(normalize([0.5, 1], [0.5, 2])(x).toArray()).toEqual([[[[1, 1]], [[0, 0]]]]);
    expect(() => normalize([0], [1])(x)).toThrow(/need 2 values/);
  });

  it('randomHorizontalFlip mirrors whole images, p=1 always and p=0 never', () => {
    const x = arange(6).reshape([1, 1, 2, 3]).float();
    expect(randomHorizontalFlip(1)(x).toArray()).toEqual([[[[2, 1, 0], [5, 4, 3]]]]);
    expect(randomHorizontalFlip(0)(x).toArray()).toEqual(x.toArray());
  });

  it('randomCrop with padding keeps the size and shifts content by at most the padding', () => {
    manualSeed(3);
    const x = arange(16).reshape([1, 4, 4]).float().add(1);
    const crops = Array.from({ length: 20 }, () => randomCrop(4, { padding: 1 })(x));
    expect(crops.every((c) => c.shape.join() === '1,4,4')).toBe(true);
    const sums = new Set(crops.map((c) => c.sum().item()));
    expect(sums.size).toBeGreaterThan(1); // different windows were drawn
    expect(() => randomCrop(7)(x)).toThrow(/larger than the padded image/);
  });

  it('compose applies left to right', () => {
    const t = compose(normalize([1], [1]), (y) => y.mul(10));
    expect(t(tensor([[[[3]]]])).item()).toBe(20);
  });
});
