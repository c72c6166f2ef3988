// Shared by the tests: the committed PyTorch fixtures (../fixtures/*, made by
// ../fixtures/gen_fixtures.py), the live checks through /usr/bin/python3, and tensor comparisons.
// Not exported from the package.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSafetensors, type ParsedSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
export { assertClose, maxAbs, maxAbsDiff } from '@dl/tensor/testing';

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
