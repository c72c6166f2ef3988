import type { OutInfo, TensorInfo } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import type { ReduceAttrs } from '../primitives.js';
import { isContiguousLayout, sizeOf } from '../shape.js';
import { contiguousOffsetsWithLast, offsetsWithLast } from './strided.js';
import { takeArray } from './pool.js';
import { kernelChoice } from './select.js';

type Reducer = 'sum' | 'prod' | 'max' | 'min';

/** Reduces `dims` into a contiguous output (max/min: by the offset walk with `dims` moved last). */
export function reduceKernel(kind: Reducer, [x]: TensorInfo[], { dims }: ReduceAttrs, out: OutInfo): TypedArray {
  const n = sizeOf(out.shape);
  const r = takeArray(out.dtype, n, false); // every output is written
  const len = dims.reduce((p, d) => p * x.shape[d], 1);
  const a = x.data as TypedArray;
  if (kind === 'sum' || kind === 'prod') {
    accumulate(kind === 'sum', x, dims, r);
    return r;
  }
  const offs = offsetsWithLast(x, dims);
  for (let j = 0, base = 0; j < n; j++, base += len) {
    let acc: number;
    if (kind === 'max') {
      acc = -Infinity;
      for (let i = 0; i < len; i++) {
        const v = a[offs[base + i]];
        if (v > acc || v !== v) acc = v;
        if (acc !== acc) break;
      }
    } else {
      acc = Infinity;
      for (let i = 0; i < len; i++) {
        const v = a[offs[base + i]];
        if (v < acc || v !== v) acc = v;
        if (acc !== acc) break;
      }
    }
    r[j] = acc;
  }
  return r;
}

/**
 * Sum or product of x over `dims` in one walk of x in row-major order, with no offset table. Each
 * output still meets its inputs in row-major order of the reduced dims, in a float64
 * accumulator, so results equal the offset walk's bit for bit.
 */
function accumulate(sum: boolean, x: TensorInfo, dims: readonly number[], r: TypedArray): void {
  const a = x.data as TypedArray;
  // neighbouring dims of one kind (kept or reduced) that x walks as one merge into one
  const sizes: number[] = [];
  const strides: number[] = [];
  const reduced: boolean[] = [];
  for (let d = 0; d < x.shape.length; d++) {
    if (x.shape[d] === 1) continue;
    const red = dims.includes(d);
    const L = sizes.length;
    if (L && reduced[L - 1] === red && strides[L - 1] === x.strides[d] * x.shape[d]) {
      sizes[L - 1] *= x.shape[d];
      strides[L - 1] = x.strides[d];
    } else {
      sizes.push(x.shape[d]);
      strides.push(x.strides[d]);
      reduced.push(red);
    }
  }
  const n = r.length;
  const acc = new Float64Array(n).fill(sum ? 0 : 1);
  const L = sizes.length;
  if (L === 0) {
    if (n) acc[0] = sum ? 0 + a[x.offset] : 1 * a[x.offset];
  } else {
    // output strides: contiguous over kept dims, 0 over reduced ones
    const os = new Array<number>(L);
    for (let d = L - 1, s = 1; d >= 0; d--) {
      os[d] = reduced[d] ? 0 : s;
      if (!reduced[d]) s *= sizes[d];
    }
    let total = 1;
    for (const z of sizes) total *= z;
    const inner = sizes[L - 1];
    const is = strides[L - 1];
    const innerReduced = reduced[L - 1];
    const idx = new Int32Array(L);
    // rows of neighbouring outputs (a bias gradient's channels) as interleaved chains; same order per output
    const interleave = sum && L >= 2 && innerReduced && is === 1 && !reduced[L - 2] && sizes[L - 2] >= 4;
    if (interleave) sumRowsInterleaved(a, x.offset, sizes, strides, os, acc);
    // float32 rows summed into their columns (a bias gradient over batch and time): SIMD chains, same order
    const sumColumns = kernelChoice().sumColumns;
    const columns = sum && L === 2 && reduced[0] && !innerReduced && is === 1 && strides[0] === inner && total >= 1024 && sumColumns !== undefined && a instanceof Float32Array;
    if (columns) {
      sumColumns(a, x.offset, sizes[0], inner, acc);
      const rest = inner - (inner % 4);
      for (let row = 0, p = x.offset; row < sizes[0]; row++, p += inner) for (let j = rest; j < inner; j++) acc[j] += a[p + j];
    }
    for (let done = 0, p = x.offset, o = 0; !interleave && !columns && done < total; done += inner) {
      if (innerReduced) {
        let v = acc[o];
        if (is === 1) {
          if (sum) for (let i = 0; i < inner; i++) v += a[p + i];
          else for (let i = 0; i < inner; i++) v *= a[p + i];
        } else if (sum) for (let i = 0; i < inner; i++) v += a[p + i * is];
        else for (let i = 0; i < inner; i++) v *= a[p + i * is];
        acc[o] = v;
      } else if (is === 1) {
        if (sum) for (let i = 0; i < inner; i++) acc[o + i] += a[p + i];
        else for (let i = 0; i < inner; i++) acc[o + i] *= a[p + i];
      } else if (sum) for (let i = 0; i < inner; i++) acc[o + i] += a[p + i * is];
      else for (let i = 0; i < inner; i++) acc[o + i] *= a[p + i * is];
      for (let d = L - 2; d >= 0; d--) {
        idx[d]++;
        o += os[d];
        p += strides[d];
        if (idx[d] < sizes[d]) break;
        o -= os[d] * sizes[d];
        p -= strides[d] * sizes[d];
        idx[d] = 0;
      }
    }
  }
  for (let j = 0; j < n; j++) r[j] = acc[j];
}

