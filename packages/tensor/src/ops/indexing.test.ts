import { describe, expect, it } from 'vitest';
import { IndexError, arange, gather, indexSelect, oneHot, scatterAdd, tensor, zeros, type Tensor } from '../index.js';

const int = (v: number[], shape = [v.length]): Tensor => tensor(new Int32Array(v), { shape });

/** The IndexError `f` throws (fails the test when it throws something else or nothing). */
function indexError(f: () => unknown): IndexError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IndexError);
    return e as IndexError;
  }
  throw new Error('expected an IndexError, nothing was thrown');
}

// PyTorch raises on a negative index in gather / index_select / scatter_add / one_hot; wrapping
// it (index -1 = the last entry) silently reads or writes the wrong element.
describe('index ops reject negative and out-of-range indices on the CPU', () => {
  const x = arange(0, 6).float().reshape([2, 3]);

  it('gather: -1 and n raise an IndexError naming the value, its position, the range and the shapes', () => {
    const e = indexError(() => gather(x, 1, int([0, 2, -1, 1], [2, 2])));
    expect(e.op).toBe('gather');
    expect(e.message).toBe('gather: index -1 at [1,0] of index [2,2] is out of range [0, 3) for dim 1 of x [2,3]');
    expect(indexError(() => gather(x, 1, int([0, 3, 1, 1], [2, 2]))).message).toMatch(/index 3 at \[0,1\] of index \[2,2\] is out of range \[0, 3\)/);
    // every layout the kernel has a path for: contiguous rows, an index constant along later dims, strided
    indexError(() => gather(x, 0, int([0, 1, -1, 1, 0, 0], [2, 3])));
    indexError(() => gather(x, 0, int([-1, 1]).reshape([2, 1]).expand([2, 3])));
    indexError(() => gather(x.transpose(0, 1), 1, int([0, 1, 0, -2, 1, 0], [3, 2])));
    expect(Array.from(gather(x, 1, int([2, 0, 1, 1], [2, 2])).dataSync())).toEqual([2, 0, 4, 4]);
  });

  it('indexSelect: a negative or too large entry raises naming indexSelect and its position', () => {
    const e = indexError(() => indexSelect(x, 1, int([0, -1])));
    expect(e.op).toBe('indexSelect');
    expect(e.message).toBe('indexSelect: index -1 at [1] of index [2] is out of range [0, 3) for dim 1 of x [2,3]');
    indexError(() => indexSelect(x, 0, int([2])));
    expect(Array.from(indexSelect(x, 1, int([2, 0])).dataSync())).toEqual([2, 0, 5, 3]);
  });

  it('scatterAdd: -1 raises instead of adding into the last row', () => {
    const e = indexError(() => scatterAdd(zeros([3]), 0, int([0, -1]), tensor([1, 1])));
    expect(e.op).toBe('scatterAdd');
    expect(e.message).toMatch(/index -1 at \[1\] of index \[2\] is out of range \[0, 3\) for dim 0 of x \[3\]/);
    indexError(() => scatterAdd(zeros([2, 3]), 1, int([0, 1, 3, 0], [2, 2]), zeros([2, 2])));
    expect(Array.from(scatterAdd(zeros([3]), 0, int([0, 2, 2]), tensor([1, 2, 3])).dataSync())).toEqual([1, 0, 5]);
  });

  it('oneHot: a class >= numClasses or < 0 raises instead of giving an all-zero row', () => {
    const e = indexError(() => oneHot(int([0, 3]), 3));
    expect(e.op).toBe('oneHot');
    expect(e.message).toBe('oneHot: class 3 at [1] of index [2] is out of range [0, 3) (numClasses 3)');
    indexError(() => oneHot(int([-1, 0]), 3));
    expect(Array.from(oneHot(int([2, 0]), 3).dataSync())).toEqual([0, 0, 1, 1, 0, 0]);
    expect(oneHot(int([2, 0]), 3).dtype).toBe('int32');
  });
});
