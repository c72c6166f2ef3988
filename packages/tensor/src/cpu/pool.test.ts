import { afterEach, describe, expect, it } from 'vitest';
import { randn } from '../index.js';
import { clearArrayPool, pooledBytes, recycle, takeArray } from './pool.js';

describe('cpu array pool', () => {
  afterEach(() => clearArrayPool());

  it('hands a released array out again, zeroed unless the kernel overwrites it all', () => {
    clearArrayPool();
    const a = new Float32Array(8192).fill(3);
    recycle(a);
    expect(pooledBytes()).toBe(a.byteLength);
    const b = takeArray('float32', 8192, false);
    expect(b).toBe(a);
    expect(pooledBytes()).toBe(0);
    recycle(b);
    const c = takeArray('float32', 8192);
    expect(c).toBe(a);
    expect(c.every((v) => v === 0)).toBe(true);
    // another kind or length is a fresh array
    recycle(c);
    expect(takeArray('int32', 8192)).not.toBe(a);
    expect(takeArray('float32', 8193)).not.toBe(a);
  });

  it('keeps only arrays that own their whole ArrayBuffer, and no small ones', () => {
    clearArrayPool();
    const big = new Float32Array(32768);
    recycle(big.subarray(0, 8192)); // a view into other memory
    recycle(new Float32Array(new SharedArrayBuffer(65536)));
    recycle(new Float32Array(16)); // small: allocation is cheap
    expect(pooledBytes()).toBe(0);
  });

  it('disposed tensors feed the pool and results stay correct', () => {
    clearArrayPool();
    const x = randn([64, 64]);
    const y = x.mul(2);
    const want = Array.from(y.dataSync());
    y.dispose();
    expect(pooledBytes()).toBeGreaterThan(0);
    const z = x.mul(2); // reuses y's array
    expect(Array.from(z.dataSync())).toEqual(want);
    expect(pooledBytes()).toBe(0);
  });
});
