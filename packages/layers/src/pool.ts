import { customGrad } from '@dl/autograd';
import { DLError, DTypeError, ShapeError, adaptiveAvgPool2d, avgPool2d, flatten, fmt, isFloat, maxPool2d, scatterAdd, tensor, zeros, type Tensor } from '@dl/tensor';
import { checkChoice, checkDims, show } from './args.js';
import { Module } from './module.js';

type Pair = number | [number, number];

export interface PoolLayerOptions {
  /** defaults to the kernel size */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

/**
 * Checks a pooling layer's kernel size, stride, padding and dilation at construction, as PyTorch
 * checks them at the first forward: positive kernel, stride and dilation, non-negative padding of
 * at most half the (dilated) kernel.
 */
function checkPoolArgs(layer: string, kernelSize: Pair, { stride, padding = 0, dilation = 1 }: PoolLayerOptions): void {
  const k = checkDims(layer, 'kernelSize', kernelSize, 2, 1);
  if (stride !== undefined) checkDims(layer, 'stride', stride, 2, 1);
  const d = checkDims(layer, 'dilation', dilation, 2, 1);
  const p = checkDims(layer, 'padding', padding, 2, 0);
  if (p.some((v, i) => v > Math.floor(((k[i] - 1) * d[i] + 1) / 2))) {
    const dil = d.some((v) => v !== 1) ? ` (dilation ${show(d)})` : '';
    throw new ShapeError(layer, `padding ${show(p)} must be at most half of kernelSize ${show(k)}${dil}`);
  }
}

/** Runs a pooling op on x [N,C,H,W], or on one image [C,H,W] as PyTorch's layers accept. */
function pool2d(layer: Module, x: Tensor, run: (x4: Tensor) => Tensor): Tensor {
  if (x.ndim === 3) return run(x.unsqueeze(0)).squeeze(0);
  if (x.ndim !== 4) throw new ShapeError(layer.label(), `expected input [N,C,H,W] or [C,H,W], got ${fmt(x.shape)}`);
  return run(x);
}

/**
 * Max over kernel windows of x [N,C,H,W] (or [C,H,W]).
 *
 *   new MaxPool2d(2).forward(x); // halves H and W
 */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly opts: PoolLayerOptions = {},
  ) {
    super();
    checkPoolArgs('MaxPool2d', kernelSize, opts);
  }
  forward(x: Tensor): Tensor {
    return pool2d(this, x, (x4) => maxPool2d(x4, this.kernelSize, this.opts));
  }
  protected override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}`;
  }
}

/** Mean over kernel windows of x [N,C,H,W] or [C,H,W] (`countIncludePad` as PyTorch, default true). */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly opts: PoolLayerOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
    checkPoolArgs('AvgPool2d', kernelSize, opts);
  }
  forward(x: Tensor): Tensor {
    return pool2d(this, x, (x4) => avgPool2d(x4, this.kernelSize, this.opts));
  }
  protected override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}`;
  }
}

/**
 * Average pooling to a fixed output size with PyTorch's bins.
 *
 *   new AdaptiveAvgPool2d(1).forward(x); // [N, C, 1, 1]
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
    checkDims('AdaptiveAvgPool2d', 'outputSize', outputSize, 2, 1);
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  protected override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}

/** Flattens dims startDim..endDim (default 1..-1, keeping the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/**
 * Splits dim `dim` into `sizes` (as nn.Unflatten): the inverse of Flatten, e.g. between a Linear
 * layer and transposed convs.
 *
 *   new Unflatten(1, [64, 7, 7]).forward(x); // (N, 3136) -> (N, 64, 7, 7)
 */
