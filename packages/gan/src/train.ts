/**
 * One GAN training step (a discriminator update, then a generator update, as PyTorch's DCGAN
 * example) and `GANTrainer`, which holds the two nets, their two Adam optimizers and the random
 * stream of the latent vectors, so the same seed gives the same training run.
 */
import { backward } from '@dl/autograd';
import { Adam, type Module, type Optimizer } from '@dl/layers';
import { DLError, Generator as RNG, ShapeError, fmt, randint, randn, scope, type GeneratorState, type Tensor } from '@dl/tensor';
import type { Discriminator, Generator } from './dcgan.js';
import { discriminatorLoss, generatorLoss, type GANLoss } from './losses.js';

/** What one step reports: 0-d tensors (read them with `await t.item()` or `.data()` when needed). */
export interface GANStepResult {
  /** the discriminator's loss before its update */
  lossD: Tensor;
  /** the generator's loss (on the updated discriminator) before its update */
  lossG: Tensor;
  /** mean D(x) = sigmoid(logit) over the real batch, before D's update */
  dReal: Tensor;
  /** mean D(G(z)) over the fakes, before D's update (PyTorch example's D(G(z)) first figure) */
  dFake: Tensor;
}

/** Inputs of `ganStep`. */
export interface GANStepInputs {
  netG: Generator;
  netD: Discriminator;
  optG: Optimizer;
  optD: Optimizer;
  /** a batch of real images (N, C, S, S), scaled to [-1, 1] like the generator's tanh */
  real: Tensor;
  /** the real images' classes, int32 (N); conditional nets only */
  labels?: Tensor;
  /** the latent vectors (N, latentDim) */
  z: Tensor;
  /** the classes asked of the generator, int32 (N); conditional nets only */
  fakeLabels?: Tensor;
  /** 'nonSaturating' */
  loss?: GANLoss;
}

/** Runs f with every parameter of `net` set not to require grad, then restores each one's flag. */
function withFrozen<T>(net: Module, f: () => T): T {
  const params = net.parameters();
  const flags = params.map((p) => p.requiresGrad);
  for (const p of params) p.requiresGrad_(false);
  try {
    return f();
  } finally {
    params.forEach((p, i) => p.requiresGrad_(flags[i]));
  }
}

/**
 * One DCGAN step: G makes fakes from z; D takes one Adam step on its loss over the real batch and
 * the detached fakes (so no gradient reaches G); then G takes one step on its loss over the same
 * fakes, scored by the updated D, whose parameters are frozen for that pass (afterwards D's `.grad`
 * holds the gradients of its own loss, those `optD` stepped with). D sees the real and the fake
 * batch in separate forwards, so its batch norm normalises each on its own, as in PyTorch's
 * example. Runs in the caller's scope;
 * `GANTrainer.step` draws z and wraps it in one.
 *
 *   const r = ganStep({ netG, netD, optG, optD, real, z: randn([real.shape[0], 64]) });
 *   console.log(await r.lossD.item(), await r.lossG.item());
 */
export function ganStep({ netG, netD, optG, optD, real, labels, z, fakeLabels, loss = 'nonSaturating' }: GANStepInputs): GANStepResult {
  if (z.shape[0] !== real.shape[0]) throw new ShapeError('ganStep', `z has ${z.shape[0]} rows but the real batch has ${real.shape[0]} images; z=${fmt(z.shape)} real=${fmt(real.shape)}`);
  const fake = netG.forward(z, fakeLabels); // (N, C, S, S)

  // discriminator: real -> 1, fake -> 0
  optD.zeroGrad();
  const realLogits = netD.forward(real, labels); // (N)
  const fakeLogitsD = netD.forward(fake.detach(), fakeLabels); // (N)
  const lossD = discriminatorLoss(realLogits, fakeLogitsD, loss);
  backward(lossD);
  optD.step();

  // generator: through the updated discriminator, whose parameters are frozen meanwhile, so the
  // backward pass computes D's input gradients only (not its weight gradients, which nothing uses)
  optG.zeroGrad();
  const lossG = withFrozen(netD, () => {
    const l = generatorLoss(netD.forward(fake, fakeLabels), loss);
    backward(l);
    return l;
  });
  optG.step();

  return { lossD: lossD.detach(), lossG: lossG.detach(), dReal: realLogits.detach().sigmoid().mean(), dFake: fakeLogitsD.detach().sigmoid().mean() };
}

