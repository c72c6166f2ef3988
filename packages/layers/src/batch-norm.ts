/**
 * Batch normalisation with the batch's own statistics as fused ops, as PyTorch's
 * `native_batch_norm`: one op computes each channel's mean and variance, one normalises and applies
 * the affine map, and the gradient is one op that returns dx, dweight and dbias together. Composed
 * from elementwise ops and reductions the same layer was about nine passes over the activations
 * forward and fifteen backward (on WebGPU as many dispatches); fused it is two and two.
 *
 * x is viewed as (N, C, S): channels on dim 1, S the product of the dims after it (1 for [N, C]).
 */
import { defineOp, ones, wgslGrid, zeros, type CustomOp, type DType, type HostInput, type Tensor, type TypedArray, type WgslProgram } from '@dl/tensor';
import { batchNormApplyWasm, batchNormBackwardWasm, batchNormStatsWasm, wasmBatchNormFits } from './batch-norm-wasm.js';
import { WG, WGSL_WORKGROUP_SUM, canFuseChannelOp, channelDims, resultLike, type ChannelDims } from './channel-ops.js';

export interface BatchNormAttrs {
  eps: number;
}

/** (N, C, S) of inputs[0] = x after checking the others: (C), or (2, C) for the statistics, or x's shape for g. */
const dimsOf = (op: string, inputs: readonly { shape: readonly number[]; dtype: DType }[], names: readonly string[]): ChannelDims =>
  channelDims(op, inputs, names, (name, x, C) => (name === 'stats' ? [2, C] : name === 'g' ? x : [C]));

// ---- CPU kernels: channel c of sample n is the contiguous run x[(n C + c) S .. + S) ----

/** (2, C): each channel's mean, then its biased variance (sums in float64, two passes for accuracy). */
function statsCpu([x]: readonly HostInput[], dims: ChannelDims): TypedArray {
  const { N, C, S } = dims;
  const out = resultLike(x.data, 2 * C, false);
  if (wasmBatchNormFits(x.data, dims)) {
    batchNormStatsWasm(x.data as Float32Array, out, dims);
    return out;
  }
  const xs = x.data;
  const M = N * S;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) sum += xs[i];
    const mean = sum / M;
    let sq = 0;
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * S, e = i + S; i < e; i++) {
        const d = xs[i] - mean;
        sq += d * d;
      }
    }
    out[c] = mean;
    out[C + c] = sq / M;
  }
  return out;
}

/** y = (x - mean) / sqrt(var + eps) * weight + bias, as one multiply-add per element. */
function forwardCpu([x, stats, w, b]: readonly HostInput[], eps: number, dims: ChannelDims): TypedArray {
  const { N, C, S } = dims;
  const xs = x.data;
  const out = resultLike(xs, N * C * S, false);
  const a = new Float64Array(C);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    a[c] = w.data[c] / Math.sqrt(stats.data[C + c] + eps);
    shift[c] = b.data[c] - stats.data[c] * a[c];
  }
  if (wasmBatchNormFits(xs, dims)) {
    batchNormApplyWasm(xs as Float32Array, a, shift, out, dims);
    return out;
  }
  for (let c = 0; c < C; c++) {
    const ac = a[c];
    const sh = shift[c];
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) out[i] = xs[i] * ac + sh;
  }
  return out;
}

/**
 * Packed [dx (N C S), dweight (C), dbias (C)] from [x, stats, weight, g]: with xhat the normalised
 * x and M = N S, dbias = sum g, dweight = sum g xhat and
 * dx = weight / sqrt(var + eps) (g - dbias / M - xhat dweight / M).
 */
function backwardCpu([x, stats, w, g]: readonly HostInput[], eps: number, dims: ChannelDims): TypedArray {
  const { N, C, S } = dims;
  const xs = x.data;
  const gs = g.data;
  const n = N * C * S;
  const M = N * S;
  const out = resultLike(xs, n + 2 * C, false);
  if (wasmBatchNormFits(xs, dims)) {
    const mean = Float64Array.from(stats.data.subarray(0, C));
    const invstd = Float64Array.from(stats.data.subarray(C, 2 * C), (v) => 1 / Math.sqrt(v + eps));
    batchNormBackwardWasm(xs as Float32Array, gs as Float32Array, mean, invstd, Float64Array.from(w.data.subarray(0, C)), out, dims);
    return out;
  }
  for (let c = 0; c < C; c++) {
    const mean = stats.data[c];
    const invstd = 1 / Math.sqrt(stats.data[C + c] + eps);
    let sg = 0;
    let sgx = 0;
    for (let k = 0; k < N; k++) {
      for (let i = (k * C + c) * S, e = i + S; i < e; i++) {
        sg += gs[i];
        sgx += gs[i] * (xs[i] - mean);
      }
    }
    const dweight = sgx * invstd;
    out[n + c] = dweight;
    out[n + C + c] = sg;
    // dx = a g + b x + d, with the per-channel a, b, d folded from the formula above
    const a = w.data[c] * invstd;
    const bx = (-a * invstd * invstd * sgx) / M;
    const d = (-a * sg) / M - bx * mean;
    for (let k = 0; k < N; k++) for (let i = (k * C + c) * S, e = i + S; i < e; i++) out[i] = a * gs[i] + bx * xs[i] + d;
  }
  return out;
}

