import type { OutInfo, ReduceAttrs, TensorInfo } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, domainOf, fromDomain, grid, storageType, toDomain, type Domain } from '../wgsl/builder.js';
import { WG, dataOf, newData, outSize } from './common.js';
import { declareRows, rowsOf } from './rows.js';

type Reducer = 'sum' | 'prod' | 'max' | 'min';

const NEG_INF = '-inf()';
const POS_INF = 'inf()';

function identity(kind: Reducer, d: Domain): string {
  if (kind === 'sum') return d === 'f32' ? '0.0' : '0';
  if (kind === 'prod') return d === 'f32' ? '1.0' : '1';
  if (kind === 'max') return d === 'f32' ? NEG_INF : 'i32(-2147483647 - 1)';
  return d === 'f32' ? POS_INF : '2147483647';
}

function combine(kind: Reducer, d: Domain, a: string, b: string): string {
  if (kind === 'sum') return `${a} + ${b}`;
  if (kind === 'prod') return `${a} * ${b}`;
  // NaN wins, as in PyTorch
  if (d === 'f32') return `select(${kind}(${a}, ${b}), ${a} + ${b}, isnan(${a}) || isnan(${b}))`;
  return `${kind}(${a}, ${b})`;
}

const SUBGROUP_OP: Record<Reducer, string> = { sum: 'subgroupAdd', prod: 'subgroupMul', max: 'subgroupMax', min: 'subgroupMin' };

/** `kind` over the subgroup; for floats max/min, NaN wins as in `combine` (subgroupMax/Min leave NaN unspecified). */
function subgroupReduce(kind: Reducer, d: Domain, v: string): string {
  const r = `${SUBGROUP_OP[kind]}(${v})`;
  return d === 'f32' && (kind === 'max' || kind === 'min') ? `select(${r}, nan(), subgroupAny(isnan(${v})))` : r;
}

/**
 * WGSL statements reducing each invocation's `v` over the workgroup into `let ${res}`, which every
 * invocation gets; `sh` is a workgroup array of WG values. With subgroups, each subgroup reduces
 * its values, lane 0 stores the partial, and every subgroup then reduces the sgn partials (sgn is
 * WG / subgroup size, which varies by device): one barrier instead of log2(WG).
 */
export function groupReduce(sub: boolean, kind: Reducer, d: Domain, v: string, res: string): string {
  if (sub) {
    return `
  let ${res}_sg = ${subgroupReduce(kind, d, v)};
  if (sgl == 0) { sh[sg] = ${res}_sg; }
  workgroupBarrier();
  var ${res}_p: ${d} = ${identity(kind, d)};
  for (var i = sgl; i < sgn; i += sgs) { ${res}_p = ${combine(kind, d, `${res}_p`, 'sh[i]')}; }
  let ${res} = ${subgroupReduce(kind, d, `${res}_p`)};`;
  }
  return `
  sh[lid] = ${v};
  workgroupBarrier();
  for (var s = ${WG / 2}; s > 0; s = s >> 1u) {
    if (lid < s) { sh[lid] = ${combine(kind, d, 'sh[lid]', 'sh[lid + s]')}; }
    workgroupBarrier();
  }
  let ${res} = sh[0];`;
}

/** Rows shorter than this reduce with one thread per output; longer ones with a workgroup tree. */
const TREE_MIN = 128;

