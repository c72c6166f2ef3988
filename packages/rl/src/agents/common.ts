import type { EpisodeStatistics } from '../wrappers.js';
import type { Info } from '../env.js';

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
