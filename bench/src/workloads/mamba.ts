/** The character Mamba of `dl train mamba-char`, built from @dl/mamba as a user would. */
import { MambaLM } from '@dl/mamba';
import { charLmStep } from './gpt.js';
import type { Step } from './types.js';

/**
 * One step of `dl train mamba-char`: a Mamba of 7 layers at width 128 (d_state 16, d_conv 4,
 * expand 2) over Moby-Dick's 89 characters, 12 windows of `blockSize` characters, AdamW (no decay
 * on A_log, D, biases, norms), gradients clipped to norm 1: gpt-char's step with the other model.
 */
export function mambaCharStep(batch = 12, blockSize = 64): Step {
  const model = new MambaLM({ dModel: 128, nLayer: 7, vocabSize: 89, dState: 16 });
  return charLmStep(model, `mamba-char train step (@dl/mamba MambaLM, 7 layers, d=128, N=16, T=${blockSize}, batch ${batch}, AdamW, clip 1; fused selective scan)`, batch, blockSize);
}
