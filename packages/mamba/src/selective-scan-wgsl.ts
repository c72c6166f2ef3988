/**
 * The WGSL programs of the selective scan: one thread per (batch row, channel) runs the scan over
 * the sequence with its N-sized state in registers (a private array), so the state never goes to
 * memory in the forward pass. The backward pass keeps each channel's states in a scratch buffer
 * for the reverse-time scan, writes per-channel partial sums of the gradients that are shared
 * across channels or rows (A, B, C, D, deltaBias), and a second pass adds those up.
 */
import { ShapeError, fmt, type WgslPass, type WgslProgram } from '@dl/tensor';
import { gradSizes, type ScanAttrs, type ScanDims } from './scan-layout.js';

/** The largest d_state the WGSL kernels take: the state lives in a private array of N floats. */
export const MAX_WGSL_STATE = 256;
const WG = 64;

function checkState(op: string, { D, N }: ScanDims): void {
  if (N > MAX_WGSL_STATE || N < 1) throw new ShapeError(op, `d_state N = ${N} (A ${fmt([D, N])}) is outside what the WGSL scan takes: 1 to ${MAX_WGSL_STATE} (its state is held in registers)`);
}

/** x and y workgroup counts for `threads` threads (x is capped at 65535). */
function groups(threads: number): [number, number] {
  const n = Math.max(1, Math.ceil(threads / WG));
  const gy = Math.ceil(n / 65535);
  return [Math.ceil(n / gy), gy];
}

const bindings = (names: readonly string[], from = 0): string => names.map((n, i) => `@group(0) @binding(${from + i}) var<storage, read> ${n}: array<f32>;`).join('\n');

/** Constants and helpers both programs share: the layout flags are compiled in, the sizes come as uniforms. */
function prelude({ N, varB, varC, hasZ }: ScanDims, { deltaSoftplus, returnLastState }: ScanAttrs): string {
  return `const N: u32 = ${N}u;
const VAR_B: bool = ${varB};
const VAR_C: bool = ${varC};
const HAS_Z: bool = ${hasZ};
const SOFTPLUS: bool = ${deltaSoftplus};
const LAST_STATE: bool = ${returnLastState};

fn softplus_(x: f32) -> f32 {
  if (x > 20.0) { return x; }
  return log(1.0 + exp(x));
}

fn sigmoid_(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

fn threadIndex(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
}

fn bAt(b: u32, d: u32, n: u32, t: u32) -> f32 {
  if (VAR_B) { return Bm[(b * N + n) * p.L + t]; }
  return Bm[d * N + n];
}

fn cAt(b: u32, d: u32, n: u32, t: u32) -> f32 {
  if (VAR_C) { return Cm[(b * N + n) * p.L + t]; }
  return Cm[d * N + n];
}

fn dtAt(row: u32, d: u32, t: u32) -> f32 {
  let raw = delta[row + t] + deltaBias[d];
  if (SOFTPLUS) { return softplus_(raw); }
  return raw;
}
`;
}

const INPUTS = ['u', 'delta', 'A', 'Bm', 'Cm', 'Dv', 'deltaBias'];

/** The forward program: one pass, out (batch, D, L [+ N]). */
export function forwardProgram(dims: ScanDims, attrs: ScanAttrs): WgslProgram {
  checkState('mamba.selectiveScan', dims);
  const names = [...INPUTS, ...(dims.hasZ ? ['z'] : [])];
  const k = names.length;
  const zRead = dims.hasZ ? 'z[row + t]' : '0.0';
  const code = `${bindings(names)}
@group(0) @binding(${k}) var<storage, read_write> out: array<f32>;
struct Params { batch: u32, D: u32, L: u32 }
@group(0) @binding(${k + 1}) var<uniform> p: Params;
${prelude(dims, attrs)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = threadIndex(wid, lid, nwg);
  if (c >= p.batch * p.D) { return; }
  let b = c / p.D;
  let d = c % p.D;
  let row = c * p.L;
  var outL = p.L;
  if (LAST_STATE) { outL = p.L + N; }
  let o = c * outL;
  var h: array<f32, ${dims.N}>;
  for (var n = 0u; n < N; n++) { h[n] = 0.0; }
  for (var t = 0u; t < p.L; t++) {
    let dt = dtAt(row, d, t);
    let ut = u[row + t];
    let dtu = dt * ut;
    var y = 0.0;
    for (var n = 0u; n < N; n++) {
      h[n] = exp(dt * A[d * N + n]) * h[n] + dtu * bAt(b, d, n, t);
      y += h[n] * cAt(b, d, n, t);
    }
    y += Dv[d] * ut;
    if (HAS_Z) {
      let zt = ${zRead};
      y *= zt * sigmoid_(zt);
    }
    out[o + t] = y;
  }
  if (LAST_STATE) {
    for (var n = 0u; n < N; n++) { out[o + p.L + n] = h[n]; }
  }
}
`;
  const params = [['u32', dims.batch], ['u32', dims.D], ['u32', dims.L]] as const;
  return { passes: [{ code, workgroups: groups(dims.batch * dims.D), params }] };
}

