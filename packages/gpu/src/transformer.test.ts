// @dl/transformer on WebGPU: the fused attention kernel (WGSL) gives the CPU's values and
// gradients; the committed tiny GPT-2 gives GPT2LMHeadModel's logits and its 20 greedy tokens
// (through the KV cache and without); GPT training gradients and an nn.Transformer forward and
// backward with masks match the CPU.
import { backward } from '@dl/autograd';
import { manualSeed, randint, randn, tensor, type Tensor } from '@dl/tensor';
import { GPT, Transformer, fusedAttention, scaledDotProductAttention } from '@dl/transformer';
import { parseSafetensors } from '@dl/layers';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

const fixtures = fileURLToPath(new URL('../../transformer/fixtures/', import.meta.url));
const io = () => parseSafetensors(new Uint8Array(readFileSync(`${fixtures}gpt2-tiny-io.safetensors`))).tensors;
const rowsOf = (t: Tensor): number[][] => t.toArray() as number[][];

describe.skipIf(!hasWebGPU)('@dl/transformer on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it('the fused attention kernel matches the CPU: plain, causal, a broadcast bool mask, strided views with a causal offset; and its gradients', async () => {
    manualSeed(1);
    const q = randn([2, 3, 5, 8]);
    const k = randn([2, 3, 7, 8]);
    const v = randn([2, 3, 7, 6]);
    const qt = randn([2, 5, 3, 8]); // (B, T, H, hs), as a head split leaves it
    const keep = randn([2, 1, 5, 7]).gt(-0.5);
    keep.select(1, 0).select(1, 2).zero_(); // a query with no key: zeros
    const runs: [string, (d: string) => Tensor][] = [
      ['plain', (d) => scaledDotProductAttention(q.to(d), k.to(d), v.to(d))],
      ['causal', (d) => scaledDotProductAttention(q.to(d), k.to(d), v.to(d), { isCausal: true })],
      ['bool mask', (d) => scaledDotProductAttention(q.to(d), k.to(d), v.to(d), { attnMask: keep.to(d) })],
      ['strided, offset 2', (d) => fusedAttention([qt.to(d).transpose(1, 2).narrow(2, 1, 3), k.to(d).narrow(2, 0, 6), v.to(d).narrow(2, 0, 6)], { scale: 0.4, causal: 2 })],
    ];
    for (const [what, f] of runs) {
      const g = f('webgpu');
      expect(g.device).toBe('webgpu');
      expectClose(await g.data(), await f('cpu').data(), 1e-4, 1e-5, what);
    }
    const grads = async (d: string) => {
      const xs = [q, k, v].map((t) => t.to(d).requiresGrad_());
      const y = scaledDotProductAttention(xs[0], xs[1], xs[2], { attnMask: keep.to(d) });
      backward(y.square().sum());
      return Promise.all(xs.map((x) => x.grad!.data()));
    };
    const [gc, gg] = [await grads('cpu'), await grads('webgpu')];
    ['q', 'k', 'v'].forEach((n, i) => expectClose(gg[i], gc[i], 1e-3, 1e-4, `grad ${n}`));
  });

  it('the tiny GPT-2 gives GPT2LMHeadModel\'s logits and its 20 greedy tokens, with and without the KV cache', async () => {
    const model = await GPT.fromPretrained(`${fixtures}gpt2-tiny`, { device: 'webgpu' });
    const logits = model.forward(io().ids.to('webgpu'));
    expect(logits.device).toBe('webgpu');
    const want = io().logits;
    const got = await logits.data();
    let diff = 0;
    want.dataSync().forEach((x, i) => (diff = Math.max(diff, Math.abs(x - got[i]))));
    console.log(`gpt2-tiny on webgpu: max |logit diff| ${diff.toExponential(2)} against GPT2LMHeadModel`);
    expect(diff).toBeLessThan(1e-3);
    for (const useCache of [true, false]) {
      const out = await model.generate(io().ids, { maxNewTokens: 20, temperature: 0, useCache });
      expect(rowsOf(out), `useCache ${useCache}`).toEqual(rowsOf(io().greedy));
    }
  });

  it('GPT\'s loss and every gradient match the CPU', async () => {
    manualSeed(2);
    const cfg = { vocabSize: 40, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 16 };
    const cpu = new GPT(cfg);
    const gpu = new GPT(cfg);
    gpu.loadStateDict(cpu.stateDict());
    gpu.to('webgpu');
    const idx = randint(0, 40, [2, 10]).int();
    const targets = randint(0, 40, [2, 10]).int();
    const lc = cpu.forward(idx, targets).loss;
    const lg = gpu.forward(idx.to('webgpu'), targets.to('webgpu')).loss;
    backward(lc);
    backward(lg);
    expectClose(await lg.data(), await lc.data(), 1e-4, 1e-5, 'loss');
    const gc = new Map(cpu.namedParameters());
    for (const [name, p] of gpu.namedParameters()) expectClose(await p.grad!.data(), await gc.get(name)!.grad!.data(), 2e-3, 2e-5, `grad of ${name}`);
  });

  it('an nn.Transformer forward and backward with causal, padding and memory masks match the CPU', async () => {
    manualSeed(3);
    const make = () => new Transformer({ dModel: 16, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 24, dropout: 0, batchFirst: true });
    const cpu = make();
    const gpu = make();
    gpu.loadStateDict(cpu.stateDict());
    gpu.to('webgpu');
    const src = randn([2, 6, 16]);
    const tgt = randn([2, 5, 16]);
    const pad = tensor([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1]]).bool();
    const run = (m: Transformer, d: string) => {
      const y = m.forward(src.to(d), tgt.to(d), { tgtIsCausal: true, srcKeyPaddingMask: pad.to(d), memoryKeyPaddingMask: pad.to(d) });
      backward(y.square().sum());
      return y;
    };
    expectClose(await run(gpu, 'webgpu').data(), await run(cpu, 'cpu').data(), 1e-4, 1e-4, 'output');
    const gc = new Map(cpu.namedParameters());
    for (const [name, p] of gpu.namedParameters()) expectClose(await p.grad!.data(), await gc.get(name)!.grad!.data(), 2e-3, 2e-4, `grad of ${name}`);
  });
});
