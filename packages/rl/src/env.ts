import { InvalidActionError, NonFiniteObservationError, ResetNeededError, RLValueError } from './errors.js';
import { Rng } from './rng.js';
import type { Space } from './spaces.js';

/** An RGB image: `data` holds height * width * 3 bytes, row by row (HWC, as Gymnasium's rgb_array). */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Extra information of a reset or step; wrappers add keys (`episode` from RecordEpisodeStatistics). */
export type Info = Record<string, unknown>;

/**
 * `reset()`'s argument, as Gymnasium's `reset(seed=..., options=...)`. `seed` reseeds the env's
 * random stream (so the same seed gives the same episode); `options` are env-specific (the classic
 * control envs take `low`/`high` reset bounds as Gymnasium does, and `state` to start from a given
 * state).
 */
export interface ResetOptions {
  seed?: number;
  options?: Record<string, unknown>;
}

export interface ResetResult<O> {
  observation: O;
  info: Info;
}

export interface StepResult<O> {
  observation: O;
  reward: number;
  /** the episode reached a terminal state of the task (pole fell, goal reached) */
  terminated: boolean;
  /** the episode was cut short from outside the task (a time limit) */
  truncated: boolean;
  info: Info;
}

/**
 * The Gymnasium environment API, camelCased. Envs and wrappers implement it.
 *
 *   const env = make('CartPole-v1');
 *   let { observation } = env.reset({ seed: 0 });
 *   const { reward, terminated, truncated } = env.step(env.actionSpace.sample());
 */
export interface Env<O = Float32Array, A = number> {
  readonly observationSpace: Space<O>;
  readonly actionSpace: Space<A>;
  reset(opts?: ResetOptions): ResetResult<O>;
  step(action: A): StepResult<O>;
  render(): RgbFrame;
  /** the innermost env, below every wrapper */
  readonly unwrapped: Env<O, A>;
  /** a short name for messages (`CartPole`, `TimeLimit<CartPole>`) */
  readonly name: string;
}

/** Throws NonFiniteObservationError if an observation (a Float32Array or a number) holds NaN or infinity. */
export function checkFinite(op: string, observation: unknown, reward?: number): void {
  if (typeof observation === 'number') {
    if (!Number.isFinite(observation)) throw new NonFiniteObservationError(op, `observation is ${observation}`);
  } else if (observation instanceof Float32Array || observation instanceof Float64Array) {
    for (let i = 0; i < observation.length; i++) {
      if (!Number.isFinite(observation[i])) throw new NonFiniteObservationError(op, `observation[${i}] is ${observation[i]} in [${Array.from(observation)}]`);
    }
  }
  if (reward !== undefined && !Number.isFinite(reward)) throw new NonFiniteObservationError(op, `reward is ${reward}`);
}

/**
 * What every built-in env shares, so each env file holds only its dynamics: a seeded random stream
 * (`this.npRandom`, reseeded by `reset({ seed })`, randomly seeded on a first unseeded reset as in
 * Gymnasium), and the checks Gymnasium only asserts or warns about, as typed errors: an action
 * outside the action space (InvalidActionError), a step before reset or after the episode
 * terminated (ResetNeededError), a NaN or infinite observation or reward (NonFiniteObservationError).
 */
export abstract class BaseEnv<O = Float32Array, A = number> implements Env<O, A> {
  abstract readonly observationSpace: Space<O>;
  abstract readonly actionSpace: Space<A>;
  protected npRandom: Rng | null = null;
  #needsReset = true;
  #everReset = false;

  get unwrapped(): Env<O, A> {
    return this;
  }
  get name(): string {
    return this.constructor.name;
  }

  reset(opts: ResetOptions = {}): ResetResult<O> {
    if (opts.seed !== undefined) {
      this.npRandom = new Rng(opts.seed);
      // Gymnasium seeds the spaces separately; here they follow the env's seed so sample() repeats too
      this.actionSpace.seed(opts.seed);
    } else if (!this.npRandom) {
      this.npRandom = new Rng(Math.floor(Math.random() * 2 ** 32));
    }
    const observation = this.resetEnv(opts.options ?? {});
    checkFinite(`${this.name}.reset`, observation);
    this.#needsReset = false;
    this.#everReset = true;
    return { observation, info: {} };
  }

  step(action: A): StepResult<O> {
    if (this.#needsReset) {
      throw new ResetNeededError(`${this.name}.step`, this.#everReset ? 'the episode terminated; call reset() before stepping again' : 'call reset() before the first step');
    }
    if (!this.actionSpace.contains(action)) throw new InvalidActionError(`${this.name}.step`, `action ${String(action)} is not in ${this.actionSpace}`);
    const r = this.stepEnv(action);
    checkFinite(`${this.name}.step`, r.observation, r.reward);
    if (r.terminated || r.truncated) this.#needsReset = true;
    return r;
  }

  /** The random stream for the current episode (set by reset). */
  protected get rng(): Rng {
    if (!this.npRandom) throw new ResetNeededError(`${this.name}`, 'call reset() first');
    return this.npRandom;
  }

  protected abstract resetEnv(options: Record<string, unknown>): O;
  protected abstract stepEnv(action: A): StepResult<O>;
  abstract render(): RgbFrame;
}

/** Reads Gymnasium's `low`/`high` reset options (utils.maybe_parse_reset_bounds). */
export function resetBounds(op: string, options: Record<string, unknown>, low: number, high: number): [number, number] {
  const lo = options.low ?? low;
  const hi = options.high ?? high;
  if (typeof lo !== 'number' || typeof hi !== 'number' || !(lo <= hi)) {
    throw new RLValueError(op, `reset options low (${String(lo)}) and high (${String(hi)}) must be numbers with low <= high`);
  }
  return [lo, hi];
}

/** Reads a `state` reset option of `n` finite numbers, or returns null when absent. */
export function resetState(op: string, options: Record<string, unknown>, n: number): number[] | null {
  const s = options.state;
  if (s === undefined) return null;
  const arr = s instanceof Float32Array || s instanceof Float64Array || Array.isArray(s) ? Array.from(s as ArrayLike<unknown>) : null;
  if (!arr || arr.length !== n || !arr.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new RLValueError(op, `reset option state must hold ${n} finite numbers, got ${JSON.stringify(Array.isArray(s) || ArrayBuffer.isView(s) ? Array.from(s as ArrayLike<unknown>) : s)}`);
  }
  return arr as number[];
}
