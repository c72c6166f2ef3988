/**
 * @dl/layers: Module, layers, losses, optimizers, LR schedules, init, safetensors, checkpoints,
 * datasets and data loaders, transforms, a training loop and metrics.
 */
export { Module, param, isParameter, StateDictError, type LoadResult, type StateDict } from './module.js';
export { Linear, Identity, Embedding, type LinearOptions, type EmbeddingOptions } from './linear.js';
export { Conv1d, Conv2d, ConvTranspose2d, type ConvLayerOptions, type ConvTransposeLayerOptions } from './conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Unflatten, Upsample, type PoolLayerOptions, type UpsampleOptions } from './pool.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm, GroupNorm, type BatchNormOptions, type LayerNormOptions, type GroupNormOptions } from './norm.js';
export { ReLU, GELU, SiLU, Sigmoid, Tanh, Softplus, LeakyReLU, ELU, Softmax, LogSoftmax, Dropout, dropout, type DropoutOptions } from './activation.js';
export { Sequential, ModuleList, ModuleDict, type Layer } from './container.js';
export { MultiheadAttention, type MultiheadAttentionOptions, type AttentionCallOptions } from './attention.js';
export {
  mseLoss,
  l1Loss,
  smoothL1Loss,
  crossEntropy,
  nllLoss,
  binaryCrossEntropy,
  bceWithLogits,
  klDivergence,
  type Reduction,
  type CrossEntropyOptions,
  type NllOptions,
  type BceOptions,
} from './loss.js';
export * as init from './init.js';
export * from './optim/index.js';
export { LRScheduler, StepLR, LinearWarmup, CosineWithWarmup, ReduceLROnPlateau, type PlateauOptions } from './schedule.js';
export {
  parseSafetensors,
  serializeSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
  loadSafetensors,
  writeFileAtomic,
  removeStaleTempFiles,
  SafetensorsError,
  MAX_HEADER_BYTES,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsErrorCode,
  type ParsedSafetensors,
} from './safetensors.js';
export { saveCheckpoint, loadCheckpoint, serializeCheckpoint, restoreCheckpoint, type CheckpointContents } from './checkpoint.js';
export { TensorDataset, DataLoader, defaultCollate, seededPermutation, type Dataset, type DataLoaderOptions } from './data.js';
export { compose, normalize, randomCrop, randomHorizontalFlip, type Transform } from './transforms.js';
export { accuracy, correctCount, RunningMean, EMA } from './metrics.js';
export { Normal, Categorical, type CategoricalParams, type SampleOptions } from './distributions.js';
export { sampleLogits, argmax, checkSampling, type SamplingOptions } from './sampling.js';
export { fit, evaluate, type FitOptions, type TrainProgress, type EpochEnd } from './train.js';
