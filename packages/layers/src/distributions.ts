/**
 * Probability distributions as in torch.distributions: `Normal` and `Categorical`, with sample,
 * logProb and entropy, on any device. Values are not range-checked on construction (a host read
 * would stall a WebGPU step); `multinomial` checks probabilities when Categorical samples on CPU.
 */
import { DTypeError, DeviceError, IndexError, ShapeError, broadcastShapes, fmt, full, gather, isFloat, multinomial, randn, type Generator, type Tensor } from '@dl/tensor';

const HALF_LOG_2PI = 0.9189385332046727; // log(sqrt(2 pi))

/** Where a sample's randomness comes from (the global generator when absent). */
export interface SampleOptions {
  generator?: Generator;
}

function asFloat(op: string, name: string, x: Tensor | number, like?: Tensor): Tensor {
  if (typeof x === 'number') return full([], x, { device: like?.device, dtype: like?.dtype ?? 'float32' });
  if (!isFloat(x.dtype)) throw new DTypeError(op, `${name} must be a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
  return x;
}

function checkSampleShape(op: string, sampleShape: readonly number[]): void {
  if (!sampleShape.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(op, `sampleShape must hold non-negative integers, got ${fmt(sampleShape)}`);
}

/**
 * The normal distribution N(loc, scale^2), as torch.distributions.Normal; loc and scale broadcast
 * to the batch shape. `rsample` is reparameterised (loc + scale * eps), so gradients flow to loc and
 * scale; `sample` is detached.
 *
 *   const d = new Normal(mu, sigma);       // mu, sigma [B, D]
 *   const z = d.rsample();                 // [B, D], differentiable
 *   const lp = d.logProb(z).sum(-1);       // [B]
 *   new Normal(0, 1).sample([3], { generator: new Generator(0) }); // [3]
 */
export class Normal {
  readonly loc: Tensor;
  readonly scale: Tensor;
  readonly batchShape: number[];

  constructor(loc: Tensor | number, scale: Tensor | number) {
    const like = typeof loc === 'number' ? (typeof scale === 'number' ? undefined : scale) : loc;
    const l = asFloat('Normal', 'loc', loc, like);
    const s = asFloat('Normal', 'scale', scale, like);
    if (l.device !== s.device) {
      throw new DeviceError('Normal', `expected loc and scale on one device, got loc ${fmt(l.shape)} on ${l.device}, scale ${fmt(s.shape)} on ${s.device}`);
    }
    this.batchShape = broadcastShapes('Normal', l.shape, s.shape);
    this.loc = l.expand(this.batchShape);
    this.scale = s.expand(this.batchShape);
  }

  get mean(): Tensor {
    return this.loc;
  }
  get stddev(): Tensor {
    return this.scale;
  }
  get variance(): Tensor {
    return this.scale.square();
  }

  /**
   * Reparameterised draw of shape [...sampleShape, ...batchShape]: loc + scale * eps, eps ~ N(0, 1).
   *
   *   const z = new Normal(mu, logVar.mul(0.5).exp()).rsample(); // VAE latent
   */
  rsample(sampleShape: readonly number[] = [], opts: SampleOptions = {}): Tensor {
    checkSampleShape('Normal.rsample', sampleShape);
    const eps = randn([...sampleShape, ...this.batchShape], { device: this.loc.device, dtype: this.loc.dtype, generator: opts.generator });
    return this.loc.add(this.scale.mul(eps));
  }

  /**
   * A draw of shape [...sampleShape, ...batchShape] with no gradient.
   *
   *   new Normal(0, 2).sample([1000]);
   */
  sample(sampleShape: readonly number[] = [], opts: SampleOptions = {}): Tensor {
    checkSampleShape('Normal.sample', sampleShape);
    const eps = randn([...sampleShape, ...this.batchShape], { device: this.loc.device, dtype: this.loc.dtype, generator: opts.generator });
    return this.loc.detach().add(this.scale.detach().mul(eps));
  }

  /**
   * log density at `value` (broadcast against the batch shape).
   *
   *   new Normal(0, 1).logProb(tensor([0])); // [-0.9189]
   */
  logProb(value: Tensor | number): Tensor {
    const v = asFloat('Normal.logProb', 'value', value, this.loc);
    // -(v - loc)^2 / (2 scale^2) - log(scale) - log(sqrt(2 pi))
    const z = v.sub(this.loc).div(this.scale);
    return z.square().mul(-0.5).sub(this.scale.log()).sub(HALF_LOG_2PI);
  }

  /**
   * Differential entropy, batch-shaped: 0.5 + log(sqrt(2 pi)) + log(scale).
   *
   *   new Normal(0, 1).entropy(); // 1.4189
   */
  entropy(): Tensor {
    return this.scale.log().add(0.5 + HALF_LOG_2PI);
  }
}

/** Categorical's parameters: exactly one of probs (non-negative, any scale) or logits. */
export type CategoricalParams = { probs: Tensor; logits?: undefined } | { logits: Tensor; probs?: undefined };

/**
 * A distribution over categories 0..K-1 along the last dim, as torch.distributions.Categorical:
 * from `probs` (normalised along the last dim) or `logits` (unnormalised log-probabilities).
 * Samples are int32 of shape [...sampleShape, ...batchShape].
 *
 *   const d = new Categorical({ logits });   // logits [B, K]
 *   const a = d.sample();                    // [B] actions
 *   const loss = d.logProb(a).mul(adv).mean().neg().sub(d.entropy().mean().mul(0.01));
 */
export class Categorical {
  /** normalised probabilities [...batchShape, K] */
  readonly probs: Tensor;
  /** normalised log-probabilities [...batchShape, K] (logsumexp 0 along the last dim) */
  readonly logits: Tensor;
  readonly batchShape: number[];
  /** number of categories K */
  readonly numEvents: number;

  constructor(params: CategoricalParams) {
    const { probs, logits } = params ?? {};
    if ((probs === undefined) === (logits === undefined)) throw new ShapeError('Categorical', 'give exactly one of probs or logits');
    const p = (probs ?? logits) as Tensor;
    const name = probs ? 'probs' : 'logits';
    if (!isFloat(p.dtype)) throw new DTypeError('Categorical', `${name} must be a float tensor, got ${p.dtype} ${fmt(p.shape)}`);
    if (p.ndim < 1 || p.shape[p.ndim - 1] < 1) throw new ShapeError('Categorical', `${name} needs at least one category along its last dim, got ${fmt(p.shape)}`);
    this.numEvents = p.shape[p.ndim - 1];
    this.batchShape = p.shape.slice(0, -1);
    if (probs) {
      this.probs = probs.div(probs.sum(-1, true));
      // torch clamps to [eps, 1 - eps] so a zero probability has a finite logit
      const eps = probs.dtype === 'float64' ? 2.220446049250313e-16 : probs.dtype === 'float16' ? 0.0009765625 : 1.1920928955078125e-7;
      this.logits = this.probs.clamp(eps, 1 - eps).log();
    } else {
      this.logits = (logits as Tensor).sub((logits as Tensor).logsumexp(-1, true));
      this.probs = this.logits.softmax(-1);
    }
  }

  /**
   * Category indices, int32 [...sampleShape, ...batchShape], drawn with multinomial.
   *
   *   new Categorical({ probs: tensor([0.2, 0.8]) }).sample([5]); // e.g. [1, 1, 0, 1, 1]
   */
  sample(sampleShape: readonly number[] = [], opts: SampleOptions = {}): Tensor {
    checkSampleShape('Categorical.sample', sampleShape);
    const n = sampleShape.reduce((a, b) => a * b, 1);
    const outShape = [...sampleShape, ...this.batchShape];
    const rows = this.batchShape.reduce((a, b) => a * b, 1);
    if (n === 0 || rows === 0) return full(outShape, 0, { dtype: 'int32', device: this.probs.device });
    const s = multinomial(this.probs.detach().reshape([rows, this.numEvents]), n, { replacement: true, generator: opts.generator }); // (rows, n)
    return s.transpose(0, 1).reshape(outShape);
  }

  /**
   * log P(value): value holds category indices broadcastable against the batch shape.
   *
   *   d.logProb(tensor(new Int32Array([0, 2]))); // [B] for a batch of 2
   */
  logProb(value: Tensor): Tensor {
    const v = value.dtype === 'int32' ? value : value.cast('int32');
    const shape = broadcastShapes('Categorical.logProb', [...v.shape, 1], this.logits.shape); // (..., K)
    const idx = v.unsqueeze(-1).expand([...shape.slice(0, -1), 1]); // (..., 1)
    try {
      return gather(this.logits.expand(shape), -1, idx).squeeze(-1); // (...)
    } catch (e) {
      if (e instanceof IndexError) throw new IndexError('Categorical.logProb', `categories must be in [0, ${this.numEvents}); ${e.message}`);
      throw e;
    }
  }

  /**
   * Entropy -sum(p log p) over the last dim, batch-shaped; zero-probability categories add 0.
   *
   *   new Categorical({ probs: tensor([0.5, 0.5]) }).entropy(); // 0.6931
   */
  entropy(): Tensor {
    // a -inf logit (probability 0) is clamped so that 0 * logit is 0, not NaN
    const lowest = this.logits.dtype === 'float64' ? -Number.MAX_VALUE : this.logits.dtype === 'float16' ? -65504 : -3.4028234663852886e38;
    return this.logits.clamp(lowest).mul(this.probs).sum(-1).neg();
  }
}
