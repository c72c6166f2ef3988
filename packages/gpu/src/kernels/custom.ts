import { DLError, DeviceError, sizeOf, type WgslParam, type WgslPass, type WgslProgram } from '@dl/tensor';
import { type OutInfo, type TensorInfo } from '@dl/tensor/internal';
import type { BindRange, GpuContext, GpuData } from '../runtime/context.js';
import { storageBytes } from '../wgsl/builder.js';
import { dataOf, newData } from './common.js';
import { castInto } from './elementwise.js';

const COMPUTE = 4; // GPUShaderStage.COMPUTE

const roundUp4 = (bytes: number): number => Math.max(4, Math.ceil(bytes / 4) * 4);

/** The storage binding numbers (below `count`) that WGSL code declares, ascending. */
function declaredBindings(code: string, count: number): number[] {
  const used = new Set<number>();
  for (const m of code.matchAll(/@binding\s*\(\s*(\d+)\s*\)/g)) {
    const b = Number(m[1]);
    if (b < count) used.add(b);
  }
  return [...used].sort((a, b) => a - b);
}

/**
 * Runs the WgslPrograms of custom ops (`defineOp` in @dl/tensor). Bindings, in @group(0): the
 * inputs from 0 (read-only storage), the output (storage), the scratch buffers (storage), then the
 * pass's uniform params. Each pass gets a bind group layout of the storage bindings its code
 * declares (and the uniform), so a shader may leave out bindings it does not use and an op may have
 * more inputs than a shader can bind, each pass reading some of them. Pipelines come from the
 * context's cache (by source, entry point and layout), buffers from its pool, and every pass counts
 * as one dispatch.
 */
export class CustomRunner {
  private readonly layouts = new Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();
  private readonly ids = new Map<GPUComputePipeline, number>();

  constructor(private readonly ctx: GpuContext) {}

  /**
   * Records the program's passes and returns the output. Contiguous inputs are bound from their
   * first element, sized to their elements (so `arrayLength` is the element count for 4-byte
   * types); an offset the device cannot bind at is copied first. `strided` inputs are bound whole.
   */
  run(op: string, program: WgslProgram, inputs: readonly TensorInfo[], out: OutInfo, strided: boolean): GpuData {
    const { ctx } = this;
    const scratch = program.scratch ?? [];
    const used = this.check(op, program, inputs.length);
    const n = sizeOf(out.shape);
    const data = newData(ctx, n, out.dtype);
    if (n === 0) return data;
    const temps: GPUBuffer[] = [];
    try {
      const binds: BindRange[] = inputs.map((x) => (strided ? { buffer: dataOf(x).buffer } : this.bindContiguous(x, temps)));
      binds.push({ buffer: data.buffer, offset: 0, size: roundUp4(n * storageBytes(out.dtype)) });
      for (const bytes of scratch) {
        const buffer = ctx.alloc(bytes);
        temps.push(buffer);
        binds.push({ buffer, offset: 0, size: bytes });
      }
      program.passes.forEach((pass, i) => {
        const uniform = pass.params?.length ? packParams(op, pass.params) : null;
        const layout = this.layout(used[i], inputs.length, binds.length, uniform !== null);
        const entryPoint = pass.entryPoint ?? 'main';
        const pipeline = ctx.pipelines.getExplicit(pass.code, entryPoint, layout.pipeline, layout.key, op);
        let id = this.ids.get(pipeline);
        if (id === undefined) this.ids.set(pipeline, (id = this.ids.size));
        const [x, y = 1, z = 1] = pass.workgroups;
        ctx.dispatchExplicit(op, String(id), pipeline, layout.group, used[i].map((b) => ({ ...binds[b], binding: b })), uniform, [x, y, z], binds.length);
      });
      return data;
    } finally {
      // later kernels of this encoder may reuse them at once: commands run in order
      for (const b of temps) ctx.release(b);
    }
  }

