/**
 * @dl/unet: U-Nets for segmentation (the 2015 U-Net) and diffusion (the DDPM denoiser), and the
 * blocks they are made of.
 */
export {
  UNet,
  ResBlock,
  AttentionBlock,
  Downsample2D,
  Upsample2D,
  DownBlock,
  MidBlock,
  UpBlock,
  TimestepEmbedding,
  timestepEmbedding,
  type UNetConfig,
  type ResolvedUNetConfig,
  type ResBlockOptions,
  type NormKind,
  type ActivationKind,
} from './unet.js';
