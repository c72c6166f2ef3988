import { sizeOf } from '@dl/tensor';
import { type KernelAttrs, type OutInfo, type TensorInfo } from '@dl/tensor/internal';
import type { BindRange, GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, fromDomain, grid, storageType, toDomain, type StorageType } from '../wgsl/builder.js';
import { stridedOffsetFn, stridedParams } from '../wgsl/strided.js';
import { WG, dataOf, layoutTag, newData, outSize } from './common.js';
import { groupReduce } from './reduce.js';

/**
 * Layer norm kernels: one workgroup per row (the trailing dims from `axis`, so row j of the
 * contiguous output starts at j * len). x and g may be strided views (read through an offset
 * function of the row-major index i; both have x's shape); contiguous inputs, weight and bias
 * always among them, are read at `offset + i`.
 */
interface RowShader {
  s: ShaderBuilder;
  t: StorageType;
  len: string;
  /** f32 value of element i (row-major) of a declared input */
  load: (name: string, i: string) => string;
}

function rowShader(ctx: GpuContext, inputs: { name: string; info: TensorInfo }[], dtype: TensorInfo['dtype']): RowShader {
  const s = new ShaderBuilder(WG);
  if (ctx.subgroups) s.useSubgroups();
  const t = storageType(dtype);
  s.storage('out', t, 'read_write');
  const rank = inputs[0].info.shape.length;
  const strided = new Set<string>();
  for (const { name, info } of inputs) {
    s.storage(name, t);
    if (layoutTag(info) === 's') {
      stridedOffsetFn(s, `${name}_at`, rank, 'sh');
      strided.add(name);
    }
  }
  s.workgroupArray('sh', 'f32', WG);
  const load = (name: string, i: string): string => toDomain(strided.has(name) ? `${name}[${name}_at(${i})]` : `${name}[${s.param(`${name}_off`)} + ${i}]`, t, 'f32');
  return { s, t, len: s.param('len'), load };
}

/** Uniforms of a row shader: len, rows, and each input's offset (and strides when strided). */
function rowParams(inputs: { name: string; info: TensorInfo }[], len: number, rows: number): Record<string, number> {
  const p: Record<string, number> = { len, rows };
  for (const { name, info } of inputs) {
    if (layoutTag(info) === 's') stridedParams(`${name}_at`, 'sh', info.shape, info.strides, info.offset, p);
    else p[`${name}_off`] = info.offset;
  }
  return p;
}

/**
 * WGSL computing `mean0` (the row mean minus x0) and `rstd` of row `base` of x. Sums run over
 * x - x0 (the row's first element), so a large |mean| costs no float32 precision, and the
 * variance is that of the deviations (no sum-of-squares cancellation).
 */
function rowStats(r: RowShader, sub: boolean): string {
  const x = (i: string): string => r.load('x', i);
  return `
  let x0 = ${x('base')};
  var acc = 0.0;
  for (var k = lid; k < ${r.len}; k += ${WG}) { acc += ${x('base + k')} - x0; }
  ${groupReduce(sub, 'sum', 'f32', 'acc', 'total')}
  let mean0 = total / f32(${r.len});
  workgroupBarrier();
  var dev = 0.0;
  for (var k = lid; k < ${r.len}; k += ${WG}) { let d = ${x('base + k')} - x0 - mean0; dev += d * d; }
  ${groupReduce(sub, 'sum', 'f32', 'dev', 'sq')}
  let rstd = inverseSqrt(sq / f32(${r.len}) + ${r.s.param('eps', 'f32')});`;
}

const named = (names: string[], infos: (TensorInfo | undefined)[]): { name: string; info: TensorInfo }[] =>
  infos.flatMap((info, i) => (info ? [{ name: names[i], info }] : []));

