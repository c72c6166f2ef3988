import { contiguousStrides, sizeOf } from '@dl/tensor';
import { type OutInfo, type TensorInfo } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { INDEX_CHECK_OPS, type IndexCheckOp } from '../runtime/context.js';
import { ShaderBuilder, domainOf, fromDomain, grid, storageType, toDomain, type Domain } from '../wgsl/builder.js';
import { stridedOffsetFn, stridedParams } from '../wgsl/strided.js';
import { WG, dataOf, newData, outSize } from './common.js';
import { castInto } from './elementwise.js';
import { declareRows, rowsOf } from './rows.js';

/**
 * WGSL `checkIndex(v, size)`: v when it is in [0, size) (negative indices are errors, as in
 * PyTorch); else -1, after the first such thread since the last read records (op, v, size) in the
 * error buffer, which the next read or sync raises as an IndexError.
 */
function checkIndexFn(op: IndexCheckOp): string {
  return `fn checkIndex(v: i32, size: i32) -> i32 {
  if (v >= 0 && v < size) { return v; }
  if (atomicOr(&flags[0], 1u) == 0u) {
    atomicStore(&flags[1], ${INDEX_CHECK_OPS.indexOf(op) + 1}u);
    atomicStore(&flags[2], bitcast<u32>(v));
    atomicStore(&flags[3], u32(size));
  }
  return -1;
}`;
}

/** out[..i..] = x[..index[..i..]..] along dim (out has index's shape). */
export function gatherKernel(ctx: GpuContext, [x, index]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): GpuData {
  const n = outSize(out);
  const data = newData(ctx, n, out.dtype);
  if (n === 0) return data;
  const rank = index.shape.length;
  const xt = storageType(x.dtype);
  const d = domainOf(x.dtype);
  const prog = ctx.program(`gather:${x.dtype}:${rank}`, () => {
    const b = new ShaderBuilder(WG);
    b.storage('out', xt, 'read_write');
    b.storage('x', xt);
    b.storage('index', 'i32');
    b.storage('flags', 'atomic<u32>', 'read_write');
    stridedOffsetFn(b, 'ioff', rank, 's');
    stridedOffsetFn(b, 'xoff', rank, 's');
    b.fn(checkIndexFn('gather'));
    return b.build(`
  let i = wg * ${WG} + lid;
  if (i >= ${b.param('n')}) { return; }
  let k = checkIndex(index[ioff(i)], ${b.param('size')});
  if (k < 0) { out[i] = ${fromDomain(d === 'f32' ? '0.0' : '0', d, xt)}; return; }
  out[i] = x[xoff(i) + k * ${b.param('step')}];`);
  });
  const xs = [...x.strides];
  xs[dim] = 0;
  const params: Record<string, number> = { n, size: x.shape[dim], step: x.strides[dim] };
  stridedParams('ioff', 's', index.shape, index.strides, index.offset, params);
  stridedParams('xoff', 's', index.shape, xs, x.offset, params);
  ctx.dispatch('gather', prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }, { buffer: dataOf(index).buffer }, { buffer: ctx.flags }], params, grid(Math.ceil(n / WG)));
  return data;
}

/**
 * Copy of x with src added at index along dim. Deterministic: each output element gathers the
 * entries that point at it, in index order (the CPU's order), instead of racing atomics.
 */
