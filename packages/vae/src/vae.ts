/**
 * A variational autoencoder: an encoder maps an image x to a diagonal Gaussian q(z|x) =
 * N(mu, exp(logvar)), a decoder maps a latent z to p(x|z) (Bernoulli logits or Gaussian means), and
 * training minimises the negative evidence lower bound
 *
 *   -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I))
 *
 * with one reparameterised draw z = mu + exp(logvar / 2) * eps per image. `beta` weights the KL
 * term (beta-VAE); at beta = 1 the loss is the negative ELBO in nats. The MLP at its defaults is
 * PyTorch's examples/vae (784-400-20); the conv net is two stride-2 4x4 convs down and two
 * transposed convs up (258k parameters at the defaults). Parameter names are those of
 * ../fixtures/vae_torch.py, the PyTorch transcription the tests compare against.
 *
 * References:
 * 1) "Auto-Encoding Variational Bayes", Kingma & Welling 2013, https://arxiv.org/abs/1312.6114
 * 2) "beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework", Higgins et al. 2017
 * 3) PyTorch's examples/vae/main.py
 */
import { Conv2d, ConvTranspose2d, Flatten, Linear, Module, ReLU, Sequential, Unflatten, bceWithLogits, param, type Layer } from '@dl/layers';
import { DLError, DTypeError, ShapeError, fmt, isFloat, randn, zeros, type Generator, type Tensor } from '@dl/tensor';

const HALF_LOG_2PI = 0.9189385332046727; // log(sqrt(2 pi))

/** Settings of a VAE; every field has a default (`VAEOptions`). */
export interface VAEConfig {
  /** 'mlp'; 'conv': stride-2 4x4 convs down to (H/2^k, W/2^k), transposed convs back up */
  arch: 'mlp' | 'conv';
  /** [1, 28, 28]; (C, H, W) of the images; 'conv' needs H and W divisible by 2^channels.length */
  imageShape: [number, number, number];
  /** 20; size of the latent z */
  latentDim: number;
  /** [400]; widths of the MLP encoder's hidden layers (the decoder mirrors them); 'mlp' only */
  hidden: number[];
  /** [32, 64]; channels of the conv encoder's stride-2 convs (the decoder mirrors them); 'conv' only */
  channels: number[];
  /** 'bernoulli': the decoder gives logits, -log p(x|z) is the summed binary cross-entropy (x in [0, 1]); 'gaussian': it gives means */
  likelihood: 'bernoulli' | 'gaussian';
  /** 'learned'; the Gaussian decoder's standard deviation: one learned scalar (`logscale`), or a fixed number */
  decoderStd: 'learned' | number;
  /** 1; weight of the KL term in `loss` (beta-VAE: > 1 for more disentangled latents, < 1 for sharper reconstructions) */
  beta: number;
}

export type VAEOptions = Partial<VAEConfig>;

const DEFAULTS: VAEConfig = { arch: 'mlp', imageShape: [1, 28, 28], latentDim: 20, hidden: [400], channels: [32, 64], likelihood: 'bernoulli', decoderStd: 'learned', beta: 1 };

/** The terms of the negative ELBO of a batch: per-image sums over pixels (or latents), averaged over the batch, in nats. */
export interface ElboTerms {
  /** reconstruction + beta * kl: what to minimise (the negative ELBO at beta = 1) */
  loss: Tensor;
  /** -log p(x|z) at one reparameterised z per image */
  reconstruction: Tensor;
  /** KL(q(z|x) || N(0, I)), in closed form */
  kl: Tensor;
}

/** Where a VAE's random draws come from (the global generator when absent). */
export interface DrawOptions {
  generator?: Generator;
}

/** Options of `elbo`. */
export interface ElboOptions extends DrawOptions {
  /** the config's beta; another weight of the KL term for this call (KL warm-up schedules) */
  beta?: number;
  /** the standard normal draw (N, latentDim) to use instead of drawing one (common random numbers, tests against PyTorch) */
  eps?: Tensor;
}

/**
 * The closed-form KL(N(mu, exp(logvar)) || N(0, I)) of each row, summed over the latent:
 * -0.5 * sum(1 + logvar - mu^2 - exp(logvar)).
 *
 *   gaussianKl(mu, logvar); // (N) for mu, logvar (N, D)
 */
export function gaussianKl(mu: Tensor, logvar: Tensor): Tensor {
  return logvar.add(1).sub(mu.square()).sub(logvar.exp()).sum(-1).mul(-0.5); // (N)
}

/**
 * The reparameterisation trick: mu + exp(logvar / 2) * eps with eps ~ N(0, I), differentiable in
 * mu and logvar.
 *
 *   const z = reparameterize(mu, logvar, { generator: new Generator(0) }); // (N, D)
 */
