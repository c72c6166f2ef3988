import type { Backend, OutInfo, TensorInfo } from './backend.js';
import { cpuBackend } from './cpu/backend.js';
import { backendOf, checkBackendDType, notify, runView } from './dispatch.js';
import { DTYPES, type DType, type TypedArray } from './dtype.js';
import { DLError, DeviceError, DTypeError, ShapeError, fmt } from './errors.js';
import { Storage } from './memory.js';
import type { ViewPrimitive } from './primitives.js';
import { checkShape, contiguousStrides, isContiguousLayout, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * Ops defined outside the primitive table (`defineOp`): a package adds a fused kernel — a scan,
 * an attention — with a CPU kernel, a WGSL program and a gradient rule, without touching
 * @dl/tensor, the backends or autograd. Kernels are plain data and functions: the CPU backend
 * calls `cpu`, the WebGPU backend runs the `WgslProgram` that `wgsl` returns, and autograd reads
 * the rule from the op it is told about by dispatch.
 */

/** Shape, layout and dtype of a kernel's input: contiguous from offset 0 unless the op takes strided inputs. */
export interface KernelInput {
  readonly shape: readonly number[];
  /** in elements; row-major contiguous strides unless the op declared `strided` for this kernel */
  readonly strides: readonly number[];
  /** of the first element, in elements; 0 unless the op declared `strided` for this kernel */
  readonly offset: number;
  readonly dtype: DType;
}

/** A CPU kernel's input: element (i, j, ...) at `data[offset + i * strides[0] + j * strides[1] + ...]`. */
export interface HostInput extends KernelInput {
  /** the values (Float32Array for float32, Float64Array, Int32Array, Uint8Array for bool); never write to it */
  readonly data: TypedArray;
}

/** One value of a WGSL pass's uniform struct: a 4-byte scalar member, in declaration order. */
export type WgslParam = readonly ['f32' | 'i32' | 'u32', number];

/** One compute dispatch of a WgslProgram. */
export interface WgslPass {
  /**
   * A complete WGSL module (`enable f16;` included where it uses f16) declaring, in @group(0):
   * inputs at @binding(0 .. n-1) as `var<storage, read>` arrays, the output at @binding(n) as
   * `var<storage, read_write>`, scratch buffers at the next bindings (read_write), then the
   * uniform struct of `params` (when given) at the binding after them. Bindings it does not use
   * may be left out. Pipelines are cached by this source, so build it from what changes the code
   * (dtypes, workgroup size), and pass sizes through `params`.
   */
  code: string;
  /** the `@compute` function to run (default 'main'); passes may share one module */
  entryPoint?: string;
  /** workgroups to dispatch along x, y, z (each at most 65535; missing ones are 1) */
  workgroups: readonly [number, number?, number?];
  /** the uniform struct's members in order, e.g. `[['u32', n], ['f32', eps]]` */
  params?: readonly WgslParam[];
}

/** What a WebGPU backend runs for a custom op: its passes in order, each seeing the writes of those before. */
export interface WgslProgram {
  passes: readonly WgslPass[];
  /** bytes of each scratch buffer (multiples of 4); contents start undefined, they live for this call only */
  scratch?: readonly number[];
}

/** What a gradient rule knows of an input or the output without holding the tensor. */
export interface TensorMeta {
  shape: readonly number[];
  strides: readonly number[];
  dtype: DType;
  device: string;
}

/** What `backward` gets besides the output's gradient (autograd's GradCtx for a custom op). */
export interface CustomGradCtx<A> {
  attrs: A;
  /** what `save` returned, in order; connected to the graph under createGraph */
  saved: readonly Tensor[];
  inputs: readonly TensorMeta[];
  out: TensorMeta;
  /** needs[i]: input i wants a gradient (return null for the others) */
  needs: readonly boolean[];
}

/** `readonly [T, T, ...]` of length N, or `readonly T[]` when N is just `number`. */
export type TupleOf<T, N extends number> = number extends N ? readonly T[] : BuildTuple<T, N, readonly []>;
type BuildTuple<T, N extends number, R extends readonly T[]> = R['length'] extends N ? R : BuildTuple<T, N, readonly [...R, T]>;

/** How a custom op is differentiated, as autograd's rules for the built-in primitives. */
export interface CustomGradRule<A, N extends number = number> {
  /** the inputs (or `out`) backward needs; autograd keeps aliases and checks they are not changed in place */
  save?: (inputs: TupleOf<Tensor, N>, out: Tensor, attrs: A, needs: readonly boolean[]) => (Tensor | null)[];
  /**
   * The gradient of each input from the output's gradient `g`, written with differentiable ops
   * (custom ops included), so that createGraph gives higher-order gradients. null for inputs
   * without one. Returning `g` itself or a saved tensor is fine.
   */
  backward: (g: Tensor, ctx: CustomGradCtx<A>) => TupleOf<Tensor | null, N>;
}

interface OpFields<A, N extends number> {
  /** unique; `package.op` by convention ('mamba.selectiveScan'); a built-in primitive's name is refused */
  name: string;
  /** the number of tensor inputs, checked at every call */
  inputs?: N;
  /**
   * The output's shape and dtype from the inputs (tensors, all on one device) and attrs. Check
   * them here and throw ShapeError / DTypeError naming the op and every shape; nothing has run yet.
   */
  inferOutput(inputs: TupleOf<Tensor, N>, attrs: A): { shape: readonly number[]; dtype: DType };
  /** The CPU kernel: a new array of `out`'s dtype and size (row-major), e.g. `new Float32Array(sizeOf(out.shape))`. */
  cpu?(inputs: TupleOf<HostInput, N>, attrs: A, out: OutInfo): TypedArray;
  /** The WebGPU kernel, as a program of WGSL passes (see WgslPass for the binding convention). */
  wgsl?(inputs: TupleOf<KernelInput, N>, attrs: A, out: OutInfo): WgslProgram;
  /**
   * Kernels that read strided views (any strides, offset, stride 0 for broadcasts) as they are.
   * Others get their inputs contiguous from offset 0, copied first where needed.
   */
  strided?: { cpu?: boolean; wgsl?: boolean };
}

/** A differentiable custom op: `backward` (and `save`) as a rule of the built-in table. */
export interface DifferentiableOpDef<A, N extends number> extends OpFields<A, N>, CustomGradRule<A, N> {
  differentiable?: true;
}

/** A custom op without a gradient (an index, a sample): its output never requires grad. */
export interface NonDifferentiableOpDef<A, N extends number> extends OpFields<A, N> {
  differentiable: false;
}

export type CustomOpDef<A, N extends number = number> = DifferentiableOpDef<A, N> | NonDifferentiableOpDef<A, N>;

/** What dispatch listeners (autograd) see of a custom op. */
export interface CustomOpInfo {
  readonly name: string;
  /** the gradient rule; null for an op defined with `differentiable: false` */
  // any: one listener sees ops of every attrs type
  readonly grad: CustomGradRule<any> | null;
}

type NoAttrs = Record<string, never>;

/** A defined op: call it with its inputs (and attrs, unless it has none). */
export interface CustomOp<A, N extends number = number> extends CustomOpInfo {
  (inputs: TupleOf<Tensor, N>, ...attrs: NoAttrs extends A ? [attrs?: A] : [attrs: A]): Tensor;
}

// kernel primitives are the CPU table's keys; views have no kernel
const VIEWS = ['reshape', 'permute', 'expand', 'slice'] as const satisfies readonly ViewPrimitive[];
const viewsComplete: [Exclude<ViewPrimitive, (typeof VIEWS)[number]>] extends [never] ? true : never = true;
void viewsComplete;

const defined = new Set<string>();

/**
 * Defines an op with a CPU kernel, a WGSL program for WebGPU and a gradient rule, and returns the
 * function that runs it. Devices whose backend has no kernel for it throw DeviceError naming the
 * op and the device. One output per op: an op with several results packs them into one tensor
 * that the caller splits with views (`narrow`, `select`, `reshape`), whose gradients flow back
 * into the packed one.
 *
 *   const scale = defineOp<{ by: number }, 1>({
 *     name: 'demo.scale',
 *     inputs: 1,
 *     inferOutput: ([x]) => ({ shape: x.shape, dtype: x.dtype }),
 *     cpu: ([x], { by }) => x.data.map((v) => v * by),
 *     backward: (g, { attrs }) => [g.mul(attrs.by)],
 *   });
 *   scale([ones([3])], { by: 2 }); // [2, 2, 2]
 */
export function defineOp<A = NoAttrs, N extends number = number>(def: CustomOpDef<A, N>): CustomOp<A, N> {
  const name = def.name;
  if (typeof name !== 'string' || name === '') throw new DLError('defineOp', `an op needs a non-empty name, got ${String(name)}`);
  if (Object.hasOwn(cpuBackend.kernels, name) || (VIEWS as readonly string[]).includes(name)) {
    throw new DLError('defineOp', `'${name}' is a built-in primitive; give the op a name of its own ('package.op')`);
  }
  if (defined.has(name)) throw new DLError('defineOp', `an op named '${name}' is already defined; op names are global ('package.op' keeps them apart)`);
  if (!def.cpu && !def.wgsl) throw new DLError('defineOp', `'${name}' defines no kernel: give it cpu, wgsl or both`);
  if (def.differentiable !== false && typeof def.backward !== 'function') {
    throw new DLError('defineOp', `'${name}' has no backward; give it one, or mark it differentiable: false`);
  }
  defined.add(name);
  const grad: CustomGradRule<A, N> | null =
    def.differentiable === false
      ? null
      : {
          save: def.save,
          // the engine frees what a rule returns once used: views keep a saved tensor or `g` alive for the graph
          backward: (g, ctx) => (def.backward(g, ctx) as readonly (Tensor | null)[]).map((t) => (t ? runView('reshape', t, { shape: [...t.shape] }, t.shape, t.strides, t.offset) : null)) as TupleOf<Tensor | null, N>,
        };
  const info: CustomOpInfo = { name, grad: grad as CustomOpInfo['grad'] };
  const op = (inputs: TupleOf<Tensor, N>, attrs?: A): Tensor => run(def, info, inputs as readonly Tensor[], attrs ?? ({} as A));
  Object.defineProperty(op, 'name', { value: name });
  Object.defineProperty(op, 'grad', { value: grad });
  return op as unknown as CustomOp<A, N>;
}

function run<A, N extends number>(def: CustomOpDef<A, N>, info: CustomOpInfo, inputs: readonly Tensor[], attrs: A): Tensor {
  const name = def.name;
  if (def.inputs !== undefined && inputs.length !== def.inputs) {
    throw new DLError(name, `expected ${def.inputs} tensor input${def.inputs === 1 ? '' : 's'}, got ${inputs.length}`);
  }
  if (inputs.length === 0) throw new DLError(name, 'a custom op needs at least one tensor input (it runs on their device)');
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new DLError(name, `input ${i} is not a Tensor (got ${typeof t})`);
  });
  const backend = backendOf(name, inputs);
  const o = def.inferOutput(inputs as TupleOf<Tensor, N>, attrs);
  const shape = checkShape(name, o.shape, 'the output shape from inferOutput');
  if (!DTYPES.includes(o.dtype)) throw new DTypeError(name, `inferOutput returned an unknown dtype ${String(o.dtype)}`);
  checkBackendDType(name, backend, o.dtype);
  const out: OutInfo = { shape, dtype: o.dtype };
  const data = launch(backend, def, inputs, attrs, out);
  const t = new Tensor(new Storage(backend, data, out.dtype), shape, contiguousStrides(shape), 0, out.dtype);
  notify(name, inputs, attrs, t, info);
  return t;
}

