// conv2d forward and both backward passes on the wasm GEMM. Forward is a packed GEMM over an
// implicit im2col matrix (each task builds only the block it packs, so the matrix never exists
// whole) or, at unit width stride, a direct variant reading B tiles from a zero-padded copy of the
// image. Backward-input is a forward conv of dy with the flipped kernel at unit stride; other
// strides compute dcol = W^T @ dy and fold it back with col2im. Backward-weight is dy @ im2col^T,
// or by Winograd (winograd-weight.ts) for the 3x3 unit-stride convs it fits.
import { allFinite, type Conv2dParams } from '../conv.js';
import { GEO, MR, NR } from './gemm-kernel.js';
import { gemmBytes, KC, packA, planGemm, runGemm } from './gemm.js';
import { copyPlanes } from './copy-planes.js';
import { padPlanes } from './pad.js';
import { conv2dWinogradWasm, winogradFits } from './winograd.js';
import { conv2dWeightWinogradWasm, winogradWeightFits } from './winograd-weight.js';
import { dispatch, getNumThreads, params } from './pool.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { BSRC, GEO_AT, JOB, P } from './tasks.js';

export type { Conv2dParams };

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Output pixels per image at most for which the weight gradient runs as one GEMM over the batch. */
const SMALL_OUTPUT = 25;

/** Writes one group's geometry block (x and gx addresses point at the group's first channel). */
function writeGeo(p: Conv2dParams): number {
  const g = new Int32Array(runtime().memory.buffer, GEO_AT, GEO.bytes / 4);
  const Cg = p.C / p.groups;
  g[GEO.C / 4] = Cg;
  g[GEO.H / 4] = p.H;
  g[GEO.W / 4] = p.W;
  g[GEO.kH / 4] = p.kH;
  g[GEO.kW / 4] = p.kW;
  g[GEO.sH / 4] = p.sH;
  g[GEO.sW / 4] = p.sW;
  g[GEO.pH / 4] = p.pH;
  g[GEO.pW / 4] = p.pW;
  g[GEO.dH / 4] = p.dH;
  g[GEO.dW / 4] = p.dW;
  g[GEO.oH / 4] = p.oH;
  g[GEO.oW / 4] = p.oW;
  g[GEO.imgStride / 4] = p.C * p.H * p.W;
  return GEO_AT;
}

/** The same convolution over images [n0, n0 + n) only. */
const batchSlice = (p: Conv2dParams, n: number): Conv2dParams => ({ ...p, N: n });

/** Splits the batch in two when one call would need more scratch than memory allows. */
function splitBatch(p: Conv2dParams, bytes: number, run: (n0: number, n: number) => void): boolean {
  if (bytes <= runtime().maxScratch || p.N <= 1) return false;
  const h = ceilDiv(p.N, 2);
  run(0, h);
  run(h, p.N - h);
  return true;
}

/** Copies dy [N, O, S] into kernel memory at `raw`, then regroups it at `at` as [O, N*S], so each group's rows form a matrix. */
function placeDyByChannel(p: Conv2dParams, dy: Float32Array, at: number, raw: number): void {
  const S = p.oH * p.oW;
  heapF32().set(dy.subarray(0, p.N * p.O * S), raw / 4);
  copyPlanes(p.O, raw, S, p.O * S, at, p.N * S, S, p.N, S);
}

/**
 * out [N, O, oH, oW] = conv2d(x [N, C, H, W], w [O, C/groups, kH, kW]).
 * @example conv2dForwardWasm(p, x, w, out)
 */
