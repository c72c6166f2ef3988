import { isFloat } from '../dtype.js';
import { DTypeError, ShapeError, fmt } from '../errors.js';
import { runKernel } from '../dispatch.js';
import type { ConvAttrs, PoolAttrs } from '../primitives.js';
import { Tensor } from '../tensor.js';
import { tensor, full } from './creation.js';
import { flatten, reshape, squeeze, unsqueeze } from './movement.js';
import { gather } from './indexing.js';
import { matmul } from './matmul.js';

type Pair = number | [number, number];

export interface ConvOptions {
  bias?: Tensor | null;
  stride?: Pair;
  /** zero padding per side; 'same' keeps the size (stride 1), 'valid' is 0 */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}
export interface ConvTransposeOptions {
  bias?: Tensor | null;
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export interface PoolOptions {
  /** defaults to the kernel size */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** avgPool2d only: count padded zeros in the divisor (PyTorch's default true) */
  countIncludePad?: boolean;
}

function pair(op: string, arg: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) throw new ShapeError(op, `${arg} must be integers >= ${min}, got ${JSON.stringify(v)}`);
  return p;
}

function outSize(op: string, n: number, k: number, s: number, p: number, d: number, what: string): number {
  const o = Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
  if (o < 1) throw new ShapeError(op, `output ${what} would be ${o}: input ${n}, kernel ${k}, stride ${s}, padding ${p}, dilation ${d}`);
  return o;
}

function checkFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (!isFloat(t.dtype)) throw new DTypeError(op, `expected float tensors, got ${t.dtype} ${fmt(t.shape)}`);
}

function addBias(op: string, y: Tensor, bias: Tensor | null | undefined, channels: number): Tensor {
  if (!bias) return y;
  if (bias.ndim !== 1 || bias.shape[0] !== channels) throw new ShapeError(op, `bias must be [${channels}], got ${fmt(bias.shape)}`);
  return y.add(reshape(bias, [1, channels, 1, 1]));
}

/**
 * 2-D convolution (cross-correlation, as PyTorch): x [N,C,H,W] (or [C,H,W]),
 * w [O, C/groups, kH, kW], optional bias [O] -> [N,O,oH,oW].
 */