export function reparameterize(mu: Tensor, logvar: Tensor, { generator, eps }: DrawOptions & { eps?: Tensor } = {}): Tensor {
  if (eps && (eps.ndim !== mu.ndim || eps.shape.some((d, i) => d !== mu.shape[i]))) {
    throw new ShapeError('reparameterize', `eps must have the shape of mu ${fmt(mu.shape)}, got ${fmt(eps.shape)}`);
  }
  const e = eps ?? randn(mu.shape, { device: mu.device, dtype: mu.dtype, generator });
  return mu.add(logvar.mul(0.5).exp().mul(e));
}

/**
 * MLP encoder body: flatten, then Linear + ReLU for each hidden width. (N, C, H, W) -> (N, hidden[-1]).
 *
 *   mlpEncoder([1, 28, 28], [400]); // Flatten, Linear(784, 400), ReLU
 */
export function mlpEncoder(imageShape: readonly [number, number, number], hidden: readonly number[]): Sequential {
  const layers: (Module & Layer)[] = [new Flatten()];
  let width = imageShape[0] * imageShape[1] * imageShape[2];
  for (const h of hidden) {
    layers.push(new Linear(width, h), new ReLU());
    width = h;
  }
  return new Sequential(...layers);
}

/**
 * MLP decoder: Linear + ReLU for each hidden width (mirrored), then a Linear to every pixel,
 * unflattened. (N, latentDim) -> (N, C, H, W).
 *
 *   mlpDecoder([1, 28, 28], [400], 20); // Linear(20, 400), ReLU, Linear(400, 784), Unflatten
 */
export function mlpDecoder(imageShape: readonly [number, number, number], hidden: readonly number[], latentDim: number): Sequential {
  const layers: (Module & Layer)[] = [];
  let width = latentDim;
  for (const h of [...hidden].reverse()) {
    layers.push(new Linear(width, h), new ReLU());
    width = h;
  }
  layers.push(new Linear(width, imageShape[0] * imageShape[1] * imageShape[2]), new Unflatten(1, imageShape));
  return new Sequential(...layers);
}

/**
 * Conv encoder body: a 4x4 stride-2 conv + ReLU per channel count, then flatten.
 * (N, C, H, W) -> (N, channels[-1] * H/2^k * W/2^k), k = channels.length.
 *
 *   convEncoder([1, 28, 28], [32, 64]); // (N, 1, 28, 28) -> (N, 64 * 7 * 7)
 */
export function convEncoder(imageShape: readonly [number, number, number], channels: readonly number[]): Sequential {
  const layers: (Module & Layer)[] = [];
  let c = imageShape[0];
  for (const out of channels) {
    layers.push(new Conv2d(c, out, 4, { stride: 2, padding: 1 }), new ReLU()); // halves H and W
    c = out;
  }
  layers.push(new Flatten());
  return new Sequential(...layers);
}

/**
 * Conv decoder: Linear to (channels[-1], H/2^k, W/2^k) + ReLU, then a 4x4 stride-2 transposed
 * conv per channel count (mirrored), ReLU between them. (N, latentDim) -> (N, C, H, W).
 *
 *   convDecoder([1, 28, 28], [32, 64], 20); // (N, 20) -> (N, 64, 7, 7) -> (N, 32, 14, 14) -> (N, 1, 28, 28)
 */
export function convDecoder(imageShape: readonly [number, number, number], channels: readonly number[], latentDim: number): Sequential {
  const [c, h, w] = imageShape;
  const k = 2 ** channels.length;
  const last = channels[channels.length - 1];
  const layers: (Module & Layer)[] = [new Linear(latentDim, last * (h / k) * (w / k)), new ReLU(), new Unflatten(1, [last, h / k, w / k])];
  const ups = [...channels].reverse().slice(1).concat(c); // output channels of each transposed conv
  let cin = last;
  ups.forEach((out, i) => {
    layers.push(new ConvTranspose2d(cin, out, 4, { stride: 2, padding: 1 })); // doubles H and W
    if (i < ups.length - 1) layers.push(new ReLU());
    cin = out;
  });
  return new Sequential(...layers);
}

function positiveInts(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((n) => Number.isInteger(n) && n >= 1);
}