export function conv2dForwardWasm(p: Conv2dParams, x: Float32Array, w: Float32Array, out: Float32Array): void {
  const { N, C, H, W, O, kH, kW, groups } = p;
  const Cg = C / groups, Og = O / groups, CKK = Cg * kH * kW, S = p.oH * p.oW, NP = N * S;
  if (NP === 0 || O === 0) return;
  if (CKK === 0) {
    out.fill(0, 0, N * O * S);
    return;
  }
  if (winogradFits(p) && conv2dWinogradWasm(p, x, w, out)) return;
  // direct reads B tiles from the image once per channel panel, im2col packs them once per block:
  // direct wins with few output channels, short rows (im2col's per-row overhead) or, for kernels
  // past 1x1, up to 48 channels (28-wide rows, 32 and 48 channels: 10-30% less CPU time), measured
  if (p.sW === 1 && (Og <= 16 || p.oW < 20 || (kH * kW > 1 && Og <= 48))) {
    convDirect(p, x, w, out);
    return;
  }
  const plan = planGemm(Og, NP, CKK);
  const colSlot = 4 * Math.min(KC, CKK) * plan.npTask * NR + 64; // + slack for im2col's whole-vector tail
  const Mp = ceilDiv(Og, MR) * MR, NPp = ceilDiv(NP, NR) * NR;
  const need = gemmBytes(Og, NP, CKK, plan, colSlot / 4) + 4 * (N * C * H * W + O * CKK + N * O * S);
  const sliced = splitBatch(p, need, (n0, n) =>
    conv2dForwardWasm(batchSlice(p, n), x.subarray(n0 * C * H * W), w, out.subarray(n0 * O * S)),
  );
  if (sliced) return;
  scratch.reset();
  const xAt = scratch.alloc(4 * N * C * H * W);
  const wAt = scratch.alloc(4 * O * CKK);
  const cAt = scratch.alloc(4 * Mp * NPp);
  const outAt = scratch.alloc(4 * N * O * S);
  const mark = scratch.top;
  scratch.reserve();
  let heap = heapF32();
  heap.set(x.subarray(0, N * C * H * W), xAt / 4);
  heap.set(w.subarray(0, O * CKK), wAt / 4);
  const geo = writeGeo(p);
  for (let g = 0; g < groups; g++) {
    scratch.top = mark;
    runGemm(
      {
        M: Og, N: NP, K: CKK,
        a: { at: wAt + 4 * g * Og * CKK, rs: CKK, cs: 1 },
        b: { at: xAt + 4 * g * Cg * H * W, rs: 0, cs: 0, src: BSRC.IM2COL, geo },
        c: cAt, ldc: NPp, accumulate: false,
      },
      plan, colSlot,
    );
    // C [Og, (n, s)] -> out [n, g*Og + o, s]
    copyPlanes(Og, cAt, NPp, S, outAt + 4 * g * Og * S, S, O * S, N, S);
  }
  heap = heapF32();
  out.set(heap.subarray(outAt / 4, outAt / 4 + N * O * S));
}

/**
 * Forward conv at unit width stride without im2col: the input is copied once into a zero-padded
 * image, and the microkernel reads each B tile (NR consecutive outputs of one output row) straight
 * from it at a per-k offset. Rows are computed in NR-wide tiles (the last 4 wide where that is
 * enough), so up to NR-1 columns per output row are computed and dropped; they read padding or
 * the next row, never past the buffer's slack.
 */
