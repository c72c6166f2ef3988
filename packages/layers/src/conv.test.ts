import { ShapeError, zeros } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { Conv1d, Conv2d, ConvTranspose2d } from './conv.js';
import { Sequential } from './container.js';
import { ReLU } from './activation.js';
import { checkLayerCase } from './test-helpers.js';

describe('convolution layers match PyTorch (output and gradients)', () => {
  it('Conv2d with stride and padding', () => checkLayerCase('conv2d', new Conv2d(3, 4, 3, { stride: 2, padding: 1 })));
  it('Conv2d with groups and dilation', () => checkLayerCase('conv2d_groups', new Conv2d(4, 6, 3, { padding: 2, dilation: 2, groups: 2 })));
  it('Conv1d', () => checkLayerCase('conv1d', new Conv1d(3, 5, 3, { padding: 1 })));
  it('ConvTranspose2d with output padding', () => checkLayerCase('convt', new ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 })));
});

describe('Conv2d', () => {
  it('has PyTorch shapes for weight and bias', () => {
    const c = new Conv2d(4, 8, [3, 5], { groups: 2 });
    expect(c.weight.shape).toEqual([8, 2, 3, 5]);
    expect(c.bias!.shape).toEqual([8]);
    expect(new ConvTranspose2d(4, 6, 2, { groups: 2 }).weight.shape).toEqual([4, 3, 2, 2]);
  });

  it('names the layer path in shape errors', () => {
    const features = new Sequential(new Conv2d(3, 16, 3), new ReLU(), new ReLU(), new Conv2d(16, 32, 3));
    const model = new Sequential({ features } as never);
    model.parameters(); // walking the model names every layer
    const err = (() => {
      try {
        features.at(3).forward(zeros([8, 3, 32, 32]));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ShapeError);
    expect(err!.message).toBe('features.3 (Conv2d): expected input [N,16,H,W], got [8,3,32,32]');
  });

  it('rejects channel counts that groups do not divide', () => {
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/divisible by groups/);
  });
});