// ---- WGSL: a workgroup per channel for the sums, a thread per element for the rest ----

const f32Bindings = (names: readonly string[]): string => names.map((nm, i) => `@group(0) @binding(${i}) var<storage, read> ${nm}: array<f32>;`).join('\n');
const PARAMS = `struct Params { N: u32, C: u32, S: u32, eps: f32 }`;
const params = ({ N, C, S }: ChannelDims, eps: number) =>
  [
    ['u32', N],
    ['u32', C],
    ['u32', S],
    ['f32', eps],
  ] as const;

/** The workgroup sum and channel c's elements. */
const REDUCE = `${WGSL_WORKGROUP_SUM}
// the flat index of channel c's j-th element (j < N S)
fn at(c: u32, j: u32) -> u32 { return ((j / p.S) * p.C + c) * p.S + j % p.S; }`;

function statsWgsl(dims: ChannelDims): WgslProgram {
  const code = `${f32Bindings(['x'])}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${PARAMS}
@group(0) @binding(2) var<uniform> p: Params;
${REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x + wid.y * nw.x;
  let inBounds = c < p.C;
  let M = p.N * p.S;
  var s = 0.0;
  if (inBounds) { for (var j = lid; j < M; j += ${WG}u) { s += x[at(c, j)]; } }
  let mean = reduce(s, lid) / f32(M);
  var q = 0.0;
  if (inBounds) { for (var j = lid; j < M; j += ${WG}u) { let d = x[at(c, j)] - mean; q += d * d; } }
  let v = reduce(q, lid) / f32(M);
  if (inBounds && lid == 0u) { out[c] = mean; out[p.C + c] = v; }
}`;
  return { passes: [{ code, workgroups: wgslGrid(dims.C), params: params(dims, 0) }] };
}

function forwardWgsl(dims: ChannelDims, eps: number): WgslProgram {
  const n = dims.N * dims.C * dims.S;
  const code = `${f32Bindings(['x', 'stats', 'w', 'b'])}
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${PARAMS}
@group(0) @binding(5) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = id.x + id.y * nw.x * ${WG}u;
  if (i >= p.N * p.C * p.S) { return; }
  let c = (i / p.S) % p.C;
  let a = w[c] * inverseSqrt(stats[p.C + c] + p.eps);
  y[i] = (x[i] - stats[c]) * a + b[c];
}`;
  return { passes: [{ code, workgroups: wgslGrid(Math.ceil(n / WG)), params: params(dims, eps) }] };
}

function backwardWgsl(dims: ChannelDims, eps: number): WgslProgram {
  const n = dims.N * dims.C * dims.S;
  const head = `${f32Bindings(['x', 'stats', 'w', 'g'])}
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${PARAMS}
@group(0) @binding(5) var<uniform> p: Params;`;
  // pass 1: dweight and dbias of each channel, after dx's N C S elements
  const sums = `${head}
${REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x + wid.y * nw.x;
  let inBounds = c < p.C;
  var sg = 0.0;
  var sgx = 0.0;
  if (inBounds) {
    let mean = stats[c];
    for (var j = lid; j < p.N * p.S; j += ${WG}u) { let i = at(c, j); sg += g[i]; sgx += g[i] * (x[i] - mean); }
  }
  let dbias = reduce(sg, lid);
  let dweight = reduce(sgx, lid) * inverseSqrt(stats[min(c, p.C - 1u) + p.C] + p.eps);
  if (inBounds && lid == 0u) { let n = p.N * p.C * p.S; out[n + c] = dweight; out[n + p.C + c] = dbias; }
}`;
  // pass 2: dx from the sums of pass 1
  const dx = `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = id.x + id.y * nw.x * ${WG}u;
  let n = p.N * p.C * p.S;
  if (i >= n) { return; }
  let c = (i / p.S) % p.C;
  let invstd = inverseSqrt(stats[p.C + c] + p.eps);
  let M = f32(p.N * p.S);
  let xhat = (x[i] - stats[c]) * invstd;
  out[i] = w[c] * invstd * (g[i] - out[n + p.C + c] / M - xhat * out[n + c] / M);
}`;
  return {
    passes: [
      { code: sums, workgroups: wgslGrid(dims.C), params: params(dims, eps) },
      { code: dx, workgroups: wgslGrid(Math.ceil(n / WG)), params: params(dims, eps) },
    ],
  };
}

