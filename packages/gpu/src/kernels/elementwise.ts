import { isFloat, type BinaryOp, type OutInfo, type TensorInfo, type UnaryOp } from '@dl/tensor';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { domainOf } from '../wgsl/builder.js';
import { newData, outSize } from './common.js';
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
    params: { value: domain === 'i32' ? (out.dtype === 'bool' ? Number(value !== 0) : value | 0) : value },
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

