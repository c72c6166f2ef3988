/**
 * Mamba's short convolution as one fused op of this package, as the reference's `causal_conv1d_fn`
 * (the `causal-conv1d` kernels state-spaces/mamba uses when installed): a depthwise convolution of
 * width W over time that sees only the present and the past, plus a bias, optionally through SiLU.
 *
 *   y[b, d, t] = act(bias[d] + sum_k weight[d, k] x[b, d, t - (W - 1) + k])   (x = 0 before t = 0)
 *
 * which is `F.conv1d(x, weight[:, None], bias, padding=W-1, groups=D)[..., :L]`. As a composition
 * it was a grouped conv2d over a padded copy, a narrow, a contiguous copy and a SiLU, each with its
 * backward; fused it is one pass forward and one backward (dx, dweight, dbias packed), on CPU and
 * WebGPU.
 */
import { DTypeError, ShapeError, cpuResultArray, defineOp, fmt, zeros, type CustomOp, type HostInput, type Tensor, type TypedArray, type WgslProgram } from '@dl/tensor';
import { sigmoid } from './scan-layout.js';
import { bindings, grid } from './selective-scan-wgsl.js';

export interface CausalConv1dAttrs {
  /** 'silu' applies SiLU to the output (Mamba's case); null leaves it linear */
  activation: 'silu' | null;
}

interface ConvDims {
  batch: number;
  D: number;
  L: number;
  W: number;
}

/** Checks [x (batch, D, L), weight (D, W), bias (D), g?] and names every shape on a mismatch. */
function dimsOf(op: string, shapes: readonly (readonly number[])[], dtypes: readonly string[]): ConvDims {
  const [x, w, b] = shapes;
  const all = `x=${fmt(x)} weight=${fmt(w)} bias=${fmt(b)}`;
  if (x.length !== 3) throw new ShapeError(op, `x must be (batch, D, L), got ${fmt(x)}; ${all}`);
  const [batch, D, L] = x;
  if (w.length !== 2 || w[0] !== D || w[1] < 1) throw new ShapeError(op, `weight must be (D, W) with D = x.shape[1] (${D}) and W >= 1, got ${fmt(w)}; ${all}`);
  if (b.length !== 1 || b[0] !== D) throw new ShapeError(op, `bias must be (D) = ${fmt([D])}, got ${fmt(b)}; ${all}`);
  const dt = dtypes[0];
  if ((dt !== 'float32' && dt !== 'float64') || dtypes.some((d) => d !== dt)) throw new DTypeError(op, `every input must be float32 (or float64 on CPU) of one dtype, got ${dtypes.join(', ')} for ${all}`);
  return { batch, D, L, W: w[1] };
}

/** A pooled result array of x's dtype (@dl/tensor recycles freed CPU storage); zeroed unless every element is written. */
const newArray = (like: TypedArray, n: number, zeroed: boolean): TypedArray => cpuResultArray(like instanceof Float64Array ? 'float64' : 'float32', n, zeroed);

/**
 * The pre-activation of row r (= b D + d) at every t, into `pre` (L): one pass over the row per
 * tap k (x shifted by W - 1 - k), so the loops stay short and free of bounds tests.
 */
function preActivation(x: TypedArray, w: TypedArray, bias: TypedArray, { D, L, W }: ConvDims, r: number, pre: Float64Array): void {
  const d = r % D;
  const row = r * L;
  pre.fill(bias[d]);
  for (let k = 0; k < W; k++) {
    const wk = w[d * W + k];
    const shift = W - 1 - k;
    for (let t = shift; t < L; t++) pre[t] += wk * x[row + t - shift];
  }
}

function forwardCpu(inputs: readonly HostInput[], { activation }: CausalConv1dAttrs, dims: ConvDims): TypedArray {
  const [x, w, bias] = inputs.map((i) => i.data);
  const { batch, D, L } = dims;
  const out = newArray(x, batch * D * L, false);
  const pre = new Float64Array(L);
  for (let r = 0; r < batch * D; r++) {
    preActivation(x, w, bias, dims, r, pre);
    const row = r * L;
    if (activation === 'silu') for (let t = 0; t < L; t++) out[row + t] = pre[t] / (1 + Math.exp(-pre[t]));
    else for (let t = 0; t < L; t++) out[row + t] = pre[t];
  }
  return out;
}

