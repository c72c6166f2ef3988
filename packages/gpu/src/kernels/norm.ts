import type { KernelAttrs, OutInfo, TensorInfo } from '@dl/tensor';
import type { BindRange, GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, fromDomain, grid, storageType, toDomain } from '../wgsl/builder.js';
import { WG, dataOf, newData, outSize } from './common.js';
import { groupReduce } from './reduce.js';
import { declareRows, rowsOf } from './rows.js';

/**
 * Fused layer norm: one workgroup per row (the trailing dims from `axis`) reduces the mean, then
 * the biased variance of the deviations (two passes over the row shifted by its first element, so
 * neither a large mean nor sum-of-squares cancellation costs float32 precision), then writes
 * (x - mean) * rstd * weight + bias — one dispatch instead of the eight kernels of the composition.
 */
export function layerNormKernel(ctx: GpuContext, [x, w, b]: TensorInfo[], { axis, eps }: KernelAttrs['layerNorm'], out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const r = rowsOf(x, x.shape.map((_, i) => i).slice(axis));
  if (r.rows === 0 || r.len === 0) return data;
  const sub = ctx.subgroups;
  const affine = w ? (b ? 'wb' : 'w') : '';
  const key = `layerNorm:${x.dtype}:${r.outerRank}:${r.innerRank}:${affine}${sub ? ':s' : ''}`;
  const prog = ctx.program(key, () => {
    const s = new ShaderBuilder(WG);
    if (sub) s.useSubgroups();
    const t = storageType(x.dtype);
    s.storage('out', t, 'read_write');
    s.storage('x', t);
    if (w) s.storage('w', t);
    if (b) s.storage('b', t);
    const { rows, len } = declareRows(s, r.outerRank, r.innerRank);
    s.workgroupArray('sh', 'f32', WG);
    const load = (k: string): string => toDomain(`x[base + xcol(${k})]`, t, 'f32');
    let y = `(${load('k')} - x0 - mean0) * rstd`;
    if (w) y = `${y} * ${toDomain(`w[${s.param('wo')} + k]`, t, 'f32')}`;
    if (b) y = `${y} + ${toDomain(`b[${s.param('bo')} + k]`, t, 'f32')}`;
    return s.build(`
  if (wg >= ${rows}) { return; }
  let base = xrow(wg);
  // the output is contiguous and the row is its trailing dims
  let ob = wg * ${len};
  // sums of x - x0 (the row's first element) keep float32 precision when |mean| >> std
  let x0 = ${load('0')};
  var acc = 0.0;
  for (var k = lid; k < ${len}; k += ${WG}) { acc += ${load('k')} - x0; }
  ${groupReduce(sub, 'sum', 'f32', 'acc', 'total')}
  let mean0 = total / f32(${len});
  workgroupBarrier();
  var dev = 0.0;
  for (var k = lid; k < ${len}; k += ${WG}) { let d = ${load('k')} - x0 - mean0; dev += d * d; }
  ${groupReduce(sub, 'sum', 'f32', 'dev', 'sq')}
  let rstd = inverseSqrt(sq / f32(${len}) + ${s.param('eps', 'f32')});
  for (var k = lid; k < ${len}; k += ${WG}) { out[ob + k] = ${fromDomain(y, 'f32', t)}; }`);
  });
  const bindings: BindRange[] = [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }];
  if (w) bindings.push({ buffer: dataOf(w).buffer });
  if (b) bindings.push({ buffer: dataOf(b).buffer });
  if (sub) ctx.stats.subgroupDispatches++;
  ctx.dispatch('layerNorm', prog, bindings, { ...r.params, eps, wo: w?.offset ?? 0, bo: b?.offset ?? 0 }, grid(r.rows));
  return data;
}
