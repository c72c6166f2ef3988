/**
 * @dl/tensor/internal: what backends and the higher @dl packages build on — storage, kernel
 * dispatch, raw views, the primitive table and the kernel interface. Model and application code
 * never needs it: everything a user calls is in the main entry (`@dl/tensor`), including
 * `defineOp` for package-defined kernels and `addDispatchListener` for profilers.
 *
 *   import { runKernel, type KernelTable } from '@dl/tensor/internal';
 */
export { hooks, fromHost, viewOf, alias, replaceStorage } from './tensor.js';
export { runKernel, runView, gradMode } from './dispatch.js';
export { Storage, created } from './memory.js';
export { offsetsOf } from './cpu/strided.js';
export type { KernelTable, Kernel, TensorInfo, OutInfo, AdamHyper } from './backend.js';
export * from './primitives.js';
export { WGSL_ERF } from './ops/wgsl-math.js';