/**
 * Sums rows of `inner` contiguous elements (the last collapsed dim, reduced) into acc, where the
 * dim above is kept (e.g. the channels of a bias gradient): four rows of neighbouring outputs run
 * as four independent float64 chains, so the additions of one row do not wait on each other's
 * latency. Each output still adds its elements in the same order (rows in row-major order of the
 * outer dims, each row front to back), so the sums equal the one-chain walk bit for bit.
 */
function sumRowsInterleaved(a: TypedArray, offset: number, sizes: readonly number[], strides: readonly number[], os: readonly number[], acc: Float64Array): void {
  const L = sizes.length;
  const inner = sizes[L - 1];
  const rows = sizes[L - 2];
  const rs = strides[L - 2];
  const ro = os[L - 2];
  let blocks = 1;
  for (let d = 0; d < L - 2; d++) blocks *= sizes[d];
  const idx = new Int32Array(Math.max(0, L - 2));
  for (let b = 0, p = offset, o = 0; b < blocks; b++) {
    let j = 0;
    for (; j + 4 <= rows; j += 4) {
      const p0 = p + j * rs, p1 = p0 + rs, p2 = p1 + rs, p3 = p2 + rs;
      const o0 = o + j * ro;
      let v0 = acc[o0], v1 = acc[o0 + ro], v2 = acc[o0 + 2 * ro], v3 = acc[o0 + 3 * ro];
      for (let i = 0; i < inner; i++) {
        v0 += a[p0 + i];
        v1 += a[p1 + i];
        v2 += a[p2 + i];
        v3 += a[p3 + i];
      }
      acc[o0] = v0;
      acc[o0 + ro] = v1;
      acc[o0 + 2 * ro] = v2;
      acc[o0 + 3 * ro] = v3;
    }
    for (; j < rows; j++) {
      const q = p + j * rs;
      let v = acc[o + j * ro];
      for (let i = 0; i < inner; i++) v += a[q + i];
      acc[o + j * ro] = v;
    }
    for (let d = L - 3; d >= 0; d--) {
      idx[d]++;
      o += os[d];
      p += strides[d];
      if (idx[d] < sizes[d]) break;
      o -= os[d] * sizes[d];
      p -= strides[d] * sizes[d];
      idx[d] = 0;
    }
  }
}

