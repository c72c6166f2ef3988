/**
 * @dl/tensor: N-dimensional tensors, ops, devices, the CPU backend, counter-based RNG, memory
 * scopes, typed errors and package-defined ops. What backends and the higher @dl packages build on
 * (storage, kernel dispatch, the primitive table) is in `@dl/tensor/internal`.
 */
export { Tensor, type Scalar, type TensorLike } from './tensor.js';
export * from './ops/index.js';
export {
  registerBackend,
  getBackend,
  hasBackend,
  setDefaultDevice,
  getDefaultDevice,
  type Backend,
} from './backend.js';
export {
  addDispatchListener,
  isRecording,
  type DispatchArgs,
  type DispatchListener,
  type DispatchListenerOptions,
} from './dispatch.js';
export {
  defineOp,
  wgslStorageType,
  wgslGrid,
  wgslWorkgroupSum,
  type CustomOp,
  type CustomOpDef,
  type CustomOpInfo,
  type CustomGradRule,
  type CustomGradCtx,
  type DifferentiableOpDef,
  type NonDifferentiableOpDef,
  type HostInput,
  type KernelInput,
  type TensorMeta,
  type TupleOf,
  type WgslParam,
  type WgslPass,
  type WgslProgram,
} from './custom-op.js';
export { takeArray as cpuResultArray } from './cpu/pool.js';
// defined with defineOp at load, so kept out of ops/index.ts (which tensor.ts imports)
export { geluGrad, leakyReluGrad, reluGrad, siluGrad } from './ops/activation-grad.js';
export { leakyRelu } from './ops/leaky-relu.js';
export { softmaxGrad, type SoftmaxGradAttrs } from './ops/softmax-grad.js';
export { foreachNorm } from './ops/foreach-norm.js';
export * from './errors.js';
export * from './dtype.js';
export { broadcastShapes, contiguousStrides, isContiguousLayout, normDim, normDims, sizeOf, shapesEqual, type Shape } from './shape.js';
export { memory, scope, keep, type MemoryInfo } from './memory.js';
export { manualSeed, philox, fillUniform, fillNormal, generator, Generator, type GeneratorState } from './rng.js';
export { cpuBackend } from './cpu/backend.js';
export { setCpuKernels, kernelChoice, setNumThreads, getNumThreads, initThreads, type CpuKernels } from './cpu/select.js';
