import { arrayFor, checkDeviceDType, isFloat, sizeOf, type Backend, type DType, type TypedArray } from '@dl/tensor';
import { BINARY_OPS, UNARY_OPS, type KernelAttrs, type KernelPrimitive, type KernelTable, type OutInfo, type TensorInfo } from '@dl/tensor/internal';
import { contiguousInfo, dataOf, layoutTag, newData } from './kernels/common.js';
import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel, maxPool2dIndicesKernel } from './kernels/conv.js';
import { CustomRunner } from './kernels/custom.js';
import { arangeKernel, binaryInPlaceKernel, binaryKernel, binaryScalarKernel, castInto, castKernel, fullKernel, unaryKernel, whereKernel, whereScalarKernel } from './kernels/elementwise.js';
import { argsortKernel, catKernel, gatherKernel, scatterAddKernel, sliceScatterKernel } from './kernels/indexing.js';
import { matmulKernel } from './kernels/matmul.js';
import { randomKernel } from './kernels/random.js';
import { needsSplit, runSplit } from './kernels/split.js';
import { adamStepKernel } from './kernels/optim.js';
import { layerNormGradInputKernel, layerNormKernel } from './kernels/norm.js';
import { MapFusion } from './kernels/fuse.js';
import { argReduceKernel, cumsumKernel, reduceKernel, softmaxKernel } from './kernels/reduce.js';
import { GpuContext, type ContextOptions, type GpuData } from './runtime/context.js';
import { storageBytes } from './wgsl/builder.js';

/** Counters for benchmarks and leak checks. */
export interface WebGPUStats {
  /** dispatches recorded since the backend was made */
  dispatches: number;
  /** command buffers submitted */
  submits: number;
  /** readbacks */
  reads: number;
  /** bind groups created (repeated dispatches reuse theirs) */
  bindGroups: number;
  /** dispatches of reduction shaders whose first level uses subgroup operations */
  subgroupDispatches: number;
  /** kernels recorded inside another kernel's dispatch (fusion: elementwise chains, GEMM epilogues, grouped Adam steps and in-place ops) */
  fusedKernels: number;
  /** buffers held by tensors, and their bytes (size classes) */
  liveBuffers: number;
  liveBytes: number;
  /** free buffers kept for reuse */
  pooledBuffers: number;
  pooledBytes: number;
  /** distinct shaders built, and pipelines compiled */
  shaders: number;
  pipelines: number;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** a CPU implementation (Mesa lavapipe/llvmpipe, SwiftShader): its timings say nothing about GPUs */
  software: boolean;
}

/** The WebGPU backend: a @dl/tensor Backend plus the device it runs on. */
export interface WebGPUBackend extends Backend {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** adapter features enabled on the device (e.g. 'shader-f16') */
  readonly features: readonly string[];
  /** reductions use subgroup operations (the device has 'subgroups' and WGSL `subgroup_id`) */
  readonly subgroups: boolean;
  stats(): WebGPUStats;
  /** submits recorded work and waits for the device to finish it */
  sync(): Promise<void>;
  /** submits recorded work now (reads and sync() do this themselves) */
  flush(): void;
  /** destroys the device; tensors on it become unusable */
  destroy(): void;
}

type Impl<P extends KernelPrimitive> = (ctx: GpuContext, inputs: TensorInfo[], attrs: KernelAttrs[P], out: OutInfo) => GpuData;

const unary = Object.fromEntries(UNARY_OPS.map((op) => [op, ((c, i, _a, o) => unaryKernel(c, op, i, o)) as Impl<typeof op>]));
const binary = Object.fromEntries(BINARY_OPS.map((op) => [op, ((c, i, _a, o) => binaryKernel(c, op, i, o)) as Impl<typeof op>]));

