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
import { DTypeError, ShapeError, defineOp, fmt, zeros, type CustomOp, type HostInput, type Tensor, type TypedArray } from '@dl/tensor';
import { gradSizes, type ScanAttrs, type ScanDims as Dims } from './scan-layout.js';
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

const softplus = (x: number): number => (x > 20 ? x : Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The forward CPU kernel: one sequential scan per (b, d), the state in a small array. */
function scanCpu(inputs: readonly HostInput[], { deltaSoftplus, returnLastState }: ScanAttrs, outSize: number, dims: Dims): TypedArray {
  const [u, delta, A, B, C, Dv, bias, z] = inputs.map((i) => i.data);
  const { batch, D, L, N, varB, varC, hasZ } = dims;
  const outL = returnLastState ? L + N : L;
  const out = u instanceof Float64Array ? new Float64Array(outSize) : new Float32Array(outSize);
  const h = new Float64Array(N);
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < D; d++) {
      h.fill(0);
      const row = (b * D + d) * L;
      const o = (b * D + d) * outL;
      for (let t = 0; t < L; t++) {
        const raw = delta[row + t] + bias[d];
        const dt = deltaSoftplus ? softplus(raw) : raw;
        const ut = u[row + t];
        const dtu = dt * ut;
        let y = 0;
        for (let n = 0; n < N; n++) {
          const bv = varB ? B[(b * N + n) * L + t] : B[d * N + n];
          const cv = varC ? C[(b * N + n) * L + t] : C[d * N + n];
          h[n] = Math.exp(dt * A[d * N + n]) * h[n] + dtu * bv;
          y += h[n] * cv;
        }
        y += Dv[d] * ut;
        if (hasZ) {
          const zt = z[row + t];
          y *= zt * sigmoid(zt);
        }
        out[o + t] = y;
      }
      if (returnLastState) for (let n = 0; n < N; n++) out[o + L + n] = h[n];
    }
  }
  return out;
}

/**
 * The backward CPU kernel: per (b, d), the forward scan again (keeping every state), then the
 * reverse-time scan of dL/dh_t = dL/dy_t C_t + exp(dt_{t+1} A) dL/dh_{t+1}. Returns the packed
 * gradients (see gradSizes).
 */
function scanGradCpu(inputs: readonly HostInput[], { deltaSoftplus, returnLastState }: ScanAttrs, outSize: number, dims: Dims): TypedArray {
  const data = inputs.map((i) => i.data);
  const [u, delta, A, B, C, Dv, bias] = data;
  const { batch, D, L, N, varB, varC, hasZ } = dims;
  const z = hasZ ? data[7] : null;
  const g = data[hasZ ? 8 : 7];
  const outL = returnLastState ? L + N : L;
  const sizes = gradSizes(dims);
  const off: number[] = [];
  sizes.reduce((acc, s, i) => ((off[i] = acc), acc + s), 0);
  const out = u instanceof Float64Array ? new Float64Array(outSize) : new Float32Array(outSize);
  const [oU, oDelta, oA, oB, oC, oD, oBias, oZ] = off;
  const hs = new Float64Array((L + 1) * N); // hs[(t + 1) N + n] = h_t[n]; h_{-1} = 0
  const dts = new Float64Array(L);
  const gy = new Float64Array(L); // dL/d(y_t before the gate)
  const dh = new Float64Array(N);
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < D; d++) {
      const row = (b * D + d) * L;
      const gRow = (b * D + d) * outL;
      // forward again, keeping the states
      for (let t = 0; t < L; t++) {
        const raw = delta[row + t] + bias[d];
        const dt = deltaSoftplus ? softplus(raw) : raw;
        dts[t] = dt;
        const dtu = dt * u[row + t];
        let y = 0;
        for (let n = 0; n < N; n++) {
          const bv = varB ? B[(b * N + n) * L + t] : B[d * N + n];
          const cv = varC ? C[(b * N + n) * L + t] : C[d * N + n];
          const hn = Math.exp(dt * A[d * N + n]) * hs[t * N + n] + dtu * bv;
          hs[(t + 1) * N + n] = hn;
          y += hn * cv;
        }
        y += Dv[d] * u[row + t];
        const gt = g[gRow + t];
        if (z) {
          const zt = z[row + t];
          const s = sigmoid(zt);
          gy[t] = gt * zt * s;
          out[oZ + row + t] = gt * y * s * (1 + zt * (1 - s));
        } else gy[t] = gt;
      }
      for (let n = 0; n < N; n++) dh[n] = returnLastState ? g[gRow + L + n] : 0;
      let dDsum = 0;
      let dBiasSum = 0;
      for (let t = L - 1; t >= 0; t--) {
        const dt = dts[t];
        const ut = u[row + t];
        const gyt = gy[t];
        dDsum += gyt * ut;
        let du = gyt * Dv[d];
        let ddt = 0;
        for (let n = 0; n < N; n++) {
          const iB = varB ? oB + (b * N + n) * L + t : oB + d * N + n;
          const iC = varC ? oC + (b * N + n) * L + t : oC + d * N + n;
          const bv = varB ? B[(b * N + n) * L + t] : B[d * N + n];
          const cv = varC ? C[(b * N + n) * L + t] : C[d * N + n];
          const a = A[d * N + n];
          const hPrev = hs[t * N + n];
          out[iC] += gyt * hs[(t + 1) * N + n];
          const dhn = dh[n] + gyt * cv;
          const dA = Math.exp(dt * a);
          out[iB] += dhn * dt * ut;
          ddt += dhn * (a * dA * hPrev + ut * bv);
          du += dhn * dt * bv;
          out[oA + d * N + n] += dhn * dt * dA * hPrev;
          dh[n] = dhn * dA;
        }
        const raw = delta[row + t] + bias[d];
        const dRaw = deltaSoftplus ? ddt * sigmoid(raw) : ddt;
        out[oU + row + t] = du;
        out[oDelta + row + t] = dRaw;
        dBiasSum += dRaw;
      }
      out[oD + d] += dDsum;
      out[oBias + d] += dBiasSum;
    }
  }
  return out;
}