function convDirect(p: Conv2dParams, x: Float32Array, w: Float32Array, out: Float32Array): void {
  const { N, C, H, W, O, kH, kW, groups, oH, oW } = p;
  const Cg = C / groups, Og = O / groups, CKK = Cg * kH * kW;
  const Hp = H + 2 * p.pH, Wp = W + 2 * p.pW, img = C * Hp * Wp;
  // whole NR-wide tiles, the last one 4 wide where that covers the row (28 = 3 x 8 + 4)
  const owt = oW % NR > 0 && oW % NR <= 4 ? oW - (oW % NR) + 4 : ceilDiv(oW, NR) * NR, rows = N * oH;
  const Mp = ceilDiv(Og, MR) * MR;
  // C is out with rows padded to owt and Mp - Og spare planes per image: a group's last channel
  // panel spills into the next group's planes (written after it, in order) or the spare ones
  const imgC = (O + Mp - Og) * oH * owt;
  const cLen = N * imgC;
  // dropped columns read at most owt - oW + (kW - 1) * dW floats past a padded row
  const slack = owt + (kW - 1) * p.dW + Wp + 16;
  const threads = getNumThreads();
  const need = 4 * (N * C * H * W + N * img + slack + O * CKK + CKK + Mp * CKK + cLen + N * O * oH * oW) + 1024;
  if (splitBatch(p, need, (n0, n) => convDirect(batchSlice(p, n), x.subarray(n0 * C * H * W), w, out.subarray(n0 * O * oH * oW)))) return;
  scratch.reset();
  // without padding (1x1 convs) the copy of x is the padded image
  const unpadded = p.pH === 0 && p.pW === 0;
  const xAt = scratch.alloc(4 * (N * C * H * W + (unpadded ? slack : 0)));
  const xpAt = unpadded ? xAt : scratch.alloc(4 * (N * img + slack));
  const wAt = scratch.alloc(4 * O * CKK);
  const tabAt = scratch.alloc(4 * CKK);
  const apAt = scratch.alloc(4 * Mp * CKK);
  const cAt = scratch.alloc(4 * cLen);
  const inPlace = owt === oW && Mp === Og;
  const outAt = inPlace ? cAt : scratch.alloc(4 * N * O * oH * oW);
  scratch.reserve();
  const rt = runtime();
  let heap = heapF32();
  heap.set(x.subarray(0, N * C * H * W), xAt / 4);
  if (unpadded) {
    heap.fill(0, xAt / 4 + N * img, xAt / 4 + N * img + slack);
  } else {
    padPlanes(N * C, xAt, H, W, xpAt, Hp, Wp, p.pH, p.pW);
    heap = heapF32(); // the pad module's call may have grown the memory
    heap.fill(0, xpAt / 4 + N * img, xpAt / 4 + N * img + slack);
  }
  heap.set(w.subarray(0, O * CKK), wAt / 4);
  const tab = new Int32Array(rt.memory.buffer, tabAt, CKK);
  for (let c = 0, k = 0; c < Cg; c++) {
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++) tab[k++] = 4 * (c * Hp * Wp + kh * p.dH * Wp + kw * p.dW);
    }
  }
  const perTask = Math.max(1, ceilDiv(rows, 8 * threads));
  for (let g = 0; g < groups; g++) {
    packA(Og, oH * owt, CKK, { at: wAt + 4 * g * Og * CKK, rs: CKK, cs: 1 }, apAt, threads);
    const q = params();
    q[P.KIND] = JOB.DCONV;
    q[P.B] = xpAt + 4 * g * Cg * Hp * Wp;
    q[P.C] = cAt + 4 * g * Og * oH * owt;
    q[P.LDC] = oH * owt;
    q[P.IMG_C] = imgC;
    q[P.ROWS] = rows;
    q[P.ROWS_TASK] = perTask;
    q[P.OH] = oH;
    q[P.ROW_STEP] = p.sH * Wp;
    q[P.IMG] = img;
    q[P.OWT] = owt;
    q[P.TAB] = tabAt;
    dispatch(ceilDiv(rows, perTask), Og * rows * owt * CKK >= 1 << 18 ? threads : 1);
  }
  if (!inPlace) copyPlanes(N, cAt, imgC, owt, outAt, O * oH * oW, oW, O * oH, oW);
  heap = heapF32();
  out.set(heap.subarray(outAt / 4, outAt / 4 + N * O * oH * oW));
}

/**
 * gx [N, C, H, W] = gradient of conv2d with respect to its input, given dy [N, O, oH, oW] and
 * w [O, C/groups, kH, kW]. Overwrites gx.
 * @example conv2dBackwardInputWasm(p, dy, w, gx)
 */
