/**
 * Group normalisation with its affine map, and optionally the SiLU after it, as one fused op each
 * way (PyTorch's `native_group_norm` and its backward; diffusers' ResNet blocks apply SiLU right
 * after the norm). Composed, the layer was a layer norm over the groups, a multiply and an add (six
 * passes over the activations and three more for a SiLU, on WebGPU as many dispatches) forward and
 * about ten passes backward; fused it is one pass over each row in cache forward and one backward
 * (two dispatches). The backward recomputes each row's statistics, so the forward saves only its
 * inputs.
 *
 * x is viewed as (N, C, S) with C = G Cg: a row is one (sample, group), Cg channels of S values.
 */
import { ShapeError, defineOp, wgslGrid, type CustomOp, type DType, type HostInput, type Tensor, type TypedArray, type WgslProgram } from '@dl/tensor';
import { WG, WGSL_WORKGROUP_SUM, canFuseChannelOp, channelDims, resultLike } from './channel-ops.js';
import { groupNormBackwardWasm, groupNormForwardWasm, wasmGroupNormFits, type GNDims } from './group-norm-wasm.js';

export interface GroupNormAttrs {
  numGroups: number;
  eps: number;
  /** apply SiLU to the normalised output (the gradient then goes through it too) */
  silu: boolean;
}

/** (N, C, S, G) of inputs[0] = x after checking the others: weight and bias (C), g x's shape. */
function dimsOf(op: string, inputs: readonly { shape: readonly number[]; dtype: DType }[], names: readonly string[], G: number): GNDims {
  const groups = (C: number, all: string) => {
    if (!Number.isInteger(G) || G < 1 || C % G !== 0) throw new ShapeError(op, `numGroups must be a positive divisor of C=${C}, got ${G}; ${all}`);
  };
  return { ...channelDims(op, inputs, names, (name, x, C) => (name === 'g' ? x : [C]), groups), G };
}

// ---- JS kernels (float64 and the 'js' kernel set): float64 arithmetic, row r = x[r L .. + L) ----

