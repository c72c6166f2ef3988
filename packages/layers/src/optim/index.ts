export { Optimizer, type BaseOptions, type OptimizerStateDict, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { clipGradNorm } from './clip.js';
