/** The VAE of `dl train vae-mnist`, built from @dl/vae as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import { Adam } from '@dl/layers';
import { VAE } from '@dl/vae';
import type { Step } from './types.js';

/**
 * One training step of apps/sample's vae-mnist model (conv 16-32 encoder and mirrored decoder,
 * latent 20, Bernoulli decoder, 112,649 parameters) on 28x28 digits: the negative ELBO with one
 * reparameterised draw per image, Adam.
 */
export function vaeMnistStep(batch = 64): Step {
  const model = new VAE({ arch: 'conv', channels: [16, 32], latentDim: 20 });
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const x = dl.rand([batch, 1, 28, 28]);
  const generator = new dl.Generator(0);
  return {
    name: `VAE MNIST train step (conv 16-32, latent 20, Bernoulli decoder, batch ${batch}, Adam)`,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        backward(model.elbo(x, { generator }).loss);
        opt.step();
      }),
  };
}
