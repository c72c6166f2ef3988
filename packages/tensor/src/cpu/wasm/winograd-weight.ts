// conv2d's weight gradient by Winograd F(2x2, 3x3) on the wasm kernels (see
// winograd-weight-kernel.ts). The tile rows are split into a fixed number of chunks, each summing
// into its own dU; the chunks are added in order here, so the result does not depend on the thread
// count. As in the forward, a NaN or infinity would spread through the transforms to weights a
// direct sum keeps finite, so a result with any non-finite weight is declined.
import type { Conv2dParams } from '../conv.js';
import { MR, NR } from './gemm-kernel.js';
import { getNumThreads } from './pool.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { TASK_FLOATS, winogradKernel } from './winograd.js';

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** chunks of tile rows, each with its own dU: enough to share among threads, fixed so the sums do not depend on them */
const CHUNKS = 8;
/** tiles per chunk at least: each chunk's dU is summed here, in JavaScript */
const CHUNK_TILES = 256;
/** tiles per block at least: each block's GEMMs load and store all of dU */
const MIN_K = 128;

/** The split of `rowsTotal` tile rows (`tW` tiles each) into chunks, and of the chunks into blocks of R rows. */
function planChunks(rowsTotal: number, tW: number, channels: number): { R: number; rowsPerChunk: number; chunks: number } {
  const tiles = rowsTotal * tW;
  const rowsPerChunk = ceilDiv(rowsTotal, Math.max(1, Math.min(CHUNKS, Math.floor(tiles / CHUNK_TILES))));
  // V and Z of a block in cache where that leaves the GEMMs long enough
  const R = Math.max(Math.floor(TASK_FLOATS / (16 * channels * tW)), ceilDiv(MIN_K, tW));
  return { R: Math.max(1, Math.min(R, rowsPerChunk)), rowsPerChunk, chunks: ceilDiv(rowsTotal, rowsPerChunk) };
}

/**
 * True for the weight gradients this path takes: 3x3, unit stride and dilation, one group, at most
 * 512 channels a side, and enough of them for the GEMMs to pay for the transforms.
 */
export function winogradWeightFits(p: Conv2dParams): boolean {
  return (
    p.kH === 3 && p.kW === 3 && p.sH === 1 && p.sW === 1 && p.dH === 1 && p.dW === 1 && p.groups === 1 &&
    p.C >= 16 && p.O >= 16 && p.C <= 512 && p.O <= 512 && p.oH >= 2 && p.oW >= 2 &&
    p.N * Math.ceil(p.oH / 2) * Math.ceil(p.oW / 2) >= 4 * CHUNK_TILES
  );
}

/**
 * gw [O, C, 3, 3] = the gradient of conv2d with respect to its weight, from x [N, C, H, W] and
 * dy [N, O, oH, oW], by Winograd F(2x2, 3x3) for a convolution `winogradWeightFits` takes (a batch
 * past the kernel memory in halves). Returns false, leaving gw unspecified, where a weight is not
 * finite or one image does not fit: the caller then computes it directly.
 * @example if (!conv2dWeightWinogradWasm(p, x, dy, gw)) convWeightDirect(p, x, dy, gw)
 */
export function conv2dWeightWinogradWasm(p: Conv2dParams, x: Float32Array, dy: Float32Array, gw: Float32Array): boolean {
  const { N, C, H, W, O, oH, oW, pH, pW } = p;
  const tH = ceilDiv(oH, 2), tW = ceilDiv(oW, 2);
  // the padded image covers every tile's 4x4 input
  const Hp = 2 * tH + 2, Wp = 2 * tW + 2;
  const Cp = ceilDiv(C, NR) * NR, Mp = ceilDiv(O, MR) * MR;
  const rowsTotal = N * tH;
  const { R, rowsPerChunk, chunks } = planChunks(rowsTotal, tW, Cp + Mp);
  const threads = chunks > 1 && rowsTotal * tW * C * O >= 1 << 16 ? getNumThreads() : 1;
  const slotBytes = 4 * 16 * (Cp + Mp) * R * tW;
  const duFloats = 16 * Mp * Cp;
  const xqLen = N * Hp * Wp * Cp, dqLen = N * 4 * tH * tW * Mp;
  const need = 4 * (N * C * H * W + xqLen + N * O * oH * oW + dqLen + chunks * duFloats) + threads * slotBytes + 4096;
  if (need > runtime().maxScratch) return splitBatch(p, x, dy, gw);
  const k = winogradKernel();
  scratch.reset();
  const xAt = scratch.alloc(4 * N * C * H * W);
  const xqAt = scratch.alloc(4 * xqLen);
  const dyAt = scratch.alloc(4 * N * O * oH * oW);
  const dqAt = scratch.alloc(4 * dqLen);
  const slotsAt = scratch.alloc(threads * slotBytes);
  const duAt = scratch.alloc(4 * chunks * duFloats);
  scratch.reserve();
  let heap = heapF32();
  heap.set(x.subarray(0, N * C * H * W), xAt / 4);
  heap.set(dy.subarray(0, N * O * oH * oW), dyAt / 4);
  channelsLast(xAt, xqAt, N, C, Cp, H, W, Hp, Wp, pH, pW);
  // dy past the output is zero, so the tiles that reach past it add nothing
  channelsLast(dyAt, dqAt, N, O, Mp, oH, oW, 2 * tH, 2 * tW, 0, 0);
  k.run('wgrad', chunks, [xqAt, dqAt, slotsAt, slotBytes, duAt, Cp, Mp, Hp, Wp, tH, tW, rowsTotal, R, rowsPerChunk], threads);
  heap = heapF32();
  return weightsFromDu(heap, duAt / 4, chunks, O, C, Mp, Cp, gw);
}

