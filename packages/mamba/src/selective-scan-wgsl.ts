/**
 * The WGSL programs of the selective scan, as chunked scans over the sequence. The recurrence
 * h_t = exp(dt_t A[d,n]) h_{t-1} + dt_t B_t[n] u_t is associative in the pairs (decay, input), so
 * one workgroup per (batch row b, channel d) splits the sequence among its T = 64 invocations:
 * invocation j owns LC consecutive steps (a chunk; its steps stay in private arrays), and the
 * workgroup walks the sequence in blocks of T * LC steps, carrying the state from block to block.
 * Per block and per group of NG state indices n, each invocation
 *
 *   1. scans its chunk from a zero state: the chunk's local end state, and its decay (the
 *      product of its steps' exp(dt_t A[d,n]));
 *   2. the chunks' (decay, local end state) pairs are combined in workgroup memory in two
 *      levels: NG x SEG invocations fold segments of T / SEG chunks, one invocation per n runs
 *      through the SEG segments (from the state carried in), and each chunk folds the chunks
 *      before it in its segment: its initial state;
 *   3. scans its chunk again from that initial state, adding h_t[n] C_t[n] into its y_t.
 *
 * LC (1 to 4) and NG (up to 8) are compiled in: the private arrays are indexed by unrolled loops.
 *
 * The backward program does the same for the reverse-time scan of dL/dh (its carries run from the
 * last chunk down, from the last state's gradient), in one pass per (b, d): it first walks the
 * blocks forward for their initial states (only when L spans several blocks), then the blocks
 * from the last down, where each invocation rebuilds its chunk's states in private arrays and
 * runs the reverse scan over them. Sums over time or rows (dA, a fixed dB or dC, dD, ddeltaBias)
 * are reduced in workgroup memory to one value per (b, d), written by one invocation, and a last
 * pass adds those over the batch; input-dependent dB and dC (sums over channels d) go through a
 * scratch buffer of per-(b, d, n, t) terms that a reduce pass adds over d, a slice of channels at
 * a time so the buffer stays under SCRATCH_BUDGET.
 */
import { ShapeError, fmt, wgslGrid, type WgslPass, type WgslProgram } from '@dl/tensor';
import { type ScanAttrs, type ScanDims } from './scan-layout.js';

/** The largest d_state the WGSL kernels take: the carries between blocks live in workgroup memory. */
export const MAX_WGSL_STATE = 256;
/** invocations of a scan workgroup: the chunks of one block */
const T = 64;
/** the most steps one invocation owns per block (its private arrays hold that many) */
const MAX_CHUNK = 4;
/** the most state indices scanned between two barriers (workgroup memory holds NG x T values of each kind) */
const MAX_GROUP = 8;
/** segments of the scan across chunks (MAX_GROUP x SEG <= T invocations fold them) */
const SEG = 8;
/** invocations of the reduce passes */
const WG = 64;
/** the most bytes of per-(b, d, n, t) terms of input-dependent dB and dC in one slice of channels */
export const SCRATCH_BUDGET = 64 * 1024 * 1024;

function checkState(op: string, { D, N }: ScanDims): void {
  if (N > MAX_WGSL_STATE || N < 1) throw new ShapeError(op, `d_state N = ${N} (A ${fmt([D, N])}) is outside what the WGSL scan takes: 1 to ${MAX_WGSL_STATE} (its carries between blocks are held in workgroup memory)`);
}

/**
 * How the WGSL scan splits a sequence of length L with N state indices: `chunk` steps per
 * invocation (a power of two, so T * chunk covers L up to T * MAX_CHUNK), blocks of T * chunk
 * steps, `group` state indices between barriers.
 */
export function scanTiling(L: number, N: number): { chunk: number; block: number; blocks: number; group: number } {
  let chunk = 1;
  while (chunk < MAX_CHUNK && chunk * T < L) chunk *= 2;
  const block = chunk * T;
  return { chunk, block, blocks: Math.max(1, Math.ceil(L / block)), group: Math.min(N, MAX_GROUP) };
}

