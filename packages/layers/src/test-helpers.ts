// Shared by the tests: loading the PyTorch fixtures (../fixtures, made by gen_fixtures.py) and
// comparing a layer with them (assertClose is @dl/tensor/testing's). Not exported from the package.
import { readFileSync } from 'node:fs';
import { backward } from '@dl/autograd';
import { type Tensor } from '@dl/tensor';
import { assertClose } from '@dl/tensor/testing';
import { expect } from 'vitest';
import type { Module } from './module.js';
import { parseSafetensors } from './safetensors.js';

export { assertClose };

const cache = new Map<string, Record<string, Tensor>>();

/** Tensors of a fixture file by name (`layers`, `losses`, ...). */
export function fixture(file: string): Record<string, Tensor> {
  let t = cache.get(file);
  if (!t) {
    t = parseSafetensors(new Uint8Array(readFileSync(new URL(`../fixtures/${file}.safetensors`, import.meta.url)))).tensors;
    cache.set(file, t);
  }
  return t;
}

/** The tensors `<prefix>.*` with the prefix removed. */
export function under(fx: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(fx)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
  return out;
}

/**
 * Runs a layer case of layers.safetensors: loads PyTorch's state dict into `m` (strictly, so the
 * parameter names must match), runs forward on the inputs, backward of sum(y * r), and compares
 * y, the input gradients and every parameter gradient.
 */
export function checkLayerCase(name: string, m: Module, forward: (...xs: Tensor[]) => Tensor = (x) => (m as unknown as { forward(x: Tensor): Tensor }).forward(x), tol = {}): void {
  const c = under(fixture('layers'), name);
  m.loadStateDict(under(c, 'param'));
  const keys = ['x', 'x1', 'x2'].filter((k) => c[k]);
  const xs = keys.map((k) => (c[k].dtype === 'float32' ? c[k].clone().requiresGrad_() : c[k]));
  const y = forward(...xs);
  assertClose(y, c.y, `${name}: output`, tol);
  backward(y.mul(c.r).sum());
  keys.forEach((k, i) => {
    if (c[`g${k}`]) assertClose(xs[i].grad!, c[`g${k}`], `${name}: grad of ${k}`, tol);
  });
  for (const [pname, g] of Object.entries(under(c, 'grad'))) {
    const p = m.stateDict()[pname];
    expect(p, `${name}: parameter ${pname}`).toBeDefined();
    assertClose(p.grad!, g, `${name}: grad of ${pname}`, tol);
  }
}
