// Shared by the tests: the committed torchvision fixture (../fixtures/small.safetensors), the
// live torchvision checks through /usr/bin/python3, and a tensor comparison. Not exported.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import { expect } from 'vitest';

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
