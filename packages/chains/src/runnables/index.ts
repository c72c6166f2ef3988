/**
 * The runnables. Other modules import Runnable from here, not from base.ts: loading this file
 * registers the combinators' classes with Runnable (see base.ts).
 */
export { Runnable, collectStream, isCumulativeStream, type RunnableFunc, type RunnableMapLike, type RunnableLike, type BatchOptions } from './base.js';
export { RunnableBinding } from './binding.js';
export { RunnableRetry, backoffDelay, type RetryOptions, type BackoffOptions } from './retry.js';
export { RunnableWithFallbacks, type FallbackOptions } from './fallbacks.js';
export { RunnableLambda } from './lambda.js';
export { RunnableParallel, RunnableMap } from './parallel.js';
export { coerceToRunnable } from './coerce.js';
export { RunnableSequence } from './sequence.js';
export { RunnablePassthrough, RunnableAssign } from './passthrough.js';
export { RunnableBranch } from './branch.js';
export { RunContext, mergeConfigs, type RunnableConfig, type CallbackHandler, type RunInfo, type RunType } from './config.js';
export { concat, sleep, raceAbort, throwIfAborted, mapConcurrent, mergeIterators } from './utils.js';
