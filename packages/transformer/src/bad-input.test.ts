// Bad settings and inputs of @dl/transformer throw typed errors naming the op, the argument, the
// limit and every shape; none computes something else silently.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDictError, parseSafetensors, saveSafetensors } from '@dl/layers';
import { DLError, DTypeError, IndexError, ShapeError, randn, tensor, zeros } from '@dl/tensor';
import { runSweep, type SweepCase } from '@dl/tensor/testing';
import { afterAll, describe, it } from 'vitest';
import { scaledDotProductAttention as sdpa } from './attention.js';
import { fusedAttention } from './fused-attention.js';
import { GPT } from './gpt.js';
import { ConfigError } from './gpt2-hf.js';
import { MultiheadAttention } from './multihead.js';
import { LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding } from './position.js';
import { fixturePath } from './test-helpers.js';
import { Transformer, TransformerDecoderLayer, TransformerEncoderLayer } from './transformer.js';

const ids = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
const gpt = () => new GPT({ vocabSize: 20, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 });
const [q, k, v] = [randn([2, 3, 4, 8]), randn([2, 3, 5, 8]), randn([2, 3, 5, 6])];
// every folder a case writes lives under one temporary directory, removed after the sweep
const scratch = mkdtempSync(join(tmpdir(), 'dl-gpt2-bad-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the committed tiny GPT-2 folder, changed by `edit` (config.json as an object, the tensors by name). */
function folder(edit: (config: Record<string, unknown>, tensors: Record<string, unknown>) => void): () => Promise<GPT> {
  return async () => {
    const dir = mkdtempSync(join(scratch, 'folder-'));
    const config = JSON.parse(readFileSync(fixturePath('gpt2-tiny/config.json'), 'utf8')) as Record<string, unknown>;
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(fixturePath('gpt2-tiny/model.safetensors'))));
    edit(config, tensors);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    await saveSafetensors(join(dir, 'model.safetensors'), tensors as never, { format: 'pt' });
    return GPT.fromPretrained(dir);
  };
}

