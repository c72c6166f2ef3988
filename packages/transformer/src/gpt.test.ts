// GPT against the GPT2LMHeadModel transcription (fixtures/gpt2_torch.py, committed folder
// fixtures/gpt2-tiny): logits, greedy continuation, loss and gradients; the KV cache against full
// forwards; sampling options; saving a GPT-2 folder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backward } from '@dl/autograd';
import { readSafetensorsHeader, saveSafetensors, parseSafetensors } from '@dl/layers';
import { Generator, addDispatchListener, manualSeed, randint, tensor, type Tensor } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedAttention } from './fused-attention.js';
import { GPT } from './gpt.js';
import { assertClose, fixture, fixturePath, maxAbs, maxAbsDiff } from './test-helpers.js';

const io = () => fixture('gpt2-tiny-io.safetensors').tensors;
const tiny = () => GPT.fromPretrained(fixturePath('gpt2-tiny'));
const rowsOf = (t: Tensor): number[][] => t.toArray() as number[][];

describe('GPT and the GPT2LMHeadModel transcription (committed tiny GPT-2)', () => {
  // made when a test of the block runs (a filtered or skipped block leaves nothing in the temp dir)
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dl-gpt-'));
  });
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('fromPretrained gives its logits within float32 rounding', async () => {
    const model = await tiny();
    expect(model.training).toBe(false);
    expect(model.config).toMatchObject({ vocabSize: 256, blockSize: 48, nEmbd: 32, nLayer: 2, nHead: 4, activation: 'geluTanh' });
    const logits = model.forward(io().ids); // (2, 8, 256)
    const diff = maxAbsDiff(logits, io().logits);
    console.log(`gpt2-tiny GPT2LMHeadModel -> GPT: max |logit diff| ${diff.toExponential(2)} (max |logit| ${maxAbs(io().logits).toFixed(2)})`);
    expect(diff).toBeLessThan(1e-4 * Math.max(1, maxAbs(io().logits)));
  });

  it('greedy generation (temperature 0) gives its 20 tokens, with and without the KV cache', async () => {
    const model = await tiny();
    for (const useCache of [true, false]) {
      const out = await model.generate(io().ids, { maxNewTokens: 20, temperature: 0, useCache });
      expect(rowsOf(out), `useCache ${useCache}`).toEqual(rowsOf(io().greedy));
    }
  });

  it('the loss with targets (-1 ignored) and every gradient match, the tied head included', async () => {
    const model = await tiny();
    model.train();
    const { logits, loss } = model.forward(io().ids, io().targets);
    expect(logits.shape).toEqual([2, 8, 256]);
    expect(loss.item()).toBeCloseTo(io().loss.item(), 5);
    backward(loss);
    const grads = Object.entries(io()).filter(([k]) => k.startsWith('grad.'));
    const ours = new Map(model.namedParameters());
    expect(grads.length).toBe(ours.size); // lm_head.weight is transformer.wte.weight on both sides
    for (const [k, g] of grads) assertClose(ours.get(k.slice(5))!.grad!, g, k, { rtol: 1e-3, atol: 1e-6 });
  });

  it('savePretrained writes HF\'s layout (prefixed names, no tied head, format pt) that loads back to the same logits', async () => {
    const model = await tiny();
    await model.savePretrained(join(dir, 'saved'));
    const bytes = new Uint8Array(readFileSync(join(dir, 'saved', 'model.safetensors')));
    const header = readSafetensorsHeader(bytes);
    expect(header.metadata).toEqual({ format: 'pt' });
    const names = [...header.entries.keys()];
    expect(names).toContain('transformer.h.1.attn.c_attn.weight');
    expect(names).not.toContain('lm_head.weight');
    expect(header.entries.get('transformer.h.0.mlp.c_fc.weight')!.shape).toEqual([32, 128]); // Conv1D [in, out]
    const config = JSON.parse(readFileSync(join(dir, 'saved', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, n_positions: 48, vocab_size: 256, activation_function: 'gelu_new' });
    const again = await GPT.fromPretrained(join(dir, 'saved'));
    expect(maxAbsDiff(again.forward(io().ids), model.forward(io().ids))).toBe(0);
  });

  it('reads the hub\'s layout too: names without "transformer.", the attn.bias / attn.masked_bias mask buffers, an explicit lm_head.weight', async () => {
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(fixturePath('gpt2-tiny/model.safetensors'))));
    const hub: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(tensors)) hub[k.replace(/^transformer\./, '')] = v;
    for (const i of [0, 1]) {
      hub[`h.${i}.attn.bias`] = tensor(new Float32Array(48 * 48).fill(1), { shape: [1, 1, 48, 48] });
      hub[`h.${i}.attn.masked_bias`] = tensor([-1e4]);
    }
    hub['lm_head.weight'] = tensors['transformer.wte.weight'];
    mkdirSync(join(dir, 'hub'));
    writeFileSync(join(dir, 'hub', 'config.json'), readFileSync(fixturePath('gpt2-tiny/config.json')));
    await saveSafetensors(join(dir, 'hub', 'model.safetensors'), hub, { format: 'pt' });
    const model = await GPT.fromPretrained(join(dir, 'hub'));
    expect(maxAbsDiff(model.forward(io().ids), io().logits)).toBeLessThan(1e-4);
  });
});