// ---- the ops ----

const STATS = ['x'];
const APPLY = ['x', 'stats', 'weight', 'bias'];
const GRAD = ['x', 'stats', 'weight', 'g'];

const statsOp: CustomOp<Record<string, never>, 1> = defineOp<Record<string, never>, 1>({
  name: 'layers.batchNormStats',
  inputs: 1,
  differentiable: false,
  inferOutput: ([x]) => {
    const { C } = dimsOf('layers.batchNormStats', [x], STATS);
    return { shape: [2, C], dtype: x.dtype };
  },
  cpu: (inputs) => statsCpu(inputs, dimsOf('layers.batchNormStats', inputs, STATS)),
  wgsl: (inputs) => statsWgsl(dimsOf('layers.batchNormStats', inputs, STATS)),
});

const gradOp: CustomOp<BatchNormAttrs, 4> = defineOp<BatchNormAttrs, 4>({
  name: 'layers.batchNormBackward',
  inputs: 4,
  differentiable: false,
  inferOutput: (inputs) => {
    const { N, C, S } = dimsOf('layers.batchNormBackward', inputs, GRAD);
    return { shape: [N * C * S + 2 * C], dtype: inputs[0].dtype };
  },
  cpu: (inputs, { eps }) => backwardCpu(inputs, eps, dimsOf('layers.batchNormBackward', inputs, GRAD)),
  wgsl: (inputs, { eps }) => backwardWgsl(dimsOf('layers.batchNormBackward', inputs, GRAD), eps),
});

/**
 * y from [x, stats (2, C), weight (C), bias (C)]. Its gradient treats stats as the batch statistics
 * of x (the only way batchNorm below calls it), so dx includes the path through them.
 */
const applyOp: CustomOp<BatchNormAttrs, 4> = defineOp<BatchNormAttrs, 4>({
  name: 'layers.batchNorm',
  inputs: 4,
  inferOutput: (inputs) => {
    dimsOf('layers.batchNorm', inputs, APPLY);
    return { shape: inputs[0].shape, dtype: inputs[0].dtype };
  },
  cpu: (inputs, { eps }) => forwardCpu(inputs, eps, dimsOf('layers.batchNorm', inputs, APPLY)),
  wgsl: (inputs, { eps }) => forwardWgsl(dimsOf('layers.batchNorm', inputs, APPLY), eps),
  save: ([x, stats, w]) => [x, stats, w],
  backward: (g, { saved: [x, stats, w], attrs, needs }) => {
    const n = x.size;
    const C = stats.shape[1];
    const packed = gradOp([x, stats, w, g], attrs); // (n + 2C)
    return [needs[0] ? packed.narrow(0, 0, n).reshape(x.shape as number[]) : null, null, needs[2] ? packed.narrow(0, n, C) : null, needs[3] ? packed.narrow(0, n + C, C) : null];
  },
});

/** True where the fused ops run: a backend with custom kernels and a dtype they take. */
export const canFuseBatchNorm = (x: Tensor): boolean => canFuseChannelOp(x, 'batchNorm');

/**
 * Batch normalisation of x (N, C, *) with its own batch statistics (PyTorch's `F.batch_norm` with
 * `training=True`): returns y and the statistics, mean and biased variance (C), for a running
 * average. weight and bias (C) default to 1 and 0. Differentiable in x, weight and bias.
 *
 *   const { y, mean, variance } = batchNorm(x, bn.weight, bn.bias, 1e-5);
 */
export function batchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): { y: Tensor; mean: Tensor; variance: Tensor } {
  const C = x.shape[1];
  const opts = { dtype: x.dtype, device: x.device };
  const stats = statsOp([x]); // (2, C)
  const y = applyOp([x, stats, weight ?? ones([C], opts), bias ?? zeros([C], opts)], { eps });
  return { y, mean: stats.select(0, 0), variance: stats.select(0, 1) };
}
