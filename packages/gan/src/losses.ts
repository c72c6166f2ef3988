/**
 * GAN objectives on discriminator logits (real > 0). With D(x) = sigmoid(logit):
 *
 *   loss            discriminator                              generator
 *   nonSaturating   -log D(x) - log(1 - D(G(z)))  (BCE)        -log D(G(z))
 *   minimax         the same                                   log(1 - D(G(z)))   (Goodfellow's original)
 *   hinge           relu(1 - D_logit(x)) + relu(1 + D_logit(G(z)))   -D_logit(G(z))
 *
 * Each term is a mean over the batch; the discriminator loss is the sum of the real and the fake
 * mean, as PyTorch's DCGAN example (errD = errD_real + errD_fake). -log sigmoid(t) = softplus(-t)
 * and -log(1 - sigmoid(t)) = softplus(t), which stay finite for large |t|.
 *
 * References: Goodfellow et al. 2014 (minimax, and the non-saturating generator loss),
 * https://arxiv.org/abs/1406.2661; Lim & Ye 2017 and Miyato et al. 2018 (hinge).
 */
import { DLError, DTypeError, isFloat, type Tensor } from '@dl/tensor';

/** The GAN objective: 'nonSaturating' (DCGAN's), 'hinge' or 'minimax' (the original game). */
export type GANLoss = 'nonSaturating' | 'hinge' | 'minimax';

export const GAN_LOSSES: readonly GANLoss[] = ['nonSaturating', 'hinge', 'minimax'];

function check(op: string, loss: string, logits: Record<string, Tensor>): void {
  if (!GAN_LOSSES.includes(loss as GANLoss)) throw new DLError(op, `loss must be one of ${GAN_LOSSES.map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(loss)}`);
  for (const [name, t] of Object.entries(logits)) {
    if (!isFloat(t.dtype)) throw new DTypeError(op, `expected float ${name} logits, got ${t.dtype} [${t.shape.join(',')}]`);
    if (t.size === 0) throw new DLError(op, `${name} logits are empty ([${t.shape.join(',')}]); the losses are means over the batch`);
  }
}

/**
 * The discriminator's loss: mean over real logits plus mean over fake logits (see the table
 * above). Give the fake logits of detached generator outputs, so no gradient reaches G.
 *
 *   const lossD = discriminatorLoss(netD.forward(real), netD.forward(fake.detach())); // scalar
 */
export function discriminatorLoss(realLogits: Tensor, fakeLogits: Tensor, loss: GANLoss = 'nonSaturating'): Tensor {
  check('discriminatorLoss', loss, { real: realLogits, fake: fakeLogits });
  if (loss === 'hinge') return realLogits.neg().add(1).relu().mean().add(fakeLogits.add(1).relu().mean());
  // BCE with target 1 on real, 0 on fake
  return realLogits.neg().softplus().mean().add(fakeLogits.softplus().mean());
}

/**
 * The generator's loss on the discriminator's logits of generated images (see the table above).
 *
 *   const lossG = generatorLoss(netD.forward(netG.forward(z))); // scalar; minimise over G
 */
export function generatorLoss(fakeLogits: Tensor, loss: GANLoss = 'nonSaturating'): Tensor {
  check('generatorLoss', loss, { fake: fakeLogits });
  if (loss === 'hinge') return fakeLogits.mean().neg();
  // minimax: mean log(1 - D(G(z))) = -mean softplus(t), which saturates where D rejects the fakes
  if (loss === 'minimax') return fakeLogits.softplus().mean().neg();
  return fakeLogits.neg().softplus().mean(); // BCE with target 1: -log D(G(z))
}