function checkConfig(c: VAEConfig): void {
  if (c.arch !== 'mlp' && c.arch !== 'conv') throw new DLError('VAE', `arch must be 'mlp' or 'conv', got ${JSON.stringify(c.arch)}`);
  if (!positiveInts(c.imageShape) || c.imageShape.length !== 3) throw new ShapeError('VAE', `imageShape must be [C, H, W] of positive integers, got ${JSON.stringify(c.imageShape)}`);
  if (!Number.isInteger(c.latentDim) || c.latentDim < 1) throw new ShapeError('VAE', `latentDim must be a positive integer, got ${c.latentDim}`);
  if (!positiveInts(c.hidden)) throw new ShapeError('VAE', `hidden must be a list of positive integers, got ${JSON.stringify(c.hidden)}`);
  if (!positiveInts(c.channels) || c.channels.length === 0) throw new ShapeError('VAE', `channels must be a non-empty list of positive integers, got ${JSON.stringify(c.channels)}`);
  if (c.arch === 'conv') {
    const k = 2 ** c.channels.length;
    const [, h, w] = c.imageShape;
    if (h % k || w % k) throw new ShapeError('VAE', `a conv VAE with ${c.channels.length} stride-2 convs needs H and W divisible by ${k}, got imageShape ${fmt(c.imageShape)}`);
  }
  if (c.likelihood !== 'bernoulli' && c.likelihood !== 'gaussian') throw new DLError('VAE', `likelihood must be 'bernoulli' or 'gaussian', got ${JSON.stringify(c.likelihood)}`);
  if (c.decoderStd !== 'learned' && !(typeof c.decoderStd === 'number' && c.decoderStd > 0 && Number.isFinite(c.decoderStd))) {
    throw new DLError('VAE', `decoderStd must be 'learned' or a positive number, got ${JSON.stringify(c.decoderStd)}`);
  }
  if (!(typeof c.beta === 'number' && c.beta >= 0 && Number.isFinite(c.beta))) throw new DLError('VAE', `beta must be a finite number >= 0, got ${c.beta}`);
}

/**
 * A VAE with a diagonal Gaussian posterior and a standard normal prior. x (N, C, H, W) ->
 * q(z|x) = N(mu, exp(logvar)), mu and logvar (N, latentDim); z (N, latentDim) -> the decoder's
 * output (N, C, H, W): Bernoulli logits or Gaussian means.
 *
 *   const vae = new VAE({ arch: 'conv', latentDim: 16 });
 *   const { loss, reconstruction, kl } = vae.elbo(x); // x (N, 1, 28, 28) in [0, 1]
 *   backward(loss);
 *   const digits = vae.sample(64); // (64, 1, 28, 28) Bernoulli means in [0, 1]
 */
export class VAE extends Module {
  readonly config: VAEConfig;
  /** x (N, C, H, W) -> features (N, F) */
  encoder: Sequential;
  /** features -> the posterior mean (N, latentDim) */
  mu: Linear;
  /** features -> the posterior log-variance (N, latentDim) */
  logvar: Linear;
  /** z (N, latentDim) -> logits or means (N, C, H, W) */
  decoder: Sequential;
  /** log of the Gaussian decoder's standard deviation (scalar; only when likelihood 'gaussian' and decoderStd 'learned') */
  logscale: Tensor | null;

  constructor(options: VAEOptions = {}) {
    super();
    const c: VAEConfig = { ...DEFAULTS, ...options };
    checkConfig(c);
    this.config = { ...c, imageShape: [...c.imageShape], hidden: [...c.hidden], channels: [...c.channels] };
    const { arch, imageShape, latentDim, hidden, channels } = this.config;
    const [ch, h, w] = imageShape;
    const k = 2 ** channels.length;
    this.encoder = arch === 'mlp' ? mlpEncoder(imageShape, hidden) : convEncoder(imageShape, channels);
    const features = arch === 'mlp' ? (hidden.length ? hidden[hidden.length - 1] : ch * h * w) : channels[channels.length - 1] * (h / k) * (w / k);
    this.mu = new Linear(features, latentDim);
    this.logvar = new Linear(features, latentDim);
    this.decoder = arch === 'mlp' ? mlpDecoder(imageShape, hidden, latentDim) : convDecoder(imageShape, channels, latentDim);
    this.logscale = c.likelihood === 'gaussian' && c.decoderStd === 'learned' ? param(zeros([])) : null;
  }

  /** The device the weights are on (where `sample` draws its latents). */
  get device(): string {
    return this.mu.weight.device;
  }

