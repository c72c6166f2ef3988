import type { OutInfo, TensorInfo } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, grid, storageType, toDomain } from '../wgsl/builder.js';
import { stridedOffsetFn, stridedParams } from '../wgsl/strided.js';
import { WG, dataOf, newData, outSize } from './common.js';
import { runGemm } from './gemm.js';

/**
 * a [...batch, M, K] @ b [...batch, K, N]: the tiled GEMM over strided operands (stride 0 batch
 * dims included). float32 operands contiguous along k or m (A) / n or k (B) with 16-byte aligned
 * rows are read as vec4, and a float32 output with N % 4 == 0 is written as vec4.
 */
export function matmulKernel(ctx: GpuContext, [a, b]: TensorInfo[], out: OutInfo): GpuData {
  if (out.dtype === 'int32') return intMatmulKernel(ctx, a, b, out);
  const data = newData(ctx, outSize(out), out.dtype);
  const rank = out.shape.length;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[rank - 1];
  const batchShape = out.shape.slice(0, -2);
  const batch = batchShape.reduce((p, d) => p * d, 1);
  const br = batchShape.length;
  const at = storageType(a.dtype);
  const bt = storageType(b.dtype);
  const ot = storageType(out.dtype);
  const [ars, acs] = a.strides.slice(-2);
  const [brs, bcs] = b.strides.slice(-2);
  const aligned = (x: TensorInfo, rowStride: number): boolean => x.offset % 4 === 0 && rowStride % 4 === 0 && x.strides.slice(0, -2).every((s) => s % 4 === 0);
  const vecA = at === 'f32' && (acs === 1 || K === 1) && K % 4 === 0 && aligned(a, ars);
  const vecB = bt === 'f32' && (bcs === 1 || N === 1) && N % 4 === 0 && aligned(b, brs);
  // transposed operands (x @ w.T, x.T @ gy in linear layers) read 4 contiguous elements along m / k
  const vecAT = !vecA && at === 'f32' && ars === 1 && M % 4 === 0 && aligned(a, acs);
  const vecBT = !vecB && bt === 'f32' && brs === 1 && K % 4 === 0 && aligned(b, bcs);
  const params: Record<string, number> = { ars, acs, brs, bcs };
  stridedParams('abase', 'bs', batchShape, a.strides.slice(0, -2), a.offset, params);
  stridedParams('bbase', 'bs', batchShape, b.strides.slice(0, -2), b.offset, params);
  const flags = `${vecA ? 'A' : vecAT ? 'AT' : ''}${vecB ? 'B' : vecBT ? 'BT' : ''}`;
  runGemm(
    ctx,
    'matmul',
    {
      key: `matmul:${a.dtype}:${b.dtype}:${out.dtype}:${br}:${flags}`,
      plainC: ot,
      fusable: ot === 'f32' ? data : undefined,
      declare(s) {
        const M_ = s.param('M');
        const N_ = s.param('N');
        const K_ = s.param('K');
        s.storage('a', vecA || vecAT ? 'vec4<f32>' : at);
        s.storage('b', vecB || vecBT ? 'vec4<f32>' : bt);
        stridedOffsetFn(s, 'abase', br, 'bs');
        stridedOffsetFn(s, 'bbase', br, 'bs');
        s.fn('var<private> aB: i32;\nvar<private> bB: i32;');
        if (vecAT) {
          s.fn(`fn loadAT4(m: i32, k: i32) -> vec4<f32> {
  if (m >= ${M_} || k >= ${K_}) { return vec4<f32>(0.0); }
  return a[(aB + k * ${s.param('acs')} + m) >> 2u];
}`);
        } else if (vecA) {
          s.fn(`fn loadA4(m: i32, k: i32) -> vec4<f32> {
  if (m >= ${M_} || k >= ${K_}) { return vec4<f32>(0.0); }
  return a[(aB + m * ${s.param('ars')} + k) >> 2u];
}`);
        } else {
          s.fn(`fn loadA(m: i32, k: i32) -> f32 { return ${toDomain(`a[aB + m * ${s.param('ars')} + k * ${s.param('acs')}]`, at, 'f32')}; }`);
        }
        if (vecBT) {
          s.fn(`fn loadBT4(k: i32, n: i32) -> vec4<f32> {
  if (k >= ${K_} || n >= ${N_}) { return vec4<f32>(0.0); }
  return b[(bB + n * ${s.param('bcs')} + k) >> 2u];
}`);
        } else if (vecB) {
          s.fn(`fn loadB4(k: i32, n: i32) -> vec4<f32> {
  if (k >= ${K_} || n >= ${N_}) { return vec4<f32>(0.0); }
  return b[(bB + k * ${s.param('brs')} + n) >> 2u];
}`);
        } else {
          s.fn(`fn loadB(k: i32, n: i32) -> f32 { return ${toDomain(`b[bB + k * ${s.param('brs')} + n * ${s.param('bcs')}]`, bt, 'f32')}; }`);
        }
        return { prologue: '  aB = abase(z);\n  bB = bbase(z);', vec4: { A: vecA, B: vecB, AT: vecAT, BT: vecBT } };
      },
    },
    { M, N, K, batch },
    [{ buffer: data.buffer }, { buffer: dataOf(a).buffer }, { buffer: dataOf(b).buffer }],
    params,
  );
  return data;
}