/** Packed [dx (batch, D, L), dweight (D, W), dbias (D)] from [x, weight, bias, g]. */
function backwardCpu(inputs: readonly HostInput[], { activation }: CausalConv1dAttrs, dims: ConvDims): TypedArray {
  const [x, w, bias, g] = inputs.map((i) => i.data);
  const { batch, D, L, W } = dims;
  const n = batch * D * L;
  const out = newArray(x, n + D * W + D, true);
  const pre = new Float64Array(L);
  const gp = new Float64Array(L); // dL/d(pre-activation)
  const dx = new Float64Array(L);
  for (let r = 0; r < batch * D; r++) {
    const d = r % D;
    const row = r * L;
    if (activation === 'silu') {
      preActivation(x, w, bias, dims, r, pre);
      for (let t = 0; t < L; t++) {
        const s = sigmoid(pre[t]);
        gp[t] = g[row + t] * s * (1 + pre[t] * (1 - s));
      }
    } else for (let t = 0; t < L; t++) gp[t] = g[row + t];
    let db = 0;
    for (let t = 0; t < L; t++) db += gp[t];
    out[n + D * W + d] += db;
    // x[row + t - shift] fed y[t] through tap k (shift = W - 1 - k)
    dx.fill(0);
    for (let k = 0; k < W; k++) {
      const wk = w[d * W + k];
      const shift = W - 1 - k;
      let dw = 0;
      for (let t = shift; t < L; t++) {
        dx[t - shift] += wk * gp[t];
        dw += x[row + t - shift] * gp[t];
      }
      out[n + d * W + k] += dw;
    }
    for (let t = 0; t < L; t++) out[row + t] = dx[t];
  }
  return out;
}

const WG = 64;

/** y[b, d, t] (the pre-activation) for the WGSL passes: reads x, w, bias; D, L, W from p. */
const PRE_WGSL = `
fn pre(r: u32, t: u32) -> f32 {
  let d = r % p.D;
  var s = bias[d];
  for (var k = 0u; k < p.W; k++) {
    if (t + k + 1u >= p.W) { s += w[d * p.W + k] * x[r * p.L + t + k + 1u - p.W]; }
  }
  return s;
}
fn silu(v: f32) -> f32 { return v / (1.0 + exp(-v)); }
fn dsilu(v: f32) -> f32 { let s = 1.0 / (1.0 + exp(-v)); return s * (1.0 + v * (1.0 - s)); }
struct Params { n: u32, D: u32, L: u32, W: u32 }`;

const SILU = (attrs: CausalConv1dAttrs): string => `const SILU: bool = ${attrs.activation === 'silu'};`;

function forwardWgsl(attrs: CausalConv1dAttrs, { batch, D, L, W }: ConvDims): WgslProgram {
  const n = batch * D * L;
  const code = `${SILU(attrs)}
${bindings(['x', 'w', 'bias'])}
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${PRE_WGSL}
@group(0) @binding(4) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = id.x + id.y * nw.x * ${WG}u;
  if (i >= p.n) { return; }
  let v = pre(i / p.L, i % p.L);
  y[i] = select(v, silu(v), SILU);
}`;
  return { passes: [{ code, workgroups: grid(Math.ceil(n / WG)), params: [['u32', n], ['u32', D], ['u32', L], ['u32', W]] }] };
}

function backwardWgsl(attrs: CausalConv1dAttrs, { batch, D, L, W }: ConvDims): WgslProgram {
  const n = batch * D * L;
  const head = `${SILU(attrs)}
${bindings(['x', 'w', 'bias', 'g'])}
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${PRE_WGSL}
@group(0) @binding(5) var<uniform> p: Params;
// dL/d(pre-activation) at (r, t)
fn gp(r: u32, t: u32) -> f32 {
  let gv = g[r * p.L + t];
  if (SILU) { return gv * dsilu(pre(r, t)); }
  return gv;
}`;
  // dx: each x[r, i] fed y[r, i + W - 1 - k] through weight k
  const dx = `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = id.x + id.y * nw.x * ${WG}u;
  if (i >= p.n) { return; }
  let r = i / p.L;
  let s = i % p.L;
  let d = r % p.D;
  var acc = 0.0;
  for (var k = 0u; k < p.W; k++) {
    let t = s + p.W - 1u - k;
    if (t < p.L) { acc += w[d * p.W + k] * gp(r, t); }
  }
  out[i] = acc;
}`;
  // dweight[d, k] (k < W) and dbias[d] (k = W): one invocation each, summing over batch and time
  const dw = `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  if (j >= p.D * (p.W + 1u)) { return; }
  let d = j / (p.W + 1u);
  let k = j % (p.W + 1u);
  var acc = 0.0;
  for (var b = 0u; b < p.n / (p.D * p.L); b++) {
    let r = b * p.D + d;
    for (var t = 0u; t < p.L; t++) {
      if (k == p.W) { acc += gp(r, t); }
      else if (t + k + 1u >= p.W) { acc += x[r * p.L + t + k + 1u - p.W] * gp(r, t); }
    }
  }
  if (k == p.W) { out[p.n + p.D * p.W + d] = acc; } else { out[p.n + d * p.W + k] = acc; }
}`;
  const params = [['u32', n], ['u32', D], ['u32', L], ['u32', W]] as const;
  return {
    passes: [
      { code: dx, workgroups: grid(Math.ceil(n / WG)), params },
      { code: dw, workgroups: [Math.ceil((D * (W + 1)) / WG)], params },
    ],
  };
}

