import { tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { AdaptiveAvgPool2d, AvgPool2d, Flatten, MaxPool2d, Upsample } from './pool.js';
import { checkLayerCase } from './test-helpers.js';

describe('pooling and resizing match PyTorch (output and gradients)', () => {
  it('MaxPool2d', () => {
    checkLayerCase('maxpool', new MaxPool2d(2));
    checkLayerCase('maxpool_pad', new MaxPool2d(3, { stride: 1, padding: 1 }));
  });
  it('AvgPool2d, with and without counting padding', () => {
    checkLayerCase('avgpool', new AvgPool2d(3, { stride: 2, padding: 1 }));
    checkLayerCase('avgpool_nopad', new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }));
  });
  it('AdaptiveAvgPool2d', () => checkLayerCase('adaptive', new AdaptiveAvgPool2d([3, 2])));
  it('Upsample nearest (scale and size)', () => {
    checkLayerCase('up_nearest', new Upsample({ scaleFactor: 2 }));
    checkLayerCase('up_nearest_size', new Upsample({ size: [5, 7] }));
  });
  it('Upsample bilinear (size, scale, alignCorners)', () => {
    checkLayerCase('up_bilinear', new Upsample({ size: [7, 9], mode: 'bilinear' }));
    checkLayerCase('up_bilinear_scale', new Upsample({ scaleFactor: 2, mode: 'bilinear' }));
    checkLayerCase('up_bilinear_ac', new Upsample({ size: [7, 9], mode: 'bilinear', alignCorners: true }));
  });
});

describe('Flatten and Upsample options', () => {
  it('Flatten keeps the batch dim by default', () => {
    expect(new Flatten().forward(tensor([[[1, 2], [3, 4]]])).shape).toEqual([1, 4]);
    expect(new Flatten(0).forward(tensor([[[1, 2], [3, 4]]])).shape).toEqual([4]);
  });
  it('Upsample needs exactly one of size and scaleFactor', () => {
    expect(() => new Upsample({})).toThrow(/exactly one/);
  });
});
