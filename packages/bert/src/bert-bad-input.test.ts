// Bad settings, inputs and checkpoints of the BERT models throw typed errors naming the op, the
// argument, the limit and every shape; none computes something else silently.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDictError, parseSafetensors, saveSafetensors } from '@dl/layers';
import { DLError, DTypeError, IndexError, ShapeError, randn, tensor, zeros } from '@dl/tensor';
import { runSweep, type SweepCase } from '@dl/tensor/testing';
import { ConfigError } from '@dl/transformer';
import { afterAll, describe, it } from 'vitest';
import { BertForMaskedLM, BertForSequenceClassification, BertModel } from './bert.js';
import { fixturePath } from './bert-test-helpers.js';
import { meanPooling } from './pooling.js';

const ids = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
const small = { vocabSize: 20, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 12, maxPositionEmbeddings: 6, typeVocabSize: 2 };
const bert = () => new BertModel(small);
const scratch = mkdtempSync(join(tmpdir(), 'dl-bert-bad-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of a committed tiny folder, changed by `edit` (config.json as an object, the tensors by name), loaded by `load`. */
function folder<T>(name: string, edit: (config: Record<string, unknown>, tensors: Record<string, unknown>) => void, load: (dir: string) => Promise<T>): () => Promise<T> {
  return async () => {
    const dir = mkdtempSync(join(scratch, 'folder-'));
    const config = JSON.parse(readFileSync(fixturePath(`${name}/config.json`), 'utf8')) as Record<string, unknown>;
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(fixturePath(`${name}/model.safetensors`))));
    edit(config, tensors);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    await saveSafetensors(join(dir, 'model.safetensors'), tensors as never, { format: 'pt' });
    return load(dir);
  };
}
const mlmFolder = (edit: Parameters<typeof folder>[1]) => folder('bert-tiny-mlm', edit, (d) => BertForMaskedLM.fromPretrained(d));
const clsFolder = (edit: Parameters<typeof folder>[1]) => folder('bert-tiny-cls', edit, (d) => BertForSequenceClassification.fromPretrained(d));