/** Runs the kernel for `backend`'s kind; the contiguous copies it makes are freed after. */
function launch<A, N extends number>(backend: Backend, def: CustomOpDef<A, N>, inputs: readonly Tensor[], attrs: A, out: OutInfo): unknown {
  const kind = backend.customKernels;
  if (kind === undefined || !def[kind] || (kind === 'wgsl' && !backend.runWgsl)) {
    const has = (['cpu', 'wgsl'] as const).filter((k) => def[k]).join(', ');
    if (kind === undefined) {
      throw new DeviceError(def.name, `device '${backend.name}' runs no custom ops (its backend declares no customKernels); the op has kernels for: ${has}`);
    }
    throw new DeviceError(def.name, `has no ${kind} kernel, which device '${backend.name}' needs (the op has: ${has}); run it on another device or add a ${kind} kernel to its defineOp`);
  }
  const strided = def.strided?.[kind] ?? false;
  const temps: unknown[] = [];
  try {
    const infos = inputs.map((t) => (strided ? t.info() : contiguousInfo(backend, t.info(), temps)));
    if (kind === 'cpu') return runCpu(def, infos, attrs, out, strided);
    const metas = infos.map((i): KernelInput => ({ shape: i.shape, strides: strided ? i.strides : contiguousStrides(i.shape), offset: strided ? i.offset : 0, dtype: i.dtype }));
    const program = def.wgsl!(metas as TupleOf<KernelInput, N>, attrs, out);
    return backend.runWgsl!(def.name, program, infos, out, strided);
  } finally {
    for (const d of temps) backend.free(d);
  }
}

