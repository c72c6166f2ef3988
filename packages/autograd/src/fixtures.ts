import { readFileSync } from 'node:fs';
import { tensor, type DType, type Tensor } from '@dl/tensor';
import { expect } from 'vitest';

/** A tensor as the PyTorch fixture scripts write it. */
export interface Encoded {
  shape: number[];
  data: number[];
}

/** Reads a JSON fixture from packages/autograd/fixtures. */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

export function decode(e: Encoded, dtype: DType = 'float32'): Tensor {
  const data = dtype === 'int32' ? Int32Array.from(e.data) : dtype === 'bool' ? Uint8Array.from(e.data) : Float32Array.from(e.data);
  return tensor(data, { shape: e.shape, dtype });
}

/** Elementwise |actual - expected| <= atol + rtol |expected|, naming the worst element on failure. */
export function expectClose(actual: Tensor, expected: Encoded, what: string, atol = 1e-5, rtol = 1e-4): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  const a = actual.dataSync();
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < a.length; i++) {
    const ratio = Math.abs(a[i] - expected.data[i]) / (atol + rtol * Math.abs(expected.data[i]));
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      worst = i;
    }
  }
  expect(worstRatio, `${what}: element ${worst} is ${a[worst]}, PyTorch ${expected.data[worst]}`).toBeLessThanOrEqual(1);
}
