import { RLValueError } from '../errors.js';
import type { Rng } from '../rng.js';

/** A minibatch of transitions, each field row-major [batch, ...]. */
export interface ReplayBatch {
  observations: Float32Array;
  actions: Int32Array;
  rewards: Float32Array;
  nextObservations: Float32Array;
  /** 1 where the next observation is terminal (no bootstrapping), 0 otherwise (also on truncation) */
  dones: Float32Array;
}

/**
 * A ring buffer of (obs, action, reward, next obs, terminated) transitions for off-policy agents
 * (SB3's / CleanRL's ReplayBuffer): the oldest are overwritten once `capacity` is reached; `sample`
 * draws uniformly with replacement.
 *
 *   const rb = new ReplayBuffer(100_000, 4);
 *   rb.add(obs, 1, 1.0, nextObs, false);
 *   const batch = rb.sample(64, rng);
 */
export class ReplayBuffer {
  readonly observations: Float32Array;
  readonly nextObservations: Float32Array;
  readonly actions: Int32Array;
  readonly rewards: Float32Array;
  readonly dones: Float32Array;
  #pos = 0;
  #full = false;

  constructor(
    readonly capacity: number,
    readonly obsSize: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RLValueError('ReplayBuffer', `capacity must be a positive integer, got ${capacity}`);
    this.observations = new Float32Array(capacity * obsSize);
    this.nextObservations = new Float32Array(capacity * obsSize);
    this.actions = new Int32Array(capacity);
    this.rewards = new Float32Array(capacity);
    this.dones = new Float32Array(capacity);
  }

  get size(): number {
    return this.#full ? this.capacity : this.#pos;
  }

  add(obs: Float32Array, action: number, reward: number, nextObs: Float32Array, terminated: boolean): void {
    if (obs.length !== this.obsSize || nextObs.length !== this.obsSize) {
      throw new RLValueError('ReplayBuffer.add', `observations must have ${this.obsSize} values, got ${obs.length} and ${nextObs.length}`);
    }
    const i = this.#pos;
    this.observations.set(obs, i * this.obsSize);
    this.nextObservations.set(nextObs, i * this.obsSize);
    this.actions[i] = action;
    this.rewards[i] = reward;
    this.dones[i] = terminated ? 1 : 0;
    this.#pos = (i + 1) % this.capacity;
    if (this.#pos === 0) this.#full = true;
  }

  sample(batchSize: number, rng: Rng): ReplayBatch {
    if (this.size === 0) throw new RLValueError('ReplayBuffer.sample', 'the buffer is empty');
    const D = this.obsSize;
    const b: ReplayBatch = {
      observations: new Float32Array(batchSize * D),
      actions: new Int32Array(batchSize),
      rewards: new Float32Array(batchSize),
      nextObservations: new Float32Array(batchSize * D),
      dones: new Float32Array(batchSize),
    };
    for (let k = 0; k < batchSize; k++) {
      const j = rng.integer(this.size);
      b.observations.set(this.observations.subarray(j * D, (j + 1) * D), k * D);
      b.nextObservations.set(this.nextObservations.subarray(j * D, (j + 1) * D), k * D);
      b.actions[k] = this.actions[j];
      b.rewards[k] = this.rewards[j];
      b.dones[k] = this.dones[j];
    }
    return b;
  }
}
