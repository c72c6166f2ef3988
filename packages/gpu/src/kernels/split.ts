import { sizeOf } from '@dl/tensor';
import { type KernelAttrs, type KernelPrimitive, type OutInfo, type ReduceAttrs, type TensorInfo } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { storageBytes } from '../wgsl/builder.js';
import { contiguousInfo, dataOf, newData } from './common.js';
import { castInto } from './elementwise.js';
import { touchedRange } from './map.js';
import { reduceKernel } from './reduce.js';

/**
 * Ops over buffers larger than the storage binding limit, run in slices along dim 0.
 *
 * Many primitives are separable along dim 0: rows [r0, r1) of the output depend only on rows
 * [r0, r1) of some inputs ('row') and on all of the others ('shared'): a softmax or layer norm
 * over later dims, a reduction that keeps dim 0, a matmul's batch or M dim, a convolution's batch.
 * Such an op runs once per slice: each row input's slice is first copied into a contiguous buffer
 * that fits a binding (the elementwise copy binds windows of a big buffer), the kernel runs as
 * usual, and its output is copied (copyBufferToBuffer has no binding limit) into place.
 * sum/prod/max/min over dim 0 reduce each slice, then reduce the stacked partial results; conv2d's
 * weight gradient sums the slices' gradients.
 */
type Role = 'row' | 'shared';
type Kernel = (ctx: GpuContext, inputs: TensorInfo[], attrs: never, out: OutInfo) => GpuData;

const along = (dim: number, rank: number): Role[] | null => (dim !== 0 && rank > 1 ? ['row'] : null);
const keepsDim0 = (a: ReduceAttrs, rank: number): Role[] | null => (rank > 1 && !a.dims.includes(0) ? ['row'] : null);

/** The roles of a primitive's inputs when its output splits along dim 0, or null when it does not. */
const SPLITS: { [P in KernelPrimitive]?: (inputs: TensorInfo[], attrs: KernelAttrs[P], out: OutInfo) => Role[] | null } = {
  sum: ([x], a) => keepsDim0(a, x.shape.length),
  prod: ([x], a) => keepsDim0(a, x.shape.length),
  max: ([x], a) => keepsDim0(a, x.shape.length),
  min: ([x], a) => keepsDim0(a, x.shape.length),
  argmax: ([x], a) => along(a.dim, x.shape.length),
  argmin: ([x], a) => along(a.dim, x.shape.length),
  cumsum: ([x], a) => along(a.dim, x.shape.length),
  softmax: ([x], a) => along(a.dim, x.shape.length),
  logSoftmax: ([x], a) => along(a.dim, x.shape.length),
  argsort: ([x], a) => along(a.dim, x.shape.length),
  layerNorm: (i, a) => (a.axis >= 1 ? (['row', 'shared', 'shared'] as Role[]).slice(0, i.length) : null),
  layerNormGradInput: (i, a) => (a.axis >= 1 ? (['row', 'row', 'shared'] as Role[]).slice(0, i.length) : null),
  // batched: both operands arrive expanded to the batch shape; 2-D: rows of A, all of B
  matmul: (_i, _a, out) => (out.shape.length > 2 ? ['row', 'row'] : ['row', 'shared']),
  conv2d: () => ['row', 'shared'],
  conv2dGradInput: () => ['row', 'shared'],
  maxPool2dIndices: () => ['row'],
  gather: (_i, a) => (a.dim !== 0 ? ['row', 'row'] : ['shared', 'row']),
  cat: (i, a) => (a.dim !== 0 ? i.map(() => 'row') : null),
};

const REDUCERS = new Set<KernelPrimitive>(['sum', 'prod', 'max', 'min']);

function over(ctx: GpuContext, x: TensorInfo): boolean {
  return dataOf(x).buffer.size > ctx.maxBinding;
}

/** True when the op binds a buffer over the limit or makes an output over it. */
export function needsSplit(ctx: GpuContext, inputs: TensorInfo[], out: OutInfo): boolean {
  return sizeOf(out.shape) * storageBytes(out.dtype) > ctx.maxBinding || inputs.some((x) => over(ctx, x));
}