/** First index of the max (min) along dim; NaN counts as the max, as in PyTorch. */
export function argReduceKernel(kind: 'argmax' | 'argmin', [x]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): TypedArray {
  const n = sizeOf(out.shape);
  const r = new Int32Array(n);
  const len = x.shape[dim] ?? 1;
  const a = x.data as TypedArray;
  const offs = offsetsWithLast(x, x.shape.length ? [dim] : []);
  const better = kind === 'argmax' ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  for (let j = 0, base = 0; j < n; j++, base += len) {
    let best = a[offs[base]];
    let bi = 0;
    for (let i = 1; i < len && best === best; i++) {
      const v = a[offs[base + i]];
      if (better(v, best) || v !== v) {
        best = v;
        bi = i;
      }
    }
    r[j] = bi;
  }
  return r;
}

/**
 * softmax / logSoftmax of contiguous rows along the last dim, without offset tables; each exp is
 * computed once and kept in float64, so values equal the general walk's exactly.
 * A fully masked row (all -Infinity) gives zeros (softmax) or -Infinity (logSoftmax), not NaN.
 */
function softmaxRows(log: boolean, a: TypedArray, offset: number, total: number, len: number, r: TypedArray): void {
  const e = new Float64Array(len);
  for (let base = 0; base < total; base += len) {
    const p = offset + base;
    let m = -Infinity;
    for (let i = 0; i < len; i++) m = Math.max(m, a[p + i]);
    if (m === -Infinity) {
      r.fill(log ? -Infinity : 0, base, base + len);
      continue;
    }
    let s = 0;
    if (log) {
      for (let i = 0; i < len; i++) s += Math.exp(a[p + i] - m);
      const ls = Math.log(s) + m;
      for (let i = 0; i < len; i++) r[base + i] = a[p + i] - ls;
    } else {
      for (let i = 0; i < len; i++) s += e[i] = Math.exp(a[p + i] - m);
      for (let i = 0; i < len; i++) r[base + i] = e[i] / s;
    }
  }
}

/** Row-wise kernels along one dim: cumsum, softmax, logSoftmax. */
export function rowKernel(kind: 'cumsum' | 'softmax' | 'logSoftmax', [x]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): TypedArray {
  const total = sizeOf(out.shape);
  const r = takeArray(out.dtype, total, false); // every output is written
  if (total === 0) return r;
  const dims = x.shape.length ? [dim] : [];
  const len = x.shape.length ? x.shape[dim] : 1;
  const a = x.data as TypedArray;
  if (kind !== 'cumsum' && (dims.length === 0 || dim === x.shape.length - 1) && isContiguousLayout(x.shape, x.strides)) {
    // float32 rows in SIMD where the wasm kernels are selected (exp within 2 ulp: not the JS bits)
    const fast = total >= 64 ? kernelChoice().softmaxRows : undefined;
    if (fast && a instanceof Float32Array && r instanceof Float32Array) fast(kind === 'logSoftmax', a, x.offset, r, total / len, len);
    else softmaxRows(kind === 'logSoftmax', a, x.offset, total, len, r);
    return r;
  }
  const src = offsetsWithLast(x, dims);
  const dst = contiguousOffsetsWithLast(out.shape, dims);
  for (let base = 0; base < total; base += len) {
    if (kind === 'cumsum') {
      let acc = 0;
      for (let i = 0; i < len; i++) r[dst[base + i]] = acc += a[src[base + i]];
      continue;
    }
    let m = -Infinity;
    for (let i = 0; i < len; i++) m = Math.max(m, a[src[base + i]]);
    if (m === -Infinity) {
      // fully masked row, as in softmaxRows
      for (let i = 0; i < len; i++) r[dst[base + i]] = kind === 'softmax' ? 0 : -Infinity;
      continue;
    }
    let s = 0;
    for (let i = 0; i < len; i++) s += Math.exp(a[src[base + i]] - m);
    if (kind === 'softmax') for (let i = 0; i < len; i++) r[dst[base + i]] = Math.exp(a[src[base + i]] - m) / s;
    else {
      const ls = Math.log(s) + m;
      for (let i = 0; i < len; i++) r[dst[base + i]] = a[src[base + i]] - ls;
    }
  }
  return r;
}