describe('GPT generation', () => {
  const small = () => {
    manualSeed(0);
    return new GPT({ vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 });
  };

  it('forwardCached gives the full forward\'s logits at every position, prefill then one token at a time', () => {
    const model = small().eval();
    const ids = randint(0, 50, [2, 10]).int();
    const full = model.forward(ids); // (2, 10, 50)
    const cache = model.newCache(2);
    const prefill = model.forwardCached(ids.narrow(1, 0, 4), cache);
    expect(maxAbsDiff(prefill, full.select(1, 3))).toBeLessThan(1e-5);
    for (let t = 4; t < 10; t++) {
      const step = model.forwardCached(ids.narrow(1, t, 1), cache);
      expect(maxAbsDiff(step, full.select(1, t)), `position ${t}`).toBeLessThan(1e-5);
    }
    expect(cache.length).toBe(10);
  });

  it('with the cache, each new token attends with one query over the keys so far (O(T) per token); without, over the whole window', async () => {
    const model = small();
    for (const useCache of [true, false]) {
      const shapes: string[] = [];
      const remove = addDispatchListener((op, inputs) => {
        if (op === fusedAttention.name) shapes.push(`${inputs[0].shape[2]}x${inputs[1].shape[2]}`);
      });
      await model.generate([[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache });
      remove();
      const perLayer = shapes.filter((_, i) => i % 2 === 0); // 2 layers
      expect(perLayer, `useCache ${useCache}`).toEqual(useCache ? ['3x3', '1x4', '1x5', '1x6'] : ['3x3', '4x4', '5x5', '6x6']);
    }
  });

  it('past blockSize the context slides as nanoGPT\'s crop: the cache (rebuilt) and no-cache paths agree', async () => {
    const model = small();
    const a = await model.generate([[5, 6, 7]], { maxNewTokens: 30, temperature: 0 });
    const b = await model.generate([[5, 6, 7]], { maxNewTokens: 30, temperature: 0, useCache: false });
    expect(a.shape).toEqual([1, 33]);
    expect(rowsOf(a)).toEqual(rowsOf(b));
  });

  it('sampling follows its seed or generator, on every path; topK 1 is greedy; topP keeps the head of the distribution', async () => {
    const model = small();
    const opts = { maxNewTokens: 12, temperature: 1.5 };
    const s1 = rowsOf(await model.generate([[1], [2]], { ...opts, seed: 7 }));
    expect(rowsOf(await model.generate([[1], [2]], { ...opts, seed: 7, useCache: false }))).toEqual(s1);
    expect(rowsOf(await model.generate([[1], [2]], { ...opts, generator: new Generator(7) }))).toEqual(s1);
    expect(rowsOf(await model.generate([[1], [2]], { ...opts, seed: 8 }))).not.toEqual(s1);
    const greedy = rowsOf(await model.generate([[1], [2]], { maxNewTokens: 12, temperature: 0 }));
    expect(rowsOf(await model.generate([[1], [2]], { ...opts, topK: 1, seed: 3 }))).toEqual(greedy);
    expect(rowsOf(await model.generate([[1], [2]], { ...opts, topP: 1e-6, seed: 3 }))).toEqual(greedy);
  });

  it('streams tokens through onToken and as an async iterator; a stop token ends its row, the others go on', async () => {
    const model = small();
    const greedy = rowsOf(await model.generate([[1], [9]], { maxNewTokens: 8, temperature: 0 }));
    const stop = greedy[0][3]; // row 0's third new token
    const seen: number[][] = [];
    const out = rowsOf(await model.generate([[1], [9]], { maxNewTokens: 8, temperature: 0, stop, padTokenId: 0, onToken: (t) => seen.push(t) }));
    const streamed: number[][] = [];
    for await (const t of model.stream([[1], [9]], { maxNewTokens: 8, temperature: 0, stop, padTokenId: 0 })) streamed.push(t);
    expect(streamed).toEqual(seen);
    // each row ends at its first stop token; generation ends when both have (or after 8 steps)
    const ends = greedy.map((r) => r.slice(1).indexOf(stop));
    expect(ends[0]).toBeGreaterThanOrEqual(0);
    const steps = ends.some((e) => e < 0) ? 8 : Math.max(...ends) + 1;
    expect(seen.length).toBe(steps);
    greedy.forEach((r, b) => {
      const kept = ends[b] < 0 ? steps : ends[b] + 1;
      expect(out[b], `row ${b}`).toEqual([...r.slice(0, 1 + kept), ...Array(steps - kept).fill(0)]);
    });
  });

  it('generate runs in eval mode (dropout off) and restores training mode', async () => {
    manualSeed(1);
    const model = new GPT({ vocabSize: 20, blockSize: 8, nLayer: 1, nHead: 1, nEmbd: 8, dropout: 0.5 });
    const a = rowsOf(await model.generate([[1, 2]], { maxNewTokens: 5, temperature: 0 }));
    expect(model.training).toBe(true);
    expect(rowsOf(await model.generate([[1, 2]], { maxNewTokens: 5, temperature: 0 }))).toEqual(a);
  });

  it('ties lm_head to wte, counts it once, and names parameters as GPT-2 / nanoGPT', () => {
    const model = small();
    expect(model.lmHead.weight).toBe(model.transformer.wte.weight);
    const names = [...model.namedParameters()].map(([k]) => k);
    expect(names).not.toContain('lm_head.weight');
    expect(Object.keys(model.stateDict())).toContain('lm_head.weight');
    expect(names.slice(0, 6)).toEqual(['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.0.attn.c_attn.bias']);
    expect(model.getNumParams()).toBe(model.numParameters() - 16 * 16);
    const [decay, noDecay] = model.paramGroups(0.1);
    expect([...decay.params].every((p) => p.ndim === 2) && [...noDecay.params].every((p) => p.ndim === 1)).toBe(true);
  });
});
