import { backward } from '@dl/autograd';
import { DTypeError, IndexError, ShapeError, manualSeed, randint, tensor, type Tensor } from '@dl/tensor';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Mamba, MambaConfigError, MambaLM, defaultMambaConfig, mambaConfigFromJson } from './index.js';
import { expectClose, fixture, fixturePath } from './test-helpers.js';

const io = (k: string) => fixture('mamba-tiny-io.safetensors', k);

describe('MambaLM against the PyTorch reference MambaLMHeadModel (committed fixture)', () => {
  it('fromPretrained reads the reference folder; logits, loss and every parameter gradient match', async () => {
    const model = await MambaLM.fromPretrained(fixturePath('mamba-tiny'));
    expect(model.config).toMatchObject({ dModel: 16, nLayer: 2, vocabSize: 21, dState: 4, dConv: 4, expand: 2, padVocabSizeMultiple: 8 });
    expect(model.training).toBe(false);
    const { logits, loss } = model.forward(io('input_ids'), io('targets'));
    expectClose(logits, io('logits'), 1e-4, 1e-5, 'logits');
    expectClose(loss.reshape([1]), io('loss'), 1e-5, 1e-6, 'loss');
    backward(loss);
    const params = Object.entries(model.stateDict()); // every entry is a parameter
    for (const [name, p] of params) {
      if (name === 'lm_head.weight') continue; // the embedding's, gradient included
      expectClose(p.grad!, io(`grad.${name}`), 2e-3, 2e-5, `grad ${name}`);
    }
    expect(params.length).toBe(2 * 10 + 3); // 10 per layer, embedding, norm_f, lm_head
  });

  it('savePretrained writes the reference layout that fromPretrained reads back unchanged', async () => {
    manualSeed(5);
    const model = new MambaLM({ dModel: 8, nLayer: 2, vocabSize: 10, dState: 3 });
    const dir = mkdtempSync(`${tmpdir()}/mamba-`);
    try {
      await model.savePretrained(dir);
      const json = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
      expect(json).toMatchObject({ d_model: 8, n_layer: 2, vocab_size: 10, rms_norm: true, residual_in_fp32: true, fused_add_norm: true, pad_vocab_size_multiple: 8, ssm_cfg: { d_state: 3, d_conv: 4, expand: 2, dt_rank: 'auto' } });
      const back = await MambaLM.fromPretrained(dir);
      const ids = tensor([[1, 2, 3, 9]], { dtype: 'int32' });
      expectClose(back.forward(ids), model.eval().forward(ids), 0, 0, 'logits');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a config that does not match the weights, or one this package does not build, is a MambaConfigError naming the keys', async () => {
    const dir = mkdtempSync(`${tmpdir()}/mamba-`);
    try {
      cpSync(fixturePath('mamba-tiny'), dir, { recursive: true });
      const cfg = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
      writeFileSync(`${dir}/config.json`, JSON.stringify({ ...cfg, n_layer: 3, ssm_cfg: { ...cfg.ssm_cfg, d_state: 8 } }));
      const e = await MambaLM.fromPretrained(dir).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(MambaConfigError);
      expect((e as Error).message).toMatch(/does not match the weights: ssm_cfg\.d_state give backbone\.layers\.0\.mixer\.A_log \[32,8\] but the weights hold \[32,4\].*n_layer 3 but the weights hold 2 layers/);
      expect((e as MambaConfigError).keys).toContain('n_layer');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => mambaConfigFromJson({ d_model: 16, n_layer: 1, vocab_size: 5, attn_layer_idx: [0] })).toThrow(/attn_layer_idx \[0\] \(attention layers\) is not built here/);
    expect(() => mambaConfigFromJson({ d_model: 16, n_layer: 1, vocab_size: 5, ssm_cfg: { layer: 'Mamba2' } })).toThrow(MambaConfigError);
    expect(() => mambaConfigFromJson({ d_model: 0, n_layer: 1, vocab_size: 5, ssm_cfg: { d_conv: 1.5 } })).toThrow(/config.json: dModel must be an integer >= 1, got 0; dConv must be an integer >= 1, got 1.5/);
  });
});

describe('Mamba mixer and MambaLM', () => {
  it('initialises as the reference: S4D-real A_log, D ones, softplus(dt bias) in [dtMin, dtMax], dtRank ceil(dModel / 16), padded vocabulary', () => {
    manualSeed(1);
    const m = new Mamba({ ...defaultMambaConfig, dModel: 40, dState: 5 });
    expect(m.dtRank).toBe(3);
    expect(m.ALog.shape).toEqual([80, 5]);
    expect(Array.from(m.ALog.exp().dataSync().slice(0, 5), (v) => Math.round(v))).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(m.D.dataSync())).toEqual(new Set([1]));
    const dt = m.dtProj.bias!.exp().log1p().dataSync();
    for (const v of dt) expect(v >= 0.001 * 0.999 && v <= 0.1 * 1.001, `dt ${v}`).toBe(true);
    const s = 3 ** -0.5;
    for (const v of m.dtProj.weight.dataSync()) expect(Math.abs(v) <= s).toBe(true);
    const lm = new MambaLM({ dModel: 128, nLayer: 7, vocabSize: 65 });
    expect(lm.paddedVocabSize).toBe(72);
    expect(lm.numParameters()).toBe(825_600);
    expect(Object.keys(lm.stateDict())).toContain('backbone.layers.6.mixer.dt_proj.bias');
  });

  it('the recurrent form (prefill, then one step per token) gives the full forward\'s logits', () => {
    manualSeed(2);
    const model = new MambaLM({ dModel: 16, nLayer: 2, vocabSize: 11, dState: 4, dConv: 3 }).eval();
    const ids = randint(0, 11, [2, 7], { dtype: 'int32' });
    const full = model.forward(ids); // (2, 7, 16)
    for (const prefill of [1, 2, 5]) {
      const state = model.newState(2);
      const last = (t: number): Tensor => full.narrow(1, t, 1).squeeze(1);
      expectClose(model.forwardRecurrent(ids.narrow(1, 0, prefill), state), last(prefill - 1), 1e-4, 1e-5, `prefill ${prefill}`);
      for (let t = prefill; t < 7; t++) expectClose(model.forwardRecurrent(ids.narrow(1, t, 1), state), last(t), 1e-4, 1e-5, `step ${t} after prefill ${prefill}`);
      expect(state.length).toBe(7);
      state.dispose();
    }
  });

  it('generate: greedy equals the argmax of the full forward; sampling follows the seed; stop and bad options', async () => {
    manualSeed(3);
    const model = new MambaLM({ dModel: 16, nLayer: 2, vocabSize: 11, dState: 4 });
    const out = await model.generate([1, 2, 3], { maxNewTokens: 5, temperature: 0 });
    const rows = Array.from(out.dataSync());
    expect(out.shape).toEqual([1, 8]);
    for (let t = 3; t < 8; t++) {
      const logits = model.forward(tensor([rows.slice(0, t)], { dtype: 'int32' })).narrow(1, t - 1, 1).reshape([-1]).dataSync().slice(0, 11);
      expect(rows[t]).toBe(logits.indexOf(Math.max(...logits)));
    }
    const a = await model.generate([[1, 2], [3, 4]], { maxNewTokens: 6, temperature: 0.9, topK: 5, topP: 0.9, seed: 7 });
    const b = await model.generate([[1, 2], [3, 4]], { maxNewTokens: 6, temperature: 0.9, topK: 5, topP: 0.9, seed: 7 });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    for (const v of a.dataSync()) expect(v < 11).toBe(true);
    const first = rows[3];
    const stopped = await model.generate([1, 2, 3], { maxNewTokens: 5, temperature: 0, stop: first });
    expect(Array.from(stopped.dataSync())).toEqual([1, 2, 3, first]);
    await expect(model.generate([1], { maxNewTokens: 2, topP: 0 })).rejects.toThrow(/topP must be in \(0, 1\]/);
    await expect(model.generate([1, 11], { maxNewTokens: 2 })).rejects.toThrow(IndexError);
  });

  it('names the layer and every shape for bad ids, targets and hidden states', () => {
    const model = new MambaLM({ dModel: 16, nLayer: 1, vocabSize: 11, dState: 4 });
    expect(() => model.forward(tensor([[1.5]]))).toThrow(DTypeError);
    expect(() => model.forward(tensor([[1, 12]], { dtype: 'int32' }))).toThrow(/^MambaLM: token id 12 at \[0,1\] of ids \[1,2\] is outside the vocabulary \[0, 11\)/);
    expect(() => model.forward(tensor([[1, 2]], { dtype: 'int32' }), tensor([[1]], { dtype: 'int32' }))).toThrow(/targets must be int32 \[1,2\] like ids, got int32 \[1,1\]/);
    expect(() => model.backbone.layers[0].mixer.forward(tensor([[[1, 2]]]))).toThrow(ShapeError);
    expect(() => model.forwardRecurrent(tensor([[1]], { dtype: 'int32' }), model.newState(2))).toThrow(/the state holds 2 rows for 1 layers; ids \[1,1\] needs 1 rows/);
  });
});

describe('MambaLM.paramGroups', () => {
  it('decays the matrices, not A_log, D, biases or norms', () => {
    const model = new MambaLM({ dModel: 16, nLayer: 2, vocabSize: 11, dState: 4 });
    const [decay, rest] = model.paramGroups(0.1);
    // the tied head and the embedding are one tensor: named by the last key
    const names = new Map(Object.entries(model.stateDict()).map(([k, v]) => [v, k]));
    const decayed = [...decay.params].map((p) => names.get(p));
    expect(decayed).toContain('backbone.layers.0.mixer.in_proj.weight');
    expect(decayed).toContain('lm_head.weight');
    expect(decayed).not.toContain('backbone.layers.0.mixer.A_log');
    expect([...rest.params].map((p) => names.get(p))).toEqual(expect.arrayContaining(['backbone.layers.1.mixer.A_log', 'backbone.layers.1.mixer.D', 'backbone.norm_f.weight', 'backbone.layers.0.mixer.dt_proj.bias']));
    expect([...decay.params].length + [...rest.params].length).toBe(model.parameters().length);
  });
});