export class Unflatten extends Module {
  readonly sizes: readonly number[];
  constructor(
    readonly dim: number,
    sizes: readonly number[],
  ) {
    super();
    if (!Number.isInteger(dim)) throw new ShapeError('Unflatten', `dim must be an integer, got ${dim}`);
    if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((s) => Number.isInteger(s) && s >= 1)) {
      throw new ShapeError('Unflatten', `sizes must be a non-empty list of positive integers, got ${JSON.stringify(sizes)}`);
    }
    this.sizes = [...sizes];
  }
  forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    const n = this.sizes.reduce((a, b) => a * b, 1);
    if (d < 0 || d >= x.ndim || x.shape[d] !== n) {
      throw new ShapeError(this.label(), `expected dim ${this.dim} of the input to have ${n} elements (${fmt(this.sizes)}), got ${fmt(x.shape)}`);
    }
    return x.reshape([...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
  protected override extraRepr(): string {
    return `dim=${this.dim}, sizes=${fmt(this.sizes)}`;
  }
}

export interface UpsampleOptions {
  /** output [H, W] (or one number for both); give this or scaleFactor */
  size?: Pair;
  scaleFactor?: Pair;
  mode?: 'nearest' | 'bilinear';
  /** bilinear only: map corner pixel centres onto each other (default false, as PyTorch) */
  alignCorners?: boolean;
}

const f32 = Math.fround;

/**
 * Where each output position along one axis reads: `index` [out] (nearest), or `index` [2, out]
 * holding each output's two taps (i0 then i1) and `weight` [2, out] their weights (bilinear);
 * null when the axis is copied unchanged.
 */
type AxisPlan = { index: Int32Array; weight: Float32Array | null } | null;

/**
 * The plan for resizing an axis of length n to `out`, with PyTorch's float32 arithmetic
 * (UpSample.h: area_pixel_compute_scale, nearest_neighbor_compute_source_index,
 * compute_source_index_and_lambda), so the same pixels and weights are used. O(out) host work.
 */
function axisPlan(n: number, out: number, scale: number | undefined, mode: 'nearest' | 'bilinear', alignCorners: boolean): AxisPlan {
  // PyTorch uses 1/scaleFactor when one was given, else n/out (as float32)
  const ratio = f32(scale !== undefined ? 1 / scale : n / out);
  if (mode === 'nearest') {
    const index = Int32Array.from({ length: out }, (_, i) => Math.min(Math.floor(f32(i * ratio)), n - 1));
    return out === n && index.every((v, i) => v === i) ? null : { index, weight: null };
  }
  if (out === n) return null; // PyTorch copies an axis whose size does not change
  const index = new Int32Array(2 * out);
  const weight = new Float32Array(2 * out);
  const alignRatio = out > 1 ? f32((n - 1) / (out - 1)) : 0;
  for (let i = 0; i < out; i++) {
    const src = alignCorners ? f32(alignRatio * i) : Math.max(0, f32(ratio * (i + 0.5) - 0.5));
    const i0 = Math.floor(src);
    const w1 = Math.min(Math.max(src - i0, 0), 1);
    index[i] = i0;
    index[out + i] = i0 < n - 1 ? i0 + 1 : i0;
    weight[i] = f32(1 - w1);
    weight[out + i] = w1;
  }
  return { index, weight };
}

/** k when a nearest plan repeats each of n source positions k times in order (1 for no plan), else 0. */
function repeats(plan: AxisPlan, n: number): number {
  if (!plan) return 1;
  const k = plan.index.length / n;
  return Number.isInteger(k) && plan.index.every((v, i) => v === Math.floor(i / k)) ? k : 0;
}

/**
 * Resizes dim `dim` (2 or 3) of x [N, C, H, W] by a plan: one gather (nearest), or one gather of
 * both taps, their weights and the sum w0 x[i0] + w1 x[i1] (bilinear, as PyTorch's kernel), whose
 * gradient is one scatterAdd of g w into the taps' sources (instead of one per tap and view).
 */
function resizeAxis(x: Tensor, dim: 2 | 3, plan: AxisPlan): Tensor {
  if (!plan) return x;
  const index = tensor(plan.index, { dtype: 'int32', device: x.device });
  if (!plan.weight) return x.indexSelect(dim, index); // [N, C, out, W] (dim 2) or [N, C, H, out]
  const out = plan.weight.length / 2;
  const taps = [...x.shape];
  taps[dim] = 2 * out; // both taps: [N, C, 2 out, W] or [N, C, H, 2 out]
  const apart = [...x.shape];
  apart.splice(dim, 1, 2, out); // the taps apart: [N, C, 2, out, W] or [N, C, H, 2, out]
  const w = tensor(plan.weight, { shape: dim === 2 ? [2, out, 1] : [2, out], dtype: x.dtype, device: x.device });
  const lerp = customGrad({
    name: 'Upsample',
    forward(ctx, input: Tensor, index: Tensor, w: Tensor) {
      ctx.save(index, w);
      const weighted = input.indexSelect(dim, index).reshape(apart).mul(w);
      return weighted.select(dim, 0).add(weighted.select(dim, 1)); // [N, C, out, W] or [N, C, H, out]
    },
    backward({ saved: [index, w] }, g) {
      const spread = index.reshape(taps.map((t, d) => (d === dim ? t : 1))).expand(taps);
      return [scatterAdd(zeros(x.shape, { dtype: g.dtype, device: g.device }), dim, spread, g.unsqueeze(dim).mul(w).reshape(taps))];
    },
  });
  return lerp(x, index, w);
}

/**
 * Resizes x [N,C,H,W] by nearest or bilinear interpolation (PyTorch's F.interpolate, including
 * its source-index rounding), one axis at a time with per-axis index and weight vectors: the work
 * is proportional to the output and the host work to oH + oW. Nearest upsampling by whole
 * factors is a broadcast copy.
 *
 *   new Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(x); // [N, C, 2H, 2W]
 */
export class Upsample extends Module {
  readonly mode: 'nearest' | 'bilinear';
  constructor(readonly opts: UpsampleOptions) {
    super();
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new DLError('Upsample', 'give exactly one of size and scaleFactor');
    if (opts.size !== undefined) checkDims('Upsample', 'size', opts.size, 2, 1);
    const sf = opts.scaleFactor;
    if (sf !== undefined) {
      const all = typeof sf === 'number' ? [sf] : Array.isArray(sf) && sf.length === 2 ? sf : [];
      if (!all.length || !all.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
        throw new ShapeError('Upsample', `scaleFactor must be positive finite numbers, got ${JSON.stringify(sf)}`);
      }
    }
    this.mode = opts.mode ?? 'nearest';
    checkChoice('Upsample', 'mode', this.mode, ['nearest', 'bilinear']);
    if (opts.alignCorners !== undefined && this.mode !== 'bilinear') {
      throw new DLError('Upsample', `alignCorners only applies to mode 'bilinear' (as in PyTorch), got mode '${this.mode}'`);
    }
  }
  forward(x: Tensor): Tensor {
    this.checkInput(x, [null, null, null, null], ['N', 'C', 'H', 'W']);
    if (this.mode === 'bilinear' && !isFloat(x.dtype)) throw new DTypeError(this.label(), `bilinear interpolation needs a float input, got ${x.dtype} ${fmt(x.shape)}`);
    const [N, C, H, W] = x.shape;
    const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);
    const scale = this.opts.scaleFactor === undefined ? undefined : pair(this.opts.scaleFactor);
    const [oH, oW] = this.opts.size !== undefined ? pair(this.opts.size) : [Math.floor(H * scale![0]), Math.floor(W * scale![1])];
    if (oH < 1 || oW < 1) {
      throw new ShapeError(this.label(), `output size [${oH},${oW}] (scaleFactor ${show(this.opts.scaleFactor)} of input ${fmt(x.shape)}) must be positive`);
    }
    const align = this.opts.alignCorners ?? false;
    const ph = axisPlan(H, oH, scale?.[0], this.mode, align);
    const pw = axisPlan(W, oW, scale?.[1], this.mode, align);
    if (this.mode === 'nearest') {
      const [kh, kw] = [repeats(ph, H), repeats(pw, W)];
      if (kh && kw) return x.reshape([N, C, H, 1, W, 1]).expand([N, C, H, kh, W, kw]).reshape([N, C, oH, oW]);
    }
    // W first, then H: the order of PyTorch's nested interpolation
    return resizeAxis(resizeAxis(x, 3, pw), 2, ph); // [N, C, H, oW] -> [N, C, oH, oW]
  }
  protected override extraRepr(): string {
    return `mode=${this.mode}`;
  }
}
