/** The character GPT of `dl train gpt-char`, built from @dl/transformer as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import { AdamW, clipGradNorm, type Module, type ParamGroupInput } from '@dl/layers';
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

/** What gpt-char's step needs of a character language model (GPT, MambaLM). */
export interface CharLM extends Module {
  forward(x: dl.Tensor, y: dl.Tensor): { loss: dl.Tensor };
  paramGroups(weightDecay: number): ParamGroupInput<{ weightDecay: number }>[];
}

/**
 * One step of apps/sample's char-lm loop for `model`: `batch` random windows of `blockSize` of
 * Moby-Dick's 89 characters, AdamW with the model's groups (decay 0.1), gradients clipped to norm 1.
 */
export function charLmStep(model: CharLM, name: string, batch: number, blockSize: number): Step {
  const opt = new AdamW(model.paramGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const x = dl.randint(0, 89, [batch, blockSize]);
  const y = dl.randint(0, 89, [batch, blockSize]);
  return {
    name,
    tokens: batch * blockSize,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        backward(model.forward(x, y).loss);
        clipGradNorm(model.parameters(), 1);
        opt.step();
      }),
  };
}

/**
 * One step of `dl train gpt-char`: 12 windows of 64 characters, AdamW with nanoGPT's groups,
 * gradients clipped to norm 1; `blockSize` other than 64 makes the block (and the windows) that long.
 */
export function gptCharStep(batch = 12, blockSize = 64): Step {
  const model = new GPT(gptCharConfig(blockSize));
  return charLmStep(model, `gpt-char train step (@dl/transformer GPT, 4 layers, d=128, 4 heads, T=${blockSize}, batch ${batch}, AdamW, clip 1)`, batch, blockSize);
}
