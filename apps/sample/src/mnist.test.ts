import { describe, expect, it } from 'vitest';
import { loadMnist } from './mnist.js';
import { MnistCnn } from './model.js';

describe('MNIST data and model', () => {
  it('splits the 10,000 package digits per class into 7,996 train and 2,004 test', () => {
    const { train, test } = loadMnist();
    expect(train.length).toBe(7996);
    expect(test.length).toBe(2004);
    const perClass = (labels: Int32Array) => Array.from({ length: 10 }, (_, d) => labels.filter((l) => l === d).length);
    expect(perClass(train.labels)).toEqual([800, 901, 792, 825, 784, 690, 811, 856, 755, 782]);
    expect(perClass(test.labels)).toEqual([201, 226, 199, 207, 196, 173, 203, 214, 189, 196]);
    expect(Math.max(...train.images.subarray(0, 784))).toBeLessThanOrEqual(1);
  });

  it('has the PyTorch parameter names of features/classifier Sequentials', () => {
    const names = Object.keys(new MnistCnn().stateDict());
    expect(names).toEqual([
      'features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias',
      'classifier.1.weight', 'classifier.1.bias', 'classifier.3.weight', 'classifier.3.bias',
    ]);
    expect(new MnistCnn().numParameters()).toBe(206922);
  });
});
