import { noGrad } from '@dl/autograd';
import type { Module } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import type { Env, Info } from '../env.js';
import type { EpisodeStatistics } from '../wrappers.js';
import { evaluate, type Policy } from './policy.js';

/** What an agent's `onProgress` callback receives, every few thousand env steps and at the end. */
export interface RLProgress {
  /** env steps taken so far (all copies of a vector env together) */
  step: number;
  totalSteps: number;
  /** episodes finished so far */
  episodes: number;
  /** mean return of the last (up to) 20 finished episodes; NaN before the first */
  meanReturn: number;
  /** env steps per second of wall time since training started, updates included */
  stepsPerSec: number;
  /** the last update's losses by name (`loss`, `pgLoss`, `vLoss`, `entropy`, `qLoss`, ...) */
  losses: Record<string, number>;
}

/** The learning curve an agent's train function returns: one entry per finished episode. */
export interface LearningCurve {
  /** each episode's return, in the order they ended */
  returns: number[];
  /** the global env step at which each episode ended */
  steps: number[];
}

/**
 * A value moving linearly from `start` to `end` over `duration` steps, then held
 * (CleanRL's linear_schedule, SB3's exploration schedule).
 *
 *   linearSchedule(1, 0.05, 10_000, 2_500); // 0.7625
 */
export function linearSchedule(start: number, end: number, duration: number, t: number): number {
  return t >= duration ? end : start + (end - start) * Math.max(t / duration, 0);
}

/** Records the `episode` statistics RecordEpisodeStatistics put into an info (or its finalInfo). */
export function recordEpisode(curve: LearningCurve, info: Info, step: number): boolean {
  const ep = (info.finalInfo as Info | undefined)?.episode ?? info.episode;
  if (!ep) return false;
  curve.returns.push((ep as EpisodeStatistics).r);
  curve.steps.push(step);
  return true;
}

/** Mean of the last n values (NaN for none). */
export function recentMean(values: readonly number[], n = 20): number {
  const tail = values.slice(-n);
  return tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN;
}

/** Calls `onProgress` at most every `every` steps and always at the end. */
export class ProgressReporter {
  readonly #start = performance.now();
  #next: number;
  constructor(
    readonly totalSteps: number,
    readonly every: number,
    readonly onProgress?: (p: RLProgress) => void,
  ) {
    this.#next = every;
  }
  report(step: number, curve: LearningCurve, losses: Record<string, number>, force = false): void {
    if (!this.onProgress || (!force && step < this.#next)) return;
    while (this.#next <= step) this.#next += this.every;
    const sec = (performance.now() - this.#start) / 1000;
    this.onProgress({ step, totalSteps: this.totalSteps, episodes: curve.returns.length, meanReturn: recentMean(curve.returns), stepsPerSec: step / Math.max(sec, 1e-9), losses });
  }
}

/** Periodic greedy evaluation during training, keeping the best weights (SB3's EvalCallback with best_model_save_path). */
export interface EvalConfig {
  /** env steps between evaluations; 0 turns them off (default 0) */
  evalEvery?: number;
  /** greedy episodes per evaluation (default 10) */
  evalEpisodes?: number;
}

/** One periodic evaluation: the training step it ran at and its mean greedy return. */
export interface EvalPoint {
  step: number;
  mean: number;
}

/**
 * Runs `evaluate` every `every` training steps on its own env (seeds 10^6 + k, apart from the
 * training seeds), remembers the weights of the best mean (the later one on ties), and puts them
 * back with `restoreBest()`. Evaluation steps are counted in `evalSteps`, not in the training steps.
 */
export class BestPolicyTracker {
  best = -Infinity;
  bestStep = 0;
  evalSteps = 0;
  readonly evaluations: EvalPoint[] = [];
  #next: number;
  #snapshot: Record<string, Tensor> | null = null;
  readonly #env: Env<Float32Array, number>;

  constructor(
    readonly net: Module & Policy,
    makeEnv: () => Env<Float32Array, number>,
    readonly every: number,
    readonly episodes: number,
  ) {
    this.#next = every;
    this.#env = makeEnv();
  }

  check(step: number, force = false): void {
    if (this.every <= 0 || (!force && step < this.#next)) return;
    while (this.#next <= step) this.#next += this.every;
    const r = evaluate(this.net, this.#env, { episodes: this.episodes, seed: 1_000_000 + this.evaluations.length * this.episodes });
    this.evalSteps += r.lengths.reduce((a, b) => a + b, 0);
    this.evaluations.push({ step, mean: r.mean });
    if (r.mean >= this.best) {
      this.best = r.mean;
      this.bestStep = step;
      for (const t of Object.values(this.#snapshot ?? {})) t.dispose();
      this.#snapshot = noGrad(() => Object.fromEntries(Object.entries(this.net.stateDict()).map(([k, t]) => [k, t.detach().clone()])));
    }
  }

  /** Loads the best weights seen (no-op without evaluations). */
  restoreBest(): void {
    if (this.#snapshot) this.net.loadStateDict(this.#snapshot);
  }
}
