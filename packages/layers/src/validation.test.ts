import { DLError, DTypeError, IndexError, ShapeError, ones, randn, tensor, zeros, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { MultiheadAttention } from './attention.js';
import { Conv1d, Conv2d, ConvTranspose2d } from './conv.js';
import { Embedding, Linear } from './linear.js';
import { crossEntropy, nllLoss } from './loss.js';

const int = (v: number[]): Tensor => tensor(new Int32Array(v));

/** The error of class `cls` that `f` throws, checked against `message` (fails when it is another or none). */
function throws<E extends Error>(f: () => unknown, cls: new (...a: never[]) => E, message: RegExp | string): E {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    if (typeof message === 'string') expect((e as Error).message).toBe(message);
    else expect((e as Error).message).toMatch(message);
    return e as E;
  }
  throw new Error(`expected a ${cls.name} matching ${message}, nothing was thrown`);
}

// Layer arguments PyTorch refuses (at construction or at the first forward) must not build a layer
// that silently computes something else: a 0 kernel gave zeros, a negative index read row n-1.
describe('layer constructor arguments', () => {
  it('Conv2d refuses kernel size, stride, padding, dilation, groups and channels out of range, naming the argument', () => {
    throws(() => new Conv2d(1, 8, 0), ShapeError, 'Conv2d: kernelSize must be positive integers, got 0');
    throws(() => new Conv2d(1, 8, [3, 0]), ShapeError, 'Conv2d: kernelSize must be positive integers, got [3,0]');
    throws(() => new Conv2d(1, 8, 3, { stride: 0 }), ShapeError, /^Conv2d: stride must be positive integers, got 0/);
    throws(() => new Conv2d(1, 8, 3, { padding: -1 }), ShapeError, /^Conv2d: padding must be non-negative integers, 'same' or 'valid', got -1/);
    throws(() => new Conv2d(1, 8, 3, { padding: 'full' as 'same' }), ShapeError, /^Conv2d: padding must be .*got "full"/);
    throws(() => new Conv2d(1, 8, 3, { padding: 'same', stride: 2 }), ShapeError, /^Conv2d: padding 'same' needs stride 1, got 2/);
    throws(() => new Conv2d(1, 8, 3, { dilation: 0 }), ShapeError, /^Conv2d: dilation must be positive integers, got 0/);
    throws(() => new Conv2d(2, 8, 3, { groups: 3 }), ShapeError, /divisible by groups \(3\)/);
    throws(() => new Conv2d(-1, 8, 3), ShapeError, /^Conv2d: inChannels must be a positive integer, got -1/);
    throws(() => new Conv2d(1, 2.5, 3), ShapeError, /^Conv2d: outChannels must be a positive integer, got 2.5/);
    throws(() => new Conv2d(1, 8, 1.5), ShapeError, /kernelSize must be positive integers, got 1.5/);
    expect(new Conv2d(1, 8, [3, 1], { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }).weight.shape).toEqual([8, 1, 3, 1]);
  });

  it('Conv1d and ConvTranspose2d check the same, and outputPadding < max(stride, dilation)', () => {
    throws(() => new Conv1d(1, 8, 0), ShapeError, /^Conv1d: kernelSize must be a positive integer, got 0/);
    throws(() => new Conv1d(1, 8, 3, { stride: -1 }), ShapeError, /^Conv1d: stride/);
    throws(() => new Conv1d(1, 8, 3, { padding: 'same', stride: 2 }), ShapeError, /^Conv1d: padding 'same' needs stride 1/);
    throws(() => new ConvTranspose2d(1, 8, 0), ShapeError, /^ConvTranspose2d: kernelSize/);
    throws(() => new ConvTranspose2d(1, 8, 2, { stride: 2, outputPadding: 2 }), ShapeError, /^ConvTranspose2d: outputPadding \[2,2\] must be smaller than stride \[2,2\] or dilation \[1,1\]/);
    throws(() => new ConvTranspose2d(1, 8, 2, { padding: -1 }), ShapeError, /^ConvTranspose2d: padding must be non-negative integers/);
    expect(new ConvTranspose2d(1, 8, 2, { stride: 2, outputPadding: 1 }).forward(zeros([1, 1, 3, 3])).shape).toEqual([1, 8, 7, 7]);
  });

  it('Linear and Embedding sizes, Embedding paddingIdx', () => {
    throws(() => new Linear(0, 4), ShapeError, 'Linear: inFeatures must be a positive integer, got 0');
    throws(() => new Linear(4, -2), ShapeError, 'Linear: outFeatures must be a positive integer, got -2');
    throws(() => new Embedding(0, 4), ShapeError, /^Embedding: numEmbeddings must be a positive integer/);
    throws(() => new Embedding(10, 1.5), ShapeError, /^Embedding: embeddingDim must be a positive integer/);
    throws(() => new Embedding(10, 4, { paddingIdx: 10 }), IndexError, 'Embedding: paddingIdx (10) must be within [-10, 10) (numEmbeddings 10)');
    throws(() => new Embedding(10, 4, { paddingIdx: -11 }), IndexError, /paddingIdx \(-11\) must be within \[-10, 10\)/);
    expect(new Embedding(10, 4, { paddingIdx: -1 }).paddingIdx).toBe(9);
  });

  it('MultiheadAttention: embedDim, numHeads and dropout', () => {
    throws(() => new MultiheadAttention(10, 3), ShapeError, /divisible by numHeads/);
    throws(() => new MultiheadAttention(8, 0), ShapeError, /^MultiheadAttention: numHeads must be a positive integer, got 0/);
    throws(() => new MultiheadAttention(0, 2), ShapeError, /^MultiheadAttention: embedDim must be a positive integer, got 0/);
    throws(() => new MultiheadAttention(8, 2, { dropout: 1.5 }), DLError, 'MultiheadAttention: dropout must be in [0, 1], got 1.5');
    throws(() => new MultiheadAttention(8, 2, { dropout: -0.1 }), DLError, /dropout must be in \[0, 1\]/);
  });
});