/** dst [N][Hp][Wp][Cp] = src [N][C][H][W] at row pH, column pW, zeros elsewhere (kernel memory byte addresses). */
export function channelsLast(src: number, dst: number, N: number, C: number, Cp: number, H: number, W: number, Hp: number, Wp: number, pH: number, pW: number): void {
  const rows = N * Hp;
  const threads = rows * Wp * Cp >= 1 << 16 ? getNumThreads() : 1;
  const perTask = Math.max(1, ceilDiv(rows, 4 * threads));
  const cols = Math.max(0, Math.min(W, Wp - pW));
  winogradKernel().run('nhwc', ceilDiv(rows, perTask), [src, dst, C, Cp, H, W, Hp, Wp, pH, pW, cols, rows, perTask], threads);
}

/** The gradient over each half of the batch (halves fixed by N), added: for batches past the kernel memory. */
function splitBatch(p: Conv2dParams, x: Float32Array, dy: Float32Array, gw: Float32Array): boolean {
  if (p.N <= 1) return false;
  const h = ceilDiv(p.N, 2);
  const part = new Float32Array(gw.length);
  const rest = { ...p, N: p.N - h };
  if (!conv2dWeightWinogradWasm({ ...p, N: h }, x, dy, gw)) return false;
  if (!conv2dWeightWinogradWasm(rest, x.subarray(h * p.C * p.H * p.W), dy.subarray(h * p.O * p.oH * p.oW), part)) return false;
  for (let i = 0; i < gw.length; i++) gw[i] += part[i];
  return true;
}

/**
 * gw [o, c] = G^T dU[o, c] G with dU summed over the chunks in order (in float64); false where a
 * weight is not finite. dU is [chunk][16][Mp][Cp].
 */
function weightsFromDu(heap: Float32Array, du: number, chunks: number, O: number, C: number, Mp: number, Cp: number, gw: Float32Array): boolean {
  const plane = Mp * Cp, chunk = 16 * plane;
  const s = new Float64Array(16), t = new Float64Array(12);
  let finite = true;
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const at = du + o * Cp + c;
      for (let xi = 0; xi < 16; xi++) {
        let sum = 0;
        for (let k = 0; k < chunks; k++) sum += heap[at + k * chunk + xi * plane];
        s[xi] = sum;
      }
      // T = G^T S (3 x 4), rows of G: (1, 0, 0), (1/2, 1/2, 1/2), (1/2, -1/2, 1/2), (0, 0, 1)
      for (let j = 0; j < 4; j++) {
        const s0 = s[j], s1 = s[4 + j], s2 = s[8 + j], s3 = s[12 + j];
        t[j] = s0 + (s1 + s2) / 2;
        t[4 + j] = (s1 - s2) / 2;
        t[8 + j] = (s1 + s2) / 2 + s3;
      }
      const g = (o * C + c) * 9;
      for (let kh = 0; kh < 3; kh++) {
        const t0 = t[4 * kh], t1 = t[4 * kh + 1], t2 = t[4 * kh + 2], t3 = t[4 * kh + 3];
        gw[g + 3 * kh] = t0 + (t1 + t2) / 2;
        gw[g + 3 * kh + 1] = (t1 - t2) / 2;
        gw[g + 3 * kh + 2] = (t1 + t2) / 2 + t3;
        // in float32 now: a sum past its range is caught too
        finite &&= Number.isFinite(gw[g + 3 * kh] + gw[g + 3 * kh + 1] + gw[g + 3 * kh + 2]);
      }
    }
  }
  return finite;
}