const cases: SweepCase[] = [
  // scaledDotProductAttention
  { name: 'sdpa: a 1-D query', run: () => sdpa(randn([8]), k, v), throws: ShapeError, op: 'scaledDotProductAttention', says: ['at least 2 dims', 'query [8]', 'key [2,3,5,8]'] },
  { name: 'sdpa: int query', run: () => sdpa(zeros([2, 3, 4, 8], { dtype: 'int32' }), k, v), throws: DTypeError, op: 'scaledDotProductAttention', says: ['query must be float', 'int32'] },
  { name: 'sdpa: key of another dtype', run: () => sdpa(q, k.double(), v), throws: DTypeError, op: 'scaledDotProductAttention', says: ['key (float64)', "query's dtype float32"] },
  { name: 'sdpa: key width differs from the query\'s', run: () => sdpa(q, randn([2, 3, 5, 7]), v), throws: ShapeError, op: 'scaledDotProductAttention', says: ["key's last dim (7)", "query's (8)", 'key [2,3,5,7]'] },
  { name: 'sdpa: value length differs from the key\'s', run: () => sdpa(q, k, randn([2, 3, 4, 6])), throws: ShapeError, op: 'scaledDotProductAttention', says: ["value's length (dim -2, 4)", "key's (5)", 'value [2,3,4,6]'] },
  { name: 'sdpa: batch dims that do not broadcast', run: () => sdpa(q, randn([3, 3, 5, 8]), randn([3, 3, 5, 6])), throws: ShapeError, op: 'scaledDotProductAttention', says: ['must broadcast', 'query [2,3,4,8]', 'key [3,3,5,8]'] },
  { name: 'sdpa: a mask of the wrong shape', run: () => sdpa(q, k, v, { attnMask: zeros([4, 4], { dtype: 'bool' }) }), throws: ShapeError, op: 'scaledDotProductAttention', says: ['attnMask [4,4]', '[2,3,4,5]'] },
  { name: 'sdpa: a mask wider than the scores', run: () => sdpa(q, k, v, { attnMask: zeros([7, 2, 3, 4, 5], { dtype: 'bool' }) }), throws: ShapeError, op: 'scaledDotProductAttention', says: ['attnMask [7,2,3,4,5]', '[2,3,4,5]'] },
  { name: 'sdpa: an int mask', run: () => sdpa(q, k, v, { attnMask: zeros([4, 5], { dtype: 'int32' }) }), throws: DTypeError, op: 'scaledDotProductAttention', says: ['attnMask must be bool', 'int32'] },
  { name: 'sdpa: a mask and isCausal', run: () => sdpa(q, k, v, { attnMask: zeros([4, 5]), isCausal: true }), throws: DLError, op: 'scaledDotProductAttention', says: ['attnMask or isCausal, not both'] },
  { name: 'sdpa: dropoutP 1', run: () => sdpa(q, k, v, { dropoutP: 1 }), throws: DLError, op: 'scaledDotProductAttention', says: ['dropoutP must be in [0, 1)', 'got 1'] },
  { name: 'sdpa: a NaN scale', run: () => sdpa(q, k, v, { scale: NaN }), throws: DLError, op: 'scaledDotProductAttention', says: ['scale', 'NaN'] },
  { name: 'the fused op: 3-D inputs', run: () => fusedAttention([randn([3, 4, 8]), randn([3, 5, 8]), randn([3, 5, 6])], { scale: 1, causal: null }), throws: ShapeError, op: 'transformer.attention', says: ['4-D', 'q=[3,4,8]'] },

  // multi-head attention and the Transformer layers
  { name: 'MultiheadAttention: a key padding mask of the wrong length', run: () => new MultiheadAttention(8, 2).forward(randn([2, 4, 8]), randn([2, 5, 8]), randn([2, 5, 8]), { keyPaddingMask: zeros([2, 4], { dtype: 'bool' }), needWeights: false }), throws: ShapeError, op: 'MultiheadAttention', says: ['keyPaddingMask must be [2,5]', 'got [2,4]'] },
  { name: 'TransformerEncoderLayer: nhead not dividing dModel', run: () => new TransformerEncoderLayer(10, 3), throws: ShapeError, op: 'TransformerEncoderLayer', says: ['dModel (10)', 'nhead (3)'] },
  { name: 'TransformerEncoderLayer: an unknown activation', run: () => new TransformerEncoderLayer(8, 2, { activation: 'tanh' as 'relu' }), throws: DLError, op: 'TransformerEncoderLayer', says: ["'relu', 'gelu' or a function", '"tanh"'] },
  { name: 'TransformerEncoderLayer: input of another width', run: () => new TransformerEncoderLayer(8, 2, { batchFirst: true }).forward(randn([2, 5, 6])), throws: ShapeError, op: 'TransformerEncoderLayer', says: ['expected src [B,S,8]', 'batchFirst true', 'got [2,5,6]'] },
  { name: 'TransformerEncoderLayer: a bad src mask', run: () => new TransformerEncoderLayer(8, 2).forward(randn([5, 2, 8]), { srcMask: zeros([4, 4]) }), throws: ShapeError, op: 'self_attn (MultiheadAttention)', says: ['attnMask must be [5,5]', 'got [4,4]'] },
  { name: 'TransformerDecoderLayer: memory of another batch', run: () => new TransformerDecoderLayer(8, 2).forward(randn([5, 2, 8]), randn([6, 3, 8])), throws: ShapeError, op: 'TransformerDecoderLayer', says: ['tgt [5,2,8]', 'memory [6,3,8]', 'one batch size'] },
  { name: 'TransformerDecoderLayer: int tgt', run: () => new TransformerDecoderLayer(8, 2).forward(zeros([5, 2, 8], { dtype: 'int32' }), randn([6, 2, 8])), throws: DTypeError, op: 'TransformerDecoderLayer', says: ['float tgt', 'int32 [5,2,8]'] },
  { name: 'Transformer: src and tgt of different batches', run: () => new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8, batchFirst: true }).forward(randn([2, 5, 8]), randn([3, 4, 8])), throws: ShapeError, op: 'Transformer', says: ['src [2,5,8]', 'tgt [3,4,8]', 'one batch size'] },
  { name: 'Transformer: features other than dModel', run: () => new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8 }).forward(randn([5, 2, 6]), randn([4, 2, 6])), throws: ShapeError, op: 'Transformer', says: ['dModel (8)', 'src [5,2,6]'] },

  // position encodings
  { name: 'SinusoidalPositionalEncoding: longer than maxLen', run: () => new SinusoidalPositionalEncoding(4, { maxLen: 6 }).forward(randn([1, 7, 4])), throws: ShapeError, op: 'SinusoidalPositionalEncoding', says: ['positions 0..6', 'length 7', 'maxLen 6'] },
  { name: 'LearnedPositionalEmbedding: past maxLen at an offset', run: () => new LearnedPositionalEmbedding(6, 4).forward(randn([1, 3, 4]), 4), throws: ShapeError, op: 'LearnedPositionalEmbedding', says: ['offset 4', 'maxLen 6'] },
  { name: 'RotaryEmbedding: an odd dim', run: () => new RotaryEmbedding(7), throws: DLError, op: 'RotaryEmbedding', says: ['even integer', 'got 7'] },
  { name: 'RotaryEmbedding: heads narrower than dim', run: () => new RotaryEmbedding(8).forward(randn([2, 5, 4])), throws: ShapeError, op: 'RotaryEmbedding', says: ['D >= dim 8', 'got [2,5,4]'] },

  // GPT
  { name: 'GPT: nEmbd not divisible by nHead', run: () => new GPT({ nEmbd: 10, nHead: 3, vocabSize: 5, blockSize: 4, nLayer: 1 }), throws: ShapeError, op: 'GPT', says: ['config.nEmbd (10)', 'config.nHead (3)'] },
  { name: 'GPT: a sequence longer than blockSize', run: () => gpt().forward(zeros([1, 9], { dtype: 'int32' })), throws: ShapeError, op: 'GPT', says: ['length 9', 'blockSize is only 8', '[1,9]'] },
  { name: 'GPT: a token id outside the vocabulary', run: () => gpt().forward(ids([[1, 2], [3, 20]])), throws: IndexError, op: 'GPT', says: ['token id 20', '[1,1]', 'vocabulary [0, 20)'] },
  { name: 'GPT: a negative token id', run: () => gpt().forward(ids([[-1]])), throws: IndexError, op: 'GPT', says: ['token id -1', '[0, 20)'] },
  { name: 'GPT: float ids', run: () => gpt().forward(zeros([1, 3])), throws: DTypeError, op: 'GPT', says: ['int32 token ids', 'float32 [1,3]'] },
  { name: 'GPT: 1-D ids', run: () => gpt().forward(zeros([3], { dtype: 'int32' })), throws: ShapeError, op: 'GPT', says: ['[B,T]', 'got [3]'] },
  { name: 'GPT: targets of another shape', run: () => gpt().forward(ids([[1, 2, 3]]), ids([[1, 2]])), throws: ShapeError, op: 'GPT', says: ['targets must be int32 [1,3]', 'int32 [1,2]'] },
  {
    name: 'GPT: the cache overflowing blockSize',
    run: () => {
      const m = gpt();
      const cache = m.newCache(1);
      m.forwardCached(ids([[1, 2, 3, 4, 5, 6]]), cache);
      return m.forwardCached(ids([[1, 2, 3]]), cache);
    },
    throws: ShapeError,
    op: 'GPT',
    says: ['6 cached + 3 new tokens', 'blockSize 8'],
  },
  { name: 'generate: a prompt token outside the vocabulary', run: () => gpt().generate([[1, 25]], { maxNewTokens: 2 }), throws: IndexError, op: 'GPT.generate', says: ['token id 25', '[0,1]', '[0, 20)'] },
  { name: 'generate: a negative temperature', run: () => gpt().generate([[1]], { maxNewTokens: 2, temperature: -1 }), throws: DLError, op: 'GPT.generate', says: ['temperature', '>= 0', 'got -1'] },
  { name: 'generate: topK 0', run: () => gpt().generate([[1]], { maxNewTokens: 2, topK: 0 }), throws: DLError, op: 'GPT.generate', says: ['topK', 'got 0'] },
  { name: 'generate: topP 0', run: () => gpt().generate([[1]], { maxNewTokens: 2, topP: 0 }), throws: DLError, op: 'GPT.generate', says: ['topP must be in (0, 1]', 'got 0'] },
  { name: 'generate: a fractional maxNewTokens', run: () => gpt().generate([[1]], { maxNewTokens: 2.5 }), throws: DLError, op: 'GPT.generate', says: ['maxNewTokens', 'got 2.5'] },
  { name: 'generate: a stop token outside the vocabulary', run: () => gpt().generate([[1]], { maxNewTokens: 2, stop: [3, 99] }), throws: IndexError, op: 'GPT.generate', says: ['stop', '[0, 20)', 'got 99'] },
  { name: 'generate: rows of different lengths', run: () => gpt().generate([[1, 2], [3]], { maxNewTokens: 2 }), throws: ShapeError, op: 'GPT.generate', says: ['one length', '2, 1'] },

  // GPT-2 folders
  { name: 'fromPretrained: config.json\'s n_embd disagrees with the weights', run: folder((c) => (c.n_embd = 64)), throws: ConfigError, op: 'GPT.fromPretrained', says: ['n_embd 64', 'transformer.wte.weight is [256,32]', 'transformer.wpe.weight is [48,32]'] },
  { name: 'fromPretrained: config.json has more layers than the weights', run: folder((c) => (c.n_layer = 3)), throws: ConfigError, op: 'GPT.fromPretrained', says: ['n_layer 3', '2 blocks (h.0, h.1)'] },
  { name: 'fromPretrained: config.json\'s vocab_size disagrees', run: folder((c) => (c.vocab_size = 50257)), throws: ConfigError, op: 'GPT.fromPretrained', says: ['vocab_size 50257', '[256,32]'] },
  { name: 'fromPretrained: tensors missing from the checkpoint', run: folder((_, t) => { delete t['transformer.h.1.mlp.c_fc.bias']; delete t['transformer.ln_f.weight']; }), throws: StateDictError, op: 'loadStateDict (GPT)', says: ['missing keys', 'transformer.h.1.mlp.c_fc.bias', 'transformer.ln_f.weight'] },
  { name: 'fromPretrained: an unexpected and a misshapen tensor', run: folder((_, t) => { t['transformer.h.0.extra.weight'] = zeros([2]); t['transformer.h.0.ln_1.bias'] = zeros([31]); }), throws: StateDictError, op: 'loadStateDict (GPT)', says: ['unexpected keys: transformer.h.0.extra.weight', 'transformer.h.0.ln_1.bias: expected [32], got [31]'] },
  { name: 'fromPretrained: config.json without n_head', run: folder((c) => delete c.n_head), throws: ConfigError, op: 'GPT.fromPretrained', says: ["no 'n_head'"] },
  { name: 'fromPretrained: an activation it does not know', run: folder((c) => (c.activation_function = 'quick_gelu')), throws: ConfigError, op: 'GPT.fromPretrained', says: ['activation_function "quick_gelu"', 'gelu_new'] },
  { name: 'fromPretrained: scale_attn_by_inverse_layer_idx', run: folder((c) => (c.scale_attn_by_inverse_layer_idx = true)), throws: ConfigError, op: 'GPT.fromPretrained', says: ['scale_attn_by_inverse_layer_idx is true', 'only false'] },
  { name: 'fromPretrained: another model type', run: folder((c) => (c.model_type = 'llama')), throws: ConfigError, op: 'GPT.fromPretrained', says: ['model_type is "llama"', "'gpt2'"] },
  { name: 'fromPretrained: a folder without model.safetensors', run: () => GPT.fromPretrained(mkdtempSync(join(scratch, 'empty-'))), throws: DLError, op: 'GPT.fromPretrained', says: ['config.json', 'ENOENT'] },
];

describe('bad input', () => {
  runSweep({ describe, it }, '@dl/transformer', cases);
});
