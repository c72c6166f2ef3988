import type { DType } from './dtype.js';

/**
 * The primitive table: every op @dl computes is one of these, or a composition of them.
 * Backends implement a kernel for each kernel primitive; autograd has a rule for each primitive.
 * Output shape and dtype are computed once, by the frontend op, and handed to the kernel.
 */

/** Elementwise functions of one tensor; output has the input's shape. */
export const UNARY_OPS = [
  'neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh',
  'sigmoid', 'relu', 'gelu', 'geluTanh', 'silu', 'softplus', 'erf', 'reciprocal', 'floor', 'ceil',
  'round', 'logicalNot',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Elementwise functions of two broadcast tensors (inputs arrive expanded to the output shape). */
export const BINARY_OPS = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'mod',
  'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const COMPARE_OPS: readonly BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr'];

export interface ReduceAttrs {
  /** sorted, normalised dims to reduce */
  dims: number[];
  keepdim: boolean;
}
export interface ConvAttrs {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}
export interface PoolAttrs {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}
export interface RandomAttrs {
  shape: number[];
  dtype: DType;
  device: string;
  /** Philox key */
  key: [number, number];
  /**
   * first Philox counter, an integer below 2^53 (Philox's words: low 32 bits, high bits, 0, 0);
   * element i uses counter + floor(i / 4), lane i % 4
   */
  counter: number;
}

type Empty = Record<string, never>;
type UnaryAttrs = { [K in UnaryOp]: Empty };
type BinaryAttrs = { [K in BinaryOp]: Empty };

/** Primitives that run a backend kernel and produce a new contiguous tensor. */
export interface KernelAttrs extends UnaryAttrs, BinaryAttrs {
  /** where(cond, a, b): all three arrive expanded to the output shape */
  where: Empty;
  /**
   * x op value (value op x when reversed): a JS number operand travels as an attribute, not as a
   * tensor. The kernel rounds value to x's dtype first, as storing it in a tensor would.
   */
  binaryScalar: { op: BinaryOp; value: number; reversed: boolean };
  /** inputs cond (bool), x of one shape: value where cond equals fillWhen, else x (value rounded as in binaryScalar) */
  whereScalar: { value: number; fillWhen: boolean };
  cast: { dtype: DType };
  /** materialises any strided view as a contiguous tensor */
  copy: Empty;
  sum: ReduceAttrs;
  prod: ReduceAttrs;
  max: ReduceAttrs;
  min: ReduceAttrs;
  argmax: { dim: number; keepdim: boolean };
  argmin: { dim: number; keepdim: boolean };
  cumsum: { dim: number };
  softmax: { dim: number };
  logSoftmax: { dim: number };
  /**
   * (x - mean) / sqrt(var + eps) over the trailing dims from `axis` (biased variance), then
   * * weight + bias; inputs: x, then optionally weight, then bias (contiguous, x.shape.slice(axis))
   */
  layerNorm: { axis: number; eps: number };
  /** the gradient of layerNorm with respect to x: inputs g (of the output), x, then optionally weight */
  layerNormGradInput: { axis: number; eps: number };
  /** a [...batch, M, K] @ b [...batch, K, N]; batch dims already broadcast (stride 0 allowed) */
  matmul: Empty;
  /** x [N,C,H,W], w [O,C/g,kH,kW] -> [N,O,oH,oW] */
  conv2d: ConvAttrs;
  /** gy [N,O,oH,oW], w -> gx [N,C,H,W] (the transposed convolution); out shape gives H, W */
  conv2dGradInput: ConvAttrs;
  /** x [N,C,H,W], gy [N,O,oH,oW] -> gw [O,C/g,kH,kW]; out shape gives kH, kW */
  conv2dGradWeight: ConvAttrs;
  /** x [N,C,H,W] -> int32 [N,C,oH,oW]: flat index (h*W + w) of each window's max; padding never wins */
  maxPool2dIndices: PoolAttrs;
  /** out[..i..] = x[..index[..i..]..] along dim; out has index's shape */
  gather: { dim: number };
  /** copy of x with src added at index along dim */
  scatterAdd: { dim: number };
  /** int32 indices that sort x along dim (stable) */
  argsort: { dim: number; descending: boolean };
  cat: { dim: number };
  /** copy of base with the strided region (per-dim start/step, src's shape) replaced by src */
  sliceScatter: { starts: number[]; steps: number[] };
  full: { shape: number[]; value: number; dtype: DType; device: string };
  /** start + i * step for i < n */
  arange: { start: number; step: number; n: number; dtype: DType; device: string };
  randomUniform: RandomAttrs;
  randomNormal: RandomAttrs;
}

/** Primitives that only change shape/strides/offset: no kernel, storage is shared. */
export interface ViewAttrs {
  reshape: { shape: number[] };
  permute: { dims: number[] };
  expand: { shape: number[] };
  /** per dim: start, and step (may be negative); output shape is given */
  slice: { starts: number[]; steps: number[]; shape: number[] };
}

export type PrimitiveAttrs = KernelAttrs & ViewAttrs;
export type KernelPrimitive = keyof KernelAttrs;
export type ViewPrimitive = keyof ViewAttrs;
export type Primitive = keyof PrimitiveAttrs;
