import { isContiguousLayout, sizeOf, type DType } from '@dl/tensor';
import type { BindRange, GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, domainOf, fromDomain, grid, storageType, toDomain, type Domain, type StorageType } from '../wgsl/builder.js';
import { stridedOffsetFn, stridedParams } from '../wgsl/strided.js';
import { WG, dataOf, layoutTag } from './common.js';
import { encodeMap, type MapSpec } from './map.js';
import { ADAM_BINDINGS, recordAdam, type AdamParam } from './optim.js';
import { recordInPlace, type InPlaceScalar } from './elementwise.js';
import type { AdamHyper } from '@dl/tensor/internal';

/** Where one input of a pending kernel comes from. */
type Source =
  /** a storage binding of the group (`ei<binding>`), read through the view */
  | { binding: number }
  /** the value an earlier kernel of the group (-1: the head) computes for the same element */
  | { from: number };

interface PendingMap {
  op: string;
  spec: MapSpec;
  sources: Source[];
}

/**
 * A GEMM-shaped kernel (matmul, convolution) that writes every element of a new contiguous float32
 * tensor once, offered as the head of a group: the elementwise kernels that follow run in its
 * store, as an epilogue, instead of in a dispatch of their own.
 */
export interface FusionHead {
  op: string;
  out: GpuData;
  /** buffers the kernel reads (anywhere: no later kernel of the group may write them) */
  reads: readonly GPUBuffer[];
  /** storage bindings it declares itself */
  bindings: number;
  /** records the kernel; with an epilogue, its stores also call `epi(g, v)` (see Epilogue) */
  record(epilogue: Epilogue | null): void;
}

/**
 * The elementwise kernels after a head, for its shader: `declare` adds their bindings (after the
 * head's own), functions and `fn epi(g: i32, hv: f32)`, which computes and stores element g of each
 * from the head's value hv there.
 */
export interface Epilogue {
  key: string;
  declare(b: ShaderBuilder): void;
  bindings: BindRange[];
  params: Record<string, number>;
}

/** Kernels a group holds at most (longer chains start a new group). */
const MAX_OPS = 16;

/**
 * Elementwise fusion: consecutive elementwise kernels over the same number of elements, each
 * writing a new contiguous tensor, are recorded as one dispatch, or in the store of the GEMM-shaped
 * kernel before them (the group's head: the bias and activation epilogue of matmul and conv). Each
 * thread computes element g of every kernel in order; a kernel whose input is an earlier kernel's
 * output read at the same element (a contiguous view of it from offset 0) takes the value from that
 * kernel instead of memory, converted as the store and the load would have (int32 and bool round
 * trips are kept; a float16 output is read in the next dispatch, since drivers may drop an
 * f32 -> f16 -> f32 round trip). Every output is still stored: its tensor may be read later.
 *
 * The group is recorded (`drain`) before anything else is: GpuContext drains it ahead of every
 * other dispatch, copy and submit, so work keeps its program order. A kernel that cannot join
 * drains the group and starts the next one. It cannot join when its element count differs, when
 * it reads a group output through any other view (a broadcast or strided read of a value another
 * thread writes in the same dispatch), when its output buffer is one the group reads or writes (a
 * buffer released and reused from the pool), or when the group would pass the device's storage
 * bindings per shader or MAX_OPS. A group of one kernel is recorded exactly as without fusion.
 *
 * Adam steps group the same way, among themselves: consecutive steps with the same hyperparameters
 * on parameters with buffers of their own are one dispatch, as many as the bindings allow. So do
 * in-place ops of one kind that apply one value to every element of a float32 tensor (clipping's
 * `g.mul_(coef)` over all gradients), where no destination is another's operand.
 */
