/**
 * The selective scan's float32 CPU kernel in WebAssembly SIMD128, written with @dl/tensor/wasm's
 * emitter. Each (b, d) row runs its recurrence over time with the state vectorised over n, four
 * states a lane, and exp(dt A) computed in the loop (no decay array in the forward). The state
 * and its sums are float32 here, as in the reference CUDA kernel; the JS kernel in
 * selective-scan.ts (float64 accumulation) stays the reference, and serves float64, fixed (D, N)
 * B or C, and N not a multiple of 4.
 *
 * The kernels (selective-scan-wasm-kernels.ts) run on @dl/tensor's kernel memory and worker
 * threads (`compileKernel`): the channels d are split into one task per thread, each thread keeps
 * its temporaries in its own slot, and the backward's dB and dC are summed per task and added in
 * task order, so results depend on the thread count set, not on which thread ran what. For N <= 16
 * the state, A's row and their gradients stay in registers.
 *
 * Layout in the kernel's memory (float32, byte offsets): dt, dtu, u, gy, y, ddt, du (rows, L) with
 * row r = b D + d; A and dA (D, N); B^T, C^T (batch, L, N) and their gradients (one copy per task),
 * so a time step's N values are contiguous; per thread the state h (N), or in the backward every
 * state hs (L + 1, N) with row 0 the zero initial state, the decays e (L, N) and dL/dh (N).
 */
import { cpuResultArray, getNumThreads, kernelChoice, type TypedArray } from '@dl/tensor';
import { compileKernel, kernelHeapF32, kernelScratch, simdSupported, type WasmKernel } from '@dl/tensor/wasm';
import { MAX_REG_VECTORS, emitScanKernels } from './selective-scan-wasm-kernels.js';
import { gradOffsets, rowLength, type ScanAttrs, type ScanDims } from './scan-layout.js';

type ScanExports = Record<string, (...args: number[]) => void>;

let kernel: WasmKernel<ScanExports> | null | undefined;

/** The compiled kernels on @dl/tensor's kernel memory, made on first use (null where SIMD128 does not validate). */
function instance(): WasmKernel<ScanExports> | null {
  if (kernel !== undefined) return kernel;
  if (!simdSupported()) return (kernel = null);
  kernel = compileKernel<ScanExports>(emitScanKernels);
  return kernel;
}

/** True where the SIMD kernels can run this scan: float32, B and C input-dependent, N a multiple of 4. */
export function wasmScanFits(dims: ScanDims, data: readonly TypedArray[]): boolean {
  return data[0] instanceof Float32Array && dims.varB && dims.varC && dims.N % 4 === 0 && instance() !== null;
}

/**
 * Float32 arrays of the given lengths in the kernel memory for this call (each followed by room for
 * a whole-vector write past its end): their byte offsets and views. Other @dl/tensor kernels reuse
 * the memory, so nothing here may be held across a call to them.
 */
function layout(sizes: readonly number[]): { at: number[]; views: Float32Array[] } {
  kernelScratch.reset();
  const at = sizes.map((n) => kernelScratch.alloc(4 * n + 16));
  kernelScratch.reserve();
  const heap = kernelHeapF32();
  return { at, views: sizes.map((n, i) => heap.subarray(at[i] / 4, at[i] / 4 + n)) };
}

/** Reused float32 arrays outside the kernel memory, one per slot (sigmoid(z) and silu(z)). */
const temps: Float32Array[] = [];
function temp(slot: number, n: number): Float32Array {
  if (!temps[slot] || temps[slot].length < n) temps[slot] = new Float32Array(n);
  return temps[slot].subarray(0, n);
}

/** (batch, N, L) -> (batch, L, N) */
function toTimeMajor(src: TypedArray, dst: Float32Array, batch: number, N: number, L: number): void {
  for (let b = 0; b < batch; b++) for (let n = 0; n < N; n++) for (let t = 0; t < L; t++) dst[(b * L + t) * N + n] = src[(b * N + n) * L + t];
}

