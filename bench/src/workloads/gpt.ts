/** The character GPT of `dl train gpt-char`, built from @dl/transformer as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import { AdamW, clipGradNorm } from '@dl/layers';
import { GPT, type GPTConfig } from '@dl/transformer';
import type { Step } from './types.js';

/**
 * apps/sample's gpt-char model: nanoGPT's CPU size (4 layers, 4 heads, 128 wide, block 64) with
 * Moby-Dick's 89 characters, exact GELU, biases, no dropout; `blockSize` is longer for the
 * generation rows.
 */
export function gptCharConfig(blockSize = 64): Partial<GPTConfig> {
  return { vocabSize: 89, blockSize, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: true, activation: 'gelu' };
}

/** One step of `dl train gpt-char`: 12 windows of 64 characters, AdamW with nanoGPT's groups, gradients clipped to norm 1. */
export function gptCharStep(batch = 12): Step {
  const model = new GPT(gptCharConfig());
  const opt = new AdamW(model.paramGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const T = model.config.blockSize;
  const x = dl.randint(0, 89, [batch, T]);
  const y = dl.randint(0, 89, [batch, T]);
  return {
    name: `gpt-char train step (@dl/transformer GPT, 4 layers, d=128, 4 heads, T=${T}, batch ${batch}, AdamW, clip 1)`,
    tokens: batch * T,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        backward(model.forward(x, y).loss);
        clipGradNorm(model.parameters(), 1);
        opt.step();
      }),
  };
}