  /** A contiguous view bound from its first element, or a copy of it where that offset is not bindable. */
  private bindContiguous(x: TensorInfo, temps: GPUBuffer[]): BindRange {
    const eb = storageBytes(x.dtype);
    const m = sizeOf(x.shape);
    const buffer = dataOf(x).buffer;
    if (m === 0) return { buffer, offset: 0, size: 4 };
    const at = x.offset * eb;
    if (at % this.ctx.storageAlign === 0) return { buffer, offset: at, size: roundUp4(m * eb) };
    const copy = newData(this.ctx, m, x.dtype);
    temps.push(copy.buffer);
    castInto(this.ctx, x, { data: copy, shape: x.shape });
    return { buffer: copy.buffer, offset: 0, size: roundUp4(m * eb) };
  }

  /** The layout of storage bindings `used` (inputs below nIn read-only), then the uniform at binding `count`. */
  private layout(used: readonly number[], nIn: number, count: number, uniform: boolean): { key: string; group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    const key = `${used.join(',')}:${nIn}:${count}:${uniform ? 'u' : ''}`;
    let l = this.layouts.get(key);
    if (!l) {
      const { device } = this.ctx;
      const entries: GPUBindGroupLayoutEntry[] = used.map((binding) => ({ binding, visibility: COMPUTE, buffer: { type: binding < nIn ? 'read-only-storage' : 'storage' } }));
      if (uniform) entries.push({ binding: count, visibility: COMPUTE, buffer: { type: 'uniform' } });
      const group = device.createBindGroupLayout({ entries });
      l = { group, pipeline: device.createPipelineLayout({ bindGroupLayouts: [group] }) };
      this.layouts.set(key, l);
    }
    return { key, ...l };
  }

  /**
   * Refuses a malformed program before anything is recorded, naming the op and the pass; returns
   * the storage bindings each pass declares.
   */
  private check(op: string, program: WgslProgram, nIn: number): number[][] {
    const lim = this.ctx.device.limits;
    const scratch = program.scratch ?? [];
    if (!Array.isArray(program.passes) || program.passes.length === 0) throw new DLError(op, 'the WgslProgram has no passes');
    for (const [k, bytes] of scratch.entries()) {
      if (!Number.isInteger(bytes) || bytes <= 0 || bytes % 4 !== 0) throw new DLError(op, `scratch buffer ${k} has ${bytes} bytes; sizes are positive multiples of 4`);
    }
    const count = nIn + 1 + scratch.length;
    return program.passes.map((pass: WgslPass, i) => {
      if (typeof pass.code !== 'string' || pass.code === '') throw new DLError(op, `pass ${i} has no WGSL code`);
      const used = declaredBindings(pass.code, count);
      if (used.length > lim.maxStorageBuffersPerShaderStage) {
        throw new DeviceError(
          op,
          `pass ${i} declares ${used.length} storage bindings (of ${nIn} inputs + 1 output + ${scratch.length} scratch buffers); this device allows ${lim.maxStorageBuffersPerShaderStage} per shader: bind fewer in each pass`,
        );
      }
      const w = pass.workgroups;
      if (!Array.isArray(w) || w.length < 1 || w.length > 3 || w.some((c) => c !== undefined && (!Number.isInteger(c) || c < 0 || c > lim.maxComputeWorkgroupsPerDimension))) {
        throw new DLError(op, `pass ${i} dispatches workgroups [${String(w)}]; give 1 to 3 integers in [0, ${lim.maxComputeWorkgroupsPerDimension}]`);
      }
      return used;
    });
  }
}

/** The uniform struct's bytes: 4-byte members in order (WGSL lays out a struct of scalars so). */
function packParams(op: string, params: readonly WgslParam[]): Uint8Array {
  const bytes = new Uint8Array(params.length * 4);
  const view = new DataView(bytes.buffer);
  params.forEach(([type, v], i) => {
    const int = Number.isInteger(v);
    if (type === 'f32') view.setFloat32(i * 4, v, true);
    else if (type === 'i32' && int && v >= -(2 ** 31) && v < 2 ** 31) view.setInt32(i * 4, v, true);
    else if (type === 'u32' && int && v >= 0 && v < 2 ** 32) view.setUint32(i * 4, v, true);
    else throw new DLError(op, `param ${i} is ['${type}', ${v}]; i32 and u32 params take integers in their range, types are 'f32', 'i32' or 'u32'`);
  });
  return bytes;
}
