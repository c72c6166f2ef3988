import { DeviceError, DLError, IndexError, type DType } from '@dl/tensor';
import type { MapFusion } from '../kernels/fuse.js';
import type { ShaderSpec } from '../wgsl/builder.js';
import { PipelineCache } from './pipelines.js';
import { BufferPool } from './pool.js';

/** What a WebGPU tensor's storage holds: a pooled buffer and its element count/dtype. */
export interface GpuData {
  readonly buffer: GPUBuffer;
  /** elements */
  readonly n: number;
  readonly dtype: DType;
  freed: boolean;
}

/** A buffer range bound to one storage binding. */
export interface BindRange {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

export interface Program {
  id: number;
  spec: ShaderSpec;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export interface ContextOptions {
  /** caps the storage binding size used for splitting (defaults to the device limit) */
  maxBindingBytes?: number;
  /** dispatches recorded before an automatic submit */
  maxDispatchesPerSubmit?: number;
  /** bytes of free buffers the pool keeps */
  maxPooledBytes?: number;
  /** reductions may use subgroup operations (the device has 'subgroups' and WGSL `subgroup_id`) */
  subgroups?: boolean;
  /** record chains of elementwise kernels as one dispatch (kernels/fuse.ts; default true) */
  fuseElementwise?: boolean;
}

const STORAGE = 0x80; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const UNIFORM = 0x40;
const UNIFORM_CHUNK = 65536;

/**
 * Kernels that check indices on the device, by their code in the error buffer (code = position + 1).
 * The buffer holds four u32: [taken, op code, bad value (i32 bits), size of the indexed dim]; the
 * first kernel thread to see a bad index since the last read or sync() sets `taken` and writes the
 * rest, as CUDA's device-side assert, and the next read() / sync() raises it as an IndexError.
 */
export const INDEX_CHECK_OPS = ['gather', 'scatterAdd'] as const;
export type IndexCheckOp = (typeof INDEX_CHECK_OPS)[number];
const ERROR_BYTES = 16;

interface UniformChunk {
  buffer: GPUBuffer;
  host: ArrayBuffer;
  used: number;
}

/**
 * Owns the device-side state: buffer pool, shader/pipeline caches, the open command encoder
 * (every dispatch of a step goes into it; it is submitted before any readback or when it grows
 * long), and the per-dispatch uniform storage.
 */
export class GpuContext {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly maxBinding: number;
  readonly storageAlign: number;
  private readonly uniformAlign: number;
  private readonly maxDispatches: number;
  private readonly programs = new Map<string, Program>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly chunks: UniformChunk[] = [];
  private chunkIndex = 0;
  private pendingDispatches = 0;
  /** the error buffer index kernels write a bad index into (see INDEX_CHECK_OPS) */
  readonly flags: GPUBuffer;
  lostReason: string | null = null;
  private readonly errors: string[] = [];
  /** reductions use subgroup operations for their first level */
  readonly subgroups: boolean;
  /** the pending group of elementwise kernels (null: each is recorded as it comes) */
  fusion: MapFusion | null = null;
  /** subgroupDispatches: dispatches of reduction shaders that use subgroup operations */
  stats = { dispatches: 0, submits: 0, reads: 0, bindGroups: 0, subgroupDispatches: 0 };