/** x and y workgroup counts for `count` workgroups (x is capped at 65535). */
export const grid = wgslGrid;

/** Read-only f32 storage bindings for `names`, from binding `from` on (shared with causal-conv1d.ts). */
export const bindings = (names: readonly string[], from = 0): string => names.map((n, i) => `@group(0) @binding(${from + i}) var<storage, read> ${n}: array<f32>;`).join('\n');

/** Constants, workgroup memory and helpers both programs share: layout flags and tiling are compiled in, sizes come as uniforms. */
function prelude({ L, N, varB, varC, hasZ }: ScanDims, { deltaSoftplus, returnLastState }: ScanAttrs): string {
  const { chunk, group } = scanTiling(L, N);
  return `const N: u32 = ${N}u;
const VAR_B: bool = ${varB};
const VAR_C: bool = ${varC};
const HAS_Z: bool = ${hasZ};
const SOFTPLUS: bool = ${deltaSoftplus};
const LAST_STATE: bool = ${returnLastState};
const T: u32 = ${T}u;
const LC: u32 = ${chunk}u;
const NG: u32 = ${group}u;
const BLOCK: u32 = ${T * chunk}u;
// the loops over states run to p.stateN (N) and p.groupN (NG), bounds the shader compiler cannot
// unroll: unrolled around the chunk loops, the programs take minutes to compile on lavapipe

// per state of the group and chunk: the chunk's decay (the product of its exp(dt_t A[d, n])) and
// its local end state (from a zero state)
var<workgroup> sP: array<f32, ${group * T}>;
var<workgroup> sS: array<f32, ${group * T}>;
// the state carried from one block to the next
var<workgroup> carry: array<f32, ${N}>;

// The scan across the T chunks of a state runs in two levels: invocation j = g SEG + s folds the
// SEG_LEN chunks of segment s of state n0 + g, one invocation per state runs through its SEG
// segments, then each chunk starts from its segment's initial state and folds the chunks before it
// in the segment (chunkStart).
const SEG: u32 = ${SEG}u;
const SEG_LEN: u32 = ${T / SEG}u;
// per state of the group and segment (at g SEG + s): its decay, its end state from zero, then its initial state
var<workgroup> segP: array<f32, ${T}>;
var<workgroup> segS: array<f32, ${T}>;

// does invocation j fold a segment of a state of the group that starts at n0?
fn segmentOf(j: u32, n0: u32) -> bool {
  return j < NG * SEG && n0 + j / SEG < N;
}

fn firstChunk(j: u32) -> u32 {
  return (j / SEG) * T + (j % SEG) * SEG_LEN;
}

fn foldForward(j: u32) {
  let q0 = firstChunk(j);
  var dec = 1.0;
  var h = 0.0;
  for (var q = q0; q < q0 + SEG_LEN; q++) {
    h = sP[q] * h + sS[q];
    dec *= sP[q];
  }
  segP[j] = dec;
  segS[j] = h;
}

// the initial state of each segment of state n0 + g from h0; returns the end state
fn scanSegments(g: u32, h0: f32) -> f32 {
  var h = h0;
  for (var s = g * SEG; s < g * SEG + SEG; s++) {
    let v = segS[s];
    segS[s] = h;
    h = segP[s] * h + v;
  }
  return h;
}

// the initial state of chunk j of state n0 + g
fn chunkStart(g: u32, j: u32) -> f32 {
  var h = segS[g * SEG + j / SEG_LEN];
  for (var q = (j / SEG_LEN) * SEG_LEN; q < j; q++) { h = sP[g * T + q] * h + sS[g * T + q]; }
  return h;
}

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

/** The forward program: one pass, one workgroup per (b, d); out (batch, D, L [+ N]). */
export function forwardProgram(dims: ScanDims, attrs: ScanAttrs): WgslProgram {
  checkState('mamba.selectiveScan', dims);
  const names = [...INPUTS, ...(dims.hasZ ? ['z'] : [])];
  const k = names.length;
  const code = `${bindings(names)}
@group(0) @binding(${k}) var<storage, read_write> out: array<f32>;
struct Params { batch: u32, D: u32, L: u32, stateN: u32, groupN: u32, chunks: u32 }
@group(0) @binding(${k + 1}) var<uniform> p: Params;
${prelude(dims, attrs)}
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wid.y * nwg.x + wid.x;
  if (c >= p.batch * p.D) { return; }
  let j = lid.x;
  let b = c / p.D;
  let d = c % p.D;
  let row = c * p.L;
  var outL = p.L;
  if (LAST_STATE) { outL = p.L + N; }
  let o = c * outL;
  for (var n = j; n < N; n += T) { carry[n] = 0.0; }
  var dt: array<f32, LC>;
  var dtu: array<f32, LC>;
  var y: array<f32, LC>;
  for (var L0 = 0u; L0 < p.L; L0 += BLOCK) {
    let t0 = L0 + j * LC;
    for (var i = 0u; i < LC; i++) {
      let t = t0 + i;
      dt[i] = 0.0;
      dtu[i] = 0.0;
      y[i] = 0.0;
      if (t < p.L) {
        dt[i] = dtAt(row, d, t);
        dtu[i] = dt[i] * u[row + t];
      }
    }
    for (var n0 = 0u; n0 < p.stateN; n0 += p.groupN) {
      // 1. each chunk from a zero state
      for (var g = 0u; g < p.groupN; g++) {
        let n = n0 + g;
        if (n < N) {
          let a = A[d * N + n];
          var h = 0.0;
          var prod = 1.0;
          for (var i = 0u; i < LC; i++) {
            let t = t0 + i;
            if (t < p.L) {
              let ei = exp(dt[i] * a);
              h = ei * h + dtu[i] * bAt(b, d, n, t);
              prod *= ei;
            }
          }
          sP[g * T + j] = prod;
          sS[g * T + j] = h;
        }
      }
      workgroupBarrier();
      // 2. the chunks' initial states, by segments (see foldForward)
      if (segmentOf(j, n0)) { foldForward(j); }
      workgroupBarrier();
      if (j < NG && n0 + j < N) { carry[n0 + j] = scanSegments(j, carry[n0 + j]); }
      workgroupBarrier();
      // 3. each chunk again from its initial state
      for (var g = 0u; g < p.groupN; g++) {
        let n = n0 + g;
        if (n < N) {
          let a = A[d * N + n];
          var h = chunkStart(g, j);
          for (var i = 0u; i < LC; i++) {
            let t = t0 + i;
            if (t < p.L) {
              h = exp(dt[i] * a) * h + dtu[i] * bAt(b, d, n, t);
              y[i] += h * cAt(b, d, n, t);
            }
          }
        }
      }
      // the next group's chunks overwrite what chunkStart reads
      workgroupBarrier();
    }
    for (var i = 0u; i < LC; i++) {
      let t = t0 + i;
      if (t < p.L) {
        var v = y[i] + Dv[d] * u[row + t];
        ${dims.hasZ ? `let zt = z[row + t];
        v *= zt * sigmoid_(zt);` : ''}
        out[o + t] = v;
      }
    }
  }
  if (LAST_STATE) {
    workgroupBarrier();
    for (var n = j; n < N; n += T) { out[o + p.L + n] = carry[n]; }
  }
}
`;
  const { group } = scanTiling(dims.L, dims.N);
  const params = [['u32', dims.batch], ['u32', dims.D], ['u32', dims.L], ['u32', dims.N], ['u32', group], ['u32', T]] as const;
  return { passes: [{ code, workgroups: grid(dims.batch * dims.D), params }] };
}

/**
 * Channels per slice of the backward pass: the per-(b, d, n, t) terms of input-dependent dB and
 * dC of one slice stay under `budget` bytes (at least one channel).
 */
export function backwardSlice({ batch, D, L, N, varB, varC }: ScanDims, budget = SCRATCH_BUDGET): number {
  const perChannel = batch * N * L * ((varB ? 1 : 0) + (varC ? 1 : 0)) * 4;
  if (perChannel === 0) return D;
  return Math.max(1, Math.min(D, Math.floor(budget / perChannel)));
}

/**
 * The backward program: per slice of channels, a pass per (b, d) of the slice (the chunked
 * reverse scan, writing du, ddelta, dz, per-(b, d) sums and per-(b, d, n, t) terms of
 * input-dependent dB / dC) and a pass adding those terms over the slice's channels into dB / dC;
 * then a pass per element of dA, a fixed dB or dC, dD, ddeltaBias: the sum over rows b. `budget`
 * bounds the bytes of those terms per slice (see backwardSlice).
 */
export function backwardProgram(dims: ScanDims, attrs: ScanAttrs, budget = SCRATCH_BUDGET): WgslProgram {
  checkState('mamba.selectiveScanBackward', dims);
  const { batch, D, L, N, varB, varC, hasZ } = dims;
  const names = [...INPUTS, ...(hasZ ? ['z'] : []), 'g'];
  const k = names.length;
  const { blocks, group } = scanTiling(L, N);
  const channels = batch * D;
  const Ds = backwardSlice(dims, budget);
  // per-(b, d) sums: A (c, n), fixed B and C (c, n), D (c), deltaBias (c)
  const pB = channels * N;
  const pC = pB + channels * N;
  const pD = pC + channels * N;
  const pBias = pD + channels;
  const partials = pBias + channels;
  // per slice: input-dependent B then C terms, (b, d in the slice, n, t) each
  const varTerms = batch * Ds * N * L;
  const pC2 = varB ? varTerms : 0;
  const terms = pC2 + (varC ? varTerms : 0);
  const nVar = (varB ? batch * N * L : 0) + (varC ? batch * N * L : 0);
  const nSum = D * N * (1 + (varB ? 0 : 1) + (varC ? 0 : 1)) + 2 * D;
  const code = `${bindings(names)}
