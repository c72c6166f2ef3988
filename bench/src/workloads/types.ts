import type * as tfns from '@tensorflow/tfjs-core';

/** One training step of a model, ready to run repeatedly (inputs and optimizer made once). */
export interface Step {
  name: string;
  /** tokens one step trains on (language models): the table adds tokens/s */
  tokens?: number;
  /** environment steps one run takes (reinforcement learning): the table adds steps/s */
  envSteps?: number;
  /** why the step is not timed on WebGPU (it reads results back synchronously every env step) */
  cpuOnly?: string;
  run(): void;
}

/**
 * A training workload of `pnpm bench`: the @dl step and the same step in PyTorch (a script in
 * bench/torch/ that prints `{"ms": median}`), and in TensorFlow.js where bench/ has one.
 */
export interface Workload {
  /** short id, as in `pnpm bench -- --only mnist-cnn` (the `dl train` task's name where there is one) */
  id: string;
  make(): Step;
  /** file in bench/torch/ timing the same model, batch and optimizer */
  torch: string;
  /** the same step in TensorFlow.js, or why there is none */
  tfjs: ((tf: typeof tfns) => () => Promise<void>) | string;
}