/** A contiguous copy of `x` (a view that fits a binding) in a buffer of its own, listed in `temps`. */
function compact(ctx: GpuContext, x: TensorInfo, temps: GpuData[]): TensorInfo {
  const data = newData(ctx, sizeOf(x.shape), x.dtype);
  temps.push(data);
  castInto(ctx, x, { data, shape: x.shape });
  return contiguousInfo(data, x.shape);
}

/** Rows [r0, r1) of x along dim 0, as a view. */
function slice0(x: TensorInfo, r0: number, r1: number): TensorInfo {
  return { ...x, shape: [r1 - r0, ...x.shape.slice(1)], offset: x.offset + r0 * x.strides[0] };
}

/** Bytes of one dim-0 row of a tensor of `shape`. */
function rowBytes(shape: readonly number[], dtype: TensorInfo['dtype']): number {
  return (sizeOf(shape.slice(1)) * storageBytes(dtype));
}

/**
 * How many dim-0 rows of x one slice may take: its contiguous copy must fit a binding, and so must
 * the window of x's buffer that the copy reads (rows of a strided view lie |stride 0| apart).
 */
function rowsThatFit(ctx: GpuContext, x: TensorInfo): number {
  const eb = storageBytes(x.dtype);
  const rowElems = sizeOf(x.shape.slice(1));
  if (rowElems === 0) return Infinity;
  const [lo, hi] = touchedRange(slice0(x, 0, 1), 0, rowElems - 1);
  const span = (hi - lo + 1) * eb;
  const step = Math.abs(x.strides[0]) * eb;
  const window = step === 0 ? Infinity : Math.floor((ctx.maxBinding - ctx.storageAlign - span) / step) + 1;
  return Math.max(0, Math.min(window, Math.floor(ctx.maxBinding / (rowElems * eb))));
}

function releaseAll(ctx: GpuContext, temps: GpuData[]): void {
  for (const t of temps.splice(0)) ctx.release(t.buffer);
}

/**
 * Runs `run` on each slice of `rows` rows along dim 0 (inputs with role 'row' copied out for the
 * slice, the others as they are) and copies the `bytes(n)` bytes of its output for n rows to `dst`
 * at byte `at(slice index, first row)`.
 */
function eachSlice(
  ctx: GpuContext,
  ins: TensorInfo[],
  roles: readonly Role[],
  rows: number,
  run: (part: TensorInfo[], n: number) => GpuData,
  dst: GPUBuffer,
  at: (slice: number, r0: number) => number,
  bytes: (n: number) => number,
): void {
  const R = ins[roles.indexOf('row')].shape[0];
  const temps: GpuData[] = [];
  for (let i = 0, r0 = 0; r0 < R; i++, r0 += rows) {
    const n = Math.min(rows, R - r0);
    const piece = run(ins.map((x, k) => (roles[k] === 'row' ? compact(ctx, slice0(x, r0, r0 + n), temps) : x)), n);
    ctx.copy(piece.buffer, 0, dst, at(i, r0), Math.ceil(bytes(n) / 4) * 4);
    ctx.release(piece.buffer);
    // commands run in order: the next slice may reuse these buffers
    releaseAll(ctx, temps);
  }
}

/**
 * Runs `kernel` in slices along dim 0 when the op splits so; returns null when it does not (the
 * caller then runs it whole, which throws the binding-limit DeviceError).
 */
