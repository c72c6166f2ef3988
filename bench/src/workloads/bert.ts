/** The BERT of `dl train bert-mlm`, built from @dl/bert as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import { AdamW, clipGradNorm, crossEntropy } from '@dl/layers';
import { BertForMaskedLM } from '@dl/bert';
import type { Step } from './types.js';

/**
 * One step of `dl train bert-mlm` at its defaults: BertForMaskedLM with 4 layers, 4 heads, 128
 * wide (feed-forward 512), 128 positions, vocabulary 8,000, no dropout; 16 windows of 128 tokens
 * with every 7th position chosen (14%, as the task's 15% draw); the encoder on every token and the
 * MLM head on the chosen ones; AdamW (no decay on biases and LayerNorms), gradients clipped to
 * norm 1. bench/torch/bert_mlm.py is the same step in PyTorch.
 */
export function bertMlmStep(batch = 16, seqLen = 128, vocabSize = 8000): Step {
  const H = 128;
  const model = new BertForMaskedLM({ vocabSize, hiddenSize: H, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 4 * H, maxPositionEmbeddings: seqLen, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 });
  const params = model.parameters();
  const opt = new AdamW(
    [
      { params: params.filter((p) => p.ndim >= 2), weightDecay: 0.01 },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ],
    { lr: 1e-3, betas: [0.9, 0.98], eps: 1e-6 },
  );
  const ids = dl.randint(5, vocabSize, [batch, seqLen], { device: 'cpu' }).dataSync() as Int32Array; // host data, then on the default device
  const positions: number[] = [];
  for (let b = 0; b < batch; b++) {
    ids[b * seqLen] = 2; // [CLS]
    ids[b * seqLen + seqLen - 1] = 3; // [SEP]
    for (let t = 1; t < seqLen - 1; t++) if (t % 7 === 3) positions.push(b * seqLen + t);
  }
  const inputIds = dl.tensor(ids, { shape: [batch, seqLen], dtype: 'int32' });
  const chosen = dl.tensor(Int32Array.from(positions), { dtype: 'int32' });
  const targets = dl.randint(5, vocabSize, [positions.length]).int();
  return {
    name: `bert-mlm train step (@dl/bert BertForMaskedLM, 4 layers, d=${H}, 4 heads, T=${seqLen}, vocabulary ${vocabSize}, batch ${batch}, head on ${positions.length} chosen positions, AdamW, clip 1)`,
    tokens: batch * seqLen,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        const { lastHiddenState } = model.bert.forward(inputIds); // (B, T, H)
        const logits = model.cls.forward(lastHiddenState.reshape([batch * seqLen, H]).indexSelect(0, chosen)); // (N, V)
        backward(crossEntropy(logits, targets));
        clipGradNorm(params, 1);
        opt.step();
      }),
  };
}
