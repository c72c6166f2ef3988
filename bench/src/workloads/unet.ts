/** The U-Net of `dl train unet-seg`, built from @dl/unet as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import { Adam, crossEntropy } from '@dl/layers';
import { UNet } from '@dl/unet';
import type { Step } from './types.js';

/**
 * One training step of apps/sample's unet-seg model (segConfig(8): channels 8-16-32-64, GroupNorm,
 * SiLU, strided-conv downsampling, nearest + conv upsampling, 11 classes) on 64x64 scenes:
 * per-pixel cross-entropy, Adam. (The task adds a soft Dice term; the step here is the model's.)
 */
export function unetSegStep(batch = 16): Step {
  const model = new UNet({ inChannels: 1, outChannels: 11, baseChannels: 8, channelMults: [1, 2, 4, 8], numResBlocks: 1, norm: 'group', normGroups: 4, activation: 'silu' });
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const x = dl.rand([batch, 1, 64, 64]);
  const y = dl.randint(0, 11, [batch, 64, 64]);
  return {
    name: `U-Net segmentation train step (64x64, channels 8-16-32-64, batch ${batch}, Adam)`,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        backward(crossEntropy(model.forward(x), y));
        opt.step();
      }),
  };
}
