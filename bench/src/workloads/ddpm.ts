/** The class-conditional DDPM of `dl train ddpm-mnist`, built from @dl/diffusion and @dl/unet as a user would. */
import * as dl from '@dl/tensor';
import { DiffusionTrainer, GaussianDiffusion } from '@dl/diffusion';
import { UNet } from '@dl/unet';
import type { Step } from './types.js';

/**
 * One training step of apps/sample's ddpm-mnist model (a U-Net of 16-32-32 channels, one
 * ResBlock a level, time and class embeddings, GroupNorm, SiLU; 263,729 parameters) on 28x28
 * digits: uniform timesteps of a T = 1000 linear schedule, the noise's MSE with 10% of the labels
 * dropped to "no class", Adam 2e-3, then the EMA update.
 */
export function ddpmMnistStep(batch = 64): Step {
  const config = { baseChannels: 16, channelMults: [1, 2, 2], numResBlocks: 1, timeEmbedding: true, numClasses: 10 };
  const unet = new UNet(config);
  const trainer = new DiffusionTrainer(new GaussianDiffusion(unet, { imageShape: [1, 28, 28] }), { lr: 2e-3, averaged: new UNet(config), ema: { decay: 0.995 }, seed: 0 });
  const x0 = dl.rand([batch, 1, 28, 28]).mul(2).sub(1);
  const labels = dl.randint(0, 10, [batch]);
  return {
    name: `DDPM MNIST train step (U-Net 16-32-32, 0.26M parameters, time + class embedding, batch ${batch}, Adam + EMA)`,
    run: () => trainer.step(x0, labels).dispose(),
  };
}