const keyOf = (kind: string, ctx: GpuContext, ins: { name: string; info: TensorInfo }[]): string =>
  `${kind}:${ins[0].info.dtype}:${ins[0].info.shape.length}:${ins.map((i) => `${i.name}${layoutTag(i.info)}`).join('')}${ctx.subgroups ? ':s' : ''}`;

function run(ctx: GpuContext, op: string, key: string, ins: { name: string; info: TensorInfo }[], out: OutInfo, axis: number, eps: number, body: (r: RowShader) => string): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const x = ins[0].info;
  const [rows, len] = [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))];
  if (rows === 0 || len === 0) return data;
  const prog = ctx.program(key, () => {
    const r = rowShader(ctx, ins, out.dtype);
    return r.s.build(`
  if (wg >= ${r.s.param('rows')}) { return; }
  let base = wg * ${r.len};
  ${rowStats(r, ctx.subgroups)}
  ${body(r)}`);
  });
  const bindings: BindRange[] = [{ buffer: data.buffer }, ...ins.map((i) => ({ buffer: dataOf(i.info).buffer }))];
  if (ctx.subgroups) ctx.stats.subgroupDispatches++;
  // strided inputs share the shape uniforms `sh{d}`: every input has x's shape
  const params = { ...rowParams(ins, len, rows), eps };
  ctx.dispatch(op, prog, bindings, params, grid(rows));
  return data;
}

/** Fused layer norm forward: statistics, normalisation and the affine map in one dispatch. */
export function layerNormKernel(ctx: GpuContext, [x, w, b]: TensorInfo[], { axis, eps }: KernelAttrs['layerNorm'], out: OutInfo): GpuData {
  const ins = named(['x', 'w', 'b'], [x, w, b]);
  return run(ctx, 'layerNorm', keyOf('layerNorm', ctx, ins), ins, out, axis, eps, (r) => {
    // weight and bias arrive contiguous, indexed by the position k in the row
    let y = `(${r.load('x', 'base + k')} - x0 - mean0) * rstd`;
    if (w) y = `${y} * ${r.load('w', 'k')}`;
    if (b) y = `${y} + ${r.load('b', 'k')}`;
    return `for (var k = lid; k < ${r.len}; k += ${WG}) { out[base + k] = ${fromDomain(y, 'f32', r.t)}; }`;
  });
}

/**
 * Gradient of layer norm with respect to x in one dispatch: with xhat = (x - mean) * rstd and
 * gh = g * weight, dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)).
 */
export function layerNormGradInputKernel(ctx: GpuContext, [g, x, w]: TensorInfo[], { axis, eps }: KernelAttrs['layerNormGradInput'], out: OutInfo): GpuData {
  const ins = named(['x', 'g', 'w'], [x, g, w]);
  return run(ctx, 'layerNormGradInput', keyOf('layerNormGradInput', ctx, ins), ins, out, axis, eps, (r) => {
    const gh = w ? `${r.load('g', 'base + k')} * ${r.load('w', 'k')}` : r.load('g', 'base + k');
    const xhat = `(${r.load('x', 'base + k')} - x0 - mean0) * rstd`;
    return `
  workgroupBarrier();
  var sgh = 0.0;
  for (var k = lid; k < ${r.len}; k += ${WG}) { sgh += ${gh}; }
  ${groupReduce(ctx.subgroups, 'sum', 'f32', 'sgh', 'mg0')}
  workgroupBarrier();
  var sghx = 0.0;
  for (var k = lid; k < ${r.len}; k += ${WG}) { sghx += ${gh} * ${xhat}; }
  ${groupReduce(ctx.subgroups, 'sum', 'f32', 'sghx', 'mgx0')}
  let mg = mg0 / f32(${r.len});
  let mgx = mgx0 / f32(${r.len});
  for (var k = lid; k < ${r.len}; k += ${WG}) { out[base + k] = ${fromDomain(`rstd * (${gh} - mg - ${xhat} * mgx)`, 'f32', r.t)}; }`;
  });
}
