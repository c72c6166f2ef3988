import { noGrad } from '@dl/autograd';
import { DLError, ShapeError, fmt, full, layerNorm, ones, scope, zeros, type Tensor } from '@dl/tensor';
import { checkNumber, checkSize, show } from './args.js';
import { batchNorm, canFuseBatchNorm } from './batch-norm.js';
import { canFuseGroupNorm, groupNorm } from './group-norm.js';
import { Module, param } from './module.js';

/** eps of every normalisation layer: a finite number >= 0 (a negative one can make the variance negative). */
function checkEps(layer: string, eps: number): void {
  checkNumber(layer, 'eps', eps);
}

/** normalizedShape of LayerNorm / RMSNorm: one or more positive integers. */
function normalizedShapeOf(layer: string, v: number | number[]): number[] {
  const shape = typeof v === 'number' ? [v] : Array.isArray(v) ? [...v] : [];
  if (!shape.length || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(layer, `normalizedShape must be positive integers, got ${show(typeof v === 'number' ? [v] : v)}`);
  }
  return shape;
}

export interface BatchNormOptions {
  eps?: number;
  /** weight of the new batch in the running averages; null gives a cumulative average (computed on the device) */
  momentum?: number | null;
  /** learnable scale and shift (default true) */
  affine?: boolean;
  /** keep running_mean / running_var for eval mode (default true) */
  trackRunningStats?: boolean;
  device?: string;
}

/** Shared code of BatchNorm1d/2d: statistics over every dim except channels (dim 1). */
abstract class BatchNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true, device }: BatchNormOptions,
  ) {
    super();
    const layer = new.target.name;
    checkSize(layer, 'numFeatures', numFeatures);
    checkEps(layer, eps);
    if (momentum !== null && !(typeof momentum === 'number' && momentum >= 0 && momentum <= 1)) {
      throw new DLError(layer, `momentum must be in [0, 1] or null, got ${show(momentum)}`);
    }
    this.eps = eps;
    this.momentum = momentum;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine ? param(ones([numFeatures], { device })) : null;
    this.bias = affine ? param(zeros([numFeatures], { device })) : null;
    if (trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures], { device }));
      this.registerBuffer('running_var', ones([numFeatures], { device }));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int32', device }));
    }
  }

  get runningMean(): Tensor | null {
    return this.buffer('running_mean');
  }
  get runningVar(): Tensor | null {
    return this.buffer('running_var');
  }
  get numBatchesTracked(): Tensor | null {
    return this.buffer('num_batches_tracked');
  }

  protected abstract checkShape(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkShape(x);
    this.checkFloat(x);
    const C = this.numFeatures;
    const dims = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
    const view = [1, C, ...Array(x.ndim - 2).fill(1)];
    const useBatch = this.training || !this.trackRunningStats;
    // weight / sqrt(var + eps) and the shift are per channel ([1,C,1,...]), so the full-size work
    // is one multiply and one add after the statistics (a ResNet step spends much of its time here)
    if (useBatch) {
      const n = x.size / C;
      if (this.training && n <= 1) throw new ShapeError(this.label(), `expected more than 1 value per channel when training, got input ${fmt(x.shape)}`);
      if (canFuseBatchNorm(x)) {
        const { y, mean, variance } = batchNorm(x, this.weight, this.bias, this.eps);
        if (this.training && this.trackRunningStats) this.#updateStats(mean, variance, n);
        return y;
      }
      // the composed form, for dtypes the fused kernels do not take (float16)
      const mean = x.mean(dims, true);
      const centered = x.sub(mean);
      const variance = centered.mul(centered).mean(dims, true); // biased, as PyTorch normalises
      if (this.training && this.trackRunningStats) this.#updateStats(mean, variance, n);
      let scale = variance.add(this.eps).rsqrt();
      if (this.weight) scale = scale.mul(this.weight.reshape(view));
      const y = centered.mul(scale);
      return this.bias ? y.add(this.bias.reshape(view)) : y;
    }
    // running statistics: y = x * scale + (bias - mean * scale), PyTorch's inference form
    let scale = this.runningVar!.add(this.eps).rsqrt();
    if (this.weight) scale = scale.mul(this.weight);
    let shift = this.runningMean!.mul(scale).neg();
    if (this.bias) shift = shift.add(this.bias);
    return x.mul(scale.reshape(view)).add(shift.reshape(view));
  }

  #updateStats(mean: Tensor, variance: Tensor, n: number): void {
    noGrad(() =>
      scope(() => {
        const nbt = this.numBatchesTracked!;
        nbt.copy_(nbt.add(1));
        const rm = this.runningMean!;
        const rv = this.runningVar!;
        // weights of the new batch, of the old average, and of the batch variance (running_var
        // keeps the unbiased estimate, as PyTorch)
        let weights: [number | Tensor, number | Tensor, number | Tensor];
        const p = this.momentum;
        if (p === null) {
          // a cumulative average: 1 / num_batches_tracked stays on the device (0-d), so a
          // training step never waits for a read back
          const f = nbt.cast(rm.dtype).reciprocal();
          weights = [f, f.neg().add(1), f.mul(n / (n - 1))];
        } else weights = [p, 1 - p, (p * n) / (n - 1)];
        const [m, keep, mVar] = weights;
        rm.copy_(rm.mul(keep).add(mean.detach().reshape([this.numFeatures]).mul(m)));
        rv.copy_(rv.mul(keep).add(variance.detach().reshape([this.numFeatures]).mul(mVar)));
      }),
    );
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/**
 * Batch normalisation over x [N, C] or [N, C, L].
 *
 *   new BatchNorm1d(128).forward(h); // [N, 128]
 */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkShape(x: Tensor): void {
    if (x.ndim === 2) this.checkInput(x, [null, this.numFeatures], ['N', 'C']);
    else this.checkInput(x, [null, this.numFeatures, null], ['N', 'C', 'L']);
  }
}