/** `x` itself when contiguous (from any offset), else a contiguous copy made by the backend's copy kernel. */
function contiguousInfo(backend: Backend, x: TensorInfo, temps: unknown[]): TensorInfo {
  if (isContiguousLayout(x.shape, x.strides)) return x;
  const data = backend.kernels.copy([x], {}, { shape: x.shape, dtype: x.dtype });
  temps.push(data);
  return { data, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0, dtype: x.dtype };
}

const ARRAY_OF: Record<DType, new (n: number) => TypedArray> = {
  float32: Float32Array,
  float16: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
};

function runCpu<A, N extends number>(def: CustomOpDef<A, N>, infos: TensorInfo[], attrs: A, out: OutInfo, strided: boolean): TypedArray {
  const host = infos.map((i): HostInput => {
    const data = i.data as TypedArray;
    if (strided) return { data, shape: i.shape, strides: i.strides, offset: i.offset, dtype: i.dtype };
    return { data: data.subarray(i.offset, i.offset + sizeOf(i.shape)), shape: i.shape, strides: contiguousStrides(i.shape), offset: 0, dtype: i.dtype };
  });
  const r = def.cpu!(host as TupleOf<HostInput, N>, attrs, out);
  const C = ARRAY_OF[out.dtype];
  const n = sizeOf(out.shape);
  if (!(r instanceof C)) {
    throw new DTypeError(def.name, `the cpu kernel returned ${describe(r)}; a ${out.dtype} output ${fmt(out.shape)} needs a ${C.name}`);
  }
  if (r.length !== n) throw new ShapeError(def.name, `the cpu kernel returned ${r.length} values for an output of shape ${fmt(out.shape)} (${n} values)`);
  const k = host.findIndex((h) => h.data.buffer === r.buffer);
  if (k >= 0) throw new DLError(def.name, `the cpu kernel returned memory of input ${k}; return a new array (inputs are read-only)`);
  return r;
}

