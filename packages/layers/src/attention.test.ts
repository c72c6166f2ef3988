import { zeros } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { MultiheadAttention } from './attention.js';
import { checkLayerCase, assertClose, fixture, under } from './test-helpers.js';

describe('MultiheadAttention', () => {
  it('matches PyTorch with key padding and attention masks (output, weights, gradients)', () => {
    const c = under(fixture('layers'), 'mha');
    const mha = new MultiheadAttention(8, 2);
    checkLayerCase('mha', mha, (q, k, v) => mha.forward(q, k, v, { keyPaddingMask: c.kpm, attnMask: c.am })[0]);
    const [, w] = mha.forward(c.x, c.x1, c.x2, { keyPaddingMask: c.kpm, attnMask: c.am });
    assertClose(w!, c.weights, 'mha: averaged weights');
  });

  it('matches PyTorch causal self-attention (isCausal)', () => {
    const mha = new MultiheadAttention(8, 4);
    checkLayerCase('mha_causal', mha, (x) => mha.forward(x, x, x, { isCausal: true, needWeights: false })[0]);
  });

  it('uses PyTorch parameter names', () => {
    expect(Object.keys(new MultiheadAttention(8, 2).stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
  });

  it('checks embed size and heads', () => {
    expect(() => new MultiheadAttention(10, 3)).toThrow(/divisible by numHeads/);
    const m = new MultiheadAttention(8, 2);
    expect(() => m.forward(zeros([2, 3, 6]), zeros([2, 3, 6]), zeros([2, 3, 6]))).toThrow('MultiheadAttention: query must be [B, L, 8] (batch first), got [2,3,6] (query [2,3,6], key [2,3,6], value [2,3,6])');
  });
});
