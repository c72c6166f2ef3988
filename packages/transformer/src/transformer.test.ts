// The nn.Transformer family against torch 1.13's own modules (fixtures): PyTorch's state dicts load
// strictly, and outputs and every gradient match, for post- and pre-norm, relu and gelu, batch-first
// and sequence-first layouts, bool and float masks, key padding masks and the stacked forms.
import { backward } from '@dl/autograd';
import { MultiheadAttention as LayersMultiheadAttention, type Module } from '@dl/layers';
import { manualSeed, randn, tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { MultiheadAttention } from './multihead.js';
import { Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, type TransformerLayerOptions } from './transformer.js';
import { LayerNorm } from '@dl/layers';
import { assertClose, maxAbsDiff, small, smallGroup, smallMeta } from './test-helpers.js';

type Settings = TransformerLayerOptions & { dModel: number; nhead: number; numLayers?: number; numEncoderLayers?: number; numDecoderLayers?: number };

/** snake_case fixture kwargs -> this package's call options */
const CAMEL: Record<string, string> = {
  src_mask: 'srcMask',
  src_key_padding_mask: 'srcKeyPaddingMask',
  tgt_mask: 'tgtMask',
  memory_mask: 'memoryMask',
  tgt_key_padding_mask: 'tgtKeyPaddingMask',
  memory_key_padding_mask: 'memoryKeyPaddingMask',
};

const CASES: [string, (s: Settings) => Module & { forward(...a: never[]): Tensor }, number][] = [
  ['enc_post', (s) => new TransformerEncoderLayer(s.dModel, s.nhead, { ...s, dropout: 0 }), 1],
  ['enc_pre_gelu_seq_first', (s) => new TransformerEncoderLayer(s.dModel, s.nhead, { ...s, dropout: 0 }), 1],
  ['dec_post', (s) => new TransformerDecoderLayer(s.dModel, s.nhead, { ...s, dropout: 0 }), 2],
  ['dec_pre_seq_first', (s) => new TransformerDecoderLayer(s.dModel, s.nhead, { ...s, dropout: 0 }), 2],
  ['encoder_stack', (s) => new TransformerEncoder(new TransformerEncoderLayer(s.dModel, s.nhead, { ...s, dropout: 0 }), s.numLayers!, { norm: new LayerNorm(s.dModel) }), 1],
  ['transformer', (s) => new Transformer({ ...s, dropout: 0 }), 2],
];

describe('nn.Transformer family against PyTorch 1.13', () => {
  it.each(CASES)('%s: PyTorch\'s state dict loads strictly; output, input and parameter gradients match', (name, make, nInputs) => {
    const model = make(smallMeta<Settings>(name));
    model.loadStateDict(smallGroup(`${name}.param`), { strict: true });
    const inputs = Array.from({ length: nInputs }, (_, i) => small(`${name}.in${i}`).clone().requiresGrad_());
    const opts: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(smallGroup(`${name}.kw`))) opts[CAMEL[k]] = v;
    const y = (model.forward as (...a: unknown[]) => Tensor)(...inputs, opts);
    assertClose(y, small(`${name}.y`), `${name} output`, { rtol: 1e-4, atol: 2e-5 });
    backward(y.mul(small(`${name}.r`)).sum());
    inputs.forEach((x, i) => assertClose(x.grad!, small(`${name}.grad_in${i}`), `${name} grad of input ${i}`, { rtol: 1e-3, atol: 1e-4 }));
    const grads = smallGroup(`${name}.grad`);
    const ours = new Map(model.namedParameters());
    expect([...ours.keys()].sort()).toEqual(Object.keys(grads).sort());
    for (const [k, g] of Object.entries(grads)) assertClose(ours.get(k)!.grad!, g, `${name} grad of ${k}`, { rtol: 1e-3, atol: 1e-4 });
  });

  it('TransformerEncoder copies a layer instance with its weights (as PyTorch\'s deep copies); a factory makes independent layers', () => {
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const copies = new TransformerEncoder(layer, 3);
    const w = copies.layers.map((l) => l.linear1.weight);
    expect(maxAbsDiff(w[0], w[2])).toBe(0);
    expect(w[0]).not.toBe(w[2]);
    const fresh = new TransformerDecoder(() => new TransformerDecoderLayer(8, 2, { dimFeedforward: 16 }), 2);
    expect(maxAbsDiff(fresh.layers[0].linear1.weight, fresh.layers[1].linear1.weight)).toBeGreaterThan(0);
    expect(Object.keys(fresh.stateDict())).toContain('layers.1.multihead_attn.out_proj.weight');
  });

  it('generateSquareSubsequentMask is PyTorch\'s: 0 on and below the diagonal, -Infinity above', () => {
    expect(Transformer.generateSquareSubsequentMask(3).toArray()).toEqual([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
  });
});

describe('MultiheadAttention through scaledDotProductAttention', () => {
  it('needWeights: false gives @dl/layers\' explicit result for self- and cross-attention with every kind of mask', () => {
    manualSeed(11);
    const fused = new MultiheadAttention(16, 4);
    const plain = new LayersMultiheadAttention(16, 4);
    plain.loadStateDict(fused.stateDict());
    const x = randn([2, 5, 16]);
    const mem = randn([2, 7, 16]);
    const pad = tensor([[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 1]]).bool();
    const floatMask = randn([5, 5]);
    const boolMask = randn([2 * 4, 5, 7]).gt(0.8); // true = not allowed
    const calls: [Tensor, Tensor, Parameters<MultiheadAttention['forward']>[3]][] = [
      [x, x, { isCausal: true }],
      [x, x, { attnMask: floatMask, isCausal: true }],
      [x, mem, { keyPaddingMask: pad }],
      [x, mem, { attnMask: boolMask, keyPaddingMask: pad }],
    ];
    for (const [q, kv, opts] of calls) {
      const [a, wa] = fused.forward(q, kv, kv, { ...opts, needWeights: false });
      const [b] = plain.forward(q, kv, kv, opts);
      expect(wa).toBeNull();
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    }
    // with weights asked for, it is @dl/layers' own path
    const [, w] = fused.forward(x, mem, mem, { keyPaddingMask: pad });
    expect(w!.shape).toEqual([2, 5, 7]);
  });
});
