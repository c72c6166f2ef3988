// A small encoder-decoder learns to reverse digit strings, which it can do only by reading the
// source through cross-attention: trained here to exact-match accuracy, then decoded with another
// row's memory it writes that row's reversal.
import { backward, noGrad } from '@dl/autograd';
import { Adam, Embedding, Linear, Module, crossEntropy } from '@dl/layers';
import { Generator, cat, full, manualSeed, randint, type Tensor } from '@dl/tensor';
import { expect, it } from 'vitest';
import { SinusoidalPositionalEncoding } from './position.js';
import { Transformer } from './transformer.js';

const N = 6; // digits per string
const BOS = 10; // the decoder's start token; vocabulary: digits 0-9 and BOS
const D = 32;

class Reverser extends Module {
  srcEmb = new Embedding(11, D);
  tgtEmb = new Embedding(11, D);
  pos = new SinusoidalPositionalEncoding(D, { maxLen: N + 1 });
  transformer = new Transformer({ dModel: D, nhead: 4, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 64, dropout: 0, batchFirst: true });
  head = new Linear(D, 11);

  // embeddings are not scaled by sqrt(D) (the tutorial's habit): with N(0, 1) rows that would
  // drown the positions, which reversing depends on
  encode(src: Tensor): Tensor {
    return this.transformer.encoder.forward(this.pos.forward(this.srcEmb.forward(src))); // (B, N, D)
  }
  decode(tgtIn: Tensor, memory: Tensor): Tensor {
    const h = this.transformer.decoder.forward(this.pos.forward(this.tgtEmb.forward(tgtIn)), memory, { tgtIsCausal: true });
    return this.head.forward(h); // (B, T, 11)
  }
  forward(src: Tensor, tgtIn: Tensor): Tensor {
    return this.decode(tgtIn, this.encode(src));
  }
}

/** Greedy decoding of N digits from the memory: (B, N) int32. */
function greedy(model: Reverser, memory: Tensor): Tensor {
  let out = full([memory.shape[0], 1], BOS, { dtype: 'int32' });
  for (let t = 0; t < N; t++) {
    const logits = model.decode(out, memory); // (B, t + 1, 11)
    out = cat([out, logits.select(1, t).argmax(-1, true).int()], 1);
  }
  return out.narrow(1, 1, N);
}

const exactMatch = (a: Tensor, b: Tensor): number => a.eq(b).int().sum(1).eq(N).float().mean().item();

it('an nn.Transformer-style encoder-decoder learns to reverse 6-digit strings (exact match), through cross-attention', () => {
  manualSeed(0);
  const model = new Reverser();
  const opt = new Adam(model.parameters(), { lr: 3e-3 });
  const g = new Generator(1);
  for (let step = 0; step < 200; step++) {
    const src = randint(0, 10, [64, N], { generator: g }).int();
    const tgt = src.flip(1); // (B, N) the reversal
    const tgtIn = cat([full([64, 1], BOS, { dtype: 'int32' }), tgt.narrow(1, 0, N - 1)], 1); // teacher forcing
    const loss = crossEntropy(model.forward(src, tgtIn).reshape([64 * N, 11]), tgt.reshape([64 * N]));
    opt.zeroGrad();
    backward(loss);
    opt.step();
  }
  model.eval();
  noGrad(() => {
    const src = randint(0, 10, [200, N], { generator: new Generator(99) }).int();
    const memory = model.encode(src);
    const acc = exactMatch(greedy(model, memory), src.flip(1));
    // every row decoded with the next row's memory
    const rolled = cat([memory.narrow(0, 1, 199), memory.narrow(0, 0, 1)], 0);
    const rolledSrc = cat([src.narrow(0, 1, 199), src.narrow(0, 0, 1)], 0);
    const fromRolled = greedy(model, rolled);
    const accRolled = exactMatch(fromRolled, rolledSrc.flip(1));
    const accOwn = exactMatch(fromRolled, src.flip(1));
    console.log(`reverse 6 digits: exact match ${acc.toFixed(3)}; with the next row's memory: ${accRolled.toFixed(3)} of that row's reversal, ${accOwn.toFixed(3)} of its own`);
    expect(acc).toBeGreaterThanOrEqual(0.95);
    expect(accRolled).toBeGreaterThanOrEqual(0.95);
    expect(accOwn).toBeLessThan(0.05);
  });
});