const cases: SweepCase[] = [
  // inputs
  { name: 'an id outside the vocabulary', run: () => bert().forward(ids([[1, 2, 3], [4, 20, 5]])), throws: IndexError, op: 'BertModel', says: ['inputIds', 'id 20', '[1,1]', 'inputIds [2,3]', '[0, 20)', 'vocabSize 20'] },
  { name: 'a negative id', run: () => bert().forward(ids([[1, -1]])), throws: IndexError, op: 'BertModel', says: ['id -1', '[0,1]', '[0, 20)'] },
  { name: 'a token type outside typeVocabSize', run: () => bert().forward(ids([[1, 2, 3]]), { tokenTypeIds: ids([[0, 1, 2]]) }), throws: IndexError, op: 'BertModel', says: ['tokenTypeIds', 'id 2', '[0,2]', 'tokenTypeIds [1,3]', '[0, 2)', 'typeVocabSize 2'] },
  { name: 'a sequence longer than maxPositionEmbeddings', run: () => bert().forward(ids([[1, 2, 3, 4, 5, 6, 7]])), throws: ShapeError, op: 'BertModel', says: ['inputIds [1,7]', '7 tokens', 'maxPositionEmbeddings 6', 'truncate'] },
  { name: 'an attention mask of another shape', run: () => bert().forward(ids([[1, 2, 3], [4, 5, 6]]), { attentionMask: ids([[1, 1, 1]]) }), throws: ShapeError, op: 'BertModel', says: ['attentionMask [1,3]', "inputIds' shape [2,3]"] },
  { name: 'token types of another shape', run: () => bert().forward(ids([[1, 2, 3]]), { tokenTypeIds: ids([[0, 0]]) }), throws: ShapeError, op: 'BertModel', says: ['tokenTypeIds [1,2]', '[1,3]'] },
  { name: 'float token types', run: () => bert().forward(ids([[1, 2]]), { tokenTypeIds: zeros([1, 2]) }), throws: DTypeError, op: 'BertModel', says: ['tokenTypeIds must be int32', 'float32 [1,2]'] },
  { name: 'float ids', run: () => bert().forward(zeros([1, 3])), throws: DTypeError, op: 'BertModel', says: ['inputIds must be int32', 'float32 [1,3]'] },
  { name: 'one row of ids without a batch dim', run: () => bert().forward(tensor(Int32Array.from([1, 2, 3]))), throws: ShapeError, op: 'BertModel', says: ['[B,T]', 'got [3]'] },
  { name: 'MLM labels of another shape', run: () => new BertForMaskedLM(small).forward(ids([[1, 2, 3]]), { labels: ids([[1, 2]]) }), throws: ShapeError, op: 'BertForMaskedLM', says: ['labels', "inputIds' shape [1,3]", 'int32 [1,2]'] },
  { name: 'an id outside the vocabulary, through the MLM head', run: () => new BertForMaskedLM(small).forward(ids([[1, 99]])), throws: IndexError, op: 'bert (BertModel)', says: ['id 99', '[0, 20)'] },
  { name: 'class labels of the wrong dtype', run: () => new BertForSequenceClassification(small).forward(ids([[1, 2]]), { labels: zeros([1, 3]) }), throws: ShapeError, op: 'BertForSequenceClassification', says: ['multi_label_classification', 'float targets [1,2]', 'float32 [1,3]'] },
  { name: 'class ids for two rows given for one', run: () => new BertForSequenceClassification(small).forward(ids([[1, 2]]), { labels: ids([[0, 1]]).reshape([2]) }), throws: ShapeError, op: 'BertForSequenceClassification', says: ['single_label_classification', 'int32 class ids [1]', 'int32 [2]'] },
  { name: 'meanPooling with a mask of another length', run: () => meanPooling(randn([2, 5, 8]), ids([[1, 1, 1, 1], [1, 1, 0, 0]])), throws: ShapeError, op: 'meanPooling', says: ['attentionMask [2,4]', '[2,5]', 'lastHiddenState [2,5,8]'] },

  // config
  { name: 'heads that do not divide the width', run: () => new BertModel({ ...small, numAttentionHeads: 3 }), throws: ShapeError, op: 'BertModel', says: ['hiddenSize (8)', 'numAttentionHeads (3)'] },
  { name: 'a pad id outside the vocabulary', run: () => new BertModel({ ...small, padTokenId: 20 }), throws: DLError, op: 'BertModel', says: ['padTokenId', '[0, 20)', 'got 20'] },
  { name: 'id2label of another length than numLabels', run: () => new BertForSequenceClassification({ ...small, numLabels: 3, id2label: ['a', 'b'] }), throws: DLError, op: 'BertModel', says: ['id2label names 2 labels', 'numLabels is 3'] },

  // folders
  { name: 'fromPretrained: hidden_size disagrees with the weights', run: mlmFolder((c) => (c.hidden_size = 64)), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ['vocab_size 64 and hidden_size 64', 'bert.embeddings.word_embeddings.weight [64,64], but it is [64,32]'] },
  { name: 'fromPretrained: more layers in config.json than in the weights', run: mlmFolder((c) => (c.num_hidden_layers = 3)), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ['num_hidden_layers 3', '2 layers (layer.0, layer.1)'] },
  { name: 'fromPretrained: max_position_embeddings disagrees', run: mlmFolder((c) => (c.max_position_embeddings = 512)), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ['max_position_embeddings 512', 'position_embeddings.weight [512,32], but it is [16,32]'] },
  { name: 'fromPretrained: num_labels disagrees with the classifier', run: clsFolder((c) => { delete c.id2label; delete c.label2id; c.num_labels = 2; }), throws: ConfigError, op: 'BertForSequenceClassification.fromPretrained', says: ['num_labels 2', 'classifier.weight [2,32], but it is [3,32]'] },
  { name: 'fromPretrained: a tensor missing', run: mlmFolder((_, t) => delete t['bert.encoder.layer.1.attention.self.key.bias']), throws: StateDictError, op: 'loadStateDict (BertForMaskedLM)', says: ['missing keys: bert.encoder.layer.1.attention.self.key.bias'] },
  { name: 'fromPretrained: a misshapen and an unexpected tensor', run: mlmFolder((_, t) => { t['bert.encoder.layer.0.output.LayerNorm.bias'] = zeros([31]); t['bert.encoder.layer.0.extra.weight'] = zeros([2]); }), throws: StateDictError, op: 'loadStateDict (BertForMaskedLM)', says: ['bert.encoder.layer.0.output.LayerNorm.bias: expected [32], got [31]', 'unexpected keys: bert.encoder.layer.0.extra.weight'] },
  { name: 'fromPretrained: part of the MLM head missing', run: mlmFolder((_, t) => delete t['cls.predictions.transform.dense.weight']), throws: StateDictError, op: 'loadStateDict (BertForMaskedLM)', says: ['missing keys: cls.predictions.transform.dense.weight'] },
  { name: 'fromPretrained: relative position embeddings', run: mlmFolder((c) => (c.position_embedding_type = 'relative_key')), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ['position_embedding_type is "relative_key"', '"absolute"'] },
  { name: 'fromPretrained: another model type', run: mlmFolder((c) => (c.model_type = 'roberta')), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ['model_type is "roberta"', "'bert'"] },
  { name: 'fromPretrained: an activation it does not know', run: mlmFolder((c) => (c.hidden_act = 'quick_gelu')), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ['hidden_act "quick_gelu"', 'gelu'] },
  { name: 'fromPretrained: heads that do not divide hidden_size', run: mlmFolder((c) => (c.num_attention_heads = 5)), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ['hidden_size (32)', 'num_attention_heads (5)'] },
  { name: 'fromPretrained: config.json without vocab_size', run: mlmFolder((c) => delete c.vocab_size), throws: ConfigError, op: 'BertForMaskedLM.fromPretrained', says: ["no 'vocab_size'"] },
  { name: 'fromPretrained: a folder without model.safetensors', run: () => BertModel.fromPretrained(mkdtempSync(join(scratch, 'empty-'))), throws: DLError, op: 'BertModel.fromPretrained', says: ['config.json', 'ENOENT'] },
];

describe('bad input', () => {
  runSweep({ describe, it }, '@dl/bert', cases);
});