const convGrad: CustomOp<CausalConv1dAttrs> = defineOp<CausalConv1dAttrs>({
  name: 'mamba.causalConv1dBackward',
  differentiable: false,
  inferOutput: (inputs) => {
    const dims = dimsOf('mamba.causalConv1dBackward', inputs.map((t) => t.shape), inputs.map((t) => t.dtype));
    return { shape: [dims.batch * dims.D * dims.L + dims.D * dims.W + dims.D], dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs) => backwardCpu(inputs, attrs, dimsOf('mamba.causalConv1dBackward', inputs.map((i) => i.shape), inputs.map((i) => i.dtype))),
  wgsl: (inputs, attrs) => backwardWgsl(attrs, dimsOf('mamba.causalConv1dBackward', inputs.map((i) => i.shape), inputs.map((i) => i.dtype))),
});

/** The fused op on [x, weight (D, W), bias (D)]; its gradient runs the backward op once and splits the packed result. */
export const causalConv1dOp: CustomOp<CausalConv1dAttrs> = defineOp<CausalConv1dAttrs>({
  name: 'mamba.causalConv1d',
  inferOutput: (inputs) => {
    if (inputs.length !== 3) throw new ShapeError('mamba.causalConv1d', `expected 3 inputs (x, weight, bias), got ${inputs.length}`);
    const { batch, D, L } = dimsOf('mamba.causalConv1d', inputs.map((t) => t.shape), inputs.map((t) => t.dtype));
    return { shape: [batch, D, L], dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs) => forwardCpu(inputs, attrs, dimsOf('mamba.causalConv1d', inputs.map((i) => i.shape), inputs.map((i) => i.dtype))),
  wgsl: (inputs, attrs) => forwardWgsl(attrs, dimsOf('mamba.causalConv1d', inputs.map((i) => i.shape), inputs.map((i) => i.dtype))),
  save: (inputs) => [...inputs],
  backward: (g, { saved: [x, w, b], attrs, needs }) => {
    const [batch, D, L] = x.shape;
    const W = w.shape[1];
    const packed = convGrad([x, w, b, g], attrs); // (batch D L + D W + D)
    const n = batch * D * L;
    return [needs[0] ? packed.narrow(0, 0, n).reshape([batch, D, L]) : null, needs[1] ? packed.narrow(0, n, D * W).reshape([D, W]) : null, needs[2] ? packed.narrow(0, n + D * W, D) : null];
  },
});

/**
 * The causal depthwise convolution of Mamba's mixer: x (batch, D, L), weight (D, 1, W) as
 * `Conv1d`'s (or (D, W)), bias (D) or none -> (batch, D, L), through SiLU with
 * `{ activation: 'silu' }`. One fused kernel on CPU and WebGPU, differentiable in x, weight and bias.
 *
 *   const x = causalConv1d(xIn, mixer.conv1d.weight, mixer.conv1d.bias, { activation: 'silu' }); // (batch, D, L)
 */
export function causalConv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, { activation = null }: Partial<CausalConv1dAttrs> = {}): Tensor {
  const w = weight.ndim === 3 && weight.shape[1] === 1 ? weight.reshape([weight.shape[0], weight.shape[2]]) : weight; // (D, W)
  const b = bias ?? zeros([w.shape[0]], { dtype: x.dtype, device: x.device });
  return causalConv1dOp([x, w, b], { activation });
}