export function conv2dBackwardInputWasm(p: Conv2dParams, dy: Float32Array, w: Float32Array, gx: Float32Array): void {
  const { N, C, H, W, O, kH, kW, groups } = p;
  const Cg = C / groups, Og = O / groups, CKK = Cg * kH * kW, S = p.oH * p.oW, NP = N * S;
  const X = N * C * H * W;
  if (X === 0) return;
  if (NP === 0 || Og === 0) {
    gx.fill(0, 0, X);
    return;
  }
  if (p.sH === 1 && p.sW === 1 && p.pH <= p.dH * (kH - 1) && p.pW <= p.dW * (kW - 1) && H * W <= 2 * S && allFinite(w, O * CKK)) {
    // unit stride: gx is the full correlation of dy with the flipped, transposed kernel, i.e. a
    // forward conv, which avoids the large dcol matrix and the col2im scatter. Its zero padding
    // would meet an infinite weight and give NaN where col2im sums real taps only (as PyTorch does).
    // That conv does C*O*kH*kW work per pixel of gx, col2im's GEMM per pixel of dy: where gx is
    // much larger (a transposed conv growing a 1x1 latent to 7x7 in a GAN's first layer: 49x the
    // work), the GEMM and col2im below are faster
    const KK = kH * kW;
    const wt = new Float32Array(w.length); // [groups, Cg, Og, kH, kW]
    for (let g = 0; g < groups; g++) {
      for (let o = 0; o < Og; o++) {
        for (let c = 0; c < Cg; c++) {
          const src = ((g * Og + o) * Cg + c) * KK, dst = ((g * Cg + c) * Og + o) * KK;
          for (let t = 0; t < KK; t++) wt[dst + t] = w[src + KK - 1 - t];
        }
      }
    }
    const q: Conv2dParams = {
      N, C: O, H: p.oH, W: p.oW, O: C, kH, kW, groups, sH: 1, sW: 1,
      pH: p.dH * (kH - 1) - p.pH, pW: p.dW * (kW - 1) - p.pW, dH: p.dH, dW: p.dW, oH: H, oW: W,
    };
    conv2dForwardWasm(q, dy, wt, gx);
    return;
  }
  const plan = planGemm(CKK, NP, Og);
  const CKKp = ceilDiv(CKK, MR) * MR, NPp = ceilDiv(NP, NR) * NR;
  const need = gemmBytes(CKK, NP, Og, plan, 0) + 4 * (X + O * CKK + 2 * N * O * S);
  const sliced = splitBatch(p, need, (n0, n) =>
    conv2dBackwardInputWasm(batchSlice(p, n), dy.subarray(n0 * O * S), w, gx.subarray(n0 * C * H * W)),
  );
  if (sliced) return;
  scratch.reset();
  const dyAt = scratch.alloc(4 * O * NP);
  const rawAt = scratch.alloc(4 * O * NP);
  const wAt = scratch.alloc(4 * O * CKK);
  const gxAt = scratch.alloc(4 * X);
  const dcolAt = scratch.alloc(4 * CKKp * NPp);
  const mark = scratch.top;
  scratch.reserve();
  let heap = heapF32();
  placeDyByChannel(p, dy, dyAt, rawAt);
  heap.set(w.subarray(0, O * CKK), wAt / 4);
  heap.fill(0, gxAt / 4, gxAt / 4 + X);
  const geo = writeGeo(p);
  const planes = N * Cg;
  const threads = getNumThreads();
  const perTask = Math.max(1, ceilDiv(planes, 4 * threads));
  for (let g = 0; g < groups; g++) {
    scratch.top = mark;
    // dcol [CKK, N*P] = W_g^T [CKK, Og] @ dy_g [Og, N*P]
    runGemm(
      {
        M: CKK, N: NP, K: Og,
        a: { at: wAt + 4 * g * Og * CKK, rs: 1, cs: CKK },
        b: { at: dyAt + 4 * g * Og * NP, rs: NP, cs: 1 },
        c: dcolAt, ldc: NPp, accumulate: false,
      },
      plan, 0,
    );
    const q = params();
    q[P.KIND] = JOB.COL2IM;
    q[P.GEO] = geo;
    q[P.C] = dcolAt;
    q[P.LDD] = NPp;
    q[P.GX] = gxAt + 4 * g * Cg * H * W;
    q[P.PLANES] = planes;
    q[P.PLANES_TASK] = perTask;
    dispatch(ceilDiv(planes, perTask), X * kH * kW >= 1 << 16 ? threads : 1);
  }
  heap = heapF32();
  gx.set(heap.subarray(gxAt / 4, gxAt / 4 + X));
}

