import { checkFinite, type Env, type Info, type ResetOptions, type ResetResult, type RgbFrame, type StepResult } from './env.js';
import { ResetNeededError, RLValueError } from './errors.js';
import { Box, type Space } from './spaces.js';

/**
 * An env around another one that passes everything through; subclasses override what they change
 * (gymnasium.Wrapper).
 */
export class Wrapper<O = Float32Array, A = number, InnerO = O> implements Env<O, A> {
  constructor(readonly env: Env<InnerO, A>) {}
  get observationSpace(): Space<O> {
    return this.env.observationSpace as unknown as Space<O>;
  }
  get actionSpace(): Space<A> {
    return this.env.actionSpace;
  }
  get unwrapped(): Env<O, A> {
    return this.env.unwrapped as unknown as Env<O, A>;
  }
  get name(): string {
    return `${this.constructor.name}<${this.env.name}>`;
  }
  reset(opts?: ResetOptions): ResetResult<O> {
    return this.env.reset(opts) as unknown as ResetResult<O>;
  }
  step(action: A): StepResult<O> {
    return this.env.step(action) as unknown as StepResult<O>;
  }
  render(): RgbFrame {
    return this.env.render();
  }
}

/**
 * Truncates episodes after `maxEpisodeSteps` steps (gymnasium.wrappers.TimeLimit): that step
 * returns `truncated: true`; stepping again without reset throws ResetNeededError.
 *
 *   const env = new TimeLimit(new CartPole(), 500); // what make('CartPole-v1') builds
 */
export class TimeLimit<O = Float32Array, A = number> extends Wrapper<O, A> {
  elapsedSteps = 0;
  #done = true;
  constructor(
    env: Env<O, A>,
    readonly maxEpisodeSteps: number,
  ) {
    super(env);
    if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps < 1) throw new RLValueError('TimeLimit', `maxEpisodeSteps must be a positive integer, got ${maxEpisodeSteps}`);
  }
  override reset(opts?: ResetOptions): ResetResult<O> {
    const r = this.env.reset(opts);
    this.elapsedSteps = 0;
    this.#done = false;
    return r;
  }
  override step(action: A): StepResult<O> {
    if (this.#done && this.elapsedSteps >= this.maxEpisodeSteps) {
      throw new ResetNeededError(`${this.name}.step`, `the episode was truncated at ${this.maxEpisodeSteps} steps; call reset() before stepping again`);
    }
    const r = this.env.step(action);
    this.elapsedSteps++;
    if (this.elapsedSteps >= this.maxEpisodeSteps) r.truncated = true;
    this.#done = r.terminated || r.truncated;
    return r;
  }
}

/** What RecordEpisodeStatistics puts in the info of an episode's last step (Gymnasium's r, l, t). */
export interface EpisodeStatistics {
  /** the episode's return (undiscounted sum of rewards) */
  r: number;
  /** its length in steps */
  l: number;
  /** seconds since the wrapper was made */
  t: number;
}

/**
 * Records each episode's return and length (gymnasium.wrappers.RecordEpisodeStatistics): the last
 * step's info gets `episode: { r, l, t }`, and the last `bufferLength` episodes are kept in
 * `returnQueue`/`lengthQueue`.
 *
 *   const env = new RecordEpisodeStatistics(make('CartPole-v1'));
 *   // ... when terminated || truncated: (info.episode as EpisodeStatistics).r
 */