@group(0) @binding(${k}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${k + 1}) var<storage, read_write> bnd: array<f32>;
@group(0) @binding(${k + 2}) var<storage, read_write> part: array<f32>;
@group(0) @binding(${k + 3}) var<storage, read_write> terms: array<f32>;
struct Params { batch: u32, D: u32, L: u32, stateN: u32, groupN: u32, chunks: u32, d0: u32, Ds: u32, blocks: u32, pB: u32, pC: u32, pD: u32, pBias: u32, pC2: u32, nVar: u32, nSum: u32 }
@group(0) @binding(${k + 4}) var<uniform> p: Params;
${prelude(dims, attrs)}
// per chunk and state of the group: the reverse scan's local sum (from a zero carry; see chunkEndCarry)
var<workgroup> sR: array<f32, ${group * T}>;
// the reverse scan's carry from one block into the one before
var<workgroup> rcarry: array<f32, ${N}>;
// per chunk: partial sums of dA, a fixed dB, a fixed dC (state n0 + g at [kind * NG * T + g * T + j])
var<workgroup> sRed: array<f32, ${3 * group * T}>;

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

// per state of the group and segment: the reverse scan's local sum, then the carry into its last chunk
var<workgroup> segR: array<f32, ${T}>;

fn foldReverse(j: u32) {
  let q0 = firstChunk(j);
  var r = 0.0;
  for (var q = q0 + SEG_LEN; q > q0; q--) { r = sR[q - 1u] + sP[q - 1u] * r; }
  segR[j] = r;
}

