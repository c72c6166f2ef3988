import { isContiguousLayout, isFloat, sizeOf, type DType } from '@dl/tensor';
import { type BinaryOp, type KernelAttrs, type OutInfo, type TensorInfo, type UnaryOp } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, domainOf, grid } from '../wgsl/builder.js';
import { WG, dataOf, memberBlock, memberRanges, newData, outSize } from './common.js';
import { INT_UNARY, binaryExpr, unaryF32, unaryI32 } from './math.js';
import { runMap } from './map.js';

/** A fresh contiguous output filled by an elementwise kernel. */
function fresh(ctx: GpuContext, out: OutInfo): GpuData {
  return newData(ctx, outSize(out), out.dtype);
}

export function unaryKernel(ctx: GpuContext, op: UnaryOp, [x]: TensorInfo[], out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  const intPath = !isFloat(x.dtype) && INT_UNARY.includes(op);
  const domain = intPath ? 'i32' : 'f32';
  runMap(ctx, op, {
    key: op,
    inputs: [{ info: x, domain }],
    out: { data, shape: out.shape },
    domain,
    body: (b) => (intPath ? unaryI32(op) : unaryF32(op, b)),
  });
  return data;
}

export function binaryKernel(ctx: GpuContext, op: BinaryOp, [x, y]: TensorInfo[], out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  // integer (and bool) operands compute in i32, floats in f32; comparisons store 0/1 as bool
  const domain = isFloat(x.dtype) || isFloat(y.dtype) ? 'f32' : 'i32';
  runMap(ctx, op, {
    key: op,
    inputs: [{ info: x, domain }, { info: y, domain }],
    out: { data, shape: out.shape },
    domain,
    body: (b) => binaryExpr(op, domain, b),
  });
  return data;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/**
 * v as a float32 and then rounded to the nearest float16 (ties to even), as a number: what a
 * float16 tensor holding v reads as. Rounded here, since drivers may drop an f32 -> f16 -> f32
 * round trip in a shader. Past the largest float16 it is ±Infinity; NaN stays NaN.
 */
export function roundToFloat16(v: number): number {
  f32[0] = v;
  const a = Math.abs(f32[0]);
  if (!(a > 0) || a === Infinity) return f32[0];
  if (a >= 65520) return Math.sign(v) * Infinity; // 65504 plus half its spacing rounds up and overflows
  // float16 keeps 10 bits below the leading one; subnormals share the exponent of the smallest normal
  const e = Math.max(((f32Bits[0] >>> 23) & 0xff) - 127, -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  const lo = Math.floor(q);
  const r = q - lo > 0.5 || (q - lo === 0.5 && lo % 2 === 1) ? lo + 1 : lo;
  return Math.sign(v) * r * ulp;
}

/** The uniform value of a scalar of `dtype`: int32 wraps as an Int32Array store does (NaN -> 0), bool is 0/1, float16 is rounded. */
function scalarValue(value: number, dtype: DType): number {
  if (dtype === 'bool') return Number(value !== 0);
  if (dtype === 'float16') return roundToFloat16(value);
  return domainOf(dtype) === 'i32' ? value | 0 : value;
}

/**
 * x op value, or value op x when reversed, in one dispatch: binaryKernel's math with the scalar in
 * a uniform (not in the shader source, so one pipeline serves every value).
 */
export function binaryScalarKernel(ctx: GpuContext, [x]: TensorInfo[], { op, value, reversed }: KernelAttrs['binaryScalar'], out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  const domain = domainOf(x.dtype);
  runMap(ctx, op, {
    key: `${op}:scalar${reversed ? ':reversed' : ''}`,
    inputs: [{ info: x, domain }],
    out: { data, shape: out.shape },
    domain,
    body: (b) => `  let s = ${b.param('value', domain)};\n${binaryExpr(op, domain, b, reversed ? ['s', 'x0'] : ['x0', 's'])}`,
    params: { value: scalarValue(value, x.dtype) },
  });
  return data;
}

/**
 * dst = dst op other in place, one dispatch (`Backend.binaryInPlace`): dst is read through the
 * output binding, other (a view broadcast to dst's shape, or a scalar in a uniform) as an input.
 */
export function binaryInPlaceKernel(ctx: GpuContext, op: 'add' | 'sub' | 'mul' | 'div', dst: TensorInfo, other: TensorInfo | number): void {
  // one value for every element of a contiguous float32 destination (clipGradNorm's `g.mul_(coef)`
  // over all gradients): grouped with the next such ops into one dispatch (fuse.ts)
  const single = typeof other === 'number' || (other.dtype === 'float32' && other.strides.every((st, d) => st === 0 || other.shape[d] === 1));
  if (single && dst.dtype === 'float32' && isContiguousLayout(dst.shape, dst.strides) && ctx.fusion?.appendInPlace({ op, dst, other, n: sizeOf(dst.shape) })) return;
  const domain = 'f32';
  const out = { data: dataOf(dst), shape: dst.shape, strides: dst.strides, offset: dst.offset };
  if (typeof other === 'number') {
    runMap(ctx, op, {
      key: `${op}:scalar`,
      inputs: [],
      readsOut: true,
      out,
      domain,
      body: (b) => `  let s = ${b.param('value', domain)};\n${binaryExpr(op, domain, b, ['x0', 's'])}`,
      params: { value: scalarValue(other, dst.dtype) },
    });
  } else {
    runMap(ctx, op, { key: op, inputs: [{ info: other, domain }], readsOut: true, out, domain, body: (b) => binaryExpr(op, domain, b) });
  }
}

/** value where cond equals fillWhen, else x: where with the scalar in a uniform. */
export function whereScalarKernel(ctx: GpuContext, [c, x]: TensorInfo[], { value, fillWhen }: KernelAttrs['whereScalar'], out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  const domain = domainOf(out.dtype);
  runMap(ctx, 'where', {
    key: `where:scalar:${fillWhen}`,
    inputs: [{ info: c, domain: 'i32' }, { info: x, domain }],
    out: { data, shape: out.shape },
    domain,
    body: (b) => `  let s = ${b.param('value', domain)};\n  let v = select(${fillWhen ? 'x1, s' : 's, x1'}, x0 != 0);`,
    params: { value: scalarValue(value, out.dtype) },
  });
  return data;
}

export function whereKernel(ctx: GpuContext, [c, x, y]: TensorInfo[], out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  const domain = domainOf(out.dtype);
  runMap(ctx, 'where', {
    key: 'where',
    inputs: [{ info: c, domain: 'i32' }, { info: x, domain }, { info: y, domain }],
    out: { data, shape: out.shape },
    domain,
    body: () => '  let v = select(x2, x1, x0 != 0);',
  });
  return data;
}

/** cast and copy: the store applies the cast rules (see fromDomain). */
export function castKernel(ctx: GpuContext, [x]: TensorInfo[], out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  castInto(ctx, x, { data, shape: out.shape });
  return data;
}

/** Writes x (cast to the destination dtype) into a destination, contiguous or a strided view. */
export function castInto(ctx: GpuContext, x: TensorInfo, dst: { data: GpuData; shape: readonly number[]; strides?: readonly number[]; offset?: number }): void {
  // a float destination reads floats; an int/bool one reads in the source's own domain
  const domain = isFloat(dst.data.dtype) ? 'f32' : domainOf(x.dtype);
  runMap(ctx, 'copy', { key: 'copy', inputs: [{ info: x, domain }], out: dst, domain, body: () => '  let v = x0;' });
}

export function fullKernel(ctx: GpuContext, value: number, out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  const domain = domainOf(out.dtype);
  runMap(ctx, 'full', {
    key: 'full',
    inputs: [],
    out: { data, shape: out.shape },
    domain,
    body: (b) => `  let v = ${b.param('value', domain)};`,
    params: { value: scalarValue(value, out.dtype) },
  });
  return data;
}

export function arangeKernel(ctx: GpuContext, start: number, step: number, out: OutInfo): GpuData {
  const data = fresh(ctx, out);
  const domain = domainOf(out.dtype);
  runMap(ctx, 'arange', {
    key: 'arange',
    inputs: [],
    out: { data, shape: out.shape },
    domain,
    body: (b) => `  let v = ${b.param('start', domain)} + ${domain}(g) * ${b.param('step', domain)};`,
    params: { start, step },
  });
  return data;
}

/** dst = dst op other for a contiguous float32 dst of n elements and one value `other` (a number, or the element a broadcast view reads). */
export interface InPlaceScalar {
  op: 'add' | 'sub' | 'mul' | 'div';
  dst: TensorInfo;
  other: TensorInfo | number;
  n: number;
}

/**
 * Records in-place ops of one kind over several destinations as one dispatch: destination j's
 * workgroups are a range of their own, its operand a uniform or one element of an input binding.
 */
export function recordInPlace(ctx: GpuContext, items: readonly InPlaceScalar[], others: readonly GPUBuffer[]): void {
  const op = items[0].op;
  const slot = (o: TensorInfo | number): string => (typeof o === 'number' ? 's' : `b${others.indexOf(dataOf(o).buffer)}`);
  const prog = ctx.program(`inplace:${op}:${items.map((x) => slot(x.other)).join(',')}`, () => {
    const b = new ShaderBuilder(WG);
    items.forEach((_, j) => b.storage(`d${j}`, 'f32', 'read_write'));
    others.forEach((_, m) => b.storage(`o${m}`, 'f32'));
    const body = items.map(({ other }, j) => {
      const s = slot(other);
      const value = s === 's' ? b.param(`s${j}`, 'f32') : `o${s.slice(1)}[${b.param(`oo${j}`)}]`;
      const off = b.param(`do${j}`);
      return memberBlock(b, j, `    let x0 = d${j}[${off} + i];\n    let x1 = ${value};\n  ${binaryExpr(op, 'f32', b)}\n    d${j}[${off} + i] = v;`);
    });
    return b.build(body.join('\n'));
  });
  const params: Record<string, number> = {};
  items.forEach(({ dst, other }, j) => {
    params[`do${j}`] = dst.offset;
    if (typeof other === 'number') params[`s${j}`] = other;
    else params[`oo${j}`] = other.offset;
  });
  const groups = memberRanges(
    items.map((x) => x.n),
    params,
  );
  const binds = [...items.map(({ dst }) => ({ buffer: dataOf(dst).buffer })), ...others.map((buffer) => ({ buffer }))];
  ctx.dispatch(`${op}_`, prog, binds, params, grid(groups));
}
