/** The character Mamba of `dl train mamba-char`, built from @dl/mamba as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import { AdamW, clipGradNorm } from '@dl/layers';
import { MambaLM } from '@dl/mamba';
import type { Step } from './types.js';

/**
 * One step of `dl train mamba-char`: a Mamba of 7 layers at width 128 (d_state 16, d_conv 4,
 * expand 2) over Moby-Dick's 89 characters, 12 windows of `blockSize` characters, AdamW (no decay
 * on A_log, D, biases, norms), gradients clipped to norm 1: gpt-char's step with the other model.
 */
export function mambaCharStep(batch = 12, blockSize = 64): Step {
  const model = new MambaLM({ dModel: 128, nLayer: 7, vocabSize: 89, dState: 16 });
  const opt = new AdamW(model.paramGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const x = dl.randint(0, 89, [batch, blockSize]);
  const y = dl.randint(0, 89, [batch, blockSize]);
  return {
    name: `mamba-char train step (@dl/mamba MambaLM, 7 layers, d=128, N=16, T=${blockSize}, batch ${batch}, AdamW, clip 1; fused selective scan)`,
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
