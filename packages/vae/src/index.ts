/**
 * @dl/vae: variational autoencoders (MLP or convolutional encoders and decoders, Gaussian latent,
 * Bernoulli or Gaussian decoder, beta-VAE) and their building blocks, on @dl/layers.
 */
export {
  VAE,
  gaussianKl,
  reparameterize,
  mlpEncoder,
  mlpDecoder,
  convEncoder,
  convDecoder,
  type VAEConfig,
  type VAEOptions,
  type ElboTerms,
  type ElboOptions,
  type DrawOptions,
} from './vae.js';