export function scatterAddKernel(ctx: GpuContext, [x, index, src]: TensorInfo[], { dim }: { dim: number }, out: OutInfo): GpuData {
  const n = outSize(out);
  const data = newData(ctx, n, out.dtype);
  if (n === 0) return data;
  const rank = out.shape.length;
  const ot = storageType(out.dtype);
  const xt = storageType(x.dtype);
  const st = storageType(src.dtype);
  const d = domainOf(out.dtype);
  const prog = ctx.program(`scatterAdd:${x.dtype}:${src.dtype}:${out.dtype}:${rank}:${dim}`, () => {
    const b = new ShaderBuilder(WG);
    b.storage('out', ot, 'read_write');
    b.storage('x', xt);
    b.storage('index', 'i32');
    b.storage('src', st);
    b.storage('flags', 'atomic<u32>', 'read_write');
    stridedOffsetFn(b, 'xoff', rank, 'o');
    b.fn(checkIndexFn('scatterAdd'));
    const lines = [`  let p = wg * ${WG} + lid;`, `  if (p >= ${b.param('n')}) { return; }`, '  var r = p;'];
    for (let k = rank - 1; k >= 0; k--) {
      lines.push(`  let c${k} = r % ${b.param(`o${k}`)};`, `  r = r / ${b.param(`o${k}`)};`);
    }
    lines.push(`  var acc = ${toDomain(`x[xoff(p)]`, xt, d)};`);
    const others = [...Array(rank).keys()].filter((k) => k !== dim);
    const inb = others.map((k) => `c${k} < ${b.param(`is${k}`)}`).join(' && ') || 'true';
    const ib = [b.param('i_off'), ...others.map((k) => `c${k} * ${b.param(`i_st${k}`)}`)].join(' + ');
    const sb = [b.param('s_off'), ...others.map((k) => `c${k} * ${b.param(`s_st${k}`)}`)].join(' + ');
    lines.push(`  if (${inb}) {`);
    lines.push(`    let ib = ${ib};`, `    let sb = ${sb};`);
    lines.push(`    for (var k = 0; k < ${b.param(`is${dim}`)}; k++) {`);
    lines.push(`      if (checkIndex(index[ib + k * ${b.param(`i_st${dim}`)}], ${b.param(`o${dim}`)}) == c${dim}) {`);
    lines.push(`        acc = acc + ${toDomain(`src[sb + k * ${b.param(`s_st${dim}`)}]`, st, d)};`);
    lines.push('      }', '    }', '  }');
    lines.push(`  out[p] = ${fromDomain('acc', d, ot)};`);
    return b.build(lines.join('\n'));
  });
  const params: Record<string, number> = { n, i_off: index.offset, s_off: src.offset };
  stridedParams('xoff', 'o', out.shape, x.strides, x.offset, params);
  for (let k = 0; k < rank; k++) {
    params[`is${k}`] = index.shape[k];
    params[`i_st${k}`] = index.strides[k];
    params[`s_st${k}`] = src.strides[k];
  }
  const binds = [{ buffer: data.buffer }, ...[x, index, src].map((t) => ({ buffer: dataOf(t).buffer })), { buffer: ctx.flags }];
  ctx.dispatch('scatterAdd', prog, binds, params, grid(Math.ceil(n / WG)));
  return data;
}

/** Rows up to this length sort in workgroup memory (bitonic); longer ones rank each element. */
const BITONIC_MAX = 1024;

/** `before(a, ai, b, bi)`: (a, ai) sorts strictly before (b, bi). NaN is largest; ties keep index order (stable). */
function beforeFn(d: Domain, descending: boolean): string {
  const nan = (v: string): string => (d === 'f32' ? `isnan(${v})` : 'false');
  const [p, q] = descending ? ['b', 'a'] : ['a', 'b'];
  return `fn before(a: ${d}, ai: i32, b: ${d}, bi: i32) -> bool {
  if (ai < 0) { return false; }
  if (bi < 0) { return true; }
  let pn = ${nan(p)};
  let qn = ${nan(q)};
  if (pn != qn) { return qn; }
  if (!pn && ${p} != ${q}) { return ${p} < ${q}; }
  return ai < bi;
}`;
}