/**
 * Batch normalisation over x [N, C, H, W], with running statistics for eval mode.
 *
 *   const bn = new BatchNorm2d(16);
 *   bn.forward(x);          // training: batch statistics, updates running_mean/var
 *   bn.eval().forward(x);   // eval: running statistics
 */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkShape(x: Tensor): void {
    this.checkInput(x, [null, this.numFeatures, null, null], ['N', 'C', 'H', 'W']);
  }
}

function lastDimsMatch(x: Tensor, shape: readonly number[]): boolean {
  const k = shape.length;
  return x.ndim >= k && shape.every((d, i) => x.shape[x.ndim - k + i] === d);
}

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  /** learn a shift too (default true) */
  bias?: boolean;
  device?: string;
}

/**
 * Normalises over the last dims (`normalizedShape`) of each sample.
 *
 *   new LayerNorm(128).forward(x); // x [B, T, 128]
 */
export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | number[], { eps = 1e-5, elementwiseAffine = true, bias = true, device }: LayerNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeOf('LayerNorm', normalizedShape);
    checkEps('LayerNorm', eps);
    this.eps = eps;
    this.weight = elementwiseAffine ? param(ones(this.normalizedShape, { device })) : null;
    this.bias = elementwiseAffine && bias ? param(zeros(this.normalizedShape, { device })) : null;
  }

  forward(x: Tensor): Tensor {
    if (!lastDimsMatch(x, this.normalizedShape)) {
      throw new ShapeError(this.label(), `expected input [...,${this.normalizedShape.join(',')}], got ${fmt(x.shape)}`);
    }
    // one fused kernel per row: statistics, normalisation and the affine map
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  protected override extraRepr(): string {
    return `${fmt(this.normalizedShape)}, eps=${this.eps}`;
  }
}

/**
 * Root-mean-square normalisation (no centring): x * rsqrt(mean(x^2) + eps) * weight over the
 * last dims. eps defaults to float32's machine epsilon, as PyTorch's RMSNorm.
 *
 *   new RMSNorm(128).forward(x);
 */
export class RMSNorm extends Module {
  weight: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | number[], { eps = 1.1920928955078125e-7, elementwiseAffine = true, device }: Omit<LayerNormOptions, 'bias'> = {}) {
    super();
    this.normalizedShape = normalizedShapeOf('RMSNorm', normalizedShape);
    checkEps('RMSNorm', eps);
    this.eps = eps;
    this.weight = elementwiseAffine ? param(ones(this.normalizedShape, { device })) : null;
  }

  forward(x: Tensor): Tensor {
    if (!lastDimsMatch(x, this.normalizedShape)) {
      throw new ShapeError(this.label(), `expected input [...,${this.normalizedShape.join(',')}], got ${fmt(x.shape)}`);
    }
    this.checkFloat(x);
    const dims = this.normalizedShape.map((_, i) => x.ndim - this.normalizedShape.length + i);
    const y = x.mul(x.square().mean(dims, true).add(this.eps).rsqrt());
    return this.weight ? y.mul(this.weight) : y;
  }

  protected override extraRepr(): string {
    return `${fmt(this.normalizedShape)}, eps=${this.eps}`;
  }
}

export interface GroupNormOptions {
  eps?: number;
  affine?: boolean;
  device?: string;
}

/**
 * Normalises groups of channels per sample: x [N, C, *] with C divisible by numGroups.
 *
 *   new GroupNorm(8, 32).forward(x); // x [N, 32, H, W]
 */
export class GroupNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    { eps = 1e-5, affine = true, device }: GroupNormOptions = {},
  ) {
    super();
    checkSize('GroupNorm', 'numGroups', numGroups);
    checkSize('GroupNorm', 'numChannels', numChannels);
    checkEps('GroupNorm', eps);
    if (numChannels % numGroups) throw new ShapeError('GroupNorm', `numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.eps = eps;
    this.weight = affine ? param(full([numChannels], 1, { device })) : null;
    this.bias = affine ? param(zeros([numChannels], { device })) : null;
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, false);
  }

  /**
   * silu(forward(x)): where the fused op runs (an affine layer on the CPU or WebGPU), the SiLU is
   * applied inside it, saving a pass each way (diffusers' ResNet blocks call the norm and the
   * nonlinearity back to back).
   */
  forwardSilu(x: Tensor): Tensor {
    return this.normalize(x, true);
  }

  private normalize(x: Tensor, silu: boolean): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(this.label(), `expected input [N,${this.numChannels},*], got ${fmt(x.shape)}`);
    }
    this.checkFloat(x);
    if (this.weight && this.bias && canFuseGroupNorm(x)) return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps, { silu });
    const N = x.shape[0];
    const g = x.reshape([N, this.numGroups, -1]); // [N, G, C/G * spatial]
    // a group is a row of the fused layer norm; the affine map is per channel, so it comes after
    let y = layerNorm(g, g.shape[2], null, null, this.eps).reshape(x.shape as number[]);
    const view = [1, this.numChannels, ...Array(x.ndim - 2).fill(1)];
    if (this.weight) y = y.mul(this.weight.reshape(view));
    if (this.bias) y = y.add(this.bias.reshape(view));
    return silu ? y.silu() : y;
  }

  protected override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}`;
  }
}
