/**
 * What the fused per-channel normalisation ops (batch-norm.ts, group-norm.ts) share: x viewed as
 * (N, C, S) with the other inputs' shapes and the dtype checked, their result arrays, where the
 * fused kernels run, and the WGSL workgroup sum.
 */
import { DTypeError, ShapeError, cpuResultArray, fmt, getBackend, wgslWorkgroupSum, type DType, type Tensor, type TypedArray } from '@dl/tensor';

/** x (N, C, *) as (N, C, S): S the product of the dims after the channels (1 for [N, C]). */
export interface ChannelDims {
  N: number;
  C: number;
  S: number;
}

/**
 * (N, C, S) of inputs[0] = x after checking it is (N, C, *), then `check(C, all)` (an op's own
 * rule, `all` naming every input's shape for its message), then each other input's shape against
 * `want(name, x, C)`, and that every input is float32 or float64, one dtype.
 */
export function channelDims(
  op: string,
  inputs: readonly { shape: readonly number[]; dtype: DType }[],
  names: readonly string[],
  want: (name: string, x: readonly number[], C: number) => readonly number[],
  check?: (C: number, all: string) => void,
): ChannelDims {
  const all = inputs.map((t, i) => `${names[i]}=${fmt(t.shape)}`).join(' ');
  const x = inputs[0].shape;
  if (x.length < 2) throw new ShapeError(op, `x must be (N, C, *), got ${fmt(x)}; ${all}`);
  const C = x[1];
  check?.(C, all);
  inputs.slice(1).forEach(({ shape: s }, i) => {
    const w = want(names[i + 1], x, C);
    if (s.length !== w.length || s.some((d, k) => d !== w[k])) throw new ShapeError(op, `${names[i + 1]} must be ${fmt(w)} for x ${fmt(x)}, got ${fmt(s)}; ${all}`);
  });
  const dtypes = inputs.map((t) => t.dtype);
  const dt = dtypes[0];
  if ((dt !== 'float32' && dt !== 'float64') || dtypes.some((d) => d !== dt)) throw new DTypeError(op, `every input must be float32 (or float64 on CPU) of one dtype, got ${dtypes.join(', ')} for ${all}`);
  return { N: x[0], C, S: x.slice(2).reduce((a, b) => a * b, 1) };
}

/** A (pooled) result array of `like`'s float kind. */
export const resultLike = (like: TypedArray, n: number, zeroed = false): TypedArray => cpuResultArray(like instanceof Float64Array ? 'float64' : 'float32', n, zeroed);

/** True where the fused ops run for x: a backend with custom kernels and a dtype they take (CPU: float32, float64; WGSL: float32). */
export function canFuseChannelOp(x: Tensor, op: string): boolean {
  const kind = getBackend(x.device, op).customKernels;
  return (kind === 'cpu' && (x.dtype === 'float32' || x.dtype === 'float64')) || (kind === 'wgsl' && x.dtype === 'float32');
}

/** Threads of the ops' WGSL workgroups. */
export const WG = 256;

/** WGSL: `reduce(v, lid)` sums v over the workgroup's threads (every thread must call it). */
export const WGSL_WORKGROUP_SUM = wgslWorkgroupSum(WG);
