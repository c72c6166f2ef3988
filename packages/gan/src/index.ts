/**
 * @dl/gan: DCGAN generator and discriminator (optionally class-conditional), the GAN losses and
 * a seeded training step, on @dl/layers.
 */
export {
  Generator,
  Discriminator,
  dcganInit,
  dcganLayout,
  GENERATOR_DEFAULTS,
  DISCRIMINATOR_DEFAULTS,
  type GeneratorConfig,
  type DiscriminatorConfig,
  type DiscriminatorConditioning,
} from './dcgan.js';
export { discriminatorLoss, generatorLoss, GAN_LOSSES, type GANLoss } from './losses.js';
export { ganStep, GANTrainer, type GANStepInputs, type GANStepResult, type GANTrainerOptions } from './train.js';
