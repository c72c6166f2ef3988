import { DLError } from '@dl/tensor';
import { checkChoice, checkInt, checkNumber, show } from './args.js';
import type { BaseOptions, Optimizer } from './optim/optimizer.js';

/**
 * Base of the closed-form schedules: lr = baseLr * factor(t) for each param group, where t counts
 * calls to step(). Subclass constructors end with `this.start()`, which applies factor(0).
 *
 *   const sched = new CosineWithWarmup(opt, { warmupSteps: 100, totalSteps: 5000 });
 *   for (...) { opt.step(); sched.step(); }
 */
export abstract class LRScheduler {
  readonly baseLrs: number[];
  /** number of step() calls so far */
  lastStep = 0;

  constructor(readonly optimizer: Optimizer<BaseOptions>) {
    // as PyTorch's initial_lr: the first schedule records each group's lr, and that record travels
    // with the optimizer's stateDict, so a schedule made after loading a checkpoint starts from it
    const groups = optimizer.paramGroups as (BaseOptions & { initialLr?: number })[];
    for (const g of groups) g.initialLr ??= g.lr;
    this.baseLrs = groups.map((g) => g.initialLr!);
  }

  /** Applies factor(0); called at the end of each subclass constructor, once its fields exist. */
  protected start(): void {
    this.lastStep = 0;
    this.#apply();
  }

  /** Multiplier of the base learning rate after t steps. */
  abstract factor(t: number): number;

  step(): void {
    this.lastStep++;
    this.#apply();
  }

  #apply(): void {
    const f = this.factor(this.lastStep);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.baseLrs[i] * f));
  }

  /** Current learning rate of each param group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): { lastStep: number; baseLrs: number[] } {
    return { lastStep: this.lastStep, baseLrs: [...this.baseLrs] };
  }
  loadStateDict(sd: { lastStep: number; baseLrs?: number[] }): void {
    this.lastStep = sd.lastStep;
    if (sd.baseLrs) sd.baseLrs.forEach((v, i) => (this.baseLrs[i] = v));
    this.#apply();
  }
}

/**
 * Multiplies the learning rate by gamma every stepSize steps (PyTorch's StepLR).
 *
 *   new StepLR(opt, { stepSize: 30, gamma: 0.1 });
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<BaseOptions>, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }) {
    super(optimizer);
    checkInt('StepLR', 'stepSize', stepSize, 1);
    checkNumber('StepLR', 'gamma', gamma);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.start();
  }
  factor(t: number): number {
    return this.gamma ** Math.floor(t / this.stepSize);
  }
}

/**
 * Ramps the learning rate linearly from startFactor * lr to lr over warmupSteps, then holds it
 * (PyTorch's LinearLR with end_factor 1).
 *
 *   new LinearWarmup(opt, { warmupSteps: 500 });
 */
export class LinearWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly startFactor: number;
  constructor(optimizer: Optimizer<BaseOptions>, { warmupSteps, startFactor = 1 / 3 }: { warmupSteps: number; startFactor?: number }) {
    super(optimizer);
    checkInt('LinearWarmup', 'warmupSteps', warmupSteps);
    // PyTorch's LinearLR: 0 < start_factor <= 1
    checkNumber('LinearWarmup', 'startFactor', startFactor, 0, 1, '(]');
    this.warmupSteps = warmupSteps;
    this.startFactor = startFactor;
    this.start();
  }
  factor(t: number): number {
    if (this.warmupSteps === 0 || t >= this.warmupSteps) return 1;
    return this.startFactor + ((1 - this.startFactor) * t) / this.warmupSteps;
  }
}

/**
 * Linear warmup from 0 over warmupSteps, then cosine decay to minLr at totalSteps (the schedule
 * of most transformer recipes).
 *
 *   new CosineWithWarmup(opt, { warmupSteps: 100, totalSteps: 5000, minLrRatio: 0.1 });
 */
export class CosineWithWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly minLrRatio: number;
  constructor(optimizer: Optimizer<BaseOptions>, { warmupSteps, totalSteps, minLrRatio = 0 }: { warmupSteps: number; totalSteps: number; minLrRatio?: number }) {
    super(optimizer);
    checkInt('CosineWithWarmup', 'warmupSteps', warmupSteps);
    checkInt('CosineWithWarmup', 'totalSteps', totalSteps, 1);
    checkNumber('CosineWithWarmup', 'minLrRatio', minLrRatio, 0, 1);
    if (!(totalSteps > warmupSteps)) {
      throw new DLError('CosineWithWarmup', `need 0 <= warmupSteps < totalSteps, got warmupSteps=${warmupSteps} totalSteps=${totalSteps}`);
    }
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
    this.minLrRatio = minLrRatio;
    this.start();
  }
  factor(t: number): number {
    if (t < this.warmupSteps) return t / this.warmupSteps;
    const progress = Math.min(1, (t - this.warmupSteps) / (this.totalSteps - this.warmupSteps));
    return this.minLrRatio + (1 - this.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}

export interface PlateauOptions {
  /** 'min' for losses, 'max' for accuracies */
  mode?: 'min' | 'max';
  factor?: number;
  /** epochs with no improvement before reducing */
  patience?: number;
  /** relative improvement that counts */
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number;
  eps?: number;
}

/**
 * Reduces the learning rate by `factor` when a metric stops improving for `patience` calls,
 * as PyTorch's ReduceLROnPlateau.
 *
 *   const plateau = new ReduceLROnPlateau(opt, { patience: 2 });
 *   plateau.step(valLoss); // once per epoch
 */
export class ReduceLROnPlateau {
  readonly opts: Required<PlateauOptions>;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;

  constructor(
    readonly optimizer: Optimizer<BaseOptions>,
    opts: PlateauOptions = {},
  ) {
    this.opts = { mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8, ...opts };
    const o = this.opts;
    checkChoice('ReduceLROnPlateau', 'mode', o.mode, ['min', 'max']);
    checkChoice('ReduceLROnPlateau', 'thresholdMode', o.thresholdMode, ['rel', 'abs']);
    // PyTorch refuses factor >= 1; a negative one would make the learning rate negative
    checkNumber('ReduceLROnPlateau', 'factor', o.factor, 0, 1, '[)');
    checkInt('ReduceLROnPlateau', 'patience', o.patience);
    checkInt('ReduceLROnPlateau', 'cooldown', o.cooldown);
    for (const k of ['threshold', 'minLr', 'eps'] as const) checkNumber('ReduceLROnPlateau', k, o[k]);
    this.best = this.opts.mode === 'min' ? Infinity : -Infinity;
  }

  #better(a: number): boolean {
    const { mode, threshold, thresholdMode } = this.opts;
    if (mode === 'min') return thresholdMode === 'rel' ? a < this.best * (1 - threshold) : a < this.best - threshold;
    return thresholdMode === 'rel' ? a > this.best * (1 + threshold) : a > this.best + threshold;
  }

  step(metric: number): void {
    // NaN is a number: as in PyTorch it never counts as an improvement
    if (typeof metric !== 'number') throw new DLError('ReduceLROnPlateau.step', `metric must be a number, got ${show(metric)}`);
    if (this.#better(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.opts.patience) {
      for (const g of this.optimizer.paramGroups) {
        const next = Math.max(g.lr * this.opts.factor, this.opts.minLr);
        if (g.lr - next > this.opts.eps) g.lr = next;
      }
      this.cooldownCounter = this.opts.cooldown;
      this.numBadEpochs = 0;
    }
  }

  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}