export function runSplit<P extends KernelPrimitive>(ctx: GpuContext, p: P, kernel: Kernel, inputs: TensorInfo[], attrs: KernelAttrs[P], out: OutInfo): GpuData | null {
  if (REDUCERS.has(p) && (attrs as ReduceAttrs).dims.includes(0)) return reduceOverDim0(ctx, kernel, inputs[0], attrs as ReduceAttrs, out);
  if (p === 'conv2dGradWeight') return conv2dGradWeightOverSlices(ctx, kernel, inputs, attrs as KernelAttrs['conv2dGradWeight'], out);
  const roles = SPLITS[p]?.(inputs, attrs as never, out);
  if (!roles || out.shape.length === 0 || out.shape[0] === 0) return null;
  const R = out.shape[0];
  if (inputs.some((x, i) => roles[i] === 'row' && x.shape[0] < R)) return null;
  const outRow = rowBytes(out.shape, out.dtype);
  let rows = Math.floor(ctx.maxBinding / outRow);
  inputs.forEach((x, i) => {
    if (roles[i] === 'row') rows = Math.min(rows, rowsThatFit(ctx, x));
  });
  rows = Math.min(rows, R);
  // output slices are placed with copyBufferToBuffer, whose offsets are multiples of 4 bytes
  while (rows > 0 && (rows * outRow) % 4) rows--;
  if (rows === 0) return null;
  // shared inputs are bound whole: a view that fits, of a buffer that does not, is copied out once
  const sharedTemps: GpuData[] = [];
  const ins = inputs.map((x, i) => (roles[i] === 'shared' && over(ctx, x) && sizeOf(x.shape) * storageBytes(x.dtype) <= ctx.maxBinding ? compact(ctx, x, sharedTemps) : x));
  if (ins.some((x, i) => roles[i] === 'shared' && over(ctx, x))) {
    releaseAll(ctx, sharedTemps);
    return null;
  }
  const result = newData(ctx, sizeOf(out.shape), out.dtype);
  eachSlice(
    ctx, ins, roles, rows,
    (part, n) => kernel(ctx, part, attrs as never, { shape: [n, ...out.shape.slice(1)], dtype: out.dtype }),
    result.buffer, (_i, r0) => r0 * outRow, (n) => n * outRow,
  );
  releaseAll(ctx, sharedTemps);
  return result;
}

/**
 * Runs `piece` on slices along dim 0 of `inputs` (all sliced alike), stacks its outputs (each of
 * `pieceShape`) into one buffer [slices, ...pieceShape], and returns `combine` of that stack.
 */
function overSlices(
  ctx: GpuContext,
  inputs: TensorInfo[],
  pieceShape: readonly number[],
  dtype: OutInfo['dtype'],
  piece: (slices: TensorInfo[]) => GpuData,
  combine: (parts: GpuData, slices: number) => GpuData,
): GpuData | null {
  const R = inputs[0].shape[0];
  const rows = Math.min(R, ...inputs.map((x) => rowsThatFit(ctx, x)));
  if (R === 0 || rows === 0 || inputs.some((x) => x.shape[0] !== R)) return null;
  const slices = Math.ceil(R / rows);
  const pieceBytes = sizeOf(pieceShape) * storageBytes(dtype);
  if (pieceBytes % 4 || slices * pieceBytes > ctx.maxBinding) return null;
  const parts = newData(ctx, slices * sizeOf(pieceShape), dtype);
  eachSlice(ctx, inputs, inputs.map(() => 'row'), rows, piece, parts.buffer, (i) => i * pieceBytes, () => pieceBytes);
  const result = combine(parts, slices);
  ctx.release(parts.buffer);
  return result;
}

/** sum/prod/max/min over dims that include 0: each slice reduced (keepdim), then the stacked partials. */
function reduceOverDim0(ctx: GpuContext, kernel: Kernel, x: TensorInfo, attrs: ReduceAttrs, out: OutInfo): GpuData | null {
  const kept = x.shape.map((d, i) => (attrs.dims.includes(i) ? 1 : d));
  return overSlices(
    ctx,
    [x],
    kept,
    out.dtype,
    ([s]) => kernel(ctx, [s], { dims: attrs.dims, keepdim: true } as never, { shape: kept, dtype: out.dtype }),
    // [slices, ...kept dims]: reducing it over the same dims folds the slices together
    (parts, n) => kernel(ctx, [contiguousInfo(parts, [n, ...kept.slice(1)])], attrs as never, out),
  );
}

/** conv2d's weight gradient sums over the batch: the sum of the slices' gradients. */
function conv2dGradWeightOverSlices(ctx: GpuContext, kernel: Kernel, inputs: TensorInfo[], attrs: KernelAttrs['conv2dGradWeight'], out: OutInfo): GpuData | null {
  return overSlices(
    ctx,
    inputs,
    out.shape,
    out.dtype,
    (slices) => kernel(ctx, slices, attrs as never, out),
    (parts, n) => reduceKernel(ctx, 'sum', [contiguousInfo(parts, [n, ...out.shape])], { dims: [0], keepdim: false }, out),
  );
}
