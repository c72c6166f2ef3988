/**
 * The selective scan of Mamba (Gu & Dao, Algorithm 2) as a fused op of this package, defined with
 * @dl/tensor's public `defineOp`: a CPU kernel, a WGSL program and a gradient rule that runs a
 * second fused op (the reverse-time scan). For each batch row b and channel d, with a state h of
 * size N:
 *
 *   dt_t  = softplus(delta[b,d,t] + deltaBias[d])          (softplus only with deltaSoftplus)
 *   h_t   = exp(dt_t A[d,:]) * h_{t-1} + dt_t B[b,:,t] u[b,d,t]   (zero-order hold for A, Euler for B)
 *   y_t   = <h_t, C[b,:,t]> + D[d] u[b,d,t]
 *   out_t = y_t * silu(z[b,d,t])                            (only with z)
 *
 * as state-spaces/mamba's `selective_scan_ref`.
 */
import { DTypeError, ShapeError, cpuResultArray, defineOp, fmt, kernelChoice, zeros, type CustomOp, type HostInput, type Tensor, type TypedArray } from '@dl/tensor';
import { gradOffsets, gradSizes, rowLength, sigmoid, softplus, type ScanAttrs, type ScanDims as Dims } from './scan-layout.js';
import { scanBackwardWasm, scanForwardWasm, wasmScanFits } from './selective-scan-wasm.js';
import { backwardProgram, forwardProgram } from './selective-scan-wgsl.js';

export interface SelectiveScanOptions {
  /** (batch, D, L); the output is multiplied by silu(z) (Mamba's gate) */
  z?: Tensor | null;
  /** (D); added to delta before the softplus (Mamba passes dt_proj.bias here) */
  deltaBias?: Tensor | null;
  /** false; dt = softplus(delta + deltaBias) instead of delta + deltaBias */
  deltaSoftplus?: boolean;
  /** false; also return the state after the last step, (batch, D, N) */
  returnLastState?: boolean;
}

const OP = 'selectiveScan';

/**
 * Checks the shapes and dtypes of [u, delta, A, B, C, D, deltaBias, z?]; every error names every
 * shape, so a mismatch is found at a glance.
 */
function dimsOf(op: string, shapes: readonly (readonly number[])[], dtypes: readonly string[]): Dims {
  const [u, delta, A, B, C, D, bias, z] = shapes;
  const all = (): string => {
    const names = ['u', 'delta', 'A', 'B', 'C', 'D', 'deltaBias', 'z'];
    return shapes.map((s, i) => `${names[i]}=${fmt(s)}`).join(' ');
  };
  if (u.length !== 3) throw new ShapeError(op, `u must be (batch, D, L), got ${fmt(u)}; ${all()}`);
  const [batch, Dm, L] = u;
  if (A.length !== 2 || A[0] !== Dm) throw new ShapeError(op, `A must be (D, N) with D = u.shape[1] (${Dm}), got ${fmt(A)}; ${all()}`);
  const N = A[1];
  if (delta.length !== 3 || delta[0] !== batch || delta[1] !== Dm || delta[2] !== L) throw new ShapeError(op, `delta must have u's shape ${fmt(u)}, got ${fmt(delta)}; ${all()}`);
  const layout = (name: string, s: readonly number[]): boolean => {
    if (s.length === 3 && s[0] === batch && s[1] === N && s[2] === L) return true;
    if (s.length === 2 && s[0] === Dm && s[1] === N) return false;
    throw new ShapeError(op, `${name} must be (batch, N, L) = ${fmt([batch, N, L])} (input-dependent) or (D, N) = ${fmt([Dm, N])}, got ${fmt(s)}; ${all()}`);
  };
  const varB = layout('B', B);
  const varC = layout('C', C);
  if (D.length !== 1 || D[0] !== Dm) throw new ShapeError(op, `D must be (D) = ${fmt([Dm])}, got ${fmt(D)}; ${all()}`);
  if (bias.length !== 1 || bias[0] !== Dm) throw new ShapeError(op, `deltaBias must be (D) = ${fmt([Dm])}, got ${fmt(bias)}; ${all()}`);
  if (z && (z.length !== 3 || z[0] !== batch || z[1] !== Dm || z[2] !== L)) throw new ShapeError(op, `z must have u's shape ${fmt(u)}, got ${fmt(z)}; ${all()}`);
  const dt = dtypes[0];
  if ((dt !== 'float32' && dt !== 'float64') || dtypes.some((d) => d !== dt)) {
    throw new DTypeError(op, `every input must be float32 (or float64 on CPU) of one dtype, got ${dtypes.join(', ')} for ${all()}`);
  }
  return { batch, D: Dm, L, N, varB, varC, hasZ: shapes.length >= 8 };
}