const IMPLS: { [P in KernelPrimitive]: Impl<P> } = {
  ...(unary as { [P in (typeof UNARY_OPS)[number]]: Impl<P> }),
  ...(binary as { [P in (typeof BINARY_OPS)[number]]: Impl<P> }),
  where: (c, i, _a, o) => whereKernel(c, i, o),
  binaryScalar: binaryScalarKernel,
  whereScalar: whereScalarKernel,
  cast: (c, i, _a, o) => castKernel(c, i, o),
  copy: (c, i, _a, o) => castKernel(c, i, o),
  sum: (c, i, a, o) => reduceKernel(c, 'sum', i, a, o),
  prod: (c, i, a, o) => reduceKernel(c, 'prod', i, a, o),
  max: (c, i, a, o) => reduceKernel(c, 'max', i, a, o),
  min: (c, i, a, o) => reduceKernel(c, 'min', i, a, o),
  argmax: (c, i, a, o) => argReduceKernel(c, 'argmax', i, a, o),
  argmin: (c, i, a, o) => argReduceKernel(c, 'argmin', i, a, o),
  cumsum: cumsumKernel,
  softmax: (c, i, a, o) => softmaxKernel(c, 'softmax', i, a, o),
  logSoftmax: (c, i, a, o) => softmaxKernel(c, 'logSoftmax', i, a, o),
  layerNorm: layerNormKernel,
  layerNormGradInput: layerNormGradInputKernel,
  matmul: (c, i, _a, o) => matmulKernel(c, i, o),
  conv2d: conv2dKernel,
  conv2dGradInput: conv2dGradInputKernel,
  conv2dGradWeight: conv2dGradWeightKernel,
  maxPool2dIndices: maxPool2dIndicesKernel,
  gather: gatherKernel,
  scatterAdd: scatterAddKernel,
  argsort: argsortKernel,
  cat: catKernel,
  sliceScatter: sliceScatterKernel,
  full: (c, _i, a, o) => fullKernel(c, a.value, o),
  arange: (c, _i, a, o) => arangeKernel(c, a.start, a.step, o),
  randomUniform: (c, _i, a, o) => randomKernel(c, false, a, o),
  randomNormal: (c, _i, a, o) => randomKernel(c, true, a, o),
};