  constructor(
    readonly device: GPUDevice,
    opts: ContextOptions = {},
  ) {
    const lim = device.limits;
    this.maxBinding = Math.min(lim.maxStorageBufferBindingSize, opts.maxBindingBytes ?? Infinity);
    this.storageAlign = lim.minStorageBufferOffsetAlignment;
    this.uniformAlign = lim.minUniformBufferOffsetAlignment;
    this.maxDispatches = opts.maxDispatchesPerSubmit ?? 1024;
    this.subgroups = opts.subgroups ?? false;
    this.pool = new BufferPool(device, STORAGE | COPY_SRC | COPY_DST, opts.maxPooledBytes ?? 512 * 2 ** 20);
    this.pipelines = new PipelineCache(device);
    this.flags = device.createBuffer({ size: ERROR_BYTES, usage: STORAGE | COPY_SRC | COPY_DST });
    device.lost.then((info) => {
      this.lostReason = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
    });
    device.addEventListener('uncapturederror', (e) => {
      this.errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
  }

  /** Throws a DeviceError when the device is gone. */
  check(op: string): void {
    if (this.lostReason !== null) {
      throw new DeviceError(op, `the WebGPU device was lost (${this.lostReason}); create a new backend with createWebGPUBackend() and registerBackend() it`);
    }
  }

  /** The program for `key`, building its shader on first use. */
  program(key: string, build: () => ShaderSpec): Program {
    let p = this.programs.get(key);
    if (!p) {
      const spec = build();
      const pipeline = this.pipelines.get(spec.source);
      p = { id: this.programs.size, spec, pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.programs.set(key, p);
    }
    return p;
  }

  get shaderCount(): number {
    return this.programs.size;
  }

  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  /** buffers allocated by the kernel running now, returned to the pool if it throws */
  private opBuffers: GPUBuffer[] | null = null;

  /** A storage buffer; `forUpload` when the host will write it with queue.writeBuffer. */
  alloc(bytes: number, forUpload = false): GPUBuffer {
    const buf = this.pool.acquire(bytes, forUpload);
    this.opBuffers?.push(buf);
    return buf;
  }

  /** Runs one kernel; when it throws (e.g. a binding over the limit), its buffers go back to the pool. */
  runOp<T>(fn: () => T): T {
    this.opBuffers = [];
    try {
      return fn();
    } catch (e) {
      for (const b of this.opBuffers) this.pool.release(b);
      throw e;
    } finally {
      this.opBuffers = null;
    }
  }

  release(buf: GPUBuffer): void {
    // a temporary the running kernel already gave back must not be released again if it throws
    const i = this.opBuffers?.indexOf(buf) ?? -1;
    if (i >= 0) this.opBuffers!.splice(i, 1);
    this.pool.release(buf);
  }

  private uniformSlot(bytes: number): { chunk: UniformChunk; offset: number } {
    const size = Math.ceil(bytes / this.uniformAlign) * this.uniformAlign;
    let chunk = this.chunks[this.chunkIndex];
    if (chunk && chunk.used + size > UNIFORM_CHUNK) chunk = this.chunks[++this.chunkIndex];
    if (!chunk) {
      chunk = { buffer: this.device.createBuffer({ size: UNIFORM_CHUNK, usage: UNIFORM | COPY_DST }), host: new ArrayBuffer(UNIFORM_CHUNK), used: 0 };
      this.chunks.push(chunk);
    }
    const offset = chunk.used;
    chunk.used += size;
    return { chunk, offset };
  }

  /**
   * Records the pending elementwise group, if any. Everything else that records work calls this
   * first, so the group runs before any later kernel, copy or submit, in program order.
   */
  drainFusion(): void {
    this.fusion?.drain();
  }

  /** Records one dispatch of `prog` with its storage bindings and uniform values. */
  dispatch(op: string, prog: Program, bindings: readonly BindRange[], params: Readonly<Record<string, number>>, groups: readonly [number, number, number]): void {
    this.drainFusion();
    if (groups[0] * groups[1] * groups[2] === 0) return;
    const { spec } = prog;
    const bytes = spec.uniformVec4s * 16;
    const { chunk, offset } = this.uniformSlot(bytes);
    const i32 = new Int32Array(chunk.host, offset, spec.uniformVec4s * 4);
    const f32 = new Float32Array(chunk.host, offset, spec.uniformVec4s * 4);
    const u32 = new Uint32Array(chunk.host, offset, spec.uniformVec4s * 4);
    for (const [name, { slot, kind }] of spec.params) {
      const v = params[name];
      if (v === undefined) throw new DLError(op, `shader parameter ${name} was not given`);
      if (kind === 'f32') f32[slot] = v;
      else if (kind === 'u32') u32[slot] = v >>> 0;
      else i32[slot] = v;
    }
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: chunk.buffer, offset, size: bytes } }];
    let key = `${prog.id}|${this.chunkIndex}:${offset}`;
    bindings.forEach((b, i) => (key += this.storageEntry(op, spec.bindings[i]?.name ?? String(i), b, i + 1, entries)));
    this.encode(key, prog.layout, prog.pipeline, entries, groups);
  }

  /**
   * Records one dispatch of a pipeline with a layout of its own (custom WGSL programs): storage
   * bindings at 0, 1, ... in order, then the `uniform` bytes (when given) at the next binding.
   * `pipelineKey` tells pipelines apart in the bind group cache.
   */
  dispatchExplicit(
    op: string,
    pipelineKey: string,
    pipeline: GPUComputePipeline,
    layout: GPUBindGroupLayout,
    bindings: readonly (BindRange & { binding?: number })[],
    uniform: Uint8Array | null,
    groups: readonly [number, number, number],
    uniformBinding = bindings.length,
  ): void {
    this.drainFusion();
    if (groups[0] * groups[1] * groups[2] === 0) return;
    const entries: GPUBindGroupEntry[] = [];
    let key = `x${pipelineKey}`;
    bindings.forEach((b, i) => (key += this.storageEntry(op, String(b.binding ?? i), b, b.binding ?? i, entries)));
    if (uniform) {
      const bytes = Math.ceil(uniform.byteLength / 16) * 16;
      const { chunk, offset } = this.uniformSlot(bytes);
      new Uint8Array(chunk.host, offset, uniform.byteLength).set(uniform);
      entries.push({ binding: uniformBinding, resource: { buffer: chunk.buffer, offset, size: bytes } });
      key += `|u${this.chunkIndex}:${offset}`;
    }
    this.encode(key, layout, pipeline, entries, groups);
  }

