/** The MNIST CNN and the character-level GPT of the benchmarks, built from @dl/layers as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import type { Step } from './types.js';
import { Adam, AdamW, Conv2d, Embedding, Flatten, GELU, LayerNorm, Linear, MaxPool2d, Module, ModuleList, MultiheadAttention, ReLU, Sequential, crossEntropy } from '@dl/layers';

/** conv16-pool-conv32-pool-fc128-fc10 on 28x28 digits. */
export function mnistCnn(): Sequential {
  return new Sequential(
    new Conv2d(1, 16, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Conv2d(16, 32, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(32 * 7 * 7, 128), new ReLU(), new Linear(128, 10),
  );
}

class Block extends Module {
  ln1: LayerNorm;
  attn: MultiheadAttention;
  ln2: LayerNorm;
  mlp: Sequential;
  constructor(d: number, heads: number) {
    super();
    this.ln1 = new LayerNorm(d);
    this.attn = new MultiheadAttention(d, heads);
    this.ln2 = new LayerNorm(d);
    this.mlp = new Sequential(new Linear(d, 4 * d), new GELU(), new Linear(4 * d, d));
  }
  forward(x: dl.Tensor): dl.Tensor {
    const h = this.ln1.forward(x);
    const [a] = this.attn.forward(h, h, h, { isCausal: true, needWeights: false });
    x = x.add(a); // (B, T, d)
    return x.add(this.mlp.forward(this.ln2.forward(x)));
  }
}

/** A GPT-2-style character model: token + position embeddings, pre-norm blocks, a vocab head. */
export class CharGpt extends Module {
  tok: Embedding;
  pos: Embedding;
  blocks: ModuleList;
  lnF: LayerNorm;
  head: Linear;
  constructor(readonly vocab: number, readonly d: number, heads: number, layers: number, readonly blockSize: number) {
    super();
    this.tok = new Embedding(vocab, d);
    this.pos = new Embedding(blockSize, d);
    this.blocks = new ModuleList(Array.from({ length: layers }, () => new Block(d, heads)));
    this.lnF = new LayerNorm(d);
    this.head = new Linear(d, vocab);
  }
  forward(idx: dl.Tensor): dl.Tensor {
    const T = idx.shape[1];
    let x = this.tok.forward(idx).add(this.pos.forward(dl.arange(0, T))); // (B, T, d)
    for (const b of this.blocks) x = (b as Block).forward(x);
    return this.head.forward(this.lnF.forward(x)); // (B, T, vocab)
  }
}


export function mnistStep(batch = 64): Step {
  const model = mnistCnn();
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const x = dl.randn([batch, 1, 28, 28]);
  const y = dl.randint(0, 10, [batch]);
  return {
    name: `MNIST CNN train step (batch ${batch}, Adam)`,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        backward(crossEntropy(model.forward(x) as dl.Tensor, y));
        opt.step();
      }),
  };
}

export function gptStep(batch = 12): Step {
  const [vocab, d, heads, layers, T] = [65, 128, 4, 4, 64];
  const model = new CharGpt(vocab, d, heads, layers, T);
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const idx = dl.randint(0, vocab, [batch, T]);
  const tgt = dl.randint(0, vocab, [batch, T]);
  return {
    name: `char GPT train step (4 layers, d=128, 4 heads, T=64, batch ${batch}, AdamW)`,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        const logits = model.forward(idx); // (B, T, vocab)
        backward(crossEntropy(logits.reshape([batch * T, vocab]), tgt.reshape([batch * T])));
        opt.step();
      }),
  };
}