/** sum over the slots of (batch, L, N) -> (batch, N, L), into `dst` from `at` */
function fromTimeMajor(src: Float32Array, slots: number, dst: TypedArray, at: number, batch: number, N: number, L: number): void {
  const size = batch * L * N;
  for (let b = 0; b < batch; b++)
    for (let n = 0; n < N; n++)
      for (let t = 0; t < L; t++) {
        const i = (b * L + t) * N + n;
        let v = src[i];
        for (let k = 1; k < slots; k++) v += src[k * size + i];
        dst[at + (b * N + n) * L + t] = v;
      }
}

/** raw = delta + deltaBias of every (row, t), into `raw` (rows, L). */
function rawSteps(delta: TypedArray, bias: TypedArray, dims: ScanDims, raw: Float32Array): void {
  const { batch, D, L } = dims;
  for (let r = 0, i = 0; r < batch * D; r++) {
    const bd = bias[r % D];
    for (let t = 0; t < L; t++, i++) raw[i] = delta[i] + bd;
  }
}

/** out = op(x) (sigmoid, silu) through @dl/tensor's SIMD kernels (before this call's layout: they use the kernel memory) */
function ewise(op: 'sigmoid' | 'silu', x: TypedArray, out: Float32Array): void {
  const k = kernelChoice();
  k.elementwise!(op, [x as Float32Array], out);
}

/**
 * How the channels split into tasks: one per thread (so the task count, and with it the order in
 * which the backward adds its dB and dC slots, depends only on the thread count set).
 */
function plan(dims: ScanDims): { tasks: number; dPer: number } {
  const tasks = Math.max(1, Math.min(getNumThreads(), dims.D));
  return { tasks, dPer: Math.ceil(dims.D / tasks) };
}

/** The register kernel for this state size where there is one, else the general kernel. */
const kernelName = (base: string, N: number): string => (N / 4 <= MAX_REG_VECTORS ? `${base}${N / 4}` : base);

/** stepSizes over `n` values, split into whole-vector pieces over the threads */
function runStepSizes(k: WasmKernel<ScanExports>, n: number, args: readonly number[]): void {
  const threads = getNumThreads();
  const per = Math.ceil(n / threads / 4) * 4;
  k.run('stepSizes', Math.ceil(n / per), [per, n, ...args]);
}

/** The forward op's output (batch, D, L [+ N]) from the SIMD kernel. */
export function scanForwardWasm(data: readonly TypedArray[], attrs: ScanAttrs, dims: ScanDims, outSize: number): Float32Array {
  const [u, delta, A, B, C, Dv, bias, z] = data;
  const { batch, D, L, N, hasZ } = dims;
  const rows = batch * D;
  const RL = rows * L;
  const { tasks, dPer } = plan(dims);
  const gate = hasZ ? temp(0, RL) : null;
  if (gate) ewise('silu', z, gate);
  const k = instance()!;
  // raw, then the kernel's arrays in scanForward's order (h: one state per thread), then u
  const { at, views } = layout([RL, RL, RL, D * N, batch * L * N, batch * L * N, RL, rows * N, tasks * N, RL]);
  const [raw, , , a, bt, ct, y, last, , uk] = views;
  rawSteps(delta, bias, dims, raw);
  uk.set(u);
  runStepSizes(k, RL, [at[0], at[9], at[1], at[2], 0, attrs.deltaSoftplus ? 1 : 0]);
  a.set(A);
  toTimeMajor(B, bt, batch, N, L);
  toTimeMajor(C, ct, batch, N, L);
  k.run(kernelName('scanForward', N), tasks, [dPer, batch, L, N, D, ...at.slice(1, 9)]);
  const outL = rowLength(dims, attrs);
  const out = cpuResultArray('float32', outSize, false) as Float32Array; // every element written below
  for (let r = 0; r < rows; r++) {
    const dd = Dv[r % D];
    for (let t = 0, i = r * L, o = r * outL; t < L; t++, i++, o++) {
      const v = y[i] + dd * u[i];
      out[o] = gate ? v * gate[i] : v;
    }
    if (attrs.returnLastState) out.set(last.subarray(r * N, r * N + N), r * outL + L);
  }
  return out;
}

