import { DeviceError } from '@dl/tensor';
import { type TensorInfo } from '@dl/tensor/internal';
import type { BindRange, GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, domainOf, fromDomain, grid, storageBytes, storageType, toDomain, type Domain } from '../wgsl/builder.js';
import { stridedOffsetFn, stridedParams } from '../wgsl/strided.js';
import { WG, dataOf, layoutTag } from './common.js';

/** One input of an elementwise kernel: a view over the output's shape. */
export interface MapInput {
  info: TensorInfo;
  /** domain the kernel wants this input in (defaults to the input's own) */
  domain?: Domain;
}

export interface MapSpec {
  /** shader cache key of the operation (dtypes, ranks and layouts are appended) */
  key: string;
  inputs: MapInput[];
  /** destination: a new contiguous tensor, or a strided view to write in place */
  out: { data: GpuData; shape: readonly number[]; strides?: readonly number[]; offset?: number };
  /** domain of the value the body computes */
  domain: Domain;
  /**
   * WGSL statements that set `v` from inputs `x0`, `x1`, ... (already converted to their
   * domains); `g` is the element's row-major index. Uniform parameters come from `b.param`.
   */
  body: (b: ShaderBuilder) => string;
  params?: Record<string, number>;
  /**
   * In place: `x0` is the destination's own value (read through the output binding, since WebGPU
   * forbids binding a buffer both writable and read-only in one dispatch) and `inputs` are x1, ...
   */
  readsOut?: boolean;
}

/**
 * Runs an elementwise kernel. Where the context fuses (see fuse.ts), a kernel that writes a new
 * contiguous tensor joins the pending group of elementwise kernels and is recorded with it later,
 * as one dispatch; otherwise it is recorded now.
 */
export function runMap(ctx: GpuContext, op: string, spec: MapSpec): void {
  if (ctx.fusion?.append(op, spec)) return;
  encodeMap(ctx, op, spec);
}

/**
 * Records one elementwise kernel: one thread per output element, inputs read through generated
 * strided index math (or directly when contiguous). Outputs over the storage binding limit are
 * processed in chunks, binding the window of each input that the chunk reads.
 */
