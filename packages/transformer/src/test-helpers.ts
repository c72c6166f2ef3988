// Shared by the tests: the committed PyTorch fixtures (../fixtures/*, made by
// ../fixtures/gen_fixtures.py), the live checks through /usr/bin/python3, and tensor comparisons.
// Not exported from the package.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSafetensors, type ParsedSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import { expect } from 'vitest';

export const fixturePath = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname;

const files = new Map<string, ParsedSafetensors>();

/** A committed safetensors fixture, parsed once. */
export function fixture(name: string): ParsedSafetensors {
  let f = files.get(name);
  if (!f) files.set(name, (f = parseSafetensors(new Uint8Array(readFileSync(fixturePath(name))))));
  return f;
}

/** small.safetensors' tensor `<prefix>.<key>`; throws when it is missing. */
export function small(key: string): Tensor {
  const t = fixture('small.safetensors').tensors[key];
  if (!t) throw new Error(`fixture small.safetensors has no ${key}`);
  return t;
}

/** small.safetensors' tensors `<prefix>.*`, keyed without the prefix. */
export function smallGroup(prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(fixture('small.safetensors').tensors)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
  return out;
}

/** The settings gen_fixtures.py stored for a case. */
export function smallMeta<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(fixture('small.safetensors').metadata[name]) as T;
}

/** Largest |a - b| over all elements (shapes must agree). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** Largest |a|. */
export function maxAbs(a: Tensor): number {
  let m = 0;
  for (const v of a.dataSync()) m = Math.max(m, Math.abs(v));
  return m;
}

/** Elementwise |a - b| <= atol + rtol * |b|, naming the worst element. */
export function expectClose(actual: Tensor, expected: Tensor, what: string, { rtol = 1e-4, atol = 1e-5 } = {}): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  const a = actual.dataSync();
  const b = expected.dataSync();
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(d <= excess)) {
      excess = Number.isNaN(d) ? Infinity : d;
      worst = i;
    }
  }
  if (worst >= 0) expect.fail(`${what}: element ${worst} is ${a[worst]}, expected ${b[worst]} (shape [${actual.shape.join(',')}])`);
}

export const python = '/usr/bin/python3';
export const fixtureScript = fixturePath('gen_fixtures.py');

/** '' when /usr/bin/python3 imports torch, else why not. */
export const torchMissing: string = (() => {
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    return '';
  } catch {
    return `${python} cannot import torch`;
  }
})();

/** Skip the live PyTorch checks where torch is missing, unless DL_REQUIRE_TORCH=1 (CI): then they fail. */
export const skipTorch = torchMissing !== '' && process.env.DL_REQUIRE_TORCH !== '1';

/** Runs gen_fixtures.py with `args`; returns its stdout. */
export function runFixtureScript(...args: string[]): string {
  if (torchMissing) throw new Error(`${torchMissing} and DL_REQUIRE_TORCH=1: install python3-torch (scripts/install-torch.sh)`);
  return execFileSync(python, [fixtureScript, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
}
