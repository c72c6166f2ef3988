import { ShapeError, conv1d, conv2d, convTranspose2d, fmt, zeros, type Tensor } from '@dl/tensor';
import { checkDims, checkSize } from './args.js';
import { defaultLinearInit } from './init.js';
import { Module, param } from './module.js';

type Pair = number | [number, number];

export interface ConvLayerOptions {
  stride?: Pair;
  /** zero padding per side, or 'same' / 'valid' */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  device?: string;
}

const two = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

function checkGroups(label: string, cin: number, cout: number, groups: number): void {
  checkSize(label, 'inChannels', cin);
  checkSize(label, 'outChannels', cout);
  if (!Number.isInteger(groups) || groups < 1 || cin % groups || cout % groups) {
    throw new ShapeError(label, `inChannels (${cin}) and outChannels (${cout}) must both be divisible by groups (${groups})`);
  }
}

/**
 * Refuses what PyTorch refuses at construction or at the first forward (a 0 kernel, a 0 stride,
 * negative padding, 'same' padding with a stride) instead of building a layer that computes
 * something else. `dims`: 1 for Conv1d, 2 for Conv2d.
 */
function checkConvArgs(label: string, dims: number, kernelSize: number | readonly number[], stride: number | readonly number[], padding: number | readonly number[] | string, dilation: number | readonly number[]): void {
  checkDims(label, 'kernelSize', kernelSize, dims, 1);
  const strides = checkDims(label, 'stride', stride, dims, 1);
  if (typeof padding === 'string') {
    if (padding !== 'same' && padding !== 'valid') {
      throw new ShapeError(label, `padding must be ${dims === 1 ? 'a non-negative integer' : 'non-negative integers'}, 'same' or 'valid', got ${JSON.stringify(padding)}`);
    }
    if (padding === 'same' && strides.some((s) => s !== 1)) throw new ShapeError(label, `padding 'same' needs stride 1, got ${JSON.stringify(stride)} (as in PyTorch)`);
  } else checkDims(label, 'padding', padding, dims, 0, ", 'same' or 'valid'");
  checkDims(label, 'dilation', dilation, dims, 1);
}

/**
 * 2-D convolution over x [N, inChannels, H, W] -> [N, outChannels, oH, oW].
 * Weight [out, in/groups, kH, kW] and bias [out], initialised as PyTorch.
 *
 *   const conv = new Conv2d(1, 16, 3, { padding: 1 });
 *   conv.forward(x); // [N, 16, 28, 28] for x [N, 1, 28, 28]
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: Pair;
  readonly padding: Pair | 'same' | 'valid';
  readonly dilation: Pair;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, device }: ConvLayerOptions = {},
  ) {
    super();
    checkGroups('Conv2d', inChannels, outChannels, groups);
    checkConvArgs('Conv2d', 2, kernelSize, stride, padding, dilation);
    this.kernelSize = two(kernelSize);
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.groups = groups;
    this.weight = param(zeros([outChannels, inChannels / groups, ...this.kernelSize], { device }));
    this.bias = bias ? param(zeros([outChannels], { device })) : null;
    defaultLinearInit(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 3) this.checkInput(x, [this.inChannels, null, null], ['C', 'H', 'W']);
    else this.checkInput(x, [null, this.inChannels, null, null], ['N', 'C', 'H', 'W']);
    return conv2d(x, this.weight, { bias: this.bias, stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${fmt(this.kernelSize)}, stride=${JSON.stringify(this.stride)}, padding=${JSON.stringify(this.padding)}`;
  }
}

/**
 * 1-D convolution over x [N, inChannels, L] -> [N, outChannels, oL]; weight [out, in/groups, k].
 *
 *   new Conv1d(8, 16, 3, { padding: 1 }).forward(x); // [N, 16, L]
 */
export class Conv1d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly stride: number;
  readonly padding: number | 'same' | 'valid';
  readonly dilation: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, device }: Omit<ConvLayerOptions, 'stride' | 'padding' | 'dilation'> & { stride?: number; padding?: number | 'same' | 'valid'; dilation?: number } = {},
  ) {
    super();
    checkGroups('Conv1d', inChannels, outChannels, groups);
    checkConvArgs('Conv1d', 1, kernelSize, stride, padding, dilation);
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.groups = groups;
    this.weight = param(zeros([outChannels, inChannels / groups, kernelSize], { device }));
    this.bias = bias ? param(zeros([outChannels], { device })) : null;
    defaultLinearInit(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x, [null, this.inChannels, null], ['N', 'C', 'L']);
    return conv1d(x, this.weight, { bias: this.bias, stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${JSON.stringify(this.padding)}`;
  }
}

export interface ConvTransposeLayerOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  device?: string;
}

/**
 * Transposed 2-D convolution (learned upsampling): x [N, in, H, W] -> [N, out, oH, oW] with
 * oH = (H-1)*stride - 2*padding + dilation*(k-1) + outputPadding + 1. Weight [in, out/groups, kH, kW].
 *
 *   new ConvTranspose2d(32, 16, 2, { stride: 2 }).forward(x); // doubles H and W
 */
export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly opts: Required<Omit<ConvTransposeLayerOptions, 'bias' | 'device'>>;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    { stride = 1, padding = 0, outputPadding = 0, dilation = 1, groups = 1, bias = true, device }: ConvTransposeLayerOptions = {},
  ) {
    super();
    checkGroups('ConvTranspose2d', inChannels, outChannels, groups);
    checkDims('ConvTranspose2d', 'kernelSize', kernelSize, 2, 1);
    const strides = checkDims('ConvTranspose2d', 'stride', stride, 2, 1);
    checkDims('ConvTranspose2d', 'padding', padding, 2, 0);
    const dilations = checkDims('ConvTranspose2d', 'dilation', dilation, 2, 1);
    const extra = checkDims('ConvTranspose2d', 'outputPadding', outputPadding, 2, 0);
    if (extra.some((p, i) => p >= Math.max(strides[i], dilations[i]))) {
      throw new ShapeError('ConvTranspose2d', `outputPadding ${fmt(extra)} must be smaller than stride ${fmt(strides)} or dilation ${fmt(dilations)} in each dim (as in PyTorch)`);
    }
    this.kernelSize = two(kernelSize);
    this.opts = { stride, padding, outputPadding, dilation, groups };
    this.weight = param(zeros([inChannels, outChannels / groups, ...this.kernelSize], { device }));
    this.bias = bias ? param(zeros([outChannels], { device })) : null;
    // PyTorch computes fan_in from weight.shape[1] here too (out/groups * kH * kW)
    defaultLinearInit(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x, [null, this.inChannels, null, null], ['N', 'C', 'H', 'W']);
    return convTranspose2d(x, this.weight, { bias: this.bias, ...this.opts });
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${fmt(this.kernelSize)}, stride=${JSON.stringify(this.opts.stride)}`;
  }
}
