import type { Env, Info } from './env.js';
import { RLValueError } from './errors.js';
import { Box, Discrete } from './spaces.js';

export interface VectorStepResult {
  /** [numEnvs, obsSize] row-major; a finished env's row already holds its next episode's first observation */
  observations: Float32Array;
  rewards: Float64Array;
  terminated: boolean[];
  truncated: boolean[];
  /**
   * One info per env. Where an episode ended this step, `finalObservation` holds its last
   * observation (Float32Array) and `finalInfo` the info of that last step (with `episode` under
   * RecordEpisodeStatistics); the reset's info is merged in as well.
   */
  infos: Info[];
}

/**
 * Steps `n` copies of an env in turn, in one process, with same-step autoreset (as Gymnasium 0.29
 * and Stable-Baselines3): when a copy terminates or truncates, it is reset in the same `step()` call,
 * its row of `observations` is the new episode's first observation, and the last observation of the
 * finished episode is `infos[i].finalObservation`. So every (obs, action, reward, next obs) of a step
 * is a real transition, and a rollout needs no masking. `reset({ seed })` seeds copy i with seed + i.
 *
 *   const envs = new SyncVectorEnv(Array.from({ length: 8 }, () => () => make('CartPole-v1')));
 *   let { observations } = envs.reset({ seed: 0 });     // Float32Array(8 * 4)
 *   const r = envs.step(new Int32Array(8).fill(1));
 */
export class SyncVectorEnv {
  readonly envs: Env<Float32Array, number>[];
  readonly numEnvs: number;
  /** one copy's observation space */
  readonly singleObservationSpace: Box;
  /** one copy's action space */
  readonly singleActionSpace: Discrete;
  readonly obsSize: number;

  constructor(envFns: readonly (() => Env<Float32Array, number>)[]) {
    if (!envFns.length) throw new RLValueError('SyncVectorEnv', 'needs at least one env');
    this.envs = envFns.map((f) => f());
    this.numEnvs = this.envs.length;
    const o = this.envs[0].observationSpace;
    const a = this.envs[0].actionSpace;
    if (!(o instanceof Box) || !(a instanceof Discrete)) throw new RLValueError('SyncVectorEnv', `needs Box observations and Discrete actions, got ${o} and ${a}`);
    this.singleObservationSpace = o;
    this.singleActionSpace = a;
    this.obsSize = o.size;
  }

  reset({ seed }: { seed?: number } = {}): { observations: Float32Array; infos: Info[] } {
    const observations = new Float32Array(this.numEnvs * this.obsSize);
    const infos = this.envs.map((env, i) => {
      const r = env.reset(seed === undefined ? {} : { seed: seed + i });
      observations.set(r.observation, i * this.obsSize);
      return r.info;
    });
    return { observations, infos };
  }

  step(actions: ArrayLike<number>): VectorStepResult {
    if (actions.length !== this.numEnvs) throw new RLValueError('SyncVectorEnv.step', `expected ${this.numEnvs} actions, got ${actions.length}`);
    const observations = new Float32Array(this.numEnvs * this.obsSize);
    const rewards = new Float64Array(this.numEnvs);
    const terminated: boolean[] = [];
    const truncated: boolean[] = [];
    const infos: Info[] = [];
    for (let i = 0; i < this.numEnvs; i++) {
      const env = this.envs[i];
      const r = env.step(actions[i]);
      rewards[i] = r.reward;
      terminated.push(r.terminated);
      truncated.push(r.truncated);
      if (r.terminated || r.truncated) {
        const next = env.reset();
        observations.set(next.observation, i * this.obsSize);
        infos.push({ ...next.info, finalObservation: r.observation, finalInfo: r.info });
      } else {
        observations.set(r.observation, i * this.obsSize);
        infos.push(r.info);
      }
    }
    return { observations, rewards, terminated, truncated, infos };
  }
}