/**
 * int32 matmul: a thread per output, accumulating in i32, which wraps modulo 2^32 exactly as the
 * CPU's int32 matmul does (the f32 GEMM would round past 2^24). Integer matmul is rare and small.
 */
function intMatmulKernel(ctx: GpuContext, a: TensorInfo, b: TensorInfo, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const total = outSize(out);
  if (total === 0) return data;
  const rank = out.shape.length;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[rank - 1];
  const batchShape = out.shape.slice(0, -2);
  const br = batchShape.length;
  const at = storageType(a.dtype);
  const bt = storageType(b.dtype);
  const [ars, acs] = a.strides.slice(-2);
  const [brs, bcs] = b.strides.slice(-2);
  const params: Record<string, number> = { M, N, K, total, ars, acs, brs, bcs };
  stridedParams('abase', 'bs', batchShape, a.strides.slice(0, -2), a.offset, params);
  stridedParams('bbase', 'bs', batchShape, b.strides.slice(0, -2), b.offset, params);
  const prog = ctx.program(`matmul:int:${a.dtype}:${b.dtype}:${br}`, () => {
    const s = new ShaderBuilder(WG);
    s.storage('out', 'i32', 'read_write');
    s.storage('a', at);
    s.storage('b', bt);
    stridedOffsetFn(s, 'abase', br, 'bs');
    stridedOffsetFn(s, 'bbase', br, 'bs');
    const [M_, N_, K_] = [s.param('M'), s.param('N'), s.param('K')];
    return s.build(`
  let i = wg * ${WG} + lid;
  if (i >= ${s.param('total')}) { return; }
  let n = i % ${N_};
  let m = (i / ${N_}) % ${M_};
  let z = i / (${M_} * ${N_});
  let aB = abase(z) + m * ${s.param('ars')};
  let bB = bbase(z) + n * ${s.param('bcs')};
  var acc = 0;
  for (var k = 0; k < ${K_}; k++) {
    acc += ${toDomain(`a[aB + k * ${s.param('acs')}]`, at, 'i32')} * ${toDomain(`b[bB + k * ${s.param('brs')}]`, bt, 'i32')};
  }
  out[i] = acc;`);
  });
  ctx.dispatch('matmul', prog, [{ buffer: data.buffer }, { buffer: dataOf(a).buffer }, { buffer: dataOf(b).buffer }], params, grid(Math.ceil(total / WG)));
  return data;
}
