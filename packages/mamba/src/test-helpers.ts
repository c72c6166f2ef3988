// Shared by the tests: the committed fixtures made by ../scripts/make_mamba_fixture.py (the
// reference selective scan and a tiny MambaLMHeadModel in plain PyTorch). Not exported from the package.
import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import { expect } from 'vitest';

export const fixturePath = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname;

const files = new Map<string, Record<string, Tensor>>();

/** Tensor `key` of a fixture file; throws when it is missing. */
export function fixture(file: string, key: string): Tensor {
  let f = files.get(file);
  if (!f) files.set(file, (f = parseSafetensors(new Uint8Array(readFileSync(fixturePath(file)))).tensors));
  const t = f[key];
  if (!t) throw new Error(`${file} has no ${key}`);
  return t;
}

/** Same shape, and every value within atol + rtol |expected|. */
export function expectClose(actual: Tensor, expected: Tensor, rtol: number, atol: number, what: string): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  for (let i = 0; i < e.length; i++) {
    if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) expect(a[i], `${what}[${i}] (expected ${e[i]})`).toBe(e[i]);
  }
}