/**
 * Where B (or C) of row b, channel d, state n is at step t: `at + t * step`. Input-dependent
 * (batch, N, L) runs along t; fixed (D, N) stays put. Keeps the loops free of layout branches.
 */
function locate(variable: boolean, b: number, d: number, n: number, N: number, L: number): [at: number, step: number] {
  return variable ? [(b * N + n) * L, 1] : [d * N + n, 0];
}

/** dt (softplus of delta + deltaBias, or not) and dt * u of one (b, d) row, into `dt` and `dtu` at `at`. */
function stepSizes(delta: TypedArray, u: TypedArray, row: number, bias: number, L: number, softplusOn: boolean, dt: Float64Array, dtu: Float64Array, at: number): void {
  for (let t = 0; t < L; t++) {
    const raw = delta[row + t] + bias;
    const v = softplusOn ? softplus(raw) : raw;
    dt[at + t] = v;
    dtu[at + t] = v * u[row + t];
  }
}

/** The SIMD kernels (selective-scan-wasm.ts) where they fit and @dl/tensor runs its wasm kernels; the loops below otherwise. */
const simdScan = (dims: Dims, data: readonly TypedArray[]): boolean => kernelChoice().name === 'wasm' && wasmScanFits(dims, data);

/** floats of decays computed in one call: big enough for the threaded SIMD exp, small enough for cache */
const DECAY_BLOCK = 1 << 17;

/**
 * The decays exp(dt_t A[d, n]) of a block of channels, computed a block at a time so that float32
 * inputs go through @dl/tensor's SIMD exp (`kernelChoice().elementwise`, threaded) instead of one
 * Math.exp per (b, d, n, t), which was most of the scan's time. Float64 inputs keep Math.exp.
 * For batch row b and channels d0..d0+g: dt and dtu (g, L) and the decays (g, N, L).
 */
class DecayBlock {
  readonly channels: number;
  readonly dt: Float64Array;
  readonly dtu: Float64Array;
  readonly decay: Float32Array | Float64Array;
  private readonly simd: boolean;

  constructor(f32: boolean, D: number, N: number, L: number) {
    this.channels = Math.max(1, Math.min(D, Math.floor(DECAY_BLOCK / (N * L))));
    this.dt = new Float64Array(this.channels * L);
    this.dtu = new Float64Array(this.channels * L);
    this.decay = f32 ? new Float32Array(this.channels * N * L) : new Float64Array(this.channels * N * L);
    const k = kernelChoice();
    this.simd = f32 && k.elementwise !== undefined && k.elementwiseOps?.('exp') === true;
  }

  /** Fills dt, dtu and the decays of channels d0..d0+g of batch row b. */
  fill(data: readonly TypedArray[], softplusOn: boolean, dims: Dims, b: number, d0: number, g: number): void {
    const [u, delta, A, , , , bias] = data;
    const { D, L, N } = dims;
    const { dt, dtu, decay } = this;
    for (let j = 0; j < g; j++) {
      const d = d0 + j;
      stepSizes(delta, u, (b * D + d) * L, bias[d], L, softplusOn, dt, dtu, j * L);
      for (let n = 0; n < N; n++) {
        const a = A[d * N + n];
        const at = (j * N + n) * L;
        for (let t = 0; t < L; t++) decay[at + t] = dt[j * L + t] * a;
      }
    }
    const used = g * N * L;
    if (this.simd) kernelChoice().elementwise!('exp', [(decay as Float32Array).subarray(0, used)], (decay as Float32Array).subarray(0, used));
    else for (let i = 0; i < used; i++) decay[i] = Math.exp(decay[i]);
  }

