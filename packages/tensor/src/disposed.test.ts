// Every use of a disposed tensor names what touched it: the op (and which input), or the method.
import { describe, expect, it } from 'vitest';
import { DisposedError, adamStep_, cat, conv2d, gather, geluGrad, matmul, oneHot, ones, softmax, tensor, where, zeros, type Tensor } from './index.js';

/** The DisposedError fn throws (a test failure when it throws nothing or something else). */
function disposedError(fn: () => unknown): DisposedError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DisposedError);
    return e as DisposedError;
  }
  throw new Error('expected a DisposedError');
}

/** A tensor of `shape` that was disposed. */
function dead(shape: number[]): Tensor {
  const t = ones(shape);
  t.dispose();
  return t;
}

describe('DisposedError names the op and the argument', () => {
  it('ops name the primitive and the input index with its shape', () => {
    const e = disposedError(() => matmul(ones([4, 2]), dead([2, 3])));
    expect(e.message).toBe('matmul: input 1 (shape [2,3]) was used after dispose()');
    expect(e.op).toBe('matmul');
    expect(disposedError(() => dead([2, 5]).add(1)).message).toBe('binaryScalar: input 0 (shape [2,5]) was used after dispose()');
    expect(disposedError(() => ones([3]).mul(dead([3]))).message).toMatch(/^mul: input 1 \(shape \[3\]\)/);
    expect(disposedError(() => dead([3]).relu()).message).toMatch(/^relu: input 0 \(shape \[3\]\)/);
    expect(disposedError(() => softmax(dead([2, 4]), -1)).message).toMatch(/\(shape \[2,4\]\) was used after dispose\(\)$/);
    expect(disposedError(() => dead([2, 2]).sum()).message).toMatch(/^sum: input 0 \(shape \[2,2\]\)/);
    expect(disposedError(() => cat([ones([1, 2]), dead([1, 2])], 0)).message).toMatch(/input 1 \(shape \[1,2\]\)/);
    expect(disposedError(() => conv2d(ones([1, 1, 4, 4]), dead([2, 1, 3, 3]))).message).toMatch(/^conv2d: input 1 \(shape \[2,1,3,3\]\)/);
    expect(disposedError(() => where(dead([3]).gt(0), ones([3]), 0)).message).toMatch(/^binaryScalar: input 0/);
    expect(disposedError(() => where(tensor([true, false]), ones([2]), dead([2]))).message).toMatch(/^where: input 2 \(shape \[2\]\)/);
  });

  it('views name the view primitive', () => {
    // transpose is the permute primitive: the error names the primitive that read the tensor
    expect(disposedError(() => dead([2, 3]).transpose(0, 1)).message).toBe('permute: input 0 (shape [2,3]) was used after dispose()');
    expect(disposedError(() => dead([2, 3]).reshape(6)).message).toMatch(/^\w+: input 0 \(shape \[2,3\]\) was used after dispose\(\)$/);
    expect(disposedError(() => dead([1, 3]).expand(4, 3)).message).toMatch(/^expand: input 0 \(shape \[1,3\]\)/);
    expect(disposedError(() => dead([4]).slice(0, 1, 3)).message).toMatch(/^slice: input 0 \(shape \[4\]\)/);
    expect(disposedError(() => dead([4]).detach()).message).toBe('detach: tensor (shape [4]) was used after dispose()');
  });

  it('reading back, moving and the other methods name the method', async () => {
    expect(disposedError(() => dead([2, 5]).dataSync()).message).toBe('dataSync: tensor (shape [2,5]) was used after dispose()');
    expect(disposedError(() => dead([1]).item()).message).toBe('item: tensor (shape [1]) was used after dispose()');
    expect(disposedError(() => dead([2]).toArray()).message).toMatch(/^toArray: tensor/);
    expect(disposedError(() => dead([2]).to('cpu')).message).toMatch(/^to: tensor/); // even to its own device
    expect(disposedError(() => dead([2]).version).message).toMatch(/^version: tensor/);
    expect(disposedError(() => dead([2]).backward()).message).toMatch(/^backward: tensor \(shape \[2\]\)/);
    await expect(dead([2, 2]).data()).rejects.toThrow(/^data: tensor \(shape \[2,2\]\) was used after dispose\(\)$/);
    await expect(dead([2, 2]).array()).rejects.toThrow(/^array: tensor/);
    await expect(dead([2, 2]).toAsync('cpu')).rejects.toThrow(/^toAsync: tensor/);
    expect(dead([2]).toString()).toBe('Tensor(disposed, shape=[2], dtype=float32, device=cpu)');
  });

  it('in-place ops name the method and which side was disposed', () => {
    expect(disposedError(() => dead([3]).add_(1)).message).toBe('add_: tensor (shape [3]) was used after dispose()');
    expect(disposedError(() => ones([3]).add_(dead([3]))).message).toBe('add_: other (shape [3]) was used after dispose()');
    expect(disposedError(() => dead([3]).mul_(2)).message).toMatch(/^mul_: tensor/);
    expect(disposedError(() => dead([3]).zero_()).message).toMatch(/^zero_: tensor/);
    expect(disposedError(() => dead([3]).fill_(1)).message).toMatch(/^fill_: tensor/);
    expect(disposedError(() => ones([3]).copy_(dead([3]))).message).toBe('copy_: src (shape [3]) was used after dispose()');
    expect(disposedError(() => dead([3]).copy_(ones([3]))).message).toBe('copy_: tensor (shape [3]) was used after dispose()');
    expect(disposedError(() => adamStep_(ones([2]), dead([2]), zeros([2]), zeros([2]), { beta1: 0.9, beta2: 0.999, stepSize: 1, sqrtBc2: 1, eps: 1e-8, decay: 1 })).message)
      .toBe('adamStep_: grad (shape [2]) was used after dispose()');
  });
});

describe('DisposedError from index ops and custom ops', () => {
  it('an index read for its range check names the op and the index', () => {
    const i = tensor([[0], [1]], { dtype: 'int32' });
    i.dispose();
    expect(disposedError(() => gather(ones([2, 2]), 0, i)).message).toBe('gather: index (shape [2,1]) was used after dispose()');
    expect(disposedError(() => oneHot(i, 3)).message).toMatch(/^oneHot: index \(shape \[2,1\]\)/);
  });

  it('a custom op (defineOp) names itself and the input', () => {
    expect(disposedError(() => geluGrad([ones([2]), dead([2])], { approximate: 'none' })).message).toBe('geluGrad: input 1 (shape [2]) was used after dispose()');
  });
});
