import type { Env } from '../env.js';
import { RLValueError } from '../errors.js';
import { Rng } from '../rng.js';
import { Discrete } from '../spaces.js';
import { linearSchedule, type LearningCurve } from './common.js';
import type { Policy } from './policy.js';

/**
 * A table of action values Q[s, a] over Discrete states and actions; acts greedily (the lowest
 * action index among ties).
 *
 *   const table = new QTable(16, 4);
 *   table.act(0); // 0 while every value is 0
 */
export class QTable implements Policy<number> {
  /** Q[s * numActions + a] */
  readonly q: Float64Array;
  constructor(
    readonly numStates: number,
    readonly numActions: number,
  ) {
    this.q = new Float64Array(numStates * numActions);
  }
  get(s: number, a: number): number {
    return this.q[s * this.numActions + a];
  }
  /** max_a Q[s, a] */
  max(s: number): number {
    let m = -Infinity;
    for (let a = 0; a < this.numActions; a++) m = Math.max(m, this.get(s, a));
    return m;
  }
  act(s: number): number {
    let best = 0;
    for (let a = 1; a < this.numActions; a++) if (this.get(s, a) > this.get(s, best)) best = a;
    return best;
  }
}

export interface QLearningConfig {
  /** training episodes (default 2000) */
  episodes?: number;
  /** step size (default 0.1) */
  alpha?: number;
  /** discount (default 0.99) */
  gamma?: number;
  /** epsilon falls linearly from startE to endE over explorationFraction of the episodes (1, 0.05, 0.5) */
  startE?: number;
  endE?: number;
  explorationFraction?: number;
  /** seeds the env and the exploration (default 1) */
  seed?: number;
}

/**
 * Tabular Q-learning (Watkins 1989): epsilon-greedy episodes (ties broken at random), and after
 * each step Q[s, a] += alpha * (r + gamma * max_a' Q[s', a'] - Q[s, a]), with no bootstrap from a
 * terminal s'.
 *
 *   const { table } = trainQLearning(make('GridWorld-v0'), { episodes: 500 });
 *   evaluate(table, make('GridWorld-v0'), { episodes: 1 }).mean; // 1: the goal is reached
 */
export function trainQLearning(env: Env<number, number>, config: QLearningConfig = {}): { table: QTable; curve: LearningCurve } {
  const { episodes = 2000, alpha = 0.1, gamma = 0.99, startE = 1, endE = 0.05, explorationFraction = 0.5, seed = 1 } = config;
  const os = env.observationSpace;
  const as = env.actionSpace;
  if (!(os instanceof Discrete) || !(as instanceof Discrete)) throw new RLValueError('trainQLearning', `needs Discrete observations and actions, got ${os} and ${as}`);
  const table = new QTable(os.n, as.n);
  const rng = new Rng(seed);
  const curve: LearningCurve = { returns: [], steps: [] };
  let step = 0;
  for (let e = 0; e < episodes; e++) {
    const epsilon = linearSchedule(startE, endE, explorationFraction * episodes, e);
    let s = env.reset(e === 0 ? { seed } : {}).observation - os.start;
    let total = 0;
    for (;;) {
      let a: number;
      if (rng.uniform() < epsilon) a = rng.integer(as.n);
      else {
        const best = table.max(s);
        const ties = Array.from({ length: as.n }, (_, i) => i).filter((i) => table.get(s, i) === best);
        a = ties[rng.integer(ties.length)];
      }
      const r = env.step(a + as.start);
      const s2 = r.observation - os.start;
      const target = r.reward + (r.terminated ? 0 : gamma * table.max(s2));
      table.q[s * as.n + a] += alpha * (target - table.get(s, a));
      total += r.reward;
      step++;
      s = s2;
      if (r.terminated || r.truncated) break;
    }
    curve.returns.push(total);
    curve.steps.push(step);
  }
  return { table, curve };
}
