/**
 * DCGAN: a generator of transposed convolutions and a discriminator of strided convolutions, each
 * with batch norm, as PyTorch's `examples/dcgan/main.py` (the `netG`/`netD` there), for square
 * images of any side 4 * 2^k or 7 * 2^k (64 as the example, 32, and 28 for MNIST). Both hold
 * their layers in one `Sequential` called `main`, so the parameter names are the example's
 * (`main.0.weight`, `main.1.running_mean`, ...): the example's 64x64 checkpoints load unchanged
 * (its final Sigmoid is left out here; the losses take logits).
 *
 * Optional class conditioning: the generator concatenates a label embedding to z; the
 * discriminator either adds a projection term <embed(y), features> to its logit (Miyato & Koyama)
 * or reads the label as an extra input channel.
 *
 * References:
 * 1) "Unsupervised Representation Learning with Deep Convolutional Generative Adversarial
 *    Networks", Radford et al. 2015, https://arxiv.org/abs/1511.06434
 * 2) "cGANs with Projection Discriminator", Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637
 * 3) PyTorch's examples/dcgan, which the unconditional layers follow layer for layer
 */
import { noGrad } from '@dl/autograd';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Embedding, LeakyReLU, Module, ReLU, Sequential, Tanh, init, type Layer } from '@dl/layers';
import { DLError, DTypeError, ShapeError, cat, fmt, randint, randn, type Generator as RNG, type Tensor } from '@dl/tensor';

/** Settings of `Generator`; every field is optional in the constructor. */
export interface GeneratorConfig {
  /** 64; length of the latent vector z (the PyTorch example uses 100) */
  latentDim: number;
  /** 1; channels of the images (3 for colour) */
  channels: number;
  /** 28; side of the square images: 4 * 2^k or 7 * 2^k, k >= 1 (8, 14, 16, 28, 32, 56, 64, ...) */
  imageSize: number;
  /** 64; channels before the last layer (the example's ngf); each earlier layer has twice as many */
  width: number;
  /** 0 = unconditional; otherwise forward takes labels in [0, numClasses) */
  numClasses: number;
  /** 10; length of the label embedding concatenated to z (conditional only) */
  embedDim: number;
}

/** How a conditional `Discriminator` reads the label. */
export type DiscriminatorConditioning = 'projection' | 'channel';

/** Settings of `Discriminator`; every field is optional in the constructor. */
export interface DiscriminatorConfig {
  /** 1; channels of the images */
  channels: number;
  /** 28; side of the square images: 4 * 2^k or 7 * 2^k, k >= 1 */
  imageSize: number;
  /** 64; channels after the first conv (the example's ndf); each later conv doubles them */
  width: number;
  /** 0 = unconditional; otherwise forward takes labels in [0, numClasses) */
  numClasses: number;
  /**
   * 'projection'; conditional only. 'projection' adds <embed(y), h> to the logit, h being the
   * flattened features the last conv reads; 'channel' appends embed(y), an imageSize x imageSize
   * map per class, to the image as one more input channel.
   */
  conditioning: DiscriminatorConditioning;
}

export const GENERATOR_DEFAULTS: GeneratorConfig = { latentDim: 64, channels: 1, imageSize: 28, width: 64, numClasses: 0, embedDim: 10 };
export const DISCRIMINATOR_DEFAULTS: DiscriminatorConfig = { channels: 1, imageSize: 28, width: 64, numClasses: 0, conditioning: 'projection' };

/**
 * The side the first generator layer makes (4 or 7) and the number of 2x upsamplings after it:
 * 28 = 7 * 2^2, 64 = 4 * 2^4. Throws for a side that is not 4 * 2^k or 7 * 2^k with k >= 1.
 *
 *   dcganLayout('Generator', 32); // { base: 4, ups: 3 }
 */
export function dcganLayout(op: string, imageSize: number): { base: number; ups: number } {
  for (const base of [7, 4]) {
    for (let ups = 1, s = base * 2; s <= imageSize; ups++, s *= 2) if (s === imageSize) return { base, ups };
  }
  throw new ShapeError(op, `imageSize must be 4 * 2^k or 7 * 2^k with k >= 1 (8, 14, 16, 28, 32, 56, 64, ...), got ${imageSize}`);
}

function checkConfig(op: string, c: object, names: string[], allowZero: string[] = []): void {
  for (const k of names) {
    const v = (c as Record<string, unknown>)[k];
    const min = allowZero.includes(k) ? 0 : 1;
    if (!Number.isInteger(v) || (v as number) < min) throw new DLError(op, `${k} must be an integer >= ${min}, got ${String(v)}`);
  }
}

/**
 * Checks class labels against a net's conditioning: none for an unconditional net, int32 (N) in
 * [0, numClasses) for a conditional one (the range is checked by the embedding lookup).
 */
