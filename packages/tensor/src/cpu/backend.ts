import type { AdamHyper, Backend, KernelTable, OutInfo, TensorInfo } from '../backend.js';
import type { DType, TypedArray } from '../dtype.js';
import { BINARY_OPS, UNARY_OPS, type RandomAttrs } from '../primitives.js';
import { fillNormal, fillUniform } from '../rng.js';
import { sizeOf } from '../shape.js';
import { assignKernel, binaryKernel, binaryScalarKernel, castKernel, copyKernel, unaryKernel, whereKernel, whereScalarKernel } from './elementwise.js';
import { argsortKernel, catKernel, gatherKernel, scatterAddKernel, sliceScatterKernel } from './indexing.js';
import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel, matmulKernel, maxPool2dIndicesKernel } from './linalg.js';
import { layerNormGradInputKernel, layerNormKernel } from './norm.js';
import { argReduceKernel, reduceKernel, rowKernel } from './reduce.js';
import { contiguousData } from './strided.js';
import { recycle, takeArray } from './pool.js';

function randomKernel(normal: boolean, a: RandomAttrs, out: OutInfo): TypedArray {
  const r = takeArray(out.dtype, sizeOf(out.shape), false) as Float32Array | Float64Array;
  (normal ? fillNormal : fillUniform)(r, a.key, a.counter);
  return r;
}

const unary = Object.fromEntries(UNARY_OPS.map((op) => [op, (i: TensorInfo[], _a: unknown, o: OutInfo) => unaryKernel(op, i, o)]));
const binary = Object.fromEntries(BINARY_OPS.map((op) => [op, (i: TensorInfo[], _a: unknown, o: OutInfo) => binaryKernel(op, i, o)]));

const kernels: KernelTable = {
  ...(unary as Pick<KernelTable, (typeof UNARY_OPS)[number]>),
  ...(binary as Pick<KernelTable, (typeof BINARY_OPS)[number]>),
  where: (i, _a, o) => whereKernel(i, o),
  binaryScalar: binaryScalarKernel,
  whereScalar: whereScalarKernel,
  cast: (i, _a, o) => castKernel(i, o),
  copy: (i, _a, o) => copyKernel(i, o),
  sum: (i, a, o) => reduceKernel('sum', i, a, o),
  prod: (i, a, o) => reduceKernel('prod', i, a, o),
  max: (i, a, o) => reduceKernel('max', i, a, o),
  min: (i, a, o) => reduceKernel('min', i, a, o),
  argmax: (i, a, o) => argReduceKernel('argmax', i, a, o),
  argmin: (i, a, o) => argReduceKernel('argmin', i, a, o),
  cumsum: (i, a, o) => rowKernel('cumsum', i, a, o),
  softmax: (i, a, o) => rowKernel('softmax', i, a, o),
  logSoftmax: (i, a, o) => rowKernel('logSoftmax', i, a, o),
  layerNorm: layerNormKernel,
  layerNormGradInput: layerNormGradInputKernel,
  matmul: (i, _a, o) => matmulKernel(i, o),
  conv2d: conv2dKernel,
  conv2dGradInput: conv2dGradInputKernel,
  conv2dGradWeight: conv2dGradWeightKernel,
  maxPool2dIndices: maxPool2dIndicesKernel,
  gather: gatherKernel,
  scatterAdd: scatterAddKernel,
  argsort: argsortKernel,
  cat: catKernel,
  sliceScatter: sliceScatterKernel,
  full: (_i, a, o) => takeArray(o.dtype, sizeOf(o.shape), false).fill(a.value),
  arange: (_i, a, o) => {
    const r = takeArray(o.dtype, a.n, false);
    for (let k = 0; k < a.n; k++) r[k] = a.start + k * a.step;
    return r;
  },
  randomUniform: (_i, a, o) => randomKernel(false, a, o),
  randomNormal: (_i, a, o) => randomKernel(true, a, o),
};

const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** The Adam update in one pass over float32 arrays (contiguous views: element i at offset + i). */
function adamStep(p: TensorInfo, g: TensorInfo, m: TensorInfo, v: TensorInfo, h: AdamHyper): boolean {
  const n = sizeOf(p.shape);
  const [pa, ga, ma, va] = [p, g, m, v].map((t) => (t.data as Float32Array).subarray(t.offset, t.offset + n));
  const { beta1: b1, beta2: b2, stepSize, sqrtBc2, eps, decay } = h;
  for (let i = 0; i < n; i++) {
    const gi = ga[i];
    const mi = (ma[i] = b1 * ma[i] + (1 - b1) * gi);
    const vi = (va[i] = b2 * va[i] + (1 - b2) * gi * gi);
    pa[i] = decay * pa[i] - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
  return true;
}

/** The CPU backend: TypedArray storage, synchronous kernels. Registered by default as 'cpu'. */
export const cpuBackend: Backend = {
  name: 'cpu',
  kernels,
  dtypes: DTYPES,
  upload: (values) => values.slice(),
  read: async (x) => contiguousData<TypedArray>(x).slice(),
  readSync: (x) => contiguousData<TypedArray>(x).slice(),
  assign: assignKernel,
  free: recycle,
  byteLength: (data) => (data as TypedArray).byteLength,
  adamStep,
  customKernels: 'cpu',
};