/** The backward op's packed gradients (see gradSizes) from the SIMD kernel. */
export function scanBackwardWasm(data: readonly TypedArray[], attrs: ScanAttrs, dims: ScanDims, outSize: number): Float32Array {
  const [u, delta, A, B, C, Dv, bias] = data;
  const { batch, D, L, N, hasZ } = dims;
  const z = hasZ ? data[7] : null;
  const g = data[hasZ ? 8 : 7];
  const rows = batch * D;
  const outL = rowLength(dims, attrs);
  const RL = rows * L;
  const BLN = batch * L * N;
  const { tasks, dPer } = plan(dims);
  const threads = getNumThreads();
  const sz = z ? temp(1, RL) : null; // sigmoid(z)
  if (z && sz) ewise('sigmoid', z, sz);
  const k = instance()!;
  // the kernel's 17 arrays (scanBackward's order; hs, e, dh one per thread, dBt and dCt one per
  // task), then raw and sigmoid(raw)
  const sizes = [RL, RL, RL, RL, D * N, BLN, BLN, RL, threads * (L + 1) * N, threads * L * N, threads * N, attrs.returnLastState ? rows * N : 0, D * N, tasks * BLN, tasks * BLN, RL, RL, RL, RL];
  const { at, views } = layout(sizes);
  const [, , uk, gy, a, bt, ct, y, , , , lastG, dA, dBt, dCt, ddt, du, raw, sg] = views;
  rawSteps(delta, bias, dims, raw);
  uk.set(u);
  runStepSizes(k, RL, [at[17], at[2], at[0], at[1], attrs.deltaSoftplus ? at[18] : 0, attrs.deltaSoftplus ? 1 : 0]);
  a.set(A);
  toTimeMajor(B, bt, batch, N, L);
  toTimeMajor(C, ct, batch, N, L);
  for (let r = 0; r < rows; r++) {
    for (let t = 0, i = r * L, o = r * outL; t < L; t++, i++, o++) gy[i] = z && sz ? g[o] * z[i] * sz[i] : g[o];
    if (attrs.returnLastState) for (let n = 0; n < N; n++) lastG[r * N + n] = g[r * outL + L + n];
  }
  dA.fill(0);
  dBt.fill(0);
  dCt.fill(0);
  const args = at.slice(0, 17);
  if (!attrs.returnLastState) args[11] = 0;
  k.run(kernelName('scanBackward', N), tasks, [dPer, batch, L, N, D, ...args]);
  const [oU, oDelta, oA, oB, oC, oD, oBias, oZ] = gradOffsets(dims);
  const out = cpuResultArray('float32', outSize) as Float32Array; // zeroed: dD and ddeltaBias add up
  for (let r = 0; r < rows; r++) {
    const d = r % D;
    const dd = Dv[d];
    let dDsum = 0;
    let dBiasSum = 0;
    for (let t = 0, i = r * L, o = r * outL; t < L; t++, i++, o++) {
      const dRaw = attrs.deltaSoftplus ? ddt[i] * sg[i] : ddt[i];
      out[oU + i] = du[i] + gy[i] * dd;
      out[oDelta + i] = dRaw;
      dDsum += gy[i] * u[i];
      dBiasSum += dRaw;
      if (z && sz) {
        const s = sz[i];
        out[oZ + i] = g[o] * (y[i] + dd * u[i]) * s * (1 + z[i] * (1 - s));
      }
    }
    out[oD + d] += dDsum;
    out[oBias + d] += dBiasSum;
  }
  out.set(dA, oA);
  fromTimeMajor(dBt, tasks, out, oB, batch, N, L);
  fromTimeMajor(dCt, tasks, out, oC, batch, N, L);
  return out;
}