export class MapFusion {
  private head: FusionHead | null = null;
  private ops: PendingMap[] = [];
  private n = 0;
  /** output buffer -> index of the kernel writing it (-1: the head) */
  private readonly outs = new Map<GPUBuffer, number>();
  /** buffers bound for reading -> binding index */
  private readonly ins = new Map<GPUBuffer, number>();
  /** buffers the head reads */
  private readonly headReads = new Set<GPUBuffer>();
  /** pending Adam steps (one set of hyperparameters), and every buffer they bind */
  private adam: { hyper: AdamHyper; params: AdamParam[]; buffers: Set<GPUBuffer> } | null = null;
  /** pending in-place ops of one kind, the buffers of their operands, and their destinations */
  private inPlace: { items: InPlaceScalar[]; others: GPUBuffer[]; dsts: Set<GPUBuffer> } | null = null;
  /** kernels recorded inside another kernel's dispatch (WebGPUStats.fusedKernels) */
  fused = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly maxBindings: number,
  ) {}

  /** Starts a group with a GEMM-shaped kernel, recorded with whatever elementwise kernels follow it. */
  startHead(head: FusionHead): void {
    this.drain();
    this.head = head;
    this.n = head.out.n;
    this.outs.set(head.out.buffer, -1);
    for (const b of head.reads) this.headReads.add(b);
  }

  /** Takes the kernel into the pending group (true), or leaves it to be recorded now (false). */
  append(op: string, spec: MapSpec): boolean {
    const { out, inputs } = spec;
    if (spec.readsOut || out.strides !== undefined) return false;
    const n = sizeOf(out.shape);
    const { maxBinding } = this.ctx;
    if (n === 0 || out.data.buffer.size > maxBinding || inputs.some((x) => dataOf(x.info).buffer.size > maxBinding)) return false;
    let joined = this.head || this.ops.length ? this.join(n, spec) : null;
    if (!joined) {
      this.drain();
      joined = this.join(n, spec);
      if (!joined) return false;
    }
    this.n = n;
    this.outs.set(out.data.buffer, this.ops.length);
    for (const [b, binding] of joined.fresh) this.ins.set(b, binding);
    this.ops.push({ op, spec, sources: joined.sources });
    return true;
  }

  /**
   * Where each input of a kernel joining the group comes from, and the input buffers it adds (with
   * their bindings), or null when it cannot join.
   */
  private join(n: number, spec: MapSpec): { sources: Source[]; fresh: Map<GPUBuffer, number> } | null {
    const buf = spec.out.data.buffer;
    const open = this.head !== null || this.ops.length > 0;
    if (this.ops.length >= MAX_OPS || (open && n !== this.n) || this.outs.has(buf) || this.ins.has(buf) || this.headReads.has(buf)) return null;
    const sources: Source[] = [];
    const fresh = new Map<GPUBuffer, number>();
    for (const { info } of spec.inputs) {
      const b = dataOf(info).buffer;
      const from = this.outs.get(b);
      if (from !== undefined) {
        // float16 is read from memory: drivers may drop an f32 -> f16 -> f32 round trip in registers
        const dtype = from < 0 ? 'float32' : this.ops[from].spec.out.data.dtype;
        const same = dtype !== 'float16' && info.offset === 0 && info.dtype === dtype && sizeOf(info.shape) === n && isContiguousLayout(info.shape, info.strides);
        if (!same) return null;
        sources.push({ from });
        continue;
      }
      let binding = this.ins.get(b) ?? fresh.get(b);
      if (binding === undefined) fresh.set(b, (binding = this.ins.size + fresh.size));
      sources.push({ binding });
    }
    // one binding per output and per distinct input buffer, after the head's own
    const outputs = this.ops.length + 1;
    if ((this.head?.bindings ?? 0) + outputs + this.ins.size + fresh.size > this.maxBindings) return null;
    return { sources, fresh };
  }

  /** Takes an Adam step into the pending Adam group (true), or leaves it to be recorded now (false). */
  appendAdam(param: AdamParam, hyper: AdamHyper): boolean {
    const bufs = [param.p, param.m, param.v, param.g].map((t) => dataOf(t).buffer);
    const a = this.adam;
    const same = a !== null && (Object.keys(hyper) as (keyof AdamHyper)[]).every((k) => Object.is(a.hyper[k], hyper[k]));
    if (!same || (a.params.length + 1) * ADAM_BINDINGS > this.maxBindings || bufs.some((b) => a.buffers.has(b))) {
      this.drain();
      if (ADAM_BINDINGS > this.maxBindings) return false;
      this.adam = { hyper, params: [], buffers: new Set() };
    }
    this.adam!.params.push(param);
    for (const b of bufs) this.adam!.buffers.add(b);
    return true;
  }

  /** Takes a one-value in-place op into the pending in-place group (true), or leaves it to be recorded now (false). */
  appendInPlace(item: InPlaceScalar): boolean {
    const dst = dataOf(item.dst).buffer;
    const other = typeof item.other === 'number' ? null : dataOf(item.other).buffer;
    if (other === dst) return false;
    const g = this.inPlace;
    const fresh = other !== null && !g?.others.includes(other) ? 1 : 0;
    const joins =
      g !== null &&
      g.items[0].op === item.op &&
      !g.dsts.has(dst) &&
      !g.others.includes(dst) &&
      (other === null || !g.dsts.has(other)) &&
      g.items.length + 1 + g.others.length + fresh <= this.maxBindings;
    if (!joins) {
      this.drain();
      this.inPlace = { items: [], others: [], dsts: new Set() };
    }
    const p = this.inPlace!;
    p.items.push(item);
    p.dsts.add(dst);
    if (other !== null && !p.others.includes(other)) p.others.push(other);
    return true;
  }

  /** Records the pending group (one dispatch) and empties it. */
  drain(): void {
    if (this.inPlace) {
      const { items, others } = this.inPlace;
      this.inPlace = null;
      this.fused += items.length - 1;
      recordInPlace(this.ctx, items, others);
      return;
    }
    if (this.adam) {
      const { params, hyper } = this.adam;
      this.adam = null;
      this.fused += params.length - 1;
      recordAdam(this.ctx, params, hyper);
      return;
    }
    const { ops, head, n } = this;
    if (!ops.length && !head) return;
    const ins = [...this.ins.keys()];
    this.ops = [];
    this.head = null;
    this.outs.clear();
    this.ins.clear();
    this.headReads.clear();
    this.fused += ops.length - (head ? 0 : 1);
    if (head) head.record(ops.length ? epilogue(ops, ins) : null);
    else if (ops.length === 1) encodeMap(this.ctx, ops[0].op, ops[0].spec);
    else encodeGroup(this.ctx, ops, ins, n);
  }
}

