// @dl/bert on WebGPU: the committed tiny BERT folders (made by packages/bert/scripts/make_bert_fixture.py
// from a PyTorch transcription of transformers' modeling_bert.py) give the reference hidden states,
// pooler output, MLM logits and classifier logits for a padded batch with token types; the MLM
// loss and its gradients match the reference too.
import { backward } from '@dl/autograd';
import { BertForMaskedLM, BertForSequenceClassification, BertModel, meanPooling } from '@dl/bert';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

const fixtures = fileURLToPath(new URL('../../bert/fixtures/', import.meta.url));
const io = parseSafetensors(new Uint8Array(readFileSync(`${fixtures}bert-tiny-io.safetensors`))).tensors;
const onGpu = () => ({ attentionMask: io.attention_mask.to('webgpu'), tokenTypeIds: io.token_type_ids.to('webgpu') });
const ids = () => io.input_ids.to('webgpu');

async function close(t: Tensor, key: string, rtol = 1e-4, atol = 1e-5): Promise<void> {
  expect(t.device, key).toBe('webgpu');
  expectClose(await t.data(), io[key].dataSync(), rtol, atol, key);
}

describe.skipIf(!hasWebGPU)('@dl/bert on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it('BertModel gives the reference hidden states, pooler output and mean-pooled embeddings (padding mask, token types)', async () => {
    const bert = await BertModel.fromPretrained(`${fixtures}bert-tiny-cls`, { device: 'webgpu' });
    const out = bert.forward(ids(), { ...onGpu(), outputHiddenStates: true });
    for (const [i, h] of out.hiddenStates!.entries()) await close(h, `hidden_states.${i}`);
    await close(out.poolerOutput!, 'pooler_output');
    await close(meanPooling(out.lastHiddenState, onGpu().attentionMask, { normalize: true }), 'mean_pooled_normalized');
    await close(bert.forward(ids()).lastHiddenState, 'last_hidden_state_plain');
  });

  it('BertForMaskedLM gives the MLM logits, loss and gradients; BertForSequenceClassification its logits', async () => {
    const mlm = await BertForMaskedLM.fromPretrained(`${fixtures}bert-tiny-mlm`, { device: 'webgpu' });
    const { logits, loss } = mlm.forward(ids(), { ...onGpu(), labels: io.mlm_labels.to('webgpu') });
    await close(logits, 'mlm_logits');
    await close(loss.reshape([1]), 'mlm_loss');
    backward(loss);
    for (const [name, p] of mlm.namedParameters()) await close(p.grad!, `grad.${name}`, 1e-3, 1e-5);
    const clf = await BertForSequenceClassification.fromPretrained(`${fixtures}bert-tiny-cls`, { device: 'webgpu' });
    await close(clf.forward(ids(), onGpu()), 'cls_logits');
  });
});
