import type { OutInfo, TensorInfo } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import type { ConvAttrs, PoolAttrs } from '../primitives.js';
import { contiguousStrides, sizeOf } from '../shape.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, type Conv2dParams } from './conv.js';
import type { FloatArray } from './gemm.js';
import { collapse } from './map.js';
import { kernelChoice, referenceKernels } from './select.js';
import { contiguousData, contiguousTemp, identity, offsetsOf, releaseTemp } from './strided.js';
import { takeArray } from './pool.js';

/** a [...batch, M, K] @ b [...batch, K, N]: one strided GEMM per batch entry, no copies. */
export function matmulKernel([a, b]: TensorInfo[], out: OutInfo): TypedArray {
  const r = takeArray(out.dtype, sizeOf(out.shape));
  const rank = out.shape.length;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[rank - 1];
  const batch = out.shape.slice(0, -2);
  const nb = sizeOf(batch);
  const aOffs = offsetsOf(batch, a.strides.slice(0, -2), a.offset) ?? identity(nb, a.offset);
  const bOffs = offsetsOf(batch, b.strides.slice(0, -2), b.offset) ?? identity(nb, b.offset);
  const [aRs, aCs] = a.strides.slice(-2);
  const [bRs, bCs] = b.strides.slice(-2);
  const A = a.data as TypedArray;
  const B = b.data as TypedArray;
  const k = out.dtype === 'float32' ? kernelChoice() : referenceKernels;
  if (K === 1 && M * N <= 64 && nb > 1 && out.dtype === 'float32') {
    // many tiny outer products (adaptive average pooling's backward: [.., 4, 1] @ [.., 1, 4]):
    // a loop here, where a GEMM call a product costs ~1 us in setup; a product of two float32
    // values is exact in float64, so fround gives the GEMM's bits (+ 0: its sum starts at +0, so
    // a -0 product comes out +0)
    const R = r as Float32Array;
    for (let i = 0, o = 0; i < nb; i++) {
      for (let m = 0; m < M; m++) {
        const am = A[aOffs[i] + m * aRs] as number;
        for (let n = 0; n < N; n++, o++) R[o] = Math.fround(am * (B[bOffs[i] + n * bCs] as number)) + 0;
      }
    }
    return r;
  }
  // batch dims that collapse to one stride per operand run as one batched call
  const flat = collapse(batch, [{ strides: contiguousStrides(batch) }, { strides: a.strides.slice(0, -2) }, { strides: b.strides.slice(0, -2) }]);
  if (k.gemmBatched && flat.shape.length === 1 && nb > 1) {
    const [, [aBs], [bBs]] = flat.strides;
    k.gemmBatched(nb, M, N, K, A as Float32Array, a.offset, aBs, aRs, aCs, B as Float32Array, b.offset, bBs, bRs, bCs, r as Float32Array, 0);
    return r;
  }
  const mm = out.dtype === 'int32' ? intGemm : k.gemm;
  for (let i = 0; i < nb; i++) {
    mm(M, N, K, A as FloatArray, aOffs[i], aRs, aCs, B as FloatArray, bOffs[i], bRs, bCs, r as FloatArray, i * M * N);
  }
  return r;
}

/** Integer matmul: plain loops (rare, small), wrapping modulo 2^32 like int32 arithmetic in C and WGSL. */
function intGemm(M: number, N: number, K: number, a: TypedArray, aOff: number, aRs: number, aCs: number, b: TypedArray, bOff: number, bRs: number, bCs: number, c: TypedArray, cOff: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = (s + Math.imul(a[aOff + i * aRs + k * aCs], b[bOff + k * bRs + j * bCs])) | 0;
      c[cOff + i * N + j] = s;
    }
  }
}

/** float32 may use the fast kernels; float64 always runs the reference. */
function fast(dtype: string): { conv2dForward?: ConvFn; conv2dBackwardInput?: ConvFn; conv2dBackwardWeight?: ConvFn } {
  return (dtype === 'float32' ? kernelChoice() : referenceKernels) as never;
}
type ConvFn = (p: Conv2dParams, a: FloatArray, b: FloatArray, out: FloatArray) => void;

function convParams(x: readonly number[], w: readonly number[], y: readonly number[], a: ConvAttrs): Conv2dParams {
  return {
    N: x[0], C: x[1], H: x[2], W: x[3], O: w[0], kH: w[2], kW: w[3], groups: a.groups,
    sH: a.stride[0], sW: a.stride[1], pH: a.padding[0], pW: a.padding[1], dH: a.dilation[0], dW: a.dilation[1],
    oH: y[2], oW: y[3],
  };
}

/**
 * Runs a conv kernel on contiguous copies of strided inputs (from the array pool, returned after).
 * The wasm kernels overwrite every output element, so their result array need not be zeroed; the
 * reference kernels accumulate into a zeroed one.
 */
function runConv(fastFn: ConvFn | undefined, refFn: ConvFn, p: Conv2dParams, a: TensorInfo, b: TensorInfo, out: OutInfo): TypedArray {
  const r = takeArray(out.dtype, sizeOf(out.shape), !fastFn) as FloatArray;
  const ad = contiguousTemp<FloatArray>(a);
  const bd = contiguousTemp<FloatArray>(b);
  (fastFn ?? refFn)(p, ad, bd, r);
  releaseTemp(a, ad);
  releaseTemp(b, bd);
  return r;
}