describe('indices into layers and losses', () => {
  it('Embedding(10, 4).forward([-1]) and [10] raise an IndexError instead of reading row 9 / nothing', () => {
    const e = new Embedding(10, 4);
    throws(() => e.forward(int([3, -1])), IndexError, /^Embedding: indices must be in \[0, 10\).*index -1 at \[1\]/);
    throws(() => e.forward(int([10])), IndexError, /index 10 /);
    expect(e.forward(int([9])).shape).toEqual([1, 4]);
  });

  it('crossEntropy / nllLoss targets outside [0, C) other than ignoreIndex raise (a -1 target picked the last class)', () => {
    const logits = randn([2, 3]);
    throws(() => crossEntropy(logits, int([0, -1])), IndexError, /^crossEntropy: class targets must be in \[0, 3\) or equal ignoreIndex \(-100\).*index -1/);
    throws(() => nllLoss(logits.logSoftmax(1), int([3, 0])), IndexError, /index 3 /);
    expect(crossEntropy(logits, int([0, -1]), { ignoreIndex: -1 }).shape).toEqual([]);
  });
});

describe('MultiheadAttention names the argument whose shape or dtype is wrong', () => {
  const m = new MultiheadAttention(8, 2);
  const q = zeros([2, 4, 8]);
  const kv = zeros([2, 5, 8]);
  const all = 'query [2,4,8], key [2,5,8], value [2,5,8]';

  it('query, key and value: rank, embedding size, batch and source length', () => {
    throws(() => m.forward(zeros([4, 8]), kv, kv), ShapeError, 'MultiheadAttention: query must be [B, L, 8] (batch first), got [4,8] (query [4,8], key [2,5,8], value [2,5,8])');
    throws(() => m.forward(zeros([2, 4, 6]), kv, kv), ShapeError, /^MultiheadAttention: query must be \[B, L, 8\]/);
    throws(() => m.forward(q, zeros([2, 5, 6]), kv), ShapeError, 'MultiheadAttention: key must be [B, S, 8] (batch first), got [2,5,6] (query [2,4,8], key [2,5,6], value [2,5,8])');
    throws(() => m.forward(q, zeros([3, 5, 8]), zeros([3, 5, 8])), ShapeError, /^MultiheadAttention: key's batch size 3 must equal query's 2/);
    throws(() => m.forward(q, kv, zeros([2, 6, 8])), ShapeError, `MultiheadAttention: value [2,6,8] must have key's batch and length [2,5] (query [2,4,8], key [2,5,8], value [2,6,8])`);
    throws(() => m.forward(q, kv, zeros([2, 5])), ShapeError, /^MultiheadAttention: value must be \[B, S, 8\]/);
  });

  it('dtypes: float inputs of one dtype', () => {
    throws(() => m.forward(q.int(), kv, kv), DTypeError, /^MultiheadAttention: query must be float, got int32/);
    throws(() => m.forward(q, kv.double(), kv), DTypeError, `MultiheadAttention: key (float64) and value (float32) must have query's dtype float32 (${all})`);
  });

  it('attnMask and keyPaddingMask: shape and dtype, named with the shapes they must fit', () => {
    throws(() => m.forward(q, kv, kv, { attnMask: zeros([4, 4]) }), ShapeError, `MultiheadAttention: attnMask must be [4,5] or [4,4,5] ([L,S] or [B*numHeads,L,S]), got [4,4] (${all})`);
    throws(() => m.forward(q, kv, kv, { attnMask: zeros([4, 5], { dtype: 'int32' }) }), DTypeError, /^MultiheadAttention: attnMask must be bool or query's float dtype \(float32\), got int32 \[4,5\]/);
    throws(() => m.forward(q, kv, kv, { keyPaddingMask: zeros([2, 4], { dtype: 'bool' }) }), ShapeError, `MultiheadAttention: keyPaddingMask must be [2,5] ([B,S]), got [2,4] (${all})`);
    throws(() => m.forward(q, kv, kv, { keyPaddingMask: ones([2, 5]) }), DTypeError, /^MultiheadAttention: keyPaddingMask must be bool, got float32 \[2,5\]/);
    // valid masks of both forms still run
    const [y] = m.forward(q, kv, kv, { attnMask: zeros([4, 4, 5], { dtype: 'bool' }), keyPaddingMask: zeros([2, 5], { dtype: 'bool' }) });
    expect(y.shape).toEqual([2, 4, 8]);
  });
});