/** [mean, rstd] of the row of `len` values at x[at] (two passes) */
function rowStats(x: TypedArray, at: number, len: number, eps: number): [number, number] {
  let s = 0;
  for (let i = at; i < at + len; i++) s += x[i];
  const mean = s / len;
  let q = 0;
  for (let i = at; i < at + len; i++) q += (x[i] - mean) ** 2;
  return [mean, 1 / Math.sqrt(q / len + eps)];
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function forwardJs([x, w, b]: readonly HostInput[], { eps, silu }: GroupNormAttrs, { N, C, S, G }: GNDims): TypedArray {
  const xs = x.data;
  const out = resultLike(xs, N * C * S);
  const Cg = C / G, L = Cg * S;
  for (let r = 0; r < N * G; r++) {
    const [mean, rstd] = rowStats(xs, r * L, L, eps);
    for (let c = 0; c < Cg; c++) {
      const ch = (r % G) * Cg + c;
      const a = w.data[ch] * rstd;
      const shift = b.data[ch] - mean * a;
      for (let i = r * L + c * S, e = i + S; i < e; i++) {
        const y = xs[i] * a + shift;
        out[i] = silu ? y * sigmoid(y) : y;
      }
    }
  }
  return out;
}

/**
 * Packed [dx (N C S), dweight (C), dbias (C)]. With gy the gradient at the norm's output (g, or
 * g silu'(y)) and m1, m2 each row's means of gy w and gy w xhat: dx = rstd (gy w - m1 - xhat m2),
 * dweight = sum gy xhat and dbias = sum gy over samples and positions.
 */
function backwardJs([x, w, b, g]: readonly HostInput[], { eps, silu }: GroupNormAttrs, { N, C, S, G }: GNDims): TypedArray {
  const xs = x.data, gs = g.data;
  const n = N * C * S;
  const out = resultLike(xs, n + 2 * C);
  const Cg = C / G, L = Cg * S;
  const dw = new Float64Array(C), db = new Float64Array(C);
  const gy = new Float64Array(L);
  for (let r = 0; r < N * G; r++) {
    const [mean, rstd] = rowStats(xs, r * L, L, eps);
    let m1 = 0, m2 = 0;
    for (let c = 0; c < Cg; c++) {
      const ch = (r % G) * Cg + c;
      const a = w.data[ch] * rstd;
      const shift = b.data[ch] - mean * a;
      let sg = 0, sgx = 0;
      for (let j = c * S, i = r * L + j, e = j + S; j < e; j++, i++) {
        let v = gs[i];
        if (silu) {
          const y = xs[i] * a + shift;
          const s = sigmoid(y);
          v *= s * (1 + y * (1 - s));
        }
        gy[j] = v;
        sg += v;
        sgx += v * (xs[i] - mean) * rstd;
      }
      db[ch] += sg;
      dw[ch] += sgx;
      m1 += w.data[ch] * sg;
      m2 += w.data[ch] * sgx;
    }
    m1 /= L;
    m2 /= L;
    for (let c = 0; c < Cg; c++) {
      const wc = w.data[(r % G) * Cg + c];
      for (let j = c * S, i = r * L + j, e = j + S; j < e; j++, i++) out[i] = rstd * (gy[j] * wc - m1 - (xs[i] - mean) * rstd * m2);
    }
  }
  for (let c = 0; c < C; c++) {
    out[n + c] = dw[c];
    out[n + C + c] = db[c];
  }
  return out;
}

function forwardCpu(inputs: readonly HostInput[], attrs: GroupNormAttrs, dims: GNDims): TypedArray {
  const [x, w, b] = inputs;
  if (!wasmGroupNormFits(x.data)) return forwardJs(inputs, attrs, dims);
  const out = resultLike(x.data, dims.N * dims.C * dims.S) as Float32Array;
  groupNormForwardWasm(x.data as Float32Array, w.data as Float32Array, b.data as Float32Array, out, dims, attrs.eps, attrs.silu);
  return out;
}

function backwardCpu(inputs: readonly HostInput[], attrs: GroupNormAttrs, dims: GNDims): TypedArray {
  const [x, w, b, g] = inputs;
  if (!wasmGroupNormFits(x.data)) return backwardJs(inputs, attrs, dims);
  const out = resultLike(x.data, dims.N * dims.C * dims.S + 2 * dims.C) as Float32Array;
  groupNormBackwardWasm(x.data as Float32Array, w.data as Float32Array, b.data as Float32Array, g.data as Float32Array, out, dims, attrs.eps, attrs.silu);
  return out;
}

// ---- WGSL: a workgroup per row for the statistics and everything that needs them ----

const PARAMS = `struct Params { N: u32, C: u32, S: u32, G: u32, eps: f32 }`;
const params = ({ N, C, S, G }: GNDims, eps: number) =>
  [
    ['u32', N],
    ['u32', C],
    ['u32', S],
    ['u32', G],
    ['f32', eps],
  ] as const;

/** Workgroup sums, the row's statistics, and the SiLU pieces. */
const COMMON = `${WGSL_WORKGROUP_SUM}
// (mean, rstd) of row r (every thread must call it)
fn rowStats(r: u32, lid: u32) -> vec2<f32> {
  let L = (p.C / p.G) * p.S;
  var s = 0.0;
  for (var j = lid; j < L; j += ${WG}u) { s += x[r * L + j]; }
  let mean = reduce(s, lid) / f32(L);
  var q = 0.0;
  for (var j = lid; j < L; j += ${WG}u) { let d = x[r * L + j] - mean; q += d * d; }
  return vec2<f32>(mean, inverseSqrt(reduce(q, lid) / f32(L) + p.eps));
}
fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }`;

const rowId = `let r = wid.x + wid.y * nw.x;
  let inBounds = r < p.N * p.G;
  let rr = min(r, p.N * p.G - 1u);
  let Cg = p.C / p.G;
  let L = Cg * p.S;
  let ms = rowStats(rr, lid);`;

function forwardWgsl(dims: GNDims, eps: number, silu: boolean): WgslProgram {
  const code = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${PARAMS}
@group(0) @binding(4) var<uniform> p: Params;
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${rowId}
  if (!inBounds) { return; }
  for (var j = lid; j < L; j += ${WG}u) {
    let ch = (r % p.G) * Cg + j / p.S;
    let a = w[ch] * ms.y;
    let v = x[r * L + j] * a + (b[ch] - ms.x * a);
    y[r * L + j] = ${silu ? 'v * sigmoid(v)' : 'v'};
  }
}`;
  return { passes: [{ code, workgroups: wgslGrid(dims.N * dims.G), params: params(dims, eps) }] };
}

function backwardWgsl(dims: GNDims, eps: number, silu: boolean): WgslProgram {
  const head = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
${PARAMS}
@group(0) @binding(6) var<uniform> p: Params;`;
  // pass 1, a workgroup per row: each channel's sums of gy and gy xhat into part[(r Cg + c) 2 ..], then dx
  const rowsPass = `${head}
${COMMON}
// the gradient at the norm's output of element i of channel ch
fn gy(i: u32, ch: u32, ms: vec2<f32>) -> f32 {
  ${silu ? 'let a = w[ch] * ms.y;\n  let v = x[i] * a + (b[ch] - ms.x * a);\n  let s = sigmoid(v);\n  return g[i] * s * (1.0 + v * (1.0 - s));' : 'return g[i];'}
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${rowId}
  var m1 = 0.0;
  var m2 = 0.0;
  for (var c = 0u; c < Cg; c++) {
    let ch = (rr % p.G) * Cg + c;
    var sg = 0.0;
    var sgx = 0.0;
    for (var j = lid; j < p.S; j += ${WG}u) {
      let i = rr * L + c * p.S + j;
      let v = gy(i, ch, ms);
      sg += v;
      sgx += v * (x[i] - ms.x) * ms.y;
    }
    let tg = reduce(sg, lid);
    let tgx = reduce(sgx, lid);
    if (inBounds && lid == 0u) { part[(r * Cg + c) * 2u] = tg; part[(r * Cg + c) * 2u + 1u] = tgx; }
    m1 += w[ch] * tg;
    m2 += w[ch] * tgx;
  }
  if (!inBounds) { return; }
  m1 /= f32(L);
  m2 /= f32(L);
  for (var j = lid; j < L; j += ${WG}u) {
    let i = r * L + j;
    let ch = (r % p.G) * Cg + j / p.S;
    out[i] = ms.y * (gy(i, ch, ms) * w[ch] - m1 - (x[i] - ms.x) * ms.y * m2);
  }
}`;
  // pass 2, a thread per channel: dweight and dbias summed over the samples in order
  const sums = `${head}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let ch = id.x;
  if (ch >= p.C) { return; }
  let Cg = p.C / p.G;
  var dw = 0.0;
  var db = 0.0;
  for (var n = 0u; n < p.N; n++) {
    // row n G + ch / Cg, channel ch % Cg: slot n C + ch
    db += part[(n * p.C + ch) * 2u];
    dw += part[(n * p.C + ch) * 2u + 1u];
  }
  let total = p.N * p.C * p.S;
  out[total + ch] = dw;
  out[total + p.C + ch] = db;
}`;
  return {
    passes: [
      { code: rowsPass, workgroups: wgslGrid(dims.N * dims.G), params: params(dims, eps) },
      { code: sums, workgroups: [Math.ceil(dims.C / 64)], params: params(dims, eps) },
    ],
    scratch: [4 * Math.max(1, 2 * dims.N * dims.C)],
  };
}

