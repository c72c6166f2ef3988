import { describe, expect, it } from 'vitest';
import type { TensorInfo } from '../backend.js';
import { contiguousData, offsetsOf } from './strided.js';

/** A view of `data`: shape, strides, offset (float32). */
const view = (data: Float32Array, shape: number[], strides: number[], offset: number): TensorInfo => ({ data, shape, strides, offset, dtype: 'float32' });

describe('contiguousData', () => {
  it('copies strided views (slices, permutes, broadcasts, flips, long and short rows) in row-major order', () => {
    const data = Float32Array.from({ length: 20000 }, (_, i) => i * 0.5 - 7);
    const views: TensorInfo[] = [
      view(data, [2, 3, 70], [600, 70, 1], 5), // contiguous: the storage itself
      view(data, [4, 16, 100], [4800, 100, 1], 30), // a channel slice: whole planes
      view(data, [5, 7, 3], [1, 5, 35], 0), // a permute: stride-1 dim first
      view(data, [3, 4, 90], [0, 90, 1], 11), // broadcast outer dim
      view(data, [6, 65], [65, 0], 2), // broadcast inner dim
      view(data, [3, 80], [80, -1], 400), // flipped rows
      view(data, [1, 1, 1], [7, 7, 7], 9), // one element
      view(data, [2, 1, 3, 1, 66], [400, 9, 100, 3, 1], 1), // size-1 dims between strided ones
      view(data, [0, 5], [5, 1], 0), // empty
    ];
    for (const v of views) {
      const got = Array.from(contiguousData<Float32Array>(v));
      const offs = offsetsOf(v.shape, v.strides, v.offset);
      const want = offs ? Array.from(offs, (o) => data[o]) : Array.from(data.subarray(v.offset, v.offset + got.length));
      expect(got, `shape ${v.shape} strides ${v.strides}`).toEqual(want);
    }
  });
});
