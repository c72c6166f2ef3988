/** The DCGAN of `dl train gan-mnist`, built from @dl/gan as a user would. */
import * as dl from '@dl/tensor';
import { Discriminator, GANTrainer, Generator } from '@dl/gan';
import type { Step } from './types.js';

/**
 * One training step of apps/sample's gan-mnist model (DCGAN for 28x28: G 533,888 and D 138,624
 * parameters, z of 64): a discriminator update on a real batch and detached fakes, then a
 * generator update through the updated discriminator, Adam 2e-4 (0.5, 0.999) on both,
 * non-saturating loss; z drawn fresh each step.
 */
export function ganMnistStep(batch = 64): Step {
  const trainer = new GANTrainer(new Generator(), new Discriminator(), { seed: 0 });
  const real = dl.rand([batch, 1, 28, 28]).mul(2).sub(1);
  return {
    name: `DCGAN MNIST train step (G 0.53M + D 0.14M parameters, z 64, batch ${batch}, D then G, Adam)`,
    run: () => {
      const r = trainer.step(real);
      for (const t of Object.values(r)) t.dispose();
    },
  };
}