/**
 * gw [O, C/groups, kH, kW] = gradient of conv2d with respect to its weight, given x [N, C, H, W]
 * and dy [N, O, oH, oW]. Overwrites gw.
 * @example conv2dBackwardWeightWasm(p, x, dy, gw)
 */
export function conv2dBackwardWeightWasm(p: Conv2dParams, x: Float32Array, dy: Float32Array, gw: Float32Array): void {
  const { N, C, H, W, O, kH, kW, groups } = p;
  const Cg = C / groups, Og = O / groups, CKK = Cg * kH * kW, S = p.oH * p.oW, NP = N * S;
  if (O * CKK === 0) return;
  if (NP === 0) {
    gw.fill(0, 0, O * CKK);
    return;
  }
  // the direct kernel's per-image setup outweighs its work on small outputs, where dy @ im2col^T
  // over all N*oH*oW pixels is faster (2x2-5x5 outputs: 0.2-0.9x the time, 6x6 even, 7x7 1.2-1.6x
  // slower; batch 64, 2 threads)
  if (groups === 1 && p.oH * p.oW > SMALL_OUTPUT) {
    if (!(winogradWeightFits(p) && conv2dWeightWinogradWasm(p, x, dy, gw))) convWeightDirect(p, x, dy, gw);
    return;
  }
  const plan = planGemm(Og, CKK, NP);
  const colSlot = 4 * Math.min(KC, NP) * plan.npTask * NR + 64;
  const Mp = ceilDiv(Og, MR) * MR, CKKp = ceilDiv(CKK, NR) * NR;
  const need = gemmBytes(Og, CKK, NP, plan, colSlot / 4) + 4 * (N * C * H * W + 2 * N * O * S);
  const sliced = splitBatch(p, need, (n0, n) => {
    const part = new Float32Array(O * CKK);
    conv2dBackwardWeightWasm(batchSlice(p, n), x.subarray(n0 * C * H * W), dy.subarray(n0 * O * S), part);
    if (n0 === 0) gw.set(part);
    else for (let i = 0; i < O * CKK; i++) gw[i] += part[i];
  });
  if (sliced) return;
  scratch.reset();
  const xAt = scratch.alloc(4 * N * C * H * W);
  const dyAt = scratch.alloc(4 * O * NP);
  const rawAt = scratch.alloc(4 * O * NP);
  const cAt = scratch.alloc(4 * Mp * CKKp);
  const mark = scratch.top;
  scratch.reserve();
  let heap = heapF32();
  heap.set(x.subarray(0, N * C * H * W), xAt / 4);
  placeDyByChannel(p, dy, dyAt, rawAt);
  const geo = writeGeo(p);
  for (let g = 0; g < groups; g++) {
    scratch.top = mark;
    // gw_g [Og, CKK] = dy_g [Og, N*P] @ im2col_g^T [N*P, CKK]
    runGemm(
      {
        M: Og, N: CKK, K: NP,
        a: { at: dyAt + 4 * g * Og * NP, rs: NP, cs: 1 },
        b: { at: xAt + 4 * g * Cg * H * W, rs: 0, cs: 0, src: BSRC.IM2COL_T, geo },
        c: cAt, ldc: CKKp, accumulate: false,
      },
      plan, colSlot,
    );
    heap = heapF32();
    for (let o = 0; o < Og; o++) {
      const s = cAt / 4 + o * CKKp;
      gw.set(heap.subarray(s, s + CKK), (g * Og + o) * CKK);
    }
  }
}

/**
 * Backward-weight without im2col (groups 1, any stride and dilation): gw^T [C*kH*kW, O] summed
 * over the pixels of each image, reading row k = (c, kh, kw) of the implicit im2col matrix
 * straight from a zero-padded copy of x at a per-k offset, and dy packed per image into O-column
 * panels (kept in cache for all of that image's row panels). Images are split into chunks, each
 * summed into its own copy of gw^T; the copies are added in chunk order (chunks planned from the
 * thread count set, so results do not depend on which thread ran which chunk).
 */