  /**
   * The recurrence of block channel j (batch row b, channel d = d0 + j), per state index n: y (L)
   * becomes sum_n h_t[n] C_t[n]; every state goes into `hs` (hs[n L + t]) when given, and the last
   * one h_{L-1}[n] into `last` from `lastAt` when given. Shared by the forward and the backward,
   * which runs it again to keep the states.
   */
  scanChannel(B: TypedArray, C: TypedArray, dims: Dims, b: number, d: number, j: number, y: Float64Array, hs: Float64Array | null, last: TypedArray | null, lastAt: number): void {
    const { L, N, varB, varC } = dims;
    const { dtu, decay } = this;
    y.fill(0);
    for (let n = 0; n < N; n++) {
      const [bAt, bStep] = locate(varB, b, d, n, N, L);
      const [cAt, cStep] = locate(varC, b, d, n, N, L);
      const eAt = (j * N + n) * L;
      let h = 0;
      for (let t = 0; t < L; t++) {
        h = decay[eAt + t] * h + dtu[j * L + t] * B[bAt + t * bStep];
        if (hs) hs[n * L + t] = h;
        y[t] += h * C[cAt + t * cStep];
      }
      if (last) last[lastAt + n] = h;
    }
  }
}

/**
 * The forward CPU kernel: per (b, d) and state index n, the scan over time (state n of every
 * step depends only on state n of the step before), adding h_t[n] C_t[n] into y_t.
 */
function scanCpu(inputs: readonly HostInput[], attrs: ScanAttrs, outSize: number, dims: Dims): TypedArray {
  const data = inputs.map((i) => i.data);
  if (simdScan(dims, data)) return scanForwardWasm(data, attrs, dims, outSize);
  const [u, , , B, C, Dv, , z] = data;
  const { deltaSoftplus, returnLastState } = attrs;
  const { batch, D, L, N, hasZ } = dims;
  const outL = rowLength(dims, attrs);
  const f32 = !(u instanceof Float64Array);
  const out = cpuResultArray(f32 ? 'float32' : 'float64', outSize, false); // every element written below
  const blk = new DecayBlock(f32, D, N, L);
  const y = new Float64Array(L);
  for (let b = 0; b < batch; b++) {
    for (let d0 = 0; d0 < D; d0 += blk.channels) {
      const g = Math.min(blk.channels, D - d0);
      blk.fill(data, deltaSoftplus, dims, b, d0, g);
      for (let j = 0; j < g; j++) {
        const d = d0 + j;
        const row = (b * D + d) * L;
        const o = (b * D + d) * outL;
        blk.scanChannel(B, C, dims, b, d, j, y, null, returnLastState ? out : null, o + L);
        const dd = Dv[d];
        for (let t = 0; t < L; t++) {
          let v = y[t] + dd * u[row + t];
          if (hasZ) {
            const zt = z[row + t];
            v *= zt * sigmoid(zt);
          }
          out[o + t] = v;
        }
      }
    }
  }
  return out;
}

/**
 * The backward CPU kernel: per (b, d), the forward scan again (keeping every state), then per
 * state index n the reverse-time scan of dL/dh_t = dL/dy_t C_t + exp(dt_{t+1} A) dL/dh_{t+1}.
 * Returns the packed gradients (see gradSizes).
 */