// the carry into the last chunk of each segment of state n0 + g from K0 (last segment down); returns the carry out of the first
fn scanSegmentsReverse(g: u32, K0: f32) -> f32 {
  var K = K0;
  for (var s = g * SEG + SEG; s > g * SEG; s--) {
    let v = segR[s - 1u];
    segR[s - 1u] = K;
    K = v + segP[s - 1u] * K;
  }
  return K;
}

// the carry of dL/dh into the last step of chunk j of state n0 + g
fn chunkEndCarry(g: u32, j: u32) -> f32 {
  var K = segR[g * SEG + j / SEG_LEN];
  for (var q = (j / SEG_LEN) * SEG_LEN + SEG_LEN - 1u; q > j; q--) { K = sR[g * T + q] + sP[g * T + q] * K; }
  return K;
}

// the sum of the T values of sRed from \`at\`
fn sumChunks(at: u32) -> f32 {
  var s = 0.0;
  for (var q = 0u; q < p.chunks; q++) { s += sRed[at + q]; }
  return s;
}

@compute @workgroup_size(${T})
fn channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = wid.y * nwg.x + wid.x;
  if (w >= p.batch * p.Ds) { return; }
  let j = lid.x;
  let b = w / p.Ds;
  let d = p.d0 + w % p.Ds;
  if (d >= p.D) { return; }
  let c = b * p.D + d;
  let row = c * p.L;
  var outL = p.L;
  if (LAST_STATE) { outL = p.L + N; }
  let gRow = c * outL;
  let blocks = p.blocks;
  for (var n = j; n < N; n += T) {
    carry[n] = 0.0;
    rcarry[n] = 0.0;
    if (LAST_STATE) { rcarry[n] = g[gRow + p.L + n]; }
  }
  var dt: array<f32, LC>;
  var dtu: array<f32, LC>;
  // the first sweep: the state at the start of every block after the first, into bnd (c, block, n)
  for (var blk = 0u; blk + 1u < blocks; blk++) {
    let t0 = blk * BLOCK + j * LC;
    for (var i = 0u; i < LC; i++) {
      let t = t0 + i;
      dt[i] = 0.0;
      dtu[i] = 0.0;
      if (t < p.L) {
        dt[i] = dtAt(row, d, t);
        dtu[i] = dt[i] * u[row + t];
      }
    }
    for (var n0 = 0u; n0 < p.stateN; n0 += p.groupN) {
      for (var gi = 0u; gi < p.groupN; gi++) {
        let n = n0 + gi;
        if (n < N) {
          let a = A[d * N + n];
          var h = 0.0;
          var prod = 1.0;
          for (var i = 0u; i < LC; i++) {
            let t = t0 + i;
            if (t < p.L) {
              let ei = exp(dt[i] * a);
              h = ei * h + dtu[i] * bAt(b, d, n, t);
              prod *= ei;
            }
          }
          sP[gi * T + j] = prod;
          sS[gi * T + j] = h;
        }
      }
      workgroupBarrier();
      if (segmentOf(j, n0)) { foldForward(j); }
      workgroupBarrier();
      if (j < NG && n0 + j < N) {
        let n = n0 + j;
        var h = carry[n];
        for (var s = j * SEG; s < j * SEG + SEG; s++) { h = segP[s] * h + segS[s]; }
        carry[n] = h;
        bnd[(c * blocks + blk + 1u) * N + n] = h;
      }
      workgroupBarrier();
    }
  }
  // the second sweep, from the last block down
  var uu: array<f32, LC>;
  var gy: array<f32, LC>;
  var du: array<f32, LC>;
  var ddt: array<f32, LC>;
  var y: array<f32, LC>;
  var hs: array<f32, LC>;
  var e: array<f32, LC>;
  var dDsum = 0.0;
  var dBiasSum = 0.0;
  for (var kb = 0u; kb < blocks; kb++) {
    let blk = blocks - 1u - kb;
    let t0 = blk * BLOCK + j * LC;
    for (var i = 0u; i < LC; i++) {
      let t = t0 + i;
      dt[i] = 0.0;
      dtu[i] = 0.0;
      uu[i] = 0.0;
      gy[i] = 0.0;
      du[i] = 0.0;
      ddt[i] = 0.0;
      y[i] = 0.0;
      if (t < p.L) {
        dt[i] = dtAt(row, d, t);
        uu[i] = u[row + t];
        dtu[i] = dt[i] * uu[i];
        gy[i] = g[gRow + t];
        ${hasZ ? `let zt = z[row + t];
        gy[i] *= zt * sigmoid_(zt);` : ''}
        du[i] = gy[i] * Dv[d];
        dDsum += gy[i] * uu[i];
      }
    }
    for (var n0 = 0u; n0 < p.stateN; n0 += p.groupN) {
      // 1. per chunk from zero: the local end state, and the local reverse sum
      //    sum_t (prod of the decays from the chunk's first step to t) dL/dy_t C_t[n]
      for (var gi = 0u; gi < p.groupN; gi++) {
        let n = n0 + gi;
        if (n < N) {
          let a = A[d * N + n];
          var h = 0.0;
          var prod = 1.0;
          var r = 0.0;
          for (var i = 0u; i < LC; i++) {
            let t = t0 + i;
            if (t < p.L) {
              let ei = exp(dt[i] * a);
              h = ei * h + dtu[i] * bAt(b, d, n, t);
              prod *= ei;
              r += prod * gy[i] * cAt(b, d, n, t);
            }
          }
          sP[gi * T + j] = prod;
          sS[gi * T + j] = h;
          sR[gi * T + j] = r;
        }
      }
      workgroupBarrier();
      // 2. by segments: the chunks' initial states, first chunk up, and the carry of dL/dh into
      //    each chunk's last step, last chunk down (invocations NG .. 2 NG-1 run the segments)
      if (segmentOf(j, n0)) {
        foldForward(j);
        foldReverse(j);
      }
      workgroupBarrier();
      if (j < NG && n0 + j < N) {
        var h = 0.0;
        if (blk > 0u) { h = bnd[(c * blocks + blk) * N + n0 + j]; }
        _ = scanSegments(j, h);
      } else if (j >= NG && j < 2u * NG && n0 + j - NG < N) {
        let n = n0 + j - NG;
        rcarry[n] = scanSegmentsReverse(j - NG, rcarry[n]);
      }
      workgroupBarrier();
      // 3. per chunk: its states again, then the reverse scan over them
      for (var gi = 0u; gi < p.groupN; gi++) {
        let n = n0 + gi;
        var dAn = 0.0;
        var dBn = 0.0;
        var dCn = 0.0;
        if (n < N) {
          let a = A[d * N + n];
          let h0 = chunkStart(gi, j);
          var h = h0;
          for (var i = 0u; i < LC; i++) {
            let t = t0 + i;
            e[i] = 1.0;
            hs[i] = h;
            if (t < p.L) {
              e[i] = exp(dt[i] * a);
              h = e[i] * h + dtu[i] * bAt(b, d, n, t);
              hs[i] = h;
              let dC = gy[i] * h;
              if (VAR_C) { terms[p.pC2 + (w * N + n) * p.L + t] = dC; } else { dCn += dC; }
              if (HAS_Z) { y[i] += h * cAt(b, d, n, t); }
            }
          }
          var dh = chunkEndCarry(gi, j);
          for (var ii = LC; ii > 0u; ii--) {
            let i = ii - 1u;
            let t = t0 + i;
            if (t < p.L) {
              var hPrev = h0;
              if (i > 0u) { hPrev = hs[i - 1u]; }
              let bv = bAt(b, d, n, t);
              let dhn = dh + gy[i] * cAt(b, d, n, t);
              let dB = dhn * dtu[i];
              if (VAR_B) { terms[(w * N + n) * p.L + t] = dB; } else { dBn += dB; }
              ddt[i] += dhn * (a * e[i] * hPrev + uu[i] * bv);
              du[i] += dhn * dt[i] * bv;
              dAn += dhn * dt[i] * e[i] * hPrev;
              dh = dhn * e[i];
            }
          }
        }
        sRed[gi * T + j] = dAn;
        sRed[(NG + gi) * T + j] = dBn;
        sRed[(2u * NG + gi) * T + j] = dCn;
      }
      workgroupBarrier();
      // invocation kind NG + g adds up the chunks' partials of state n0 + g: one writer per (b, d, n)
      if (j < 3u * NG) {
        let kind = j / NG;
        let n = n0 + j % NG;
        var at = c * N + n;
        if (kind == 1u) { at += p.pB; }
        if (kind == 2u) { at += p.pC; }
        if (n < N && (kind == 0u || (kind == 1u && !VAR_B) || (kind == 2u && !VAR_C))) {
          let s = sumChunks(j * T);
          if (kb == 0u) { part[at] = s; } else { part[at] += s; }
        }
      }
    }
    for (var i = 0u; i < LC; i++) {
      let t = t0 + i;
      if (t < p.L) {
        var dRaw = ddt[i];
        if (SOFTPLUS) { dRaw = ddt[i] * sigmoid_(delta[row + t] + deltaBias[d]); }
        out[row + t] = du[i];
        out[oDelta() + row + t] = dRaw;
        dBiasSum += dRaw;
        ${hasZ ? `let zt = z[row + t];
        let sg = sigmoid_(zt);
        out[oZ() + row + t] = g[gRow + t] * (y[i] + Dv[d] * uu[i]) * sg * (1.0 + zt * (1.0 - sg));` : ''}
      }
    }
  }
  // dD and ddeltaBias of (b, d): the sum over the chunks
  workgroupBarrier();
  sRed[j] = dDsum;
  sRed[T + j] = dBiasSum;
  workgroupBarrier();
  if (j == 0u) { part[p.pD + c] = sumChunks(0u); }
  if (j == 1u) { part[p.pBias + c] = sumChunks(T); }
}