  /** Adds a storage binding's entry (checked against the binding limit) and returns its part of the bind group key. */
  private storageEntry(op: string, name: string, b: BindRange, binding: number, entries: GPUBindGroupEntry[]): string {
    const size = b.size ?? b.buffer.size - (b.offset ?? 0);
    if (size > this.maxBinding) {
      throw new DeviceError(op, `binding ${name} needs ${size} bytes, over this device's storage binding limit of ${this.maxBinding} bytes; this op cannot split it — use smaller tensors (e.g. split along a batch dim)`);
    }
    entries.push({ binding, resource: { buffer: b.buffer, offset: b.offset ?? 0, size } });
    return `|${this.bufferId(b.buffer)}:${b.offset ?? 0}:${size}`;
  }

  private encode(key: string, layout: GPUBindGroupLayout, pipeline: GPUComputePipeline, entries: GPUBindGroupEntry[], groups: readonly [number, number, number]): void {
    // a training loop repeats its dispatches with the same pooled buffers and uniform slots each
    // step, so bind groups (expensive to create) are reused
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= 8192) this.bindGroups.clear();
      group = this.device.createBindGroup({ layout, entries });
      this.bindGroups.set(key, group);
      this.stats.bindGroups++;
    }
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.stats.dispatches++;
    if (++this.pendingDispatches >= this.maxDispatches) this.flush();
  }

  /** Records a buffer-to-buffer copy. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.drainFusion();
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.drainFusion();
    this.endPass();
    if (this.encoder) {
      for (let i = 0; i <= this.chunkIndex && i < this.chunks.length; i++) {
        const c = this.chunks[i];
        if (c.used) this.device.queue.writeBuffer(c.buffer, 0, c.host, 0, c.used);
        c.used = 0;
      }
      this.chunkIndex = 0;
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.stats.submits++;
    }
    this.pendingDispatches = 0;
    this.pool.afterSubmit();
  }

  /**
   * Copies `bytes` from `buf` at `offset` to the host, after submitting pending work. The error
   * buffer comes back in the same copy: an index error a kernel recorded is raised here.
   */
  async read(op: string, buf: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.check(op);
    const padded = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: padded + ERROR_BYTES, usage: MAP_READ | COPY_DST });
    if (padded) this.copy(buf, offset, staging, 0, padded);
    this.takeIndexError(staging, padded);
    this.flush();
    this.stats.reads++;
    const all = await this.mapped(op, staging);
    this.throwErrors(op);
    this.throwIndexError(op, new Uint32Array(all, padded, 4));
    return all.slice(0, bytes);
  }

  /** Records a copy of the error buffer into `staging` at `at`, then clears it (in queue order). */
  private takeIndexError(staging: GPUBuffer, at: number): void {
    this.copy(this.flags, 0, staging, at, ERROR_BYTES);
    this.encoder!.clearBuffer(this.flags, 0, ERROR_BYTES);
  }

  /** The contents of a submitted staging buffer, which is then destroyed. */
  private async mapped(op: string, staging: GPUBuffer): Promise<ArrayBuffer> {
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */);
    } catch (e) {
      staging.destroy();
      this.check(op);
      throw new DeviceError(op, `reading back failed: ${(e as Error).message}`);
    }
    const all = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    return all;
  }

  /** Raises the index error a kernel recorded ([taken, op code, value, size]), if any. */
  private throwIndexError(at: string, words: Uint32Array): void {
    if (!words[0]) return;
    const op = INDEX_CHECK_OPS[words[1] - 1] ?? 'an index kernel';
    const what = op === 'scatterAdd' ? 'its entries with bad indices were skipped' : 'its elements with bad indices were set to 0';
    throw new IndexError(
      op,
      `index ${words[2] | 0} is out of range [0, ${words[3]}) — detected asynchronously: a ${op} queued on webgpu before this ${at}() saw it (kernels cannot throw, so the first bad index is reported at the next read or sync); ${what}`,
    );
  }

  /** Raises validation errors the device reported since the last check. */
  throwErrors(op: string): void {
    if (this.errors.length) {
      const msg = this.errors.splice(0).join('\n');
      throw new DeviceError(op, `WebGPU reported an error: ${msg}`);
    }
  }

  /** Submits pending work and waits for it; raises device and index errors it reported. */
  async sync(): Promise<void> {
    const staging = this.device.createBuffer({ size: ERROR_BYTES, usage: MAP_READ | COPY_DST });
    this.takeIndexError(staging, 0);
    this.flush();
    // mapping waits for every submitted command before the copy, as onSubmittedWorkDone would
    const words = new Uint32Array(await this.mapped('sync', staging));
    this.throwErrors('sync');
    this.throwIndexError('sync', words);
  }
}