function scanGradCpu(inputs: readonly HostInput[], attrs: ScanAttrs, outSize: number, dims: Dims): TypedArray {
  const data = inputs.map((i) => i.data);
  if (simdScan(dims, data)) return scanBackwardWasm(data, attrs, dims, outSize);
  const [u, delta, A, B, C, Dv, bias] = data;
  const { deltaSoftplus, returnLastState } = attrs;
  const { batch, D, L, N, varB, varC, hasZ } = dims;
  const z = hasZ ? data[7] : null;
  const g = data[hasZ ? 8 : 7];
  const outL = rowLength(dims, attrs);
  const off = gradOffsets(dims);
  const f32 = !(u instanceof Float64Array);
  const out = cpuResultArray(f32 ? 'float32' : 'float64', outSize); // zeroed: the gradients add up
  const [oU, oDelta, oA, oB, oC, oD, oBias, oZ] = off;
  const blk = new DecayBlock(f32, D, N, L);
  const { dt, dtu, decay } = blk;
  const hs = new Float64Array(N * L); // hs[n L + t] = h_t[n]
  const y = new Float64Array(L);
  const gy = new Float64Array(L); // dL/d(y_t before the gate)
  const ddt = new Float64Array(L);
  const du = new Float64Array(L);
  for (let b = 0; b < batch; b++) {
    for (let d0 = 0; d0 < D; d0 += blk.channels) {
      const gCount = Math.min(blk.channels, D - d0);
      blk.fill(data, deltaSoftplus, dims, b, d0, gCount);
      for (let j = 0; j < gCount; j++) {
        const d = d0 + j;
        const row = (b * D + d) * L;
        const gRow = (b * D + d) * outL;
        const tAt = j * L;
        blk.scanChannel(B, C, dims, b, d, j, y, hs, null, 0); // forward again, keeping the states
        const dd = Dv[d];
        let dDsum = 0;
        for (let t = 0; t < L; t++) {
          const ut = u[row + t];
          const gt = g[gRow + t];
          if (z) {
            const zt = z[row + t];
            const s = sigmoid(zt);
            gy[t] = gt * zt * s;
            out[oZ + row + t] = gt * (y[t] + dd * ut) * s * (1 + zt * (1 - s));
          } else gy[t] = gt;
          dDsum += gy[t] * ut;
          du[t] = gy[t] * dd;
          ddt[t] = 0;
        }
        for (let n = 0; n < N; n++) {
          const a = A[d * N + n];
          const [bAt, bStep] = locate(varB, b, d, n, N, L);
          const [cAt, cStep] = locate(varC, b, d, n, N, L);
          const eAt = (j * N + n) * L;
          let dh = returnLastState ? g[gRow + L + n] : 0;
          let dA = 0;
          for (let t = L - 1; t >= 0; t--) {
            const k = n * L + t;
            const hPrev = t > 0 ? hs[k - 1] : 0;
            const e = decay[eAt + t];
            const bv = B[bAt + t * bStep];
            const dtt = dt[tAt + t];
            const dhn = dh + gy[t] * C[cAt + t * cStep];
            out[oC + cAt + t * cStep] += gy[t] * hs[k];
            out[oB + bAt + t * bStep] += dhn * dtu[tAt + t];
            const dhe = dhn * e * hPrev;
            ddt[t] += a * dhe + dhn * u[row + t] * bv;
            du[t] += dhn * dtt * bv;
            dA += dhe * dtt;
            dh = dhn * e;
          }
          out[oA + d * N + n] += dA;
        }
        let dBiasSum = 0;
        for (let t = 0; t < L; t++) {
          const dRaw = deltaSoftplus ? ddt[t] * sigmoid(delta[row + t] + bias[d]) : ddt[t];
          out[oU + row + t] = du[t];
          out[oDelta + row + t] = dRaw;
          dBiasSum += dRaw;
        }
        out[oD + d] += dDsum;
        out[oBias + d] += dBiasSum;
      }
    }
  }
  return out;
}

/** The kernel's output shape (batch, D, L) or, with the last state packed after y, (batch, D, L + N). */
function outShape(dims: Dims, attrs: ScanAttrs): number[] {
  return [dims.batch, dims.D, rowLength(dims, attrs)];
}

/** The scan's own inputs among the backward op's [u, delta, A, B, C, D, deltaBias, z?, g]. */
const scanInputsOf = <T>(inputs: readonly T[]): readonly T[] => inputs.slice(0, -1);