/** sum/prod/max/min over `dims`: a workgroup per output (subgroup operations, else a tree in workgroup memory), or a thread per output for short rows. */
export function reduceKernel(ctx: GpuContext, kind: Reducer, [x]: TensorInfo[], { dims }: ReduceAttrs, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const r = rowsOf(x, dims);
  if (r.rows === 0) return data;
  const d = domainOf(out.dtype);
  const tree = r.len >= TREE_MIN;
  const sub = tree && ctx.subgroups;
  const key = `reduce:${kind}:${x.dtype}:${out.dtype}:${r.outerRank}:${r.innerRank}:${sub ? 's' : tree ? 't' : 'l'}`;
  const prog = ctx.program(key, () => {
    const b = new ShaderBuilder(WG);
    if (sub) b.useSubgroups();
    const ot = storageType(out.dtype);
    const xt = storageType(x.dtype);
    b.storage('out', ot, 'read_write');
    b.storage('x', xt);
    const { rows, len } = declareRows(b, r.outerRank, r.innerRank);
    const load = (k: string): string => toDomain(`x[base + xcol(${k})]`, xt, d);
    if (!tree) {
      return b.build(`
  let j = wg * ${WG} + lid;
  if (j >= ${rows}) { return; }
  let base = xrow(j);
  var acc: ${d} = ${identity(kind, d)};
  for (var k = 0; k < ${len}; k++) { acc = ${combine(kind, d, 'acc', load('k'))}; }
  out[j] = ${fromDomain('acc', d, ot)};`);
    }
    b.workgroupArray('sh', d, WG);
    return b.build(`
  if (wg >= ${rows}) { return; }
  let base = xrow(wg);
  var acc: ${d} = ${identity(kind, d)};
  for (var k = lid; k < ${len}; k += ${WG}) { acc = ${combine(kind, d, 'acc', load('k'))}; }
  ${groupReduce(sub, kind, d, 'acc', 'total')}
  if (lid == 0) { out[wg] = ${fromDomain('total', d, ot)}; }`);
  });
  if (sub) ctx.stats.subgroupDispatches++;
  ctx.dispatch(kind, prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }], r.params, grid(tree ? r.rows : Math.ceil(r.rows / WG)));
  return data;
}

/** argmax/argmin along one dim: first index of the extreme value, NaN counting as the extreme. */
export function argReduceKernel(ctx: GpuContext, kind: 'argmax' | 'argmin', [x]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), 'int32');
  const r = rowsOf(x, x.shape.length ? [dim] : []);
  if (r.rows === 0) return data;
  const d = domainOf(x.dtype);
  const tree = r.len >= TREE_MIN;
  const key = `${kind}:${x.dtype}:${r.outerRank}:${r.innerRank}:${tree ? 't' : 'l'}`;
  const prog = ctx.program(key, () => {
    const b = new ShaderBuilder(WG);
    const xt = storageType(x.dtype);
    b.storage('out', 'i32', 'read_write');
    b.storage('x', xt);
    const { rows, len } = declareRows(b, r.outerRank, r.innerRank);
    const nan = (v: string): string => (d === 'f32' ? `isnan(${v})` : 'false');
    b.fn(`fn takeB(a: ${d}, ai: i32, v: ${d}, vi: i32) -> bool {
  if (vi < 0) { return false; }
  if (ai < 0) { return true; }
  let an = ${nan('a')};
  let vn = ${nan('v')};
  if (an || vn) { return (vn && !an) || (an && vn && vi < ai); }
  if (v ${kind === 'argmax' ? '>' : '<'} a) { return true; }
  return v == a && vi < ai;
}`);
    const load = (k: string): string => toDomain(`x[base + xcol(${k})]`, xt, d);
    if (!tree) {
      return b.build(`
  let j = wg * ${WG} + lid;
  if (j >= ${rows}) { return; }
  let base = xrow(j);
  var best = ${load('0')};
  var bi = 0;
  for (var k = 1; k < ${len}; k++) {
    let v = ${load('k')};
    if (takeB(best, bi, v, k)) { best = v; bi = k; }
  }
  out[j] = bi;`);
    }
    b.workgroupArray('sv', d, WG);
    b.workgroupArray('si', 'i32', WG);
    return b.build(`
  if (wg >= ${rows}) { return; }
  let base = xrow(wg);
  var best = ${load('0')};
  var bi = -1;
  for (var k = lid; k < ${len}; k += ${WG}) {
    let v = ${load('k')};
    if (takeB(best, bi, v, k)) { best = v; bi = k; }
  }
  sv[lid] = best;
  si[lid] = bi;
  workgroupBarrier();
  for (var s = ${WG / 2}; s > 0; s = s >> 1u) {
    if (lid < s && takeB(sv[lid], si[lid], sv[lid + s], si[lid + s])) { sv[lid] = sv[lid + s]; si[lid] = si[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0) { out[wg] = si[0]; }`);
  });
  ctx.dispatch(kind, prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }], r.params, grid(tree ? r.rows : Math.ceil(r.rows / WG)));
  return data;
}

/**
 * Fused softmax / logSoftmax: one workgroup per row computes the max, the sum of exps and the output in one dispatch.
 * A fully masked row (all -inf) gives zeros (softmax) or -inf (logSoftmax), as on CPU.
 */