function convWeightDirect(p: Conv2dParams, x: Float32Array, dy: Float32Array, gw: Float32Array): void {
  const { N, C, H, W, O, kH, kW, oH, oW } = p;
  const CKK = C * kH * kW, S = oH * oW;
  const Hp = H + 2 * p.pH, Wp = W + 2 * p.pW, img = C * Hp * Wp;
  const CKKp = ceilDiv(CKK, MR) * MR, Op = ceilDiv(O, NR) * NR;
  const threads = O * CKK * N * S >= 1 << 18 ? getNumThreads() : 1;
  const chunks = Math.min(N, threads === 1 ? 1 : 2 * threads);
  const per = ceilDiv(N, chunks), tasks = ceilDiv(N, per);
  const need = 4 * (N * C * H * W + N * img + N * O * S + CKKp + threads * Op * S + tasks * CKKp * Op) + 1024;
  const sliced = splitBatch(p, need, (n0, n) => {
    const part = new Float32Array(O * CKK);
    convWeightDirect(batchSlice(p, n), x.subarray(n0 * C * H * W), dy.subarray(n0 * O * S), part);
    if (n0 === 0) gw.set(part);
    else for (let i = 0; i < O * CKK; i++) gw[i] += part[i];
  });
  if (sliced) return;
  scratch.reset();
  const unpadded = p.pH === 0 && p.pW === 0;
  const xAt = scratch.alloc(4 * N * C * H * W);
  const xpAt = unpadded ? xAt : scratch.alloc(4 * N * img);
  const dyAt = scratch.alloc(4 * N * O * S);
  const tabAt = scratch.alloc(4 * CKKp);
  const bpAt = scratch.alloc(4 * threads * Op * S);
  const cAt = scratch.alloc(4 * tasks * CKKp * Op);
  scratch.reserve();
  const rt = runtime();
  let heap = heapF32();
  heap.set(x.subarray(0, N * C * H * W), xAt / 4);
  if (!unpadded) {
    padPlanes(N * C, xAt, H, W, xpAt, Hp, Wp, p.pH, p.pW);
    heap = heapF32();
  }
  heap.set(dy.subarray(0, N * O * S), dyAt / 4);
  // rows past CKK (the last panel's spare rows) read the image's first pixels; their sums are dropped
  const tab = new Int32Array(rt.memory.buffer, tabAt, CKKp).fill(0);
  for (let c = 0, k = 0; c < C; c++) {
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++) tab[k++] = 4 * (c * Hp * Wp + kh * p.dH * Wp + kw * p.dW);
    }
  }
  const q = params();
  q[P.KIND] = JOB.DCONVW;
  q[P.MR] = MR;
  q[P.NR] = NR;
  q[P.M] = CKK;
  q[P.N] = Op;
  q[P.K] = O;
  q[P.A] = dyAt;
  q[P.A_ITEM] = 4 * O * S;
  q[P.B] = xpAt;
  q[P.IMG] = img;
  q[P.B_CS] = p.sW;
  q[P.ROW_STEP] = p.sH * Wp;
  q[P.TAB] = tabAt;
  q[P.OH] = oH;
  q[P.OWT] = oW;
  q[P.ROWS] = N;
  q[P.ROWS_TASK] = per;
  q[P.BP] = bpAt;
  q[P.BP_STRIDE] = 4 * Op * S;
  q[P.C] = cAt;
  q[P.C_SLOT] = 4 * CKKp * Op;
  q[P.LDC] = Op;
  dispatch(tasks, threads);
  heap = heapF32();
  // gw [O, CKK] = sum over the chunks, in order, of gw^T [CKK, Op]
  const c0 = cAt / 4;
  for (let k = 0; k < CKK; k++) {
    for (let o = 0; o < O; o++) gw[o * CKK + k] = heap[c0 + k * Op + o];
  }
  for (let t = 1; t < tasks; t++) {
    const ct = c0 + t * CKKp * Op;
    for (let k = 0; k < CKK; k++) {
      for (let o = 0; o < O; o++) gw[o * CKK + k] += heap[ct + k * Op + o];
    }
  }
}