const scanGrad: CustomOp<ScanAttrs> = defineOp<ScanAttrs>({
  name: 'mamba.selectiveScanBackward',
  // second-order gradients of the scan are not defined (Mamba trains with first-order optimizers)
  differentiable: false,
  inferOutput: (inputs, attrs) => {
    const dims = dimsOf('mamba.selectiveScanBackward', scanInputsOf(inputs).map((t) => t.shape), inputs.map((t) => t.dtype));
    return { shape: [gradSizes(dims).reduce((a, b) => a + b, 0)], dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs, out) => scanGradCpu(inputs, attrs, out.shape[0], dimsOf('mamba.selectiveScanBackward', scanInputsOf(inputs).map((i) => i.shape), inputs.map((i) => i.dtype))),
  wgsl: (inputs, attrs) => backwardProgram(dimsOf('mamba.selectiveScanBackward', scanInputsOf(inputs).map((i) => i.shape), inputs.map((i) => i.dtype)), attrs),
});

/**
 * The fused op on [u, delta, A, B, C, D, deltaBias, z?]; its gradient rule runs the backward op
 * once for every input's gradient and splits the packed result with views.
 */
export const selectiveScanOp: CustomOp<ScanAttrs> = defineOp<ScanAttrs>({
  name: 'mamba.selectiveScan',
  inferOutput: (inputs, attrs) => {
    if (inputs.length !== 7 && inputs.length !== 8) throw new ShapeError('mamba.selectiveScan', `expected 7 or 8 inputs (u, delta, A, B, C, D, deltaBias, z?), got ${inputs.length}`);
    const dims = dimsOf('mamba.selectiveScan', inputs.map((t) => t.shape), inputs.map((t) => t.dtype));
    return { shape: outShape(dims, attrs), dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs, out) => scanCpu(inputs, attrs, out.shape.reduce((a, b) => a * b, 1), dimsOf('mamba.selectiveScan', inputs.map((i) => i.shape), inputs.map((i) => i.dtype))),
  wgsl: (inputs, attrs) => forwardProgram(dimsOf('mamba.selectiveScan', inputs.map((i) => i.shape), inputs.map((i) => i.dtype)), attrs),
  save: (inputs) => [...inputs],
  backward: (g, { saved: inputs, attrs, needs }) => {
    const dims = dimsOf('mamba.selectiveScan', inputs.map((t) => t.shape), inputs.map((t) => t.dtype));
    const packed = scanGrad([...inputs, g], attrs); // (sum of gradSizes)
    const shapes = inputs.map((t) => t.shape);
    let at = 0;
    return gradSizes(dims)
      .slice(0, inputs.length)
      .map((size, i) => {
        const part = needs[i] ? packed.narrow(0, at, size).reshape([...shapes[i]]) : null;
        at += size;
        return part;
      });
  },
});

/**
 * Mamba's selective scan (S6): y (batch, D, L) from u, delta (batch, D, L), A (D, N), B and C
 * (batch, N, L) input-dependent or (D, N) fixed, and D (D); with `z` the output is gated by
 * silu(z), with `deltaBias` and `deltaSoftplus` dt = softplus(delta + deltaBias). One fused kernel
 * on CPU and on WebGPU, differentiable in every input.
 *
 *   const y = selectiveScan(u, delta, A, B, C, D, { z, deltaBias, deltaSoftplus: true }); // (batch, D, L)
 *   const { y, lastState } = selectiveScan(u, delta, A, B, C, D, { returnLastState: true }); // lastState (batch, D, N)
 */
export function selectiveScan(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D?: Tensor | null, opts?: SelectiveScanOptions & { returnLastState?: false }): Tensor;
export function selectiveScan(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | null | undefined, opts: SelectiveScanOptions & { returnLastState: true }): { y: Tensor; lastState: Tensor };
export function selectiveScan(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D?: Tensor | null, opts: SelectiveScanOptions = {}): Tensor | { y: Tensor; lastState: Tensor } {
  const { z = null, deltaBias = null, deltaSoftplus = false, returnLastState = false } = opts;
  const ch = u.ndim === 3 ? u.shape[1] : A.shape[0];
  const opt = { dtype: u.dtype, device: u.device };
  // a missing D or deltaBias is a zero vector: one kernel covers every call
  const inputs = [u, delta, A, B, C, D ?? zeros([ch], opt), deltaBias ?? zeros([ch], opt), ...(z ? [z] : [])];
  dimsOf(OP, inputs.map((t) => t.shape), inputs.map((t) => t.dtype));
  const out = selectiveScanOp(inputs, { deltaSoftplus, returnLastState });
  if (!returnLastState) return out;
  const L = u.shape[2];
  return { y: out.narrow(2, 0, L), lastState: out.narrow(2, L, A.shape[1]) };
}