/** Kernel j's value (-1: the head's `hv`) as a later kernel loads it in `domain`: through j's stored type. */
function reload(ops: readonly PendingMap[], j: number, domain: Domain): string {
  if (j < 0) return toDomain('hv', 'f32', domain);
  const { spec } = ops[j];
  const st: StorageType = storageType(spec.out.data.dtype);
  return toDomain(fromDomain(`ev${j}`, spec.domain, st), st, domain);
}

/** Shader key, bindings and uniforms of a chain of kernels reading `ins`, and the WGSL that computes and stores element g of each. */
function chain(ops: readonly PendingMap[], ins: readonly GPUBuffer[]): Epilogue & { code(b: ShaderBuilder): string[] } {
  const inDtype = new Map<number, DType>();
  for (const { spec, sources } of ops) sources.forEach((s, k) => 'binding' in s && inDtype.set(s.binding, spec.inputs[k].info.dtype));
  const key = ops
    .map(({ spec, sources }) => {
      const srcs = sources.map((s, k) => {
        const x = spec.inputs[k];
        const dom = x.domain ?? domainOf(x.info.dtype);
        return 'from' in s ? `r${s.from}${dom}` : `b${s.binding}${x.info.dtype}${layoutTag(x.info)}${dom}`;
      });
      return `${spec.key}:${spec.out.shape.length}:${srcs.join(',')}:${spec.out.data.dtype}`;
    })
    .join(';');
  const declare = (b: ShaderBuilder): void => {
    ops.forEach(({ spec }, j) => b.storage(`eo${j}`, storageType(spec.out.data.dtype), 'read_write'));
    ins.forEach((_, m) => b.storage(`ei${m}`, storageType(inDtype.get(m)!)));
  };
  const code = (b: ShaderBuilder): string[] => {
    const lines: string[] = [];
    ops.forEach(({ spec, sources }, j) => {
      const rank = spec.out.shape.length;
      const args = sources.map((s, k) => {
        const x = spec.inputs[k];
        const dom = x.domain ?? domainOf(x.info.dtype);
        if ('from' in s) return reload(ops, s.from, dom);
        const name = `o${j}_in${k}`;
        const idx = layoutTag(x.info) === 'c' ? `${b.param(`${name}_off`)} + g` : `${stridedOffsetFn(b, name, rank, `o${j}_s`)}(g)`;
        return toDomain(`ei${s.binding}[${idx}]`, storageType(x.info.dtype), dom);
      });
      // the kernel's own body, unchanged, as a function of its inputs x0, x1, ... and g
      const params = spec.inputs.map((x, k) => `x${k}: ${x.domain ?? domainOf(x.info.dtype)}`);
      b.fn(`fn ew${j}(${[...params, 'g: i32'].join(', ')}) -> ${spec.domain} {\n${spec.body(b.scoped(`o${j}_`))}\n  return v;\n}`);
      lines.push(`  let ev${j} = ew${j}(${[...args, 'g'].join(', ')});`, `  eo${j}[g] = ${fromDomain(`ev${j}`, spec.domain, storageType(spec.out.data.dtype))};`);
    });
    return lines;
  };
  const params: Record<string, number> = {};
  const bindings: BindRange[] = ops.map(({ spec }) => ({ buffer: spec.out.data.buffer }));
  for (const buf of ins) bindings.push({ buffer: buf });
  ops.forEach(({ spec, sources }, j) => {
    for (const [name, v] of Object.entries(spec.params ?? {})) params[`o${j}_${name}`] = v;
    sources.forEach((s, k) => {
      if ('from' in s) return;
      const x = spec.inputs[k].info;
      stridedParams(`o${j}_in${k}`, `o${j}_s`, x.shape, x.strides, x.offset, params);
    });
  });
  return { key, declare, code, bindings, params };
}

/** The chain as a head's epilogue: `fn epi(g: i32, hv: f32)`. */
function epilogue(ops: readonly PendingMap[], ins: readonly GPUBuffer[]): Epilogue {
  const c = chain(ops, ins);
  return {
    ...c,
    declare(b) {
      c.declare(b);
      b.fn(`fn epi(g: i32, hv: f32) {\n${c.code(b).join('\n')}\n}`);
    },
  };
}

/** The chain as a kernel of its own: a thread per element. */
function encodeGroup(ctx: GpuContext, ops: readonly PendingMap[], ins: readonly GPUBuffer[], n: number): void {
  const c = chain(ops, ins);
  const prog = ctx.program(`fuse:${c.key}`, () => {
    const b = new ShaderBuilder(WG);
    c.declare(b);
    return b.build([`  let i = wg * ${WG} + lid;`, `  if (i >= ${b.param('n')}) { return; }`, '  let g = i;', ...c.code(b)].join('\n'));
  });
  ctx.dispatch(ops.map((o) => o.op).join('+'), prog, c.bindings, { ...c.params, n }, grid(Math.ceil(n / WG)));
}