/** int32 indices that stably sort x along dim. */
export function argsortKernel(ctx: GpuContext, [x]: TensorInfo[], { dim, descending }: { dim: number; descending: boolean }, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), 'int32');
  const r = rowsOf(x, [dim], true);
  if (r.rows === 0 || r.len === 0) return data;
  const d = domainOf(x.dtype);
  const xt = storageType(x.dtype);
  if (r.len <= BITONIC_MAX) {
    let P = 2;
    while (P < r.len) P *= 2;
    const prog = ctx.program(`argsort:bitonic:${x.dtype}:${descending}:${r.outerRank}:${P}`, () => {
      const b = new ShaderBuilder(WG);
      b.storage('out', 'i32', 'read_write');
      b.storage('x', xt);
      const { rows, len, ost } = declareRows(b, r.outerRank, 1, true);
      b.fn(beforeFn(d, descending));
      b.workgroupArray('kv', d, P);
      b.workgroupArray('ki', 'i32', P);
      return b.build(`
  if (wg >= ${rows}) { return; }
  let base = xrow(wg);
  let ob = orow(wg);
  for (var t = lid; t < ${P}; t += ${WG}) {
    if (t < ${len}) { kv[t] = ${toDomain('x[base + xcol(t)]', xt, d)}; ki[t] = t; } else { ki[t] = -1; }
  }
  workgroupBarrier();
  for (var k = 2; k <= ${P}; k = k << 1u) {
    for (var j = k >> 1u; j > 0; j = j >> 1u) {
      for (var t = lid; t < ${P}; t += ${WG}) {
        let l = t ^ j;
        if (l > t) {
          let up = (t & k) == 0;
          let swap = select(before(kv[t], ki[t], kv[l], ki[l]), before(kv[l], ki[l], kv[t], ki[t]), up);
          if (swap) {
            let tv = kv[t]; kv[t] = kv[l]; kv[l] = tv;
            let tk = ki[t]; ki[t] = ki[l]; ki[l] = tk;
          }
        }
      }
      workgroupBarrier();
    }
  }
  for (var t = lid; t < ${len}; t += ${WG}) { out[ob + t * ${ost}] = ki[t]; }`);
    });
    ctx.dispatch('argsort', prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }], r.params, grid(r.rows));
    return data;
  }
  // long rows: each element's position is the number of elements that sort before it
  const prog = ctx.program(`argsort:rank:${x.dtype}:${descending}:${r.outerRank}`, () => {
    const b = new ShaderBuilder(WG);
    b.storage('out', 'i32', 'read_write');
    b.storage('x', xt);
    const { rows, len, ost } = declareRows(b, r.outerRank, 1, true);
    b.fn(beforeFn(d, descending));
    const load = (k: string): string => toDomain(`x[base + xcol(${k})]`, xt, d);
    return b.build(`
  let i = wg * ${WG} + lid;
  if (i >= ${rows} * ${len}) { return; }
  let row = i / ${len};
  let t = i % ${len};
  let base = xrow(row);
  let v = ${load('t')};
  var rank = 0;
  for (var j = 0; j < ${len}; j++) {
    if (before(${load('j')}, j, v, t)) { rank++; }
  }
  out[orow(row) + rank * ${ost}] = t;`);
  });
  ctx.dispatch('argsort', prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }], r.params, grid(Math.ceil((r.rows * r.len) / WG)));
  return data;
}

/** Concatenation: one strided copy of each input into its slab of the output. */
export function catKernel(ctx: GpuContext, inputs: TensorInfo[], { dim }: { dim: number }, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const rs = contiguousStrides(out.shape);
  let at = 0;
  for (const x of inputs) {
    if (sizeOf(x.shape)) castInto(ctx, x, { data, shape: x.shape, strides: rs, offset: at * rs[dim] });
    at += x.shape[dim];
  }
  return data;
}

/** Copy of base with the strided region (starts/steps, src's shape) replaced by src. */
export function sliceScatterKernel(ctx: GpuContext, [base, src]: TensorInfo[], { starts, steps }: { starts: number[]; steps: number[] }, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  castInto(ctx, base, { data, shape: out.shape });
  const rs = contiguousStrides(out.shape);
  const offset = starts.reduce((o, s, i) => o + s * rs[i], 0);
  castInto(ctx, src, { data, shape: src.shape, strides: rs.map((s, i) => s * steps[i]), offset });
  return data;
}
