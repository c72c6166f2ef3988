import type { Env } from './env.js';
import { Acrobot } from './envs/acrobot.js';
import { CartPole } from './envs/cartpole.js';
import { GridWorld } from './envs/grid-world.js';
import { MountainCar } from './envs/mountain-car.js';
import { RLValueError } from './errors.js';
import { TimeLimit } from './wrappers.js';

/** The registered env ids, with Gymnasium's time limits. */
export const ENV_SPECS = {
  'CartPole-v1': { maxEpisodeSteps: 500, rewardThreshold: 475, make: () => new CartPole() },
  'MountainCar-v0': { maxEpisodeSteps: 200, rewardThreshold: -110, make: () => new MountainCar() },
  'Acrobot-v1': { maxEpisodeSteps: 500, rewardThreshold: -100, make: () => new Acrobot() },
  'GridWorld-v0': { maxEpisodeSteps: 100, rewardThreshold: 0.7, make: () => new GridWorld() },
} as const;

export type EnvId = keyof typeof ENV_SPECS;

/**
 * An env by id with its TimeLimit, as `gym.make` builds it (`CartPole-v1` truncates at 500 steps).
 *
 *   const env = make('CartPole-v1');
 *   env.reset({ seed: 42 });
 */
export function make(id: 'GridWorld-v0'): Env<number, number>;
export function make(id: Exclude<EnvId, 'GridWorld-v0'>): Env<Float32Array, number>;
export function make(id: EnvId): Env<Float32Array, number> | Env<number, number>;
export function make(id: EnvId): Env<Float32Array, number> | Env<number, number> {
  const spec = ENV_SPECS[id];
  if (!spec) throw new RLValueError('make', `unknown env id '${String(id)}'; known: ${Object.keys(ENV_SPECS).join(', ')}`);
  return new TimeLimit<Float32Array | number, number>(spec.make() as Env<Float32Array | number, number>, spec.maxEpisodeSteps) as Env<Float32Array, number> | Env<number, number>;
}