export function encodeMap(ctx: GpuContext, op: string, spec: MapSpec): void {
  const { inputs, out } = spec;
  const rank = out.shape.length;
  let n = 1;
  for (const d of out.shape) n *= d;
  if (n === 0) return;
  const outStrided = out.strides !== undefined;
  const tags = inputs.map((x) => layoutTag(x.info));
  // 'n': a new contiguous output; 'c'/'s': a contiguous/strided view written in place
  const outTag = outStrided ? layoutTag({ ...(out as Required<typeof out>), data: null, dtype: out.data.dtype }) : 'n';
  const shift = spec.readsOut ? 1 : 0;
  const key = `map:${spec.key}:${rank}:${inputs.map((x, i) => `${x.info.dtype}${tags[i]}${x.domain ?? ''}`).join(',')}:${out.data.dtype}${outTag}${spec.readsOut ? ':rw' : ''}`;
  const prog = ctx.program(key, () => {
    const b = new ShaderBuilder(WG);
    const outType = storageType(out.data.dtype);
    b.storage('out', outType, 'read_write');
    const loads = inputs.map((x, k) => {
      const st = storageType(x.info.dtype);
      b.storage(`in${k}`, st);
      const idx = tags[k] === 'c' ? `${b.param(`off${k}_off`)} + g` : `${stridedOffsetFn(b, `off${k}`, rank, 's')}(g)`;
      return `  let x${k + shift} = ${toDomain(`in${k}[${idx}]`, st, x.domain ?? domainOf(x.info.dtype))};`;
    });
    const dst = outTag === 'n' ? 'i' : outTag === 'c' ? `${b.param('dst_off')} + g` : `${stridedOffsetFn(b, 'dst', rank, 's')}(g)`;
    if (spec.readsOut) loads.unshift(`  let x0 = ${toDomain(`out[${dst}]`, outType, spec.domain)};`);
    const nP = b.param('n');
    const base = b.param('base');
    const body = spec.body(b);
    return b.build(
      [
        `  let i = wg * ${WG} + lid;`,
        `  if (i >= ${nP}) { return; }`,
        `  let g = ${base} + i;`,
        ...loads,
        body,
        `  out[${dst}] = ${fromDomain('v', spec.domain, outType)};`,
      ].join('\n'),
    );
  });

  const params: Record<string, number> = { ...spec.params };
  inputs.forEach((x, k) => stridedParams(`off${k}`, 's', x.info.shape, x.info.strides, x.info.offset, params));
  if (outStrided) stridedParams('dst', 's', out.shape, out.strides!, out.offset ?? 0, params);

  const outBytes = storageBytes(out.data.dtype);
  // one dispatch when the output fits a binding (a strided destination is bound whole, its window
  // checked like any binding); else chunks of a multiple of 256 elements, so output windows start
  // on the offset alignment, leaving room for an input window that starts up to one alignment early
  const whole = outStrided || out.data.buffer.size <= ctx.maxBinding;
  const widest = Math.max(outBytes, ...inputs.map((x) => storageBytes(x.info.dtype)));
  let chunk = whole ? n : Math.floor((ctx.maxBinding - ctx.storageAlign) / widest / 256) * 256;
  for (let s = 0; s < n; ) {
    const e = Math.min(n, s + chunk);
    const p: Record<string, number> = { ...params, n: e - s, base: s };
    const binds: BindRange[] = [whole ? { buffer: out.data.buffer } : { buffer: out.data.buffer, offset: s * outBytes, size: Math.ceil(((e - s) * outBytes) / 4) * 4 }];
    // an input over the limit binds only the window this chunk reads
    let tooWide = -1;
    for (const [k, x] of inputs.entries()) {
      const buf = dataOf(x.info).buffer;
      if (buf.size <= ctx.maxBinding) {
        binds.push({ buffer: buf });
        continue;
      }
      const eb = storageBytes(x.info.dtype);
      const [lo, hi] = touchedRange(x.info, s, e - 1);
      const start = Math.floor((lo * eb) / ctx.storageAlign) * ctx.storageAlign;
      const size = Math.min(buf.size - start, Math.ceil(((hi + 1) * eb - start) / 4) * 4);
      if (size > ctx.maxBinding) {
        tooWide = k;
        break;
      }
      binds.push({ buffer: buf, offset: start, size });
      p[`off${k}_off`] = x.info.offset - start / eb;
    }
    if (tooWide >= 0) {
      // a strided input's window can be wider than its chunk (a permute that keeps the leading
      // dims): smaller chunks read narrower windows
      if (e - s > 256) {
        chunk = Math.max(256, Math.floor((e - s) / 2 / 256) * 256);
        continue;
      }
      const x = inputs[tooWide].info;
      throw new DeviceError(op, `input ${tooWide} [${x.shape.join(',')}] is a strided view of a buffer over the storage binding limit (${ctx.maxBinding} bytes) whose elements for 256 outputs span more than that; make it contiguous in smaller pieces first`);
    }
    ctx.dispatch(op, prog, binds, p, grid(Math.ceil((e - s) / WG)));
    s = e;
  }
}

/** Lowest and highest element offsets a view touches for row-major indices [first, last]. */
export function touchedRange(x: { shape: readonly number[]; strides: readonly number[]; offset: number }, first: number, last: number): [number, number] {
  const rank = x.shape.length;
  const a = new Array<number>(rank);
  const z = new Array<number>(rank);
  for (let d = rank - 1, r = first, q = last; d >= 0; d--) {
    a[d] = r % x.shape[d];
    z[d] = q % x.shape[d];
    r = Math.floor(r / x.shape[d]);
    q = Math.floor(q / x.shape[d]);
  }
  let lo = x.offset;
  let hi = x.offset;
  let split = false;
  for (let d = 0; d < rank; d++) {
    const st = x.strides[d];
    let c0: number;
    let c1: number;
    if (split) [c0, c1] = [0, x.shape[d] - 1];
    else if (a[d] !== z[d]) {
      [c0, c1] = [a[d], z[d]];
      split = true;
    } else [c0, c1] = [a[d], a[d]];
    lo += Math.min(c0 * st, c1 * st);
    hi += Math.max(c0 * st, c1 * st);
  }
  return [lo, hi];
}
