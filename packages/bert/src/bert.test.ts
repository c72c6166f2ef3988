// BERT against the PyTorch transcription of transformers' modeling_bert.py
// (scripts/make_bert_fixture.py): the committed tiny folders load with fromPretrained and give the
// reference hidden states, pooler output, MLM logits, classifier logits, losses and gradients for a
// padded batch with token types; savePretrained writes the same layout and round-trips.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backward } from '@dl/autograd';
import { StateDictError, loadSafetensors, parseSafetensors, saveSafetensors } from '@dl/layers';
import { manualSeed, randint, tensor, type Tensor } from '@dl/tensor';
import { assertClose, maxAbsDiff } from '@dl/tensor/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { BertForMaskedLM, BertForSequenceClassification, BertModel } from './bert.js';
import { loadBertWeights, normalizeBertKeys } from './bert-hf.js';
import { batch, expected, fixturePath, folderConfig, folderTensors } from './bert-test-helpers.js';
import { meanPooling } from './pooling.js';

const tol = { atol: 1e-5, rtol: 1e-5 };
const scratch = mkdtempSync(join(tmpdir(), 'dl-bert-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const sortedKeys = (o: object): string[] => Object.keys(o).sort();

describe('BERT against the PyTorch reference (tiny, padded batch with token types)', () => {
  it('BertModel gives every hidden state and the pooler output of the reference', async () => {
    const bert = await BertModel.fromPretrained(fixturePath('bert-tiny-cls'));
    expect(bert.training).toBe(false);
    const out = bert.forward(batch().inputIds, { ...batch(), outputHiddenStates: true });
    expect(out.hiddenStates).toHaveLength(3);
    out.hiddenStates!.forEach((h, i) => assertClose(h, expected(`hidden_states.${i}`), `hidden_states.${i}`, tol));
    assertClose(out.lastHiddenState, expected('last_hidden_state'), 'last_hidden_state', tol);
    assertClose(out.poolerOutput!, expected('pooler_output'), 'pooler_output', tol);
  });

  it('without attentionMask and tokenTypeIds every token is kept and is segment 0', async () => {
    const bert = await BertModel.fromPretrained(fixturePath('bert-tiny-cls'));
    const out = bert.forward(batch().inputIds);
    assertClose(out.lastHiddenState, expected('last_hidden_state_plain'), 'last_hidden_state_plain', tol);
    assertClose(out.poolerOutput!, expected('pooler_output_plain'), 'pooler_output_plain', tol);
  });

  it('BertForMaskedLM gives the MLM logits, the loss over labelled positions (-100 ignored) and every gradient', async () => {
    const mlm = await BertForMaskedLM.fromPretrained(fixturePath('bert-tiny-mlm'));
    const { logits, loss } = mlm.forward(batch().inputIds, { ...batch(), labels: expected('mlm_labels') });
    assertClose(logits, expected('mlm_logits'), 'mlm_logits', tol);
    assertClose(loss.reshape([1]), expected('mlm_loss'), 'mlm_loss', tol);
    backward(loss);
    const named = mlm.namedParameters();
    const names = [...named].map(([n]) => n);
    // the tied decoder weight is the word embedding: one parameter, its gradient holds both uses
    expect(names).not.toContain('cls.predictions.decoder.weight');
    for (const [name, p] of mlm.namedParameters()) assertClose(p.grad!, expected(`grad.${name}`), `grad.${name}`, { atol: 1e-5, rtol: 1e-4 });
  });

  it('BertForSequenceClassification gives the classifier logits and cross-entropy, with the labels of config.json', async () => {
    const clf = await BertForSequenceClassification.fromPretrained(fixturePath('bert-tiny-cls'));
    expect(clf.config.numLabels).toBe(3);
    expect(clf.config.id2label).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2']);
    const { logits, loss } = clf.forward(batch().inputIds, { ...batch(), labels: expected('cls_labels') });
    assertClose(logits, expected('cls_logits'), 'cls_logits', tol);
    assertClose(loss.reshape([1]), expected('cls_loss'), 'cls_loss', tol);
  });

  it('meanPooling and embed give sentence-transformers\' mean over real tokens, plain and L2-normalised', async () => {
    const bert = await BertModel.fromPretrained(fixturePath('bert-tiny-cls'));
    const { lastHiddenState } = bert.forward(batch().inputIds, batch());
    assertClose(meanPooling(lastHiddenState, batch().attentionMask), expected('mean_pooled'), 'mean_pooled', tol);
    assertClose(bert.embed(batch().inputIds, { ...batch(), normalize: true }), expected('mean_pooled_normalized'), 'mean_pooled_normalized', tol);
    // a bool mask means the same; no mask averages every position
    assertClose(meanPooling(lastHiddenState, batch().attentionMask.bool()), expected('mean_pooled'), 'bool mask', tol);
    assertClose(meanPooling(lastHiddenState), lastHiddenState.mean(1), 'no mask', tol);
  });

  it('a padded row gives, at its real tokens, what the row alone gives unpadded', async () => {
    const bert = await BertModel.fromPretrained(fixturePath('bert-tiny-cls'));
    const { inputIds, attentionMask, tokenTypeIds } = batch();
    const full = bert.forward(inputIds, { attentionMask, tokenTypeIds }).lastHiddenState; // (3, 12, 32)
    const alone = bert.forward(inputIds.narrow(0, 2, 1).narrow(1, 0, 5), { tokenTypeIds: tokenTypeIds.narrow(0, 2, 1).narrow(1, 0, 5) }).lastHiddenState; // row 2 has 5 real tokens
    assertClose(full.narrow(0, 2, 1).narrow(1, 0, 5), alone, 'row 2, real tokens', tol);
  });
});

describe('checkpoint layouts', () => {
  it('the hub\'s old layout (gamma/beta, position_ids buffer, stored tied decoder, next-sentence head) loads with the same outputs', async () => {
    const legacy = folderTensors('bert-tiny-legacy');
    expect(Object.keys(legacy)).toContain('bert.embeddings.LayerNorm.gamma');
    const mlm = await BertForMaskedLM.fromPretrained(fixturePath('bert-tiny-legacy'));
    assertClose(mlm.forward(batch().inputIds, batch()), expected('mlm_logits'), 'mlm_logits from the legacy layout', tol);
    const bert = await BertModel.fromPretrained(fixturePath('bert-tiny-legacy'));
    assertClose(bert.forward(batch().inputIds, batch()).poolerOutput!, expected('pooler_output'), 'pooler_output from the legacy layout', tol);
    const { ignored, newlyInitialized } = loadBertWeights(new BertForMaskedLM(mlm.config), legacy);
    expect(ignored.sort()).toEqual(['bert.embeddings.position_ids', 'bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']);
    expect(newlyInitialized).toEqual([]);
  });

  it('normalizeBertKeys renames gamma/beta and prefixes a bare BertModel\'s keys', () => {
    const t = tensor([1]);
    expect(sortedKeys(normalizeBertKeys({ 'embeddings.LayerNorm.gamma': t, 'encoder.layer.0.output.LayerNorm.beta': t, 'cls.predictions.transform.LayerNorm.gamma': t, 'classifier.weight': t }))).toEqual([
      'bert.embeddings.LayerNorm.weight',
      'bert.encoder.layer.0.output.LayerNorm.bias',
      'classifier.weight',
      'cls.predictions.transform.LayerNorm.weight',
    ]);
  });

  it('parameter names are transformers\': each folder\'s keys are the model\'s state dict less the tied decoder', async () => {
    const mlm = new BertForMaskedLM(await BertForMaskedLM.fromPretrained(fixturePath('bert-tiny-mlm')).then((m) => m.config));
    const sd = mlm.stateDict();
    expect(sd['cls.predictions.decoder.weight']).toBe(sd['bert.embeddings.word_embeddings.weight']);
    expect(sd['cls.predictions.decoder.bias']).toBe(sd['cls.predictions.bias']);
    expect(sortedKeys(sd).filter((k) => !k.startsWith('cls.predictions.decoder.'))).toEqual(sortedKeys(folderTensors('bert-tiny-mlm')));
    const clf = new BertForSequenceClassification(mlm.config);
    expect(sortedKeys(clf.stateDict())).toEqual(sortedKeys(folderTensors('bert-tiny-cls')));
    expect(Object.keys(new BertModel(mlm.config).stateDict())).toContain('encoder.layer.1.attention.self.query.weight');
  });

  it('savePretrained writes transformers\' layout and config.json; fromPretrained reads it back to the same outputs (each class)', async () => {
    const cases = [
      ['bert-tiny-mlm', BertForMaskedLM, 'BertForMaskedLM'],
      ['bert-tiny-cls', BertForSequenceClassification, 'BertForSequenceClassification'],
    ] as const;
    for (const [folder, Cls, arch] of cases) {
      const model = await Cls.fromPretrained(fixturePath(folder));
      const dir = join(scratch, `saved-${folder}`);
      await model.savePretrained(dir);
      const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const ref = folderConfig(folder);
      expect(json, folder).toEqual(ref); // field for field, as the PyTorch side wrote it
      expect(json.architectures).toEqual([arch]);
      const saved = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
      expect(sortedKeys(saved.tensors)).toEqual(sortedKeys(folderTensors(folder)));
      expect(saved.metadata.format).toBe('pt');
      const back = await Cls.fromPretrained(dir);
      expect(maxAbsDiff(back.forward(batch().inputIds, batch()), model.forward(batch().inputIds, batch()))).toBe(0);
    }
    // a bare BertModel: no `bert.` prefix in the file, as transformers' BertModel.save_pretrained
    const bert = await BertModel.fromPretrained(fixturePath('bert-tiny-cls'));
    await bert.savePretrained(join(scratch, 'saved-bare'));
    const { tensors } = await loadSafetensors(join(scratch, 'saved-bare', 'model.safetensors'));
    expect(Object.keys(tensors)).toContain('embeddings.word_embeddings.weight');
    const back = await BertForSequenceClassification.fromPretrained(join(scratch, 'saved-bare'), { config: { numLabels: 3 } });
    assertClose(back.bert.forward(batch().inputIds, batch()).poolerOutput!, expected('pooler_output'), 'pooler after a bare round trip', tol);
  });

  it('a classifier from a pretrained (MLM) checkpoint starts fresh and says so; with strict it is a missing-keys error', async () => {
    const dir = fixturePath('bert-tiny-mlm');
    manualSeed(3);
    const clf = await BertForSequenceClassification.fromPretrained(dir, { config: { numLabels: 2 } });
    expect(clf.classifier.weight.shape).toEqual([2, 32]);
    expect(clf.config.id2label).toBe(null);
    const { newlyInitialized, ignored } = loadBertWeights(new BertForSequenceClassification(clf.config), folderTensors('bert-tiny-mlm'));
    expect(newlyInitialized.sort()).toEqual(['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight']);
    expect(ignored.every((k) => k.startsWith('cls.predictions.'))).toBe(true);
    // the encoder is the checkpoint's
    assertClose(clf.bert.forward(batch().inputIds, batch()).lastHiddenState, expected('last_hidden_state'), 'encoder of the MLM checkpoint', tol);
    await expect(BertForSequenceClassification.fromPretrained(dir, { strict: true })).rejects.toThrow(StateDictError);
    await expect(BertForSequenceClassification.fromPretrained(dir, { strict: true })).rejects.toThrow(/missing keys: .*bert\.pooler\.dense\.weight.*classifier\.weight/);
  });
});

describe('training', () => {
  it('a new model has BERT\'s init: normal(0, initializerRange) weights, zero [PAD] embedding and biases, the decoder tied', () => {
    manualSeed(4);
    const mlm = new BertForMaskedLM({ vocabSize: 300, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 48, initializerRange: 0.05 });
    const word = mlm.bert.embeddings.wordEmbeddings.weight;
    expect([...word.select(0, 0).dataSync()].every((v) => v === 0)).toBe(true);
    for (const w of [word.narrow(0, 1, 299), mlm.bert.encoder.layer[0].attention.self.query.weight, mlm.cls.predictions.transform.dense.weight]) {
      expect(Math.abs(w.std().item() - 0.05)).toBeLessThan(0.01);
    }
    expect([...mlm.cls.predictions.bias.dataSync(), ...mlm.bert.encoder.layer[0].output.dense.bias!.dataSync()].every((v) => v === 0)).toBe(true);
    expect(mlm.cls.predictions.decoder.weight).toBe(word);
  });

  it('dropout acts only in training mode; the same seed gives the same step', async () => {
    manualSeed(5);
    const mlm = new BertForMaskedLM({ vocabSize: 30, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 24, maxPositionEmbeddings: 8 });
    const ids = randint(0, 30, [2, 6]).int();
    const run = (seed: number): Tensor => {
      manualSeed(seed);
      return mlm.forward(ids);
    };
    expect(maxAbsDiff(run(1), run(1))).toBe(0);
    expect(maxAbsDiff(run(1), run(2))).toBeGreaterThan(1e-3);
    mlm.eval();
    expect(maxAbsDiff(run(1), run(2))).toBe(0);
  });

  it('a saved training checkpoint with a stored decoder.bias alias and no cls.predictions.bias still loads', async () => {
    const t = folderTensors('bert-tiny-mlm');
    const { 'cls.predictions.bias': bias, ...rest } = t;
    const dir = join(scratch, 'alias');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    copyFileSync(fixturePath('bert-tiny-mlm/config.json'), join(dir, 'config.json'));
    await saveSafetensors(join(dir, 'model.safetensors'), { ...rest, 'cls.predictions.decoder.bias': bias });
    const mlm = await BertForMaskedLM.fromPretrained(dir);
    assertClose(mlm.forward(batch().inputIds, batch()), expected('mlm_logits'), 'mlm_logits with decoder.bias', tol);
  });
});