export function conv2d(x: Tensor, w: Tensor, opts: ConvOptions = {}): Tensor {
  if (x.ndim === 3) return squeeze(conv2d(unsqueeze(x, 0), w, opts), 0);
  if (x.ndim !== 4 || w.ndim !== 4) throw new ShapeError('conv2d', `expected x [N,C,H,W] and w [O,C/groups,kH,kW]; x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  checkFloat('conv2d', x, w);
  const groups = opts.groups ?? 1;
  const [N, C, H, W] = x.shape;
  const [O, Cg, kH, kW] = w.shape;
  if (kH < 1 || kW < 1) throw new ShapeError('conv2d', `kernel size must be at least 1, got ${kH}x${kW}; x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0 || Cg * groups !== C) {
    throw new ShapeError('conv2d', `x has ${C} channels, w expects ${Cg} per group x ${groups} groups with ${O} outputs; x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  }
  const stride = pair('conv2d', 'stride', opts.stride ?? 1, 1);
  const dilation = pair('conv2d', 'dilation', opts.dilation ?? 1, 1);
  let padding: [number, number];
  if (opts.padding === 'valid' || opts.padding === undefined) padding = [0, 0];
  else if (opts.padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new ShapeError('conv2d', "padding 'same' needs stride 1");
    const tH = dilation[0] * (kH - 1);
    const tW = dilation[1] * (kW - 1);
    if (tH % 2 || tW % 2) throw new ShapeError('conv2d', `padding 'same' with an even total padding (${tH}, ${tW}) is not supported; pad explicitly`);
    padding = [tH / 2, tW / 2];
  } else padding = pair('conv2d', 'padding', opts.padding, 0);
  const oH = outSize('conv2d', H, kH, stride[0], padding[0], dilation[0], `height (x=${fmt(x.shape)} w=${fmt(w.shape)})`);
  const oW = outSize('conv2d', W, kW, stride[1], padding[1], dilation[1], `width (x=${fmt(x.shape)} w=${fmt(w.shape)})`);
  const attrs: ConvAttrs = { stride, padding, dilation, groups };
  const y = runKernel('conv2d', [x, w], attrs, [N, O, oH, oW], x.dtype);
  return addBias('conv2d', y, opts.bias, O);
}

/** 1-D convolution: x [N,C,L], w [O,C/groups,k] -> [N,O,oL] (runs as conv2d with height 1). */
export function conv1d(x: Tensor, w: Tensor, opts: ConvOptions = {}): Tensor {
  if (x.ndim !== 3 || w.ndim !== 3) throw new ShapeError('conv1d', `expected x [N,C,L] and w [O,C/groups,k]; x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  const one = (v: Pair | undefined, d: number): [number, number] => [d, typeof v === 'number' ? v : v ? v[0] : d === 0 ? 0 : 1];
  const padding = opts.padding === 'same' || opts.padding === 'valid' ? opts.padding : one(opts.padding, 0);
  const y = conv2d(unsqueeze(x, 2), unsqueeze(w, 2), {
    stride: one(opts.stride, 1),
    padding,
    dilation: one(opts.dilation, 1),
    groups: opts.groups,
  });
  const out = squeeze(y, 2);
  if (!opts.bias) return out;
  return out.add(reshape(opts.bias, [1, opts.bias.size, 1]));
}

/**
 * Transposed 2-D convolution (the gradient of conv2d wrt its input): x [N,Cin,H,W],
 * w [Cin, Cout/groups, kH, kW] -> [N,Cout,(H-1)*s - 2p + d*(k-1) + outputPadding + 1, ...].
 */
export function convTranspose2d(x: Tensor, w: Tensor, opts: ConvTransposeOptions = {}): Tensor {
  if (x.ndim !== 4 || w.ndim !== 4) throw new ShapeError('convTranspose2d', `expected x [N,Cin,H,W] and w [Cin,Cout/groups,kH,kW]; x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  checkFloat('convTranspose2d', x, w);
  const groups = opts.groups ?? 1;
  const [N, Cin, H, W] = x.shape;
  const [wIn, Cg, kH, kW] = w.shape;
  if (kH < 1 || kW < 1) throw new ShapeError('convTranspose2d', `kernel size must be at least 1, got ${kH}x${kW}; x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  if (wIn !== Cin || !Number.isInteger(groups) || groups < 1 || Cin % groups !== 0) {
    throw new ShapeError('convTranspose2d', `x has ${Cin} channels but w.shape[0] is ${wIn} (groups ${groups}); x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  }
  const stride = pair('convTranspose2d', 'stride', opts.stride ?? 1, 1);
  const padding = pair('convTranspose2d', 'padding', opts.padding ?? 0, 0);
  const dilation = pair('convTranspose2d', 'dilation', opts.dilation ?? 1, 1);
  const outPad = pair('convTranspose2d', 'outputPadding', opts.outputPadding ?? 0, 0);
  if (outPad[0] >= Math.max(stride[0], dilation[0]) || outPad[1] >= Math.max(stride[1], dilation[1])) {
    throw new ShapeError('convTranspose2d', `outputPadding ${fmt(outPad)} must be smaller than stride or dilation`);
  }
  const oH = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kH - 1) + outPad[0] + 1;
  const oW = (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kW - 1) + outPad[1] + 1;
  if (oH < 1 || oW < 1) throw new ShapeError('convTranspose2d', `output size would be [${oH},${oW}]; x=${fmt(x.shape)} w=${fmt(w.shape)}`);
  const Cout = Cg * groups;
  const attrs: ConvAttrs = { stride, padding, dilation, groups };
  const y = runKernel('conv2dGradInput', [x, w], attrs, [N, Cout, oH, oW], x.dtype);
  return addBias('convTranspose2d', y, opts.bias, Cout);
}

function poolAttrs(op: string, x: Tensor, kernelSize: Pair, opts: PoolOptions): { attrs: PoolAttrs; oH: number; oW: number } {
  if (x.ndim !== 4) throw new ShapeError(op, `expected x [N,C,H,W], got ${fmt(x.shape)}`);
  const kernel = pair(op, 'kernelSize', kernelSize, 1);
  const stride = pair(op, 'stride', opts.stride ?? kernel, 1);
  const padding = pair(op, 'padding', opts.padding ?? 0, 0);
  const dilation = pair(op, 'dilation', opts.dilation ?? 1, 1);
  if (padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1]) {
    throw new ShapeError(op, `padding ${fmt(padding)} must be at most half the kernel ${fmt(kernel)}`);
  }
  const oH = outSize(op, x.shape[2], kernel[0], stride[0], padding[0], dilation[0], `height (x=${fmt(x.shape)})`);
  const oW = outSize(op, x.shape[3], kernel[1], stride[1], padding[1], dilation[1], `width (x=${fmt(x.shape)})`);
  return { attrs: { kernel, stride, padding, dilation }, oH, oW };
}

/** Max over kH x kW windows of x [N,C,H,W] (padding never wins). */
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: PoolOptions = {}): Tensor {
  const { attrs, oH, oW } = poolAttrs('maxPool2d', x, kernelSize, opts);
  const [N, C] = x.shape;
  const idx = runKernel('maxPool2dIndices', [x], attrs, [N, C, oH, oW], 'int32');
  // values by gathering the winners keeps the gradient path generic (gather's rule)
  return reshape(gather(flatten(x, 2), 2, flatten(idx, 2)), [N, C, oH, oW]);
}

/** Mean over windows; runs as a depthwise convolution with a constant kernel. */
export function avgPool2d(x: Tensor, kernelSize: Pair, opts: PoolOptions = {}): Tensor {
  const { attrs } = poolAttrs('avgPool2d', x, kernelSize, opts);
  checkFloat('avgPool2d', x);
  const C = x.shape[1];
  const [kH, kW] = attrs.kernel;
  const w = full([C, 1, kH, kW], 1, { dtype: x.dtype, device: x.device });
  const conv = { stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, groups: C };
  const sum = conv2d(x, w, conv);
  if (opts.countIncludePad === false && (attrs.padding[0] || attrs.padding[1])) {
    const counts = conv2d(full([1, C, x.shape[2], x.shape[3]], 1, { dtype: x.dtype, device: x.device }), w, conv);
    return sum.div(counts);
  }
  return sum.div(kH * kW);
}

/** [out, n] matrix averaging PyTorch's adaptive bins [floor(i*n/out), ceil((i+1)*n/out)). */
function adaptiveMatrix(n: number, out: number, x: Tensor): Tensor {
  const m = new Float32Array(out * n);
  for (let i = 0; i < out; i++) {
    const s = Math.floor((i * n) / out);
    const e = Math.ceil(((i + 1) * n) / out);
    for (let j = s; j < e; j++) m[i * n + j] = 1 / (e - s);
  }
  return tensor(m, { shape: [out, n], dtype: x.dtype, device: x.device });
}

/** Average pooling to a fixed output size: out = Ph @ x @ Pw^T with bin-averaging matrices. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  if (x.ndim !== 4 && x.ndim !== 3) throw new ShapeError('adaptiveAvgPool2d', `expected x [N,C,H,W] or [C,H,W], got ${fmt(x.shape)}`);
  checkFloat('adaptiveAvgPool2d', x);
  const [oh, ow] = pair('adaptiveAvgPool2d', 'outputSize', outputSize, 1);
  const [H, W] = x.shape.slice(-2);
  const ph = adaptiveMatrix(H, oh, x); // [oh, H]
  const pwT = adaptiveMatrix(W, ow, x).T; // [W, ow]
  return matmul(matmul(ph, x), pwT); // [..., oh, ow]
}
