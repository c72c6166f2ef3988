import type { CharTrainOptions } from '../char-lm.js';
import { TRAIN_OPTIONS, num, numIn, pick, seed, text } from './args.js';
import type { OptionSpec, OptionValues } from './task.js';

/** The options of the character-level LM recipe (char-lm.ts) that gpt-char and mamba-char share, with a task's defaults. */
export function charTrainOptionSpecs(D: CharTrainOptions): Record<string, OptionSpec> {
  return {
    steps: { ...TRAIN_OPTIONS.steps, help: 'optimizer steps (the cosine decay ends there)', default: String(D.steps) },
    'batch-size': { ...TRAIN_OPTIONS['batch-size'], help: 'windows of --block-size characters per step', default: String(D.batchSize) },
    lr: { ...TRAIN_OPTIONS.lr, help: "AdamW's peak learning rate", default: String(D.lr) },
    out: { ...TRAIN_OPTIONS.out, default: D.out },
    ...pick(TRAIN_OPTIONS, 'resume'),
    seed: { ...TRAIN_OPTIONS.seed, help: 'initial weights (seed), batches (seed + 1), samples (seed)' },
    limit: { ...TRAIN_OPTIONS.limit, help: 'only the first N characters of the book (quick checks, tests)' },
    'block-size': { type: 'string', help: 'context length in characters', default: String(D.blockSize) },
    'min-lr': { type: 'string', help: 'learning rate at the end of the cosine decay', default: String(D.minLr) },
    warmup: { type: 'string', help: 'steps of linear warmup (fewer than --steps)', default: `${D.warmup} (at most steps - 1)` },
    'weight-decay': { type: 'string', help: "AdamW's weight decay on matrices and embeddings", default: String(D.weightDecay) },
    'eval-interval': { type: 'string', help: 'steps between loss estimates, samples and checkpoints', default: String(D.evalInterval) },
    'eval-iters': { type: 'string', help: 'batches behind each loss estimate', default: String(D.evalIters) },
  };
}

/** The shared options' values from the command line. */
export function charTrainOptions(v: OptionValues, D: CharTrainOptions, device: string): CharTrainOptions {
  const steps = num(v, 'steps', D.steps, true);
  return {
    steps,
    batchSize: num(v, 'batch-size', D.batchSize, true),
    blockSize: num(v, 'block-size', D.blockSize, true),
    lr: num(v, 'lr', D.lr),
    minLr: numIn(v, 'min-lr', D.minLr, 0, Infinity),
    warmup: numIn(v, 'warmup', Math.min(D.warmup, steps - 1), 0, steps, true),
    weightDecay: numIn(v, 'weight-decay', D.weightDecay, 0, Infinity),
    gradClip: D.gradClip,
    evalInterval: num(v, 'eval-interval', D.evalInterval, true),
    evalIters: num(v, 'eval-iters', D.evalIters, true),
    device,
    out: text(v, 'out', D.out),
    resume: v.resume === true,
    seed: seed(v),
    limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
  };
}