export function conv2dKernel([x, w]: TensorInfo[], attrs: ConvAttrs, out: OutInfo): TypedArray {
  const p = convParams(x.shape, w.shape, out.shape, attrs);
  return runConv(fast(out.dtype).conv2dForward, conv2dForward, p, x, w, out);
}

/** gy [N,O,oH,oW], w [O,C/g,kH,kW] -> gx [N,C,H,W] (out shape) */
export function conv2dGradInputKernel([gy, w]: TensorInfo[], attrs: ConvAttrs, out: OutInfo): TypedArray {
  const p = convParams(out.shape, w.shape, gy.shape, attrs);
  return runConv(fast(out.dtype).conv2dBackwardInput, conv2dBackwardInput, p, gy, w, out);
}

/** x [N,C,H,W], gy [N,O,oH,oW] -> gw [O,C/g,kH,kW] (out shape) */
export function conv2dGradWeightKernel([x, gy]: TensorInfo[], attrs: ConvAttrs, out: OutInfo): TypedArray {
  const p = convParams(x.shape, out.shape, gy.shape, attrs);
  return runConv(fast(out.dtype).conv2dBackwardWeight, conv2dBackwardWeight, p, x, gy, out);
}

/**
 * An int32 key that orders float32 bit patterns as the floats they hold: -0 and +0 tie, and every
 * NaN is the largest (PyTorch's pooling propagates NaN).
 */
function orderKey(b: number): number {
  const abs = b & 0x7fffffff;
  const m = b >> 31;
  const nan = (0x7f800000 - abs) >> 31;
  return (((abs ^ m) - m) & ~nan) | (0x7fffffff & nan);
}

/**
 * 2x2 windows at stride 2 over float32 bits, without branches: random signs would make the
 * compares of the general loop mispredict. Ties keep the first candidate in window order and the
 * last NaN wins, as there.
 */
function maxPool2x2(x: Int32Array, planes: number, H: number, W: number, oH: number, oW: number, r: Int32Array): void {
  for (let nc = 0, o = 0; nc < planes; nc++) {
    const plane = nc * H * W;
    for (let i = 0; i < oH; i++) {
      const h = 2 * i * W;
      for (let j = 0; j < oW; j++, o++) {
        // two pairs, then their winners: the same result as a left-to-right scan, with shorter
        // dependency chains (a later candidate wins when larger, or when it is NaN)
        const a0 = h + 2 * j;
        const a2 = a0 + W;
        const k0 = orderKey(x[plane + a0]);
        const k1 = orderKey(x[plane + a0 + 1]);
        const k2 = orderKey(x[plane + a2]);
        const k3 = orderKey(x[plane + a2 + 1]);
        const t1 = -(+(k1 > k0) | +(k1 === 0x7fffffff));
        const t3 = -(+(k3 > k2) | +(k3 === 0x7fffffff));
        const kA = (k1 & t1) | (k0 & ~t1);
        const iA = ((a0 + 1) & t1) | (a0 & ~t1);
        const kB = (k3 & t3) | (k2 & ~t3);
        const iB = ((a2 + 1) & t3) | (a2 & ~t3);
        const t = -(+(kB > kA) | +(kB === 0x7fffffff));
        const bi = (iB & t) | (iA & ~t);
        r[o] = bi;
      }
    }
  }
}

export function maxPool2dIndicesKernel([x]: TensorInfo[], a: PoolAttrs, out: OutInfo): TypedArray {
  const [N, C, H, W] = x.shape;
  const [, , oH, oW] = out.shape;
  const [kH, kW] = a.kernel;
  const [sH, sW] = a.stride;
  const [pH, pW] = a.padding;
  const [dH, dW] = a.dilation;
  const xs = contiguousData<FloatArray>(x);
  const r = takeArray('int32', sizeOf(out.shape), false) as Int32Array; // every window is written
  if (xs instanceof Float32Array && kH === 2 && kW === 2 && sH === 2 && sW === 2 && pH === 0 && pW === 0 && dH === 1 && dW === 1) {
    maxPool2x2(new Int32Array(xs.buffer, xs.byteOffset, xs.length), N * C, H, W, oH, oW, r);
    return r;
  }
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let i = 0; i < oH; i++) {
      for (let j = 0; j < oW; j++) {
        let best = -Infinity;
        let bi = -1;
        for (let ki = 0; ki < kH; ki++) {
          const h = i * sH - pH + ki * dH;
          if (h < 0 || h >= H) continue;
          for (let kj = 0; kj < kW; kj++) {
            const w = j * sW - pW + kj * dW;
            if (w < 0 || w >= W) continue;
            const v = xs[plane + h * W + w];
            // as PyTorch: every NaN takes over, so the last NaN of a window wins
            if (v > best || bi < 0 || v !== v) {
              best = v;
              bi = h * W + w;
            }
          }
        }
        r[o++] = bi;
      }
    }
  }
  return r;
}