/** Settings of `GANTrainer`; DCGAN's values by default. */
export interface GANTrainerOptions {
  /** 2e-4; Adam learning rate of both nets */
  lr?: number;
  /** [0.5, 0.999]; Adam betas of both nets (beta1 0.5 as the DCGAN paper) */
  betas?: [number, number];
  /** 'nonSaturating' */
  loss?: GANLoss;
  /** 0; seed of the trainer's own random stream (z and the generator's classes) */
  seed?: number;
}

/**
 * Trains a generator against a discriminator: two Adam optimizers and a random stream of its own
 * (`noise`, a @dl/tensor `Generator`) for the latent vectors and, for conditional nets, the
 * classes asked of the generator. Two trainers built with the same seed (and nets built after
 * the same `manualSeed`) go through the same steps and make the same images; `noise.getState()`
 * goes into a checkpoint so a resumed run continues the same stream.
 *
 *   manualSeed(0);
 *   const trainer = new GANTrainer(new Generator(), new Discriminator(), { seed: 0 });
 *   for (const [x] of loader) {
 *     const r = trainer.step(x.mul(2).sub(1));            // images in [-1, 1]
 *     r.lossD.dispose(); ...
 *   }
 */
export class GANTrainer {
  readonly optG: Adam;
  readonly optD: Adam;
  readonly noise: RNG;
  readonly loss: GANLoss;

  constructor(
    readonly netG: Generator,
    readonly netD: Discriminator,
    { lr = 2e-4, betas = [0.5, 0.999], loss = 'nonSaturating', seed = 0 }: GANTrainerOptions = {},
  ) {
    const kg = netG.config.numClasses;
    const kd = netD.config.numClasses;
    if (kg !== kd) throw new DLError('GANTrainer', `the generator has numClasses ${kg} but the discriminator ${kd}; both must be conditional on the same classes, or neither`);
    if (netG.config.channels !== netD.config.channels || netG.config.imageSize !== netD.config.imageSize) {
      throw new ShapeError(
        'GANTrainer',
        `the generator makes [N,${netG.config.channels},${netG.config.imageSize},${netG.config.imageSize}] images but the discriminator takes [N,${netD.config.channels},${netD.config.imageSize},${netD.config.imageSize}]`,
      );
    }
    this.optG = new Adam(netG.parameters(), { lr, betas });
    this.optD = new Adam(netD.parameters(), { lr, betas });
    this.loss = loss;
    this.noise = new RNG(seed);
  }

  /** Latent vectors (n, latentDim) from the trainer's stream, on `device`. */
  latent(n: number, device = 'cpu'): Tensor {
    return randn([n, this.netG.config.latentDim], { generator: this.noise, device });
  }

  /**
   * One step on a batch of real images (N, C, S, S) in [-1, 1] (with their classes, int32 (N),
   * for conditional nets): draws z (and the generator's classes, uniformly) from `noise`, then
   * runs `ganStep`. Intermediate tensors are freed; the returned ones belong to the caller.
   *
   *   const { lossD, lossG } = trainer.step(real);
   */
  step(real: Tensor, labels?: Tensor): GANStepResult {
    return scope(() => {
      const n = real.shape[0];
      const z = this.latent(n, real.device); // (N, latentDim)
      const k = this.netG.config.numClasses;
      const fakeLabels = k > 0 ? randint(0, k, [n], { generator: this.noise, device: real.device }) : undefined; // (N)
      return ganStep({ netG: this.netG, netD: this.netD, optG: this.optG, optD: this.optD, real, labels, z, fakeLabels, loss: this.loss });
    });
  }

  /** The stream's position, for checkpoints (restore with `setNoiseState`). */
  noiseState(): GeneratorState {
    return this.noise.getState();
  }

  /** Continues the stream from a `noiseState()` (a resumed run draws what the uninterrupted one would). */
  setNoiseState(state: GeneratorState): void {
    this.noise.setState(state);
  }
}