  #checkImages(op: string, x: Tensor): void {
    const [c, h, w] = this.config.imageShape;
    if (!isFloat(x.dtype)) throw new DTypeError(`${this.label()}.${op}`, `expected float images [N,${c},${h},${w}], got ${x.dtype} ${fmt(x.shape)}`);
    if (x.ndim !== 4 || x.shape[1] !== c || x.shape[2] !== h || x.shape[3] !== w) throw new ShapeError(`${this.label()}.${op}`, `expected images [N,${c},${h},${w}], got ${fmt(x.shape)}`);
  }

  /**
   * The posterior q(z|x): its mean and log-variance.
   *
   *   const { mu, logvar } = vae.encode(x); // (N, latentDim) each
   */
  encode(x: Tensor): { mu: Tensor; logvar: Tensor } {
    this.#checkImages('encode', x);
    const h = this.encoder.forward(x); // (N, F)
    return { mu: this.mu.forward(h), logvar: this.logvar.forward(h) }; // (N, D), (N, D)
  }

  /**
   * The decoder's output for latents z: Bernoulli logits, or Gaussian means.
   *
   *   const logits = vae.decode(randn([8, 20])); // (8, 1, 28, 28)
   */
  decode(z: Tensor): Tensor {
    const d = this.config.latentDim;
    if (!isFloat(z.dtype)) throw new DTypeError(`${this.label()}.decode`, `expected a float latent [N,${d}], got ${z.dtype} ${fmt(z.shape)}`);
    if (z.ndim !== 2 || z.shape[1] !== d) throw new ShapeError(`${this.label()}.decode`, `expected a latent [N,${d}] (latentDim ${d}), got ${fmt(z.shape)}`);
    return this.decoder.forward(z); // (N, C, H, W)
  }

  /** The mean of p(x|z) from the decoder's output: sigmoid(logits) for Bernoulli, the means for Gaussian. */
  #mean(out: Tensor): Tensor {
    return this.config.likelihood === 'bernoulli' ? out.sigmoid() : out;
  }

  /** -log p(x|z) summed over each image's pixels: (N). */
  #nll(out: Tensor, x: Tensor): Tensor {
    if (this.config.likelihood === 'bernoulli') return bceWithLogits(out, x, { reduction: 'none' }).flatten(1).sum(-1);
    const std = this.config.decoderStd;
    const logStd = this.logscale ?? Math.log(std as number);
    // 0.5 ((x - mean) / std)^2 + log std + log sqrt(2 pi), per pixel
    const z = typeof logStd === 'number' ? x.sub(out).div(std as number) : x.sub(out).mul(logStd.neg().exp());
    const perPixel = z.square().mul(0.5).add(logStd).add(HALF_LOG_2PI); // (N, C, H, W)
    return perPixel.flatten(1).sum(-1);
  }

  /**
   * The negative ELBO of a batch with one reparameterised draw per image: `loss` (what to
   * minimise), and its `reconstruction` and `kl` terms, each a per-image sum averaged over the
   * batch (nats). `beta` overrides the config's for this call (KL warm-up schedules); `eps` gives
   * the standard normal draw.
   *
   *   const { loss, reconstruction, kl } = vae.elbo(x, { generator: g });
   *   backward(loss);
   */
  elbo(x: Tensor, options: ElboOptions = {}): ElboTerms {
    return this.forward(x, options);
  }

  /** As `elbo` (the forward pass of a VAE is its training objective; errors inside name the layer's path). */
  forward(x: Tensor, { generator, beta = this.config.beta, eps }: ElboOptions = {}): ElboTerms {
    if (!(typeof beta === 'number' && beta >= 0 && Number.isFinite(beta))) throw new DLError(`${this.label()}.elbo`, `beta must be a finite number >= 0, got ${beta}`);
    const { mu, logvar } = this.encode(x); // (N, D)
    const z = reparameterize(mu, logvar, { generator, eps }); // (N, D)
    const reconstruction = this.#nll(this.decoder.forward(z), x).mean(); // scalar
    const kl = gaussianKl(mu, logvar).mean(); // scalar
    return { loss: reconstruction.add(kl.mul(beta)), reconstruction, kl };
  }

  /**
   * n images from the prior: z ~ N(0, I), then the mean of p(x|z) (Bernoulli: probabilities in [0, 1]).
   *
   *   const digits = vae.sample(100, { generator: new Generator(0) }); // (100, 1, 28, 28)
   */
  sample(n: number, { generator }: DrawOptions = {}): Tensor {
    if (!Number.isInteger(n) || n < 0) throw new ShapeError(`${this.label()}.sample`, `n must be a non-negative integer, got ${n}`);
    const z = randn([n, this.config.latentDim], { device: this.device, generator }); // (n, D)
    return this.#mean(this.decode(z)); // (n, C, H, W)
  }

  /**
   * Reconstructions: the mean of p(x|z) at the posterior mean z = mu (no draw).
   *
   *   const xr = vae.reconstruct(x); // (N, C, H, W)
   */
  reconstruct(x: Tensor): Tensor {
    return this.#mean(this.decode(this.encode(x).mu)); // (N, C, H, W)
  }

  /** The mean of p(x|z) for latents z (N, latentDim): decode, then sigmoid for Bernoulli. */
  decodeMean(z: Tensor): Tensor {
    return this.#mean(this.decode(z));
  }

  protected override extraRepr(): string {
    const { arch, latentDim, likelihood, beta } = this.config;
    return `arch=${arch}, latentDim=${latentDim}, likelihood=${likelihood}${beta !== 1 ? `, beta=${beta}` : ''}`;
  }
}