function describe(r: unknown): string {
  return r !== null && typeof r === 'object' ? `a ${r.constructor.name}` : String(r);
}

/**
 * The WGSL storage type of a dtype (`f32`, `f16`, `i32`, and `u32` for bool, one per element), for
 * writing a WgslProgram's bindings. float64 has none.
 *
 *   const T = wgslStorageType(x.dtype); // 'f32'
 *   `@group(0) @binding(0) var<storage, read> x: array<${T}>;`
 */
export function wgslStorageType(dtype: DType): 'f32' | 'f16' | 'i32' | 'u32' {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'float16':
      return 'f16';
    case 'int32':
      return 'i32';
    case 'bool':
      return 'u32';
    case 'float64':
      throw new DTypeError('wgslStorageType', 'float64 has no WGSL storage type (WebGPU holds float32, float16, int32 and bool)');
  }
}

/**
 * Workgroups for a WgslPass that needs `groups` of them in all, split over x and y (each is limited
 * to 65535); the shader recovers its flat index as `wid.x + wid.y * num_workgroups.x`.
 *
 *   workgroups: wgslGrid(Math.ceil(n / 256)) // [groups, 1] up to 65535, then [ceil(groups / y), y]
 */
export function wgslGrid(groups: number): [number, number] {
  const n = Math.max(1, groups);
  const y = Math.ceil(n / 65535);
  return [Math.ceil(n / y), y];
}

/**
 * WGSL for a custom op's workgroup reductions: `reduce(v, lid)` returns the sum of v over the
 * workgroup's `wg` threads (a power of two; every thread must call it, in uniform control flow),
 * through the workgroup array `red`.
 *
 *   const code = `${wgslWorkgroupSum(256)} ... let total = reduce(s, lid);`
 */
export function wgslWorkgroupSum(wg: number): string {
  return `
var<workgroup> red: array<f32, ${wg}>;
fn reduce(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
}