/**
 * The backward program: pass 1 per (row, channel) — forward again keeping the states in scratch 0,
 * then the reverse-time scan, writing du, ddelta, dz and per-channel partials (scratch 1); pass 2
 * per element of dA, dB, dC, dD, ddeltaBias — the sum of its partials.
 */
export function backwardProgram(dims: ScanDims, attrs: ScanAttrs): WgslProgram {
  checkState('mamba.selectiveScanBackward', dims);
  const { batch, D, L, N, varB, varC, hasZ } = dims;
  const names = [...INPUTS, ...(hasZ ? ['z'] : []), 'g'];
  const k = names.length;
  const [sU, sDelta, sA, sB, sC, sD, sBias] = gradSizes(dims);
  const channels = batch * D;
  // partials, per channel c = b D + d: A (c, n); B and C (c, n, t) or (c, n); D and deltaBias (c)
  const pB = channels * N;
  const pBSize = varB ? channels * N * L : channels * N;
  const pC = pB + pBSize;
  const pCSize = varC ? channels * N * L : channels * N;
  const pD = pC + pCSize;
  const pBias = pD + channels;
  const partials = pBias + channels;
  const reduced = sA + sB + sC + sD + sBias;
  const code = `${bindings(names)}
@group(0) @binding(${k}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${k + 1}) var<storage, read_write> hs: array<f32>;
@group(0) @binding(${k + 2}) var<storage, read_write> part: array<f32>;
struct Params { batch: u32, D: u32, L: u32, reduced: u32, pB: u32, pC: u32, pD: u32, pBias: u32 }
@group(0) @binding(${k + 3}) var<uniform> p: Params;
${prelude(dims, attrs)}
// offsets of the packed gradient: du, ddelta, dA, dB, dC, dD, ddeltaBias, dz
fn oDelta() -> u32 { return p.batch * p.D * p.L; }
fn oA() -> u32 { return 2u * p.batch * p.D * p.L; }
fn oB() -> u32 { return oA() + p.D * N; }
fn sizeB() -> u32 { if (VAR_B) { return p.batch * N * p.L; } return p.D * N; }
fn sizeC() -> u32 { if (VAR_C) { return p.batch * N * p.L; } return p.D * N; }
fn oC() -> u32 { return oB() + sizeB(); }
fn oD() -> u32 { return oC() + sizeC(); }
fn oBias() -> u32 { return oD() + p.D; }
fn oZ() -> u32 { return oBias() + p.D; }

@compute @workgroup_size(${WG})
fn channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = threadIndex(wid, lid, nwg);
  if (c >= p.batch * p.D) { return; }
  let b = c / p.D;
  let d = c % p.D;
  let row = c * p.L;
  var outL = p.L;
  if (LAST_STATE) { outL = p.L + N; }
  let gRow = c * outL;
  let base = c * p.L * N;
  var h: array<f32, ${N}>;
  for (var n = 0u; n < N; n++) { h[n] = 0.0; }
  for (var t = 0u; t < p.L; t++) {
    let dt = dtAt(row, d, t);
    let dtu = dt * u[row + t];
    for (var n = 0u; n < N; n++) {
      h[n] = exp(dt * A[d * N + n]) * h[n] + dtu * bAt(b, d, n, t);
      hs[base + t * N + n] = h[n];
    }
  }
  // h now holds dL/dh, and dAs the partial of A
  var dAs: array<f32, ${N}>;
  for (var n = 0u; n < N; n++) {
    dAs[n] = 0.0;
    if (LAST_STATE) { h[n] = g[gRow + p.L + n]; } else { h[n] = 0.0; }
  }
  if (!VAR_B) { for (var n = 0u; n < N; n++) { part[p.pB + c * N + n] = 0.0; } }
  if (!VAR_C) { for (var n = 0u; n < N; n++) { part[p.pC + c * N + n] = 0.0; } }
  var dDsum = 0.0;
  var dBiasSum = 0.0;
  for (var s = 0u; s < p.L; s++) {
    let t = p.L - 1u - s;
    let dt = dtAt(row, d, t);
    let ut = u[row + t];
    let gt = g[gRow + t];
    var gy = gt;
    if (HAS_Z) {
      var y = 0.0;
      for (var n = 0u; n < N; n++) { y += hs[base + t * N + n] * cAt(b, d, n, t); }
      y += Dv[d] * ut;
      ${hasZ ? `let zt = z[row + t];
      let sg = sigmoid_(zt);
      gy = gt * zt * sg;
      out[oZ() + row + t] = gt * y * sg * (1.0 + zt * (1.0 - sg));` : ''}
    }
    dDsum += gy * ut;
    var du = gy * Dv[d];
    var ddt = 0.0;
    for (var n = 0u; n < N; n++) {
      let bv = bAt(b, d, n, t);
      let cv = cAt(b, d, n, t);
      let a = A[d * N + n];
      var hPrev = 0.0;
      if (t > 0u) { hPrev = hs[base + (t - 1u) * N + n]; }
      let dC = gy * hs[base + t * N + n];
      let dhn = h[n] + gy * cv;
      let dA = exp(dt * a);
      let dB = dhn * dt * ut;
      if (VAR_B) { part[p.pB + (c * N + n) * p.L + t] = dB; } else { part[p.pB + c * N + n] += dB; }
      if (VAR_C) { part[p.pC + (c * N + n) * p.L + t] = dC; } else { part[p.pC + c * N + n] += dC; }
      ddt += dhn * (a * dA * hPrev + ut * bv);
      du += dhn * dt * bv;
      dAs[n] += dhn * dt * dA * hPrev;
      h[n] = dhn * dA;
    }
    var dRaw = ddt;
    if (SOFTPLUS) { dRaw = ddt * sigmoid_(delta[row + t] + deltaBias[d]); }
    out[row + t] = du;
    out[oDelta() + row + t] = dRaw;
    dBiasSum += dRaw;
  }
  for (var n = 0u; n < N; n++) { part[c * N + n] = dAs[n]; }
  part[p.pD + c] = dDsum;
  part[p.pBias + c] = dBiasSum;
}

// one thread per element of dA, dB, dC, dD, ddeltaBias: the sum of its partials over rows or channels
@compute @workgroup_size(${WG})
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = threadIndex(wid, lid, nwg);
  if (i >= p.reduced) { return; }
  var s = 0.0;
  let nA = p.D * N;
  if (i < nA) {
    for (var b = 0u; b < p.batch; b++) { s += part[b * nA + i]; }
  } else if (i < nA + sizeB()) {
    s = sumShared(p.pB, i - nA, VAR_B);
  } else if (i < nA + sizeB() + sizeC()) {
    s = sumShared(p.pC, i - nA - sizeB(), VAR_C);
  } else if (i < nA + sizeB() + sizeC() + p.D) {
    let d = i - nA - sizeB() - sizeC();
    for (var b = 0u; b < p.batch; b++) { s += part[p.pD + b * p.D + d]; }
  } else {
    let d = i - nA - sizeB() - sizeC() - p.D;
    for (var b = 0u; b < p.batch; b++) { s += part[p.pBias + b * p.D + d]; }
  }
  out[oA() + i] = s;
}

// input-dependent (b, n, t): the sum over channels d; fixed (d, n): the sum over rows b
fn sumShared(at: u32, j: u32, variable: bool) -> f32 {
  var s = 0.0;
  if (variable) {
    let nl = N * p.L;
    let b = j / nl;
    let r = j % nl;
    for (var d = 0u; d < p.D; d++) { s += part[at + (b * p.D + d) * nl + r]; }
  } else {
    for (var b = 0u; b < p.batch; b++) { s += part[at + b * p.D * N + j]; }
  }
  return s;
}
`;
  void sU;
  void sDelta;
  const params = [['u32', batch], ['u32', D], ['u32', L], ['u32', reduced], ['u32', pB], ['u32', pC], ['u32', pD], ['u32', pBias]] as const;
  const passes: WgslPass[] = [
    { code, entryPoint: 'channel', workgroups: groups(channels), params },
    { code, entryPoint: 'reduce', workgroups: groups(reduced), params },
  ];
  return { scratch: [Math.max(4, channels * L * N * 4), partials * 4], passes };
}
