// backward() on a disposed tensor (or with a disposed seed) names backward, not an inner op.
import { DisposedError, ones, tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { backward } from './index.js';
import { Parameter } from './parameter.js';

describe('disposed tensors given to autograd', () => {
  it('backward(loss) and loss.backward() name backward and the argument', () => {
    const w = new Parameter(tensor([1, 2, 3]));
    const loss = w.mul(2).sum();
    loss.dispose();
    expect(() => backward(loss)).toThrow(DisposedError);
    expect(() => backward(loss)).toThrow('backward: loss (shape []) was used after dispose()');
    expect(() => loss.backward()).toThrow(/^backward: tensor \(shape \[\]\) was used after dispose\(\)$/);
    const y = w.mul(2);
    const seed = ones([3]);
    seed.dispose();
    expect(() => backward(y, { grad: seed })).toThrow('backward: grad (shape [3]) was used after dispose()');
  });
});
