/** The DCGAN of `dl train gan-mnist`, built from @dl/gan as a user would. */
import * as dl from '@dl/tensor';
import { Discriminator, GANTrainer, Generator } from '@dl/gan';
import type { Step } from './types.js';

/**
 * One training step of apps/sample's gan-mnist model (DCGAN for 28x28 at width 32: G 234,176 and
 * D 36,544 parameters, z of 64; width 64 is the 0.53M + 0.14M DCGAN of ANCHORS.md): a
 * discriminator update on a real batch and detached fakes, then a generator update through the
 * updated discriminator, Adam 2e-4 (0.5, 0.999) on both, non-saturating loss; z drawn fresh each step.
 */
export function ganMnistStep(batch = 64, width = 32): Step {
  const netG = new Generator({ width });
  const netD = new Discriminator({ width });
  const trainer = new GANTrainer(netG, netD, { seed: 0 });
  const real = dl.rand([batch, 1, 28, 28]).mul(2).sub(1);
  const m = (n: number) => `${(n / 1e6).toFixed(2)}M`;
  return {
    name: `DCGAN MNIST train step (width ${width}: G ${m(netG.numParameters())} + D ${m(netD.numParameters())} parameters, z 64, batch ${batch}, D then G, Adam)`,
    run: () => {
      const r = trainer.step(real);
      for (const t of Object.values(r)) t.dispose();
    },
  };
}