export function softmaxKernel(ctx: GpuContext, kind: 'softmax' | 'logSoftmax', [x]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const r = rowsOf(x, x.shape.length ? [dim] : [], true);
  if (r.rows === 0 || r.len === 0) return data;
  const sub = ctx.subgroups;
  const key = `${kind}:${x.dtype}:${out.dtype}:${r.outerRank}:${r.innerRank}${sub ? ':s' : ''}`;
  const prog = ctx.program(key, () => {
    const b = new ShaderBuilder(WG);
    if (sub) b.useSubgroups();
    const xt = storageType(x.dtype);
    const ot = storageType(out.dtype);
    b.storage('out', ot, 'read_write');
    b.storage('x', xt);
    const { rows, len, ost } = declareRows(b, r.outerRank, r.innerRank, true);
    b.workgroupArray('sh', 'f32', WG);
    const load = (k: string): string => toDomain(`x[base + xcol(${k})]`, xt, 'f32');
    const write =
      kind === 'softmax'
        ? `out[ob + k * ${ost}] = ${fromDomain(`select(exp(${load('k')} - m) / total, 0.0, masked)`, 'f32', ot)};`
        : `out[ob + k * ${ost}] = ${fromDomain(`select(${load('k')} - ls, ${NEG_INF}, masked)`, 'f32', ot)};`;
    return b.build(`
  if (wg >= ${rows}) { return; }
  let base = xrow(wg);
  let ob = orow(wg);
  var acc = ${NEG_INF};
  for (var k = lid; k < ${len}; k += ${WG}) { acc = ${combine('max', 'f32', 'acc', load('k'))}; }
  ${groupReduce(sub, 'max', 'f32', 'acc', 'm0')}
  // a fully masked row shifts by 0 (its sum is 0) and writes the masked value
  let masked = m0 == ${NEG_INF};
  let m = select(m0, 0.0, masked);
  workgroupBarrier();
  var sum = 0.0;
  for (var k = lid; k < ${len}; k += ${WG}) { sum += exp(${load('k')} - m); }
  ${groupReduce(sub, 'sum', 'f32', 'sum', 'total')}
  let ls = log(total) + m;
  for (var k = lid; k < ${len}; k += ${WG}) { ${write} }`);
  });
  if (sub) ctx.stats.subgroupDispatches++;
  ctx.dispatch(kind, prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }], r.params, grid(r.rows));
  return data;
}

/** Running sum along a dim: one workgroup per row scans chunks of 256 in workgroup memory, carrying the total. */
export function cumsumKernel(ctx: GpuContext, [x]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const r = rowsOf(x, x.shape.length ? [dim] : [], true);
  if (r.rows === 0 || r.len === 0) return data;
  const d = domainOf(out.dtype);
  const key = `cumsum:${x.dtype}:${out.dtype}:${r.outerRank}:${r.innerRank}`;
  const prog = ctx.program(key, () => {
    const b = new ShaderBuilder(WG);
    const xt = storageType(x.dtype);
    const ot = storageType(out.dtype);
    b.storage('out', ot, 'read_write');
    b.storage('x', xt);
    const { rows, len, ost } = declareRows(b, r.outerRank, r.innerRank, true);
    b.workgroupArray('sh', d, WG);
    const zero = d === 'f32' ? '0.0' : '0';
    return b.build(`
  if (wg >= ${rows}) { return; }
  let base = xrow(wg);
  let ob = orow(wg);
  var carry: ${d} = ${zero};
  for (var c = 0; c < ${len}; c += ${WG}) {
    let k = c + lid;
    var v: ${d} = ${zero};
    if (k < ${len}) { v = ${toDomain(`x[base + xcol(k)]`, xt, d)}; }
    sh[lid] = v;
    workgroupBarrier();
    for (var s = 1; s < ${WG}; s = s << 1u) {
      var t: ${d} = ${zero};
      if (lid >= s) { t = sh[lid - s]; }
      workgroupBarrier();
      sh[lid] = sh[lid] + t;
      workgroupBarrier();
    }
    if (k < ${len}) { out[ob + k * ${ost}] = ${fromDomain('carry + sh[lid]', d, ot)}; }
    carry = carry + sh[${WG - 1}];
    workgroupBarrier();
  }`);
  });
  ctx.dispatch('cumsum', prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }], r.params, grid(r.rows));
  return data;
}