function checkLabels(op: string, numClasses: number, n: number, labels: Tensor | undefined): void {
  if (numClasses === 0) {
    if (labels !== undefined) throw new DLError(op, `got labels ${fmt(labels.shape)}, but the net is unconditional (numClasses 0); build it with numClasses to condition on classes`);
    return;
  }
  if (labels === undefined) throw new DLError(op, `the net is conditional (numClasses ${numClasses}): forward needs labels, int32 (N) in [0, ${numClasses})`);
  if (labels.dtype !== 'int32') throw new DTypeError(op, `expected int32 labels (N) in [0, ${numClasses}), got ${labels.dtype} ${fmt(labels.shape)}`);
  if (labels.ndim !== 1 || labels.shape[0] !== n) throw new ShapeError(op, `expected labels [${n}] (one per image), got ${fmt(labels.shape)}`);
}

/**
 * DCGAN's initialisation (the example's `weights_init`): every conv and transposed-conv weight
 * N(0, 0.02), batch-norm weights N(1, 0.02) and biases 0. Draws from the global generator
 * (`manualSeed`), so the same seed gives the same nets on every device.
 *
 *   dcganInit(new Sequential(new Conv2d(1, 8, 4), new BatchNorm2d(8)));
 */
export function dcganInit(net: Module): void {
  for (const m of net.modules()) {
    if (m instanceof Conv2d || m instanceof ConvTranspose2d) init.normal(m.weight, 0, 0.02);
    else if (m instanceof BatchNorm2d) {
      if (m.weight) init.normal(m.weight, 1, 0.02);
      if (m.bias) init.zeros(m.bias);
    }
  }
}

/**
 * The DCGAN generator: z (N, latentDim) -> images (N, channels, imageSize, imageSize) in [-1, 1].
 * A transposed conv maps z (as a 1x1 map) to base x base (4 or 7), then each block doubles the
 * side and halves the channels; batch norm and ReLU after every layer but the last (tanh).
 *
 *   const netG = new Generator({ latentDim: 64 });           // 533,888 parameters at 28x28
 *   netG.forward(randn([16, 64]));                           // (16, 1, 28, 28)
 *   new Generator({ numClasses: 10 }).forward(z, labels);    // class-conditional
 */
export class Generator extends Module {
  readonly config: GeneratorConfig;
  /** the label embedding concatenated to z; null when unconditional */
  embed: Embedding | null;
  main: Sequential;

  constructor(config: Partial<GeneratorConfig> = {}) {
    super();
    const c = (this.config = { ...GENERATOR_DEFAULTS, ...config });
    checkConfig('Generator', c, ['latentDim', 'channels', 'imageSize', 'width', 'numClasses', 'embedDim'], ['numClasses']);
    const { base, ups } = dcganLayout('Generator', c.imageSize);
    this.embed = c.numClasses > 0 ? new Embedding(c.numClasses, c.embedDim) : null;
    const inDim = c.latentDim + (this.embed ? c.embedDim : 0);
    let ch = c.width * 2 ** (ups - 1);
    // (N, inDim, 1, 1) -> (N, ch, base, base)
    const layers: (Module & Layer)[] = [new ConvTranspose2d(inDim, ch, base, { stride: 1, padding: 0, bias: false }), new BatchNorm2d(ch), new ReLU()];
    for (let i = 1; i < ups; i++) {
      // (N, ch, s, s) -> (N, ch / 2, 2s, 2s)
      layers.push(new ConvTranspose2d(ch, ch / 2, 4, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(ch / 2), new ReLU());
      ch /= 2;
    }
    // (N, width, S / 2, S / 2) -> (N, channels, S, S)
    layers.push(new ConvTranspose2d(ch, c.channels, 4, { stride: 2, padding: 1, bias: false }), new Tanh());
    this.main = new Sequential(...layers);
    dcganInit(this);
  }

  /**
   * z (N, latentDim) or (N, latentDim, 1, 1), labels int32 (N) when conditional -> images
   * (N, channels, imageSize, imageSize) in [-1, 1].
   */
  forward(z: Tensor, labels?: Tensor): Tensor {
    const { latentDim, numClasses } = this.config;
    const ok = (z.ndim === 2 || (z.ndim === 4 && z.shape[2] === 1 && z.shape[3] === 1)) && z.shape[1] === latentDim;
    if (!ok) throw new ShapeError(this.label(), `expected z [N,${latentDim}] or [N,${latentDim},1,1] (latentDim ${latentDim}), got ${fmt(z.shape)}`);
    this.checkFloat(z, 'z');
    const n = z.shape[0];
    checkLabels(this.label(), numClasses, n, labels);
    let h = z.reshape([n, latentDim]); // (N, latentDim)
    if (this.embed && labels) h = cat([h, this.embed.forward(labels)], 1); // (N, latentDim + embedDim)
    return this.main.forward(h.reshape([n, h.shape[1], 1, 1])); // (N, C, S, S)
  }

  /**
   * n images from fresh z drawn from `generator` (the global one by default), without gradients;
   * a conditional generator needs `labels` (n) or draws them uniformly from the same generator.
   * Batch norm uses the mode the net is in (`netG.eval()` for running statistics).
   *
   *   const g = new RNG(0);                                   // `Generator` of @dl/tensor
   *   const imgs = netG.sample(64, { generator: g });         // (64, 1, 28, 28), the same for the same seed
   */
  sample(n: number, { generator, labels, device }: { generator?: RNG; labels?: Tensor; device?: string } = {}): Tensor {
    if (!Number.isInteger(n) || n < 1) throw new DLError(`${this.label()}.sample`, `n must be a positive integer, got ${n}`);
    const dev = device ?? this.main.parameters()[0].device;
    const z = randn([n, this.config.latentDim], { generator, device: dev }); // (n, latentDim)
    const y = this.config.numClasses > 0 ? (labels ?? randint(0, this.config.numClasses, [n], { generator, device: dev })) : labels;
    return noGrad(() => this.forward(z, y));
  }

  protected override extraRepr(): string {
    const c = this.config;
    return `latentDim=${c.latentDim}, imageSize=${c.imageSize}, width=${c.width}${c.numClasses ? `, numClasses=${c.numClasses}` : ''}`;
  }
}

/**
 * The DCGAN discriminator: images (N, channels, imageSize, imageSize) -> logits (N) (real > 0).
 * Strided 4x4 convs halve the side and double the channels (LeakyReLU 0.2, batch norm after all
 * but the first), down to base x base (4 or 7); a base x base conv gives one logit.
 *
 *   const netD = new Discriminator();                                   // 138,624 parameters at 28x28
 *   netD.forward(x);                                                    // (N) for x (N, 1, 28, 28)
 *   new Discriminator({ numClasses: 10 }).forward(x, labels);           // projection discriminator
 */
export class Discriminator extends Module {
  readonly config: DiscriminatorConfig;
  /** conditional only: (numClasses, features) for 'projection', (numClasses, imageSize^2) for 'channel' */
  embed: Embedding | null;
  main: Sequential;

