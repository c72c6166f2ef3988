// Position encodings against PyTorch references (fixtures), and the MLP blocks against their formulas.
import { backward } from '@dl/autograd';
import { manualSeed, matmul, randn, zeros } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { MLP, SwiGLU } from './mlp.js';
import { LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding, sinusoidalTable } from './position.js';
import { assertClose, maxAbsDiff, small } from './test-helpers.js';

describe('position encodings', () => {
  it('sinusoidalTable is the PyTorch transformer tutorial\'s table; the module adds it at an offset, batch- or sequence-first', () => {
    assertClose(sinusoidalTable(12, 6), small('sinusoidal.pe'), 'pe', { rtol: 0, atol: 1e-6 });
    const pe = small('sinusoidal.pe');
    const x = randn([2, 4, 6]);
    assertClose(new SinusoidalPositionalEncoding(6, { maxLen: 12 }).forward(x, 3), x.add(pe.narrow(0, 3, 4)), 'batch first', { atol: 1e-6 });
    const xs = randn([4, 2, 6]);
    assertClose(new SinusoidalPositionalEncoding(6, { maxLen: 12, batchFirst: false }).forward(xs), xs.add(pe.narrow(0, 0, 4).unsqueeze(1)), 'sequence first', { atol: 1e-6 });
    expect(Object.keys(new SinusoidalPositionalEncoding(6).stateDict())).toEqual([]);
  });

  it('RotaryEmbedding equals LLaMA\'s rotate-half rotary embedding, whole and partial (4 of 8 channels) at offset 3', () => {
    const x = small('rotary.x');
    assertClose(new RotaryEmbedding(8).forward(x), small('rotary.full'), 'full', { atol: 1e-6 });
    assertClose(new RotaryEmbedding(4).forward(x, 3), small('rotary.partial_offset3'), 'partial', { atol: 1e-6 });
  });

  it('with rotary embeddings, q . k depends only on the distance between the positions', () => {
    manualSeed(1);
    const rope = new RotaryEmbedding(16);
    const q = randn([1, 16]);
    const k = randn([1, 16]);
    const dot = (m: number, n: number) => matmul(rope.forward(q, m), rope.forward(k, n).T).item();
    expect(dot(5, 2)).toBeCloseTo(dot(13, 10), 4);
    expect(dot(0, 0)).toBeCloseTo(dot(40, 40), 4);
    expect(Math.abs(dot(5, 2) - dot(5, 3))).toBeGreaterThan(1e-3);
  });

  it('LearnedPositionalEmbedding adds rows offset.. of its table and trains them', () => {
    const pos = new LearnedPositionalEmbedding(10, 4);
    const x = zeros([2, 3, 4]);
    const y = pos.forward(x, 2);
    expect(maxAbsDiff(y.select(0, 1), pos.weight.narrow(0, 2, 3))).toBe(0);
    backward(y.sum());
    expect([...pos.weight.grad!.sum(1).dataSync()]).toEqual([0, 0, 8, 8, 8, 0, 0, 0, 0, 0]);
  });
});

describe('MLP blocks', () => {
  it('MLP is fc2(act(fc1(x))) for each activation; SwiGLU is w2(silu(w1 x) * w3 x)', () => {
    manualSeed(2);
    const x = randn([2, 3, 8]);
    for (const [activation, f] of [['gelu', (t: typeof x) => t.gelu()], ['geluTanh', (t: typeof x) => t.gelu('tanh')], ['relu', (t: typeof x) => t.relu()]] as const) {
      const mlp = new MLP(8, 16, { activation });
      const want = matmul(f(matmul(x, mlp.fc1.weight.T).add(mlp.fc1.bias!)), mlp.fc2.weight.T).add(mlp.fc2.bias!);
      expect(maxAbsDiff(mlp.forward(x), want), activation).toBeLessThan(1e-6);
    }
    const ffn = new SwiGLU(8, 12);
    const want = matmul(matmul(x, ffn.w1.weight.T).silu().mul(matmul(x, ffn.w3.weight.T)), ffn.w2.weight.T);
    expect(maxAbsDiff(ffn.forward(x), want)).toBeLessThan(1e-6);
    expect(Object.keys(ffn.stateDict())).toEqual(['w1.weight', 'w2.weight', 'w3.weight']);
  });
});