// ---- the ops ----

const APPLY = ['x', 'weight', 'bias'];
const GRAD = ['x', 'weight', 'bias', 'g'];

const gradOp: CustomOp<GroupNormAttrs, 4> = defineOp<GroupNormAttrs, 4>({
  name: 'layers.groupNormBackward',
  inputs: 4,
  differentiable: false,
  inferOutput: (inputs, { numGroups }) => {
    const { N, C, S } = dimsOf('layers.groupNormBackward', inputs, GRAD, numGroups);
    return { shape: [N * C * S + 2 * C], dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs) => backwardCpu(inputs, attrs, dimsOf('layers.groupNormBackward', inputs, GRAD, attrs.numGroups)),
  wgsl: (inputs, attrs) => backwardWgsl(dimsOf('layers.groupNormBackward', inputs, GRAD, attrs.numGroups), attrs.eps, attrs.silu),
});

const applyOp: CustomOp<GroupNormAttrs, 3> = defineOp<GroupNormAttrs, 3>({
  name: 'layers.groupNorm',
  inputs: 3,
  inferOutput: (inputs, { numGroups }) => {
    dimsOf('layers.groupNorm', inputs, APPLY, numGroups);
    return { shape: inputs[0].shape, dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs) => forwardCpu(inputs, attrs, dimsOf('layers.groupNorm', inputs, APPLY, attrs.numGroups)),
  wgsl: (inputs, attrs) => forwardWgsl(dimsOf('layers.groupNorm', inputs, APPLY, attrs.numGroups), attrs.eps, attrs.silu),
  save: ([x, w, b]) => [x, w, b],
  backward: (g, { saved: [x, w, b], attrs, needs }) => {
    const n = x.size;
    const C = w.size;
    const packed = gradOp([x, w, b, g], attrs); // (n + 2C)
    return [needs[0] ? packed.narrow(0, 0, n).reshape(x.shape as number[]) : null, needs[1] ? packed.narrow(0, n, C) : null, needs[2] ? packed.narrow(0, n + C, C) : null];
  },
});

/** True where the fused op runs: a backend with custom kernels and a dtype they take. */
export const canFuseGroupNorm = (x: Tensor): boolean => canFuseChannelOp(x, 'groupNorm');

/**
 * Group normalisation of x (N, C, *) over numGroups groups of channels with the per-channel affine
 * map (PyTorch's `F.group_norm`), then SiLU when `silu` is set: one fused op, differentiable in x,
 * weight and bias (C). Takes float32, or float64 on the CPU (see canFuseGroupNorm).
 *
 *   const y = groupNorm(x, 8, norm.weight, norm.bias, 1e-5, { silu: true }); // silu(GroupNorm(x))
 */
export function groupNorm(x: Tensor, numGroups: number, weight: Tensor, bias: Tensor, eps: number, { silu = false }: { silu?: boolean } = {}): Tensor {
  return applyOp([x, weight, bias], { numGroups, eps, silu });
}