/** The kernel's output shape (batch, D, L) or, with the last state packed after y, (batch, D, L + N). */
function outShape(dims: Dims, returnLastState: boolean): number[] {
  return [dims.batch, dims.D, returnLastState ? dims.L + dims.N : dims.L];
}

const scanGrad: CustomOp<ScanAttrs> = defineOp<ScanAttrs>({
  name: 'mamba.selectiveScanBackward',
  // second-order gradients of the scan are not defined (Mamba trains with first-order optimizers)
  differentiable: false,
  inferOutput: (inputs) => {
    const dims = dimsOf('mamba.selectiveScanBackward', inputs.slice(0, -1).map((t) => t.shape), inputs.map((t) => t.dtype));
    return { shape: [gradSizes(dims).reduce((a, b) => a + b, 0)], dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs, out) => scanGradCpu(inputs, attrs, out.shape[0], dimsOf('mamba.selectiveScanBackward', inputs.slice(0, -1).map((i) => i.shape), inputs.map((i) => i.dtype))),
  wgsl: (inputs, attrs) => backwardProgram(dimsOf('mamba.selectiveScanBackward', inputs.slice(0, -1).map((i) => i.shape), inputs.map((i) => i.dtype)), attrs),
});

/**
 * The fused op on [u, delta, A, B, C, D, deltaBias, z?]; its gradient rule runs the backward op
 * once for every input's gradient and splits the packed result with views.
 */
export const selectiveScanOp: CustomOp<ScanAttrs> = defineOp<ScanAttrs>({
  name: 'mamba.selectiveScan',
  inferOutput: (inputs, { returnLastState }) => {
    if (inputs.length !== 7 && inputs.length !== 8) throw new ShapeError('mamba.selectiveScan', `expected 7 or 8 inputs (u, delta, A, B, C, D, deltaBias, z?), got ${inputs.length}`);
    const dims = dimsOf('mamba.selectiveScan', inputs.map((t) => t.shape), inputs.map((t) => t.dtype));
    return { shape: outShape(dims, returnLastState), dtype: inputs[0].dtype };
  },
  cpu: (inputs, attrs, out) => scanCpu(inputs, attrs, out.shape.reduce((a, b) => a * b, 1), dimsOf('mamba.selectiveScan', inputs.map((i) => i.shape), inputs.map((i) => i.dtype))),
  wgsl: (inputs, attrs) => forwardProgram(dimsOf('mamba.selectiveScan', inputs.map((i) => i.shape), inputs.map((i) => i.dtype)), attrs),
  save: (inputs) => [...inputs],
  backward: (g, { saved, attrs, needs }) => {
    const dims = dimsOf('mamba.selectiveScan', saved.map((t) => t.shape), saved.map((t) => t.dtype));
    const packed = scanGrad([...saved, g], attrs); // (sum of gradSizes)
    const shapes = saved.map((t) => t.shape);
    let at = 0;
    return gradSizes(dims)
      .slice(0, saved.length)
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

