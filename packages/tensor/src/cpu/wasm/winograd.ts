// conv2d forward by Winograd F(2x2, 3x3) on the wasm kernels (see winograd-kernel.ts): 3x3 kernels
// at unit stride and dilation, one group, enough channels for the 16 GEMMs to pay for the
// transforms. The transforms would carry a NaN or infinity to outputs a direct convolution does not
// reach (and turn an infinity into NaN), so every output is checked on the way out: where one is
// not finite the caller computes the convolution directly instead.
import type { Conv2dParams } from '../conv.js';
import { copyPlanes } from './copy-planes.js';
import { padPlanes } from './pad.js';
import { compileKernel, type WasmKernel } from './extern.js';
import { emitKernel, emitMacro, MR, NR } from './gemm-kernel.js';
import { getNumThreads } from './pool.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { emitWinograd } from './winograd-kernel.js';
import { emitNhwc, emitWinogradWeight } from './winograd-weight-kernel.js';

let kernel: WasmKernel | undefined;
/** The module of the forward (`wino`) and weight-gradient (`wgrad`) kernels, on one GEMM. */
export const winogradKernel = (): WasmKernel =>
  (kernel ??= compileKernel((m) => {
    const macro = emitMacro(m, emitKernel(m, runtime().fma, false), null);
    emitWinograd(m, macro);
    emitWinogradWeight(m, macro);
    emitNhwc(m);
  }));

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** floats of one task's V and M together: about half of a core's L2 */
export const TASK_FLOATS = 1 << 17;

/**
 * True for the convolutions this path takes: 3x3, unit stride and dilation, one group, and 16 to 512
 * channels each side with at least 40 in all. Below that the transforms and the short GEMMs cost what
 * the multiplies save (16 -> 16 channels at 28x28 ran as fast as the direct kernel, 8 -> 8 at 64x64
 * 1.4x slower; 24 -> 24 at 28x28 1.4x faster, 32 -> 32 at 14x14 1.35x, 64 -> 32 1.4x; measured on 2
 * threads).
 */
export function winogradFits(p: Conv2dParams): boolean {
  return (
    p.kH === 3 && p.kW === 3 && p.sH === 1 && p.sW === 1 && p.dH === 1 && p.dW === 1 && p.groups === 1 &&
    p.C >= 16 && p.O >= 16 && p.C + p.O >= 40 && p.C <= 512 && p.O <= 512 && p.oH >= 2 && p.oW >= 2
  );
}

/** U [16][Mp / MR][C][MR] = G g G^T of every filter, as the GEMM's packed A panels (rows past O zero). */
function packWeights(w: Float32Array, O: number, C: number, Mp: number, heap: Float32Array, at: number): void {
  heap.fill(0, at, at + 16 * Mp * C);
  const t = new Float64Array(12); // G g: 4 x 3
  for (let o = 0; o < O; o++) {
    const panel = at + Math.floor(o / MR) * C * MR + (o % MR);
    for (let c = 0; c < C; c++) {
      const f = (o * C + c) * 9;
      for (let j = 0; j < 3; j++) {
        const g0 = w[f + j], g1 = w[f + 3 + j], g2 = w[f + 6 + j];
        t[j] = g0;
        t[3 + j] = (g0 + g1 + g2) / 2;
        t[6 + j] = (g0 - g1 + g2) / 2;
        t[9 + j] = g2;
      }
      for (let i = 0; i < 4; i++) {
        const g0 = t[3 * i], g1 = t[3 * i + 1], g2 = t[3 * i + 2];
        const q = panel + c * MR;
        // xi = i * 4 + j, planes Mp * C floats apart
        heap[q + (i * 4) * Mp * C] = g0;
        heap[q + (i * 4 + 1) * Mp * C] = (g0 + g1 + g2) / 2;
        heap[q + (i * 4 + 2) * Mp * C] = (g0 - g1 + g2) / 2;
        heap[q + (i * 4 + 3) * Mp * C] = g2;
      }
    }
  }
}

/**
 * out [N, O, oH, oW] = conv2d(x, w) by Winograd F(2x2, 3x3) for a convolution `winogradFits`
 * takes. Returns false, leaving out unspecified, where an output is not finite or the batch does not
 * fit the kernel memory: the caller then convolves directly.
 * @example if (!conv2dWinogradWasm(p, x, w, out)) convDirect(p, x, w, out)
 */
export function conv2dWinogradWasm(p: Conv2dParams, x: Float32Array, w: Float32Array, out: Float32Array): boolean {
  const { N, C, H, W, O, oH, oW, pH, pW } = p;
  const tH = ceilDiv(oH, 2), tW4 = ceilDiv(ceilDiv(oW, 2), 4) * 4;
  // the padded image covers every tile's 4x4 input and the third vector load of the last 4 tiles
  const Hp = 2 * tH + 2, Wp = 2 * tW4 + 4;
  const Mp = ceilDiv(O, MR) * MR;
  const rowsTotal = N * tH;
  const threads = rowsTotal * tW4 * C * O >= 1 << 16 ? getNumThreads() : 1;
  // tile rows per task: V and M in cache, and at least two tasks per thread
  let R = Math.max(1, Math.floor(TASK_FLOATS / (16 * (C + Mp) * tW4)));
  R = Math.min(R, Math.max(1, ceilDiv(rowsTotal, 2 * threads)));
  const NT8 = ceilDiv(R * tW4, NR) * NR;
  const tasks = ceilDiv(rowsTotal, R);
  const slotBytes = 4 * 16 * (C + Mp) * NT8;
  const yLen = N * O * 2 * tH * 2 * tW4;
  const need = 4 * (N * C * H * W + N * C * Hp * Wp + 16 * Mp * C + yLen + N * O * oH * oW) + threads * slotBytes + 16 * tasks + 4096;
  if (need > runtime().maxScratch) return false;
  const k = winogradKernel();
  scratch.reset();
  const xAt = scratch.alloc(4 * N * C * H * W);
  const xpAt = scratch.alloc(4 * N * C * Hp * Wp + 64);
  const upAt = scratch.alloc(4 * 16 * Mp * C);
  const slotsAt = scratch.alloc(threads * slotBytes);
  const yAt = scratch.alloc(4 * yLen);
  const outAt = scratch.alloc(4 * N * O * oH * oW);
  const flagsAt = scratch.alloc(16 * tasks);
  scratch.reserve();
  let heap = heapF32();
  heap.set(x.subarray(0, N * C * H * W), xAt / 4);
  // rows and columns past the last tile's reach are never read, so padPlanes drops them
  padPlanes(N * C, xAt, H, W, xpAt, Hp, Wp, pH, pW);
  heap = heapF32();
  heap.fill(0, xpAt / 4 + N * C * Hp * Wp, xpAt / 4 + N * C * Hp * Wp + 16);
  packWeights(w, O, C, Mp, heapF32(), upAt / 4);
  k.run('wino', tasks, [xpAt, upAt, slotsAt, slotBytes, yAt, flagsAt, C, O, Mp, Hp, Wp, tH, tW4, rowsTotal, R, NT8], threads);
  heap = heapF32();
  for (let i = flagsAt / 4; i < flagsAt / 4 + 4 * tasks; i++) if (heap[i] !== 0) return false;
  copyPlanes(N * O, yAt, 4 * tH * tW4, 2 * tW4, outAt, oH * oW, oW, oH, oW);
  heap = heapF32();
  out.set(heap.subarray(outAt / 4, outAt / 4 + N * O * oH * oW));
  return true;
}