// one invocation per element of an input-dependent dB, then dC (b, n, t): adds the slice's terms over d
@compute @workgroup_size(${WG})
fn sliceSum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = threadIndex(wid, lid, nwg);
  if (i >= p.nVar) { return; }
  let nl = N * p.L;
  var at = 0u;
  var o = oB() + i;
  var r = i;
  if (!VAR_B || i >= p.batch * nl) {
    at = p.pC2;
    if (VAR_B) { r = i - p.batch * nl; }
    o = oC() + r;
  }
  let b = r / nl;
  let k = r % nl;
  var s = 0.0;
  for (var dl = 0u; dl < p.Ds && p.d0 + dl < p.D; dl++) { s += terms[at + (b * p.Ds + dl) * nl + k]; }
  if (p.d0 == 0u) { out[o] = s; } else { out[o] += s; }
}

// one invocation per element of dA, a fixed dB, a fixed dC, dD, ddeltaBias: the sum of its per-(b, d) sums over b
@compute @workgroup_size(${WG})
fn batchSum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  var i = threadIndex(wid, lid, nwg);
  if (i >= p.nSum) { return; }
  let dn = p.D * N;
  // (offset in part, stride over b, offset in out) of the element's segment
  var at = 0u;
  var stride = dn;
  var o = oA();
  if (i >= dn) {
    i -= dn;
    if (!VAR_B && i < dn) { at = p.pB; o = oB(); }
    else {
      if (!VAR_B) { i -= dn; }
      if (!VAR_C && i < dn) { at = p.pC; o = oC(); }
      else {
        if (!VAR_C) { i -= dn; }
        stride = p.D;
        if (i < p.D) { at = p.pD; o = oD(); } else { i -= p.D; at = p.pBias; o = oBias(); }
      }
    }
  }
  var s = 0.0;
  for (var b = 0u; b < p.batch; b++) { s += part[at + b * stride + i]; }
  out[o + i] = s;
}
`;
  const passes: WgslPass[] = [];
  const params = (d0: number) => [['u32', batch], ['u32', D], ['u32', L], ['u32', N], ['u32', group], ['u32', T], ['u32', d0], ['u32', Ds], ['u32', blocks], ['u32', pB], ['u32', pC], ['u32', pD], ['u32', pBias], ['u32', pC2], ['u32', nVar], ['u32', nSum]] as const;
  for (let d0 = 0; d0 < D; d0 += Ds) {
    passes.push({ code, entryPoint: 'channel', workgroups: grid(batch * Ds), params: params(d0) });
    if (nVar > 0) passes.push({ code, entryPoint: 'sliceSum', workgroups: grid(Math.ceil(nVar / WG)), params: params(d0) });
  }
  passes.push({ code, entryPoint: 'batchSum', workgroups: grid(Math.ceil(nSum / WG)), params: params(0) });
  return { scratch: [Math.max(4, channels * blocks * N * 4), partials * 4, Math.max(4, terms * 4)], passes };
}