export class RecordEpisodeStatistics<O = Float32Array, A = number> extends Wrapper<O, A> {
  episodeReturn = 0;
  episodeLength = 0;
  episodeCount = 0;
  readonly returnQueue: number[] = [];
  readonly lengthQueue: number[] = [];
  readonly #start = performance.now();
  constructor(
    env: Env<O, A>,
    readonly bufferLength = 100,
  ) {
    super(env);
  }
  override reset(opts?: ResetOptions): ResetResult<O> {
    this.episodeReturn = 0;
    this.episodeLength = 0;
    return this.env.reset(opts);
  }
  override step(action: A): StepResult<O> {
    const r = this.env.step(action);
    this.episodeReturn += r.reward;
    this.episodeLength++;
    if (r.terminated || r.truncated) {
      const episode: EpisodeStatistics = { r: this.episodeReturn, l: this.episodeLength, t: (performance.now() - this.#start) / 1000 };
      r.info = { ...r.info, episode };
      this.episodeCount++;
      this.returnQueue.push(this.episodeReturn);
      this.lengthQueue.push(this.episodeLength);
      if (this.returnQueue.length > this.bufferLength) {
        this.returnQueue.shift();
        this.lengthQueue.shift();
      }
    }
    return r;
  }
}

/**
 * Running mean and variance of vectors (Gymnasium's RunningMeanStd: parallel update of batch moments,
 * starting from a pseudo-count `epsilon`).
 */
export class RunningMeanStd {
  mean: Float64Array;
  var: Float64Array;
  count: number;
  constructor(size: number, epsilon = 1e-4) {
    this.mean = new Float64Array(size);
    this.var = new Float64Array(size).fill(1);
    this.count = epsilon;
  }
  /** Folds in one vector (a batch of one). */
  update(x: ArrayLike<number>): void {
    const total = this.count + 1;
    for (let i = 0; i < this.mean.length; i++) {
      const delta = x[i] - this.mean[i];
      const newMean = this.mean[i] + delta / total;
      const m2 = this.var[i] * this.count + (delta * delta * this.count) / total;
      this.mean[i] = newMean;
      this.var[i] = m2 / total;
    }
    this.count = total;
  }
}

/**
 * Normalises Box observations to zero mean and unit variance with running statistics
 * (gymnasium.wrappers.NormalizeObservation): (obs - mean) / sqrt(var + epsilon). Set
 * `updateRunningMean = false` to freeze the statistics (evaluation).
 *
 *   const env = new NormalizeObservation(make('MountainCar-v0'));
 */
export class NormalizeObservation<A = number> extends Wrapper<Float32Array, A> {
  readonly obsRms: RunningMeanStd;
  updateRunningMean = true;
  readonly #space: Box;
  constructor(
    env: Env<Float32Array, A>,
    readonly epsilon = 1e-8,
  ) {
    super(env);
    const space = env.observationSpace;
    if (!(space instanceof Box)) throw new RLValueError('NormalizeObservation', `needs a Box observation space, got ${space}`);
    this.obsRms = new RunningMeanStd(space.size);
    this.#space = new Box(-Infinity, Infinity, space.shape);
  }
  override get observationSpace(): Box {
    return this.#space;
  }
  normalize(obs: Float32Array): Float32Array {
    if (this.updateRunningMean) this.obsRms.update(obs);
    const out = new Float32Array(obs.length);
    for (let i = 0; i < obs.length; i++) out[i] = (obs[i] - this.obsRms.mean[i]) / Math.sqrt(this.obsRms.var[i] + this.epsilon);
    checkFinite(`${this.name}`, out);
    return out;
  }
  override reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const r = this.env.reset(opts);
    return { observation: this.normalize(r.observation), info: r.info };
  }
  override step(action: A): StepResult<Float32Array> {
    const r = this.env.step(action);
    return { ...r, observation: this.normalize(r.observation) };
  }
}

/**
 * Observations of the last `stackSize` steps, oldest first, flattened into one Float32Array of
 * shape [stackSize, ...obsShape] (gymnasium.wrappers.FrameStackObservation with padding "reset":
 * after reset the stack holds copies of the first observation).
 *
 *   const env = new FrameStack(make('CartPole-v1'), 4); // observations Float32Array(16)
 */
export class FrameStack<A = number> extends Wrapper<Float32Array, A> {
  readonly #space: Box;
  #frames: Float32Array[] = [];
  constructor(
    env: Env<Float32Array, A>,
    readonly stackSize: number,
  ) {
    super(env);
    const space = env.observationSpace;
    if (!(space instanceof Box)) throw new RLValueError('FrameStack', `needs a Box observation space, got ${space}`);
    if (!Number.isInteger(stackSize) || stackSize < 1) throw new RLValueError('FrameStack', `stackSize must be a positive integer, got ${stackSize}`);
    const tile = (a: Float32Array) => {
      const out = new Float32Array(a.length * stackSize);
      for (let k = 0; k < stackSize; k++) out.set(a, k * a.length);
      return out;
    };
    this.#space = new Box(tile(space.low), tile(space.high), [stackSize, ...space.shape]);
  }
  override get observationSpace(): Box {
    return this.#space;
  }
  #stacked(): Float32Array {
    const n = this.#frames[0].length;
    const out = new Float32Array(n * this.stackSize);
    this.#frames.forEach((f, k) => out.set(f, k * n));
    return out;
  }
  override reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const r = this.env.reset(opts);
    this.#frames = Array.from({ length: this.stackSize }, () => r.observation);
    return { observation: this.#stacked(), info: r.info };
  }
  override step(action: A): StepResult<Float32Array> {
    const r = this.env.step(action);
    this.#frames.push(r.observation);
    this.#frames.shift();
    return { ...r, observation: this.#stacked() };
  }
}

export type { Info };