/** Wraps a device in the Backend interface. */
export function makeBackend(device: GPUDevice, adapter: AdapterSummary, name: string, opts: ContextOptions): WebGPUBackend {
  const ctx = new GpuContext(device, opts);
  if (opts.fuseElementwise !== false) ctx.fusion = new MapFusion(ctx, device.limits.maxStorageBuffersPerShaderStage);
  const custom = new CustomRunner(ctx);
  const f16 = device.features.has('shader-f16');
  const dtypes: DType[] = f16 ? ['float32', 'float16', 'int32', 'bool'] : ['float32', 'int32', 'bool'];

  const kernels = Object.fromEntries(
    (Object.keys(IMPLS) as KernelPrimitive[]).map((p) => [
      p,
      (inputs: TensorInfo[], attrs: never, out: OutInfo) => {
        ctx.check(p);
        const impl = IMPLS[p] as Impl<KernelPrimitive>;
        // past the storage binding limit, ops that split along dim 0 run in slices
        return ctx.runOp(() => (needsSplit(ctx, inputs, out) && runSplit(ctx, p, impl as never, inputs, attrs, out)) || impl(ctx, inputs, attrs, out));
      },
    ]),
  ) as unknown as KernelTable;

  function release(d: GpuData): void {
    if (d.freed) return;
    d.freed = true;
    if (ctx.lostReason === null) ctx.release(d.buffer);
  }

  function upload(values: TypedArray, dtype: DType): GpuData {
    ctx.check('upload');
    // the last guard for every path onto the device: float64 bytes written as f32 read back as garbage
    checkDeviceDType('upload', name, dtypes, dtype, [values.length]);
    const n = values.length;
    if (dtype === 'float16') {
      // convert on the device: upload float32, then cast (float16 has no host array type)
      const tmp = upload(values, 'float32');
      const out = newData(ctx, n, 'float16');
      castInto(ctx, contiguousInfo(tmp, [n]), { data: out, shape: [n] });
      release(tmp);
      return out;
    }
    const data = newData(ctx, n, dtype, true);
    if (n) {
      const src = dtype === 'bool' ? Uint32Array.from(values as Uint8Array) : values;
      device.queue.writeBuffer(data.buffer, 0, src.buffer, src.byteOffset, n * 4);
    }
    return data;
  }

  async function read(x: TensorInfo): Promise<TypedArray> {
    ctx.check('read');
    const n = sizeOf(x.shape);
    const out = arrayFor(x.dtype, n);
    if (n === 0) return out;
    let src = dataOf(x);
    let offset = x.offset;
    let temp: GpuData | null = null;
    // strided views and float16 are first made contiguous float32/int32/bool on the device
    if (layoutTag(x) === 's' || x.dtype === 'float16') {
      temp = newData(ctx, n, x.dtype === 'float16' ? 'float32' : x.dtype);
      castInto(ctx, x, { data: temp, shape: x.shape });
      src = temp;
      offset = 0;
    }
    try {
      const bytes = await ctx.read('read', src.buffer, offset * 4, n * 4);
      if (x.dtype === 'bool') (out as Uint8Array).set(new Uint32Array(bytes));
      else if (x.dtype === 'int32') (out as Int32Array).set(new Int32Array(bytes));
      else (out as Float32Array).set(new Float32Array(bytes));
      return out;
    } finally {
      if (temp) release(temp);
    }
  }

  function assign(dst: TensorInfo, src: TensorInfo): void {
    ctx.check('assign');
    let s = src;
    let temp: GpuData | null = null;
    if (src.data === dst.data) {
      // the source aliases the destination: write from a snapshot so overlap cannot corrupt it
      temp = newData(ctx, sizeOf(src.shape), src.dtype);
      castInto(ctx, src, { data: temp, shape: src.shape });
      s = contiguousInfo(temp, src.shape);
    }
    castInto(ctx, s, { data: dataOf(dst), shape: dst.shape, strides: dst.strides, offset: dst.offset });
    if (temp) release(temp);
  }

  return {
    name,
    kernels,
    dtypes,
    device,
    adapter,
    features: [...device.features],
    subgroups: ctx.subgroups,
    upload,
    read,
    assign,
    free: (data) => release(data as GpuData),
    byteLength: (data) => (data as GpuData).n * storageBytes((data as GpuData).dtype),
    customKernels: 'wgsl',
    runWgsl: (op, program, inputs, out, strided) => {
      ctx.check(op);
      return ctx.runOp(() => custom.run(op, program, inputs, out, strided));
    },
    binaryInPlace: (op, dst, other) => {
      ctx.check(`${op}_`);
      if (!isFloat(dst.dtype)) return false;
      ctx.runOp(() => binaryInPlaceKernel(ctx, op, dst, other));
      return true;
    },
    adamStep: (p, g, m, v, h) => {
      ctx.check('adamStep');
      return ctx.runOp(() => adamStepKernel(ctx, p, g, m, v, h));
    },
    sync: async () => {
      ctx.check('sync');
      await ctx.sync();
    },
    flush: () => ctx.flush(),
    destroy: () => {
      ctx.flush();
      ctx.pool.trim();
      device.destroy();
    },
    stats: () => {
      // counts include the pending elementwise group
      ctx.drainFusion();
      return {
        ...ctx.stats,
        fusedKernels: ctx.fusion?.fused ?? 0,
        liveBuffers: ctx.pool.live,
        liveBytes: ctx.pool.liveBytes,
        pooledBuffers: ctx.pool.pooled,
        pooledBytes: ctx.pool.pooledBytes,
        shaders: ctx.shaderCount,
        pipelines: ctx.pipelines.size,
      };
    },
  };
}

