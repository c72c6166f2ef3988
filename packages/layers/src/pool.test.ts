import { grad, gradcheck } from '@dl/autograd';
import { arange, randn, tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { AdaptiveAvgPool2d, AvgPool2d, Flatten, MaxPool2d, Unflatten, Upsample } from './pool.js';
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
  it("Upsample nearest with fractional scales, downsampling and odd sizes (PyTorch's float32 source indices)", () => {
    checkLayerCase('up_nearest_frac', new Upsample({ scaleFactor: [1.5, 2.5] }));
    checkLayerCase('up_nearest_down', new Upsample({ size: [3, 4] }));
    checkLayerCase('up_nearest_odd', new Upsample({ size: [13, 11] }));
  });
  it('Upsample bilinear with fractional scales, downsampling, alignCorners with a scale and with one output row', () => {
    checkLayerCase('up_bilinear_frac', new Upsample({ scaleFactor: [1.5, 2.5], mode: 'bilinear' }));
    checkLayerCase('up_bilinear_down', new Upsample({ size: [3, 4], mode: 'bilinear' }));
    checkLayerCase('up_bilinear_ac_scale', new Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: true }));
    checkLayerCase('up_bilinear_ac_one', new Upsample({ size: [1, 4], mode: 'bilinear', alignCorners: true }));
  });
  it('Upsample bilinear passes gradcheck, first and second order (its gradient is differentiable)', () => {
    const x = randn([1, 2, 3, 4], { dtype: 'float64' });
    for (const opts of [{ size: [5, 7] as [number, number] }, { scaleFactor: 2, alignCorners: true }]) {
      const up = new Upsample({ ...opts, mode: 'bilinear' });
      const r = randn(up.forward(x).shape as number[], { dtype: 'float64' });
      const first = gradcheck((t) => up.forward(t).mul(r), [x]);
      expect(first.ok, first.message).toBe(true);
      const second = gradcheck((t) => grad((u: Tensor) => up.forward(u).square().mul(r).sum(), { createGraph: true })(t), [x]);
      expect(second.ok, second.message).toBe(true);
    }
  });
  it('Upsample works per axis: a 100000-wide row (dense [oW, W] matrices would need 2e10 floats)', () => {
    const W = 100_000;
    const x = arange(0, 2 * W, 1, { dtype: 'float32' }).reshape([1, 1, 2, W]);
    const near = new Upsample({ scaleFactor: 2 }).forward(x); // [1, 1, 4, 2W]
    expect(near.shape).toEqual([1, 1, 4, 2 * W]);
    expect(near.slice(3, 2 * W - 4).toArray()).toEqual([[[[W - 2, W - 2, W - 1, W - 1], [W - 2, W - 2, W - 1, W - 1], [2 * W - 2, 2 * W - 2, 2 * W - 1, 2 * W - 1], [2 * W - 2, 2 * W - 2, 2 * W - 1, 2 * W - 1]]]]);
    const lin = new Upsample({ size: [3, 2 * W - 1], mode: 'bilinear', alignCorners: true }).forward(x); // midpoints between neighbours
    expect(lin.shape).toEqual([1, 1, 3, 2 * W - 1]);
    expect(lin.slice(3, 0, 3).toArray()).toEqual([[[[0, 0.5, 1], [W / 2, W / 2 + 0.5, W / 2 + 1], [W, W + 0.5, W + 1]]]]);
  });
});

describe('Flatten and Upsample options', () => {
  it('Flatten keeps the batch dim by default', () => {
    expect(new Flatten().forward(tensor([[[1, 2], [3, 4]]])).shape).toEqual([1, 4]);
    expect(new Flatten(0).forward(tensor([[[1, 2], [3, 4]]])).shape).toEqual([4]);
  });
  it('Unflatten splits one dim (negative dims count from the end) and undoes Flatten', () => {
    const x = tensor([[1, 2, 3, 4, 5, 6]]);
    expect(new Unflatten(1, [2, 3]).forward(x).toArray()).toEqual([[[1, 2, 3], [4, 5, 6]]]);
    expect(new Unflatten(-1, [3, 1, 2]).forward(x).shape).toEqual([1, 3, 1, 2]);
    const y = tensor([[[[1, 2], [3, 4]]], [[[5, 6], [7, 8]]]]); // (2, 1, 2, 2)
    expect(new Unflatten(1, [1, 2, 2]).forward(new Flatten().forward(y)).toArray()).toEqual(y.toArray());
  });
  it('Unflatten names the sizes and the input it cannot split', () => {
    expect(() => new Unflatten(1, [64, 7, 7]).forward(tensor([[1, 2, 3]]))).toThrow('Unflatten: expected dim 1 of the input to have 3136 elements ([64,7,7]), got [1,3]');
    expect(() => new Unflatten(2, [1]).forward(tensor([[1, 2, 3]]))).toThrow('Unflatten: expected dim 2 of the input to have 1 elements ([1]), got [1,3]');
    expect(() => new Unflatten(1, [])).toThrow('Unflatten: sizes must be a non-empty list of positive integers, got []');
    expect(() => new Unflatten(1, [2, 0])).toThrow('Unflatten: sizes must be a non-empty list of positive integers, got [2,0]');
  });
  it('Upsample needs exactly one of size and scaleFactor, and a float input for bilinear', () => {
    expect(() => new Upsample({})).toThrow(/exactly one/);
    const ints = tensor([[[[1, 2], [3, 4]]]], { dtype: 'int32' });
    expect(() => new Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(ints)).toThrow('Upsample: bilinear interpolation needs a float input, got int32 [1,1,2,2]');
    expect(new Upsample({ scaleFactor: 2 }).forward(ints).toArray()).toEqual([[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]);
  });
});
