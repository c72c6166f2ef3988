// UNet against its PyTorch transcription (fixtures/gen_fixtures.py, same names and math): the
// PyTorch state dict loads strictly, and the outputs, every gradient, batch-norm running
// statistics and eval-mode outputs agree.
import { readFileSync } from 'node:fs';
import { backward } from '@dl/autograd';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import { assertClose } from '@dl/tensor/testing';
import { describe, expect, it } from 'vitest';
import { UNet, type UNetConfig } from './index.js';

const file = parseSafetensors(new Uint8Array(readFileSync(new URL('../fixtures/unet.safetensors', import.meta.url))));

/** The tensors `<prefix>.*` with the prefix removed. */
function under(prefix: string, from: Record<string, Tensor> = file.tensors): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(from)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
  return out;
}

describe.each(['diffusion', 'segmentation'])('UNet matches PyTorch: %s case', (name) => {
  const c = under(name);
  const config = JSON.parse(file.metadata[name]) as UNetConfig;

  it('loads the PyTorch state dict strictly; outputs, gradients, running statistics and eval outputs agree', () => {
    const model = new UNet(config);
    model.loadStateDict(under('param', c)); // strict: every name and shape must match
    const x = c.x.clone().requiresGrad_();
    const out = model.forward(x, c.t, c.y);
    assertClose(out, c.out, `${name}: output`, { atol: 1e-4 });
    backward(out.mul(c.r).sum());
    const grads = under('grad', c);
    assertClose(x.grad!, grads.x, `${name}: grad of x`, { atol: 1e-4 });
    const params = [...model.namedParameters()];
    expect(params.map(([k]) => k).sort()).toEqual(Object.keys(grads).filter((k) => k !== 'x').sort());
    for (const [k, p] of params) assertClose(p.grad!, grads[k], `${name}: grad of ${k}`, { rtol: 1e-3, atol: 1e-4 });
    const buffers = under('buffer', c);
    for (const [k, b] of model.namedBuffers()) assertClose(b.float(), buffers[k].float(), `${name}: buffer ${k}`, { atol: 1e-4 });
    model.eval();
    assertClose(model.forward(c.x, c.t, c.y), c.eval_out, `${name}: eval output`, { atol: 1e-4 });
  });
});
