// Shared by the tests: the committed torchvision fixture (../fixtures/small.safetensors), the
// live torchvision checks through /usr/bin/python3, and a tensor comparison. Not exported.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
export { assertClose, maxAbs, maxAbsDiff } from '@dl/tensor/testing';

let small: Record<string, Tensor> | null = null;

/** The tensors `<case>.<prefix>.*` (or `<case>.<prefix>`) of small.safetensors, keyed without the prefix. */
export function smallCase(name: string, prefix: string): Record<string, Tensor> {
  small ??= parseSafetensors(new Uint8Array(readFileSync(new URL('../fixtures/small.safetensors', import.meta.url)))).tensors;
  const out: Record<string, Tensor> = {};
  const pre = `${name}.${prefix}.`;
  for (const [k, v] of Object.entries(small)) {
    if (k.startsWith(pre)) out[k.slice(pre.length)] = v;
    else if (k === `${name}.${prefix}`) out[''] = v;
  }
  return out;
}

export const python = '/usr/bin/python3';
export const fixtureScript = new URL('../fixtures/gen_fixtures.py', import.meta.url).pathname;

/** '' when /usr/bin/python3 imports torch and torchvision, else why not. */
export const torchMissing: string = (() => {
  try {
    execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
    return '';
  } catch {
    return `${python} cannot import torch and torchvision`;
  }
})();

/** Skip the live torchvision checks where torch is missing, unless DL_REQUIRE_TORCH=1 (CI): then they fail. */
export const skipTorch = torchMissing !== '' && process.env.DL_REQUIRE_TORCH !== '1';

/** Runs gen_fixtures.py with `args`; returns its stdout. */
export function runFixtureScript(...args: string[]): string {
  if (torchMissing) throw new Error(`${torchMissing} and DL_REQUIRE_TORCH=1: install python3-torch and python3-torchvision (scripts/install-torch.sh)`);
  return execFileSync(python, [fixtureScript, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
}