  constructor(config: Partial<DiscriminatorConfig> = {}) {
    super();
    const c = (this.config = { ...DISCRIMINATOR_DEFAULTS, ...config });
    checkConfig('Discriminator', c, ['channels', 'imageSize', 'width', 'numClasses'], ['numClasses']);
    if (c.conditioning !== 'projection' && c.conditioning !== 'channel') {
      throw new DLError('Discriminator', `conditioning must be 'projection' or 'channel', got ${JSON.stringify(c.conditioning)}`);
    }
    const { base, ups } = dcganLayout('Discriminator', c.imageSize);
    const channelLabel = c.numClasses > 0 && c.conditioning === 'channel';
    let ch = c.width;
    // (N, C (+1), S, S) -> (N, width, S / 2, S / 2)
    const layers: (Module & Layer)[] = [new Conv2d(c.channels + (channelLabel ? 1 : 0), ch, 4, { stride: 2, padding: 1, bias: false }), new LeakyReLU(0.2)];
    for (let i = 1; i < ups; i++) {
      // (N, ch, s, s) -> (N, 2ch, s / 2, s / 2)
      layers.push(new Conv2d(ch, 2 * ch, 4, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(2 * ch), new LeakyReLU(0.2));
      ch *= 2;
    }
    // (N, ch, base, base) -> (N, 1, 1, 1)
    layers.push(new Conv2d(ch, 1, base, { stride: 1, padding: 0, bias: false }));
    this.main = new Sequential(...layers);
    this.embed = c.numClasses === 0 ? null : new Embedding(c.numClasses, channelLabel ? c.imageSize * c.imageSize : ch * base * base);
    dcganInit(this);
    // the projection term is a second linear read-out of the same features as the last conv:
    // the same N(0, 0.02) start keeps the two at one scale (N(0, 1) over thousands of features
    // would swamp the logit); the channel embedding stays N(0, 1), at the scale of the pixels
    if (this.embed && !channelLabel) init.normal(this.embed.weight, 0, 0.02);
  }

  /** x (N, channels, imageSize, imageSize), labels int32 (N) when conditional -> logits (N). */
  forward(x: Tensor, labels?: Tensor): Tensor {
    const { channels, imageSize: s, numClasses, conditioning } = this.config;
    this.checkInput(x, [null, channels, s, s], ['N', 'C', 'H', 'W']);
    this.checkFloat(x);
    const n = x.shape[0];
    checkLabels(this.label(), numClasses, n, labels);
    if (!this.embed || !labels) return this.main.forward(x).reshape([n]); // (N)
    if (conditioning === 'channel') {
      const map = this.embed.forward(labels).reshape([n, 1, s, s]); // (N, 1, S, S)
      return this.main.forward(cat([x, map], 1)).reshape([n]); // (N)
    }
    const last = this.main.length - 1;
    let h = x;
    for (let i = 0; i < last; i++) h = this.main.at(i).forward(h); // ends (N, ch, base, base)
    const out = this.main.at(last).forward(h).reshape([n]); // (N)
    const proj = this.embed.forward(labels).mul(h.reshape([n, -1])).sum(1); // (N): <embed(y), h>
    return out.add(proj);
  }

  protected override extraRepr(): string {
    const c = this.config;
    return `imageSize=${c.imageSize}, width=${c.width}${c.numClasses ? `, numClasses=${c.numClasses}, conditioning=${c.conditioning}` : ''}`;
  }
}
