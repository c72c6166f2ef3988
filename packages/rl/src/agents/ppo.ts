import { backward, noGrad } from '@dl/autograd';
import { Adam, Categorical, clipGradNorm } from '@dl/layers';
import { Generator, manualSeed, scope, tensor, type Tensor } from '@dl/tensor';
import type { Env } from '../env.js';
import { RLValueError } from '../errors.js';
import { Rng } from '../rng.js';
import { SyncVectorEnv } from '../vector.js';
import { RecordEpisodeStatistics } from '../wrappers.js';
import { BestPolicyTracker, ProgressReporter, recordEpisode, type EvalConfig, type EvalPoint, type LearningCurve, type RLProgress } from './common.js';
import { ActorCritic } from './policy.js';

/** PPO's settings; defaults are CleanRL's ppo.py (Stable-Baselines3's tuned CartPole values in comments). */
export interface PPOConfig extends EvalConfig {
  /** env steps in all (100k for SB3's CartPole) */
  totalTimesteps?: number;
  /** Adam's learning rate, 2.5e-4 (SB3 CartPole 1e-3) */
  learningRate?: number;
  /** decay the learning rate linearly to 0 (true) */
  annealLr?: boolean;
  /** parallel envs, 4 (SB3 CartPole 8) */
  numEnvs?: number;
  /** steps per env per rollout, 128 (SB3 CartPole 32) */
  numSteps?: number;
  /** discount, 0.99 (SB3 CartPole 0.98) */
  gamma?: number;
  /** GAE lambda, 0.95 (SB3 CartPole 0.8) */
  gaeLambda?: number;
  /** minibatches per epoch, 4 (SB3 CartPole: batch 256 of 256, so 1) */
  numMinibatches?: number;
  /** epochs over each rollout, 4 (SB3 CartPole 20) */
  updateEpochs?: number;
  /** normalise advantages per minibatch (true) */
  normAdv?: boolean;
  /** surrogate clipping coefficient, 0.2 */
  clipCoef?: number;
  /** decay clipCoef linearly to 0 like the learning rate (false; SB3 CartPole's lin_0.2: true) */
  annealClip?: boolean;
  /** clip the value loss around the old values as CleanRL (true; SB3: false) */
  clipVloss?: boolean;
  /** entropy bonus weight, 0.01 (SB3 CartPole 0) */
  entCoef?: number;
  /** value loss weight on 0.5 * MSE, 0.5 (SB3's vf_coef 0.5 on a plain MSE is 1.0 here) */
  vfCoef?: number;
  /** gradient clipping norm, 0.5 */
  maxGradNorm?: number;
  /** stop an update's epochs early past this approximate KL (null: never) */
  targetKl?: number | null;
  /** add gamma * V(final observation) to the reward of a truncated step, as SB3 (true) */
  bootstrapTruncated?: boolean;
  /** hidden sizes of actor and critic ([64, 64]) */
  hidden?: number[];
  /** seeds the network init, the envs (copy i gets seed + i), sampling and minibatch order (1) */
  seed?: number;
  onProgress?: (p: RLProgress) => void;
  /** env steps between progress reports (2048) */
  progressEvery?: number;
}

export const PPO_DEFAULTS: Required<Omit<PPOConfig, 'onProgress'>> = {
  totalTimesteps: 500_000,
  learningRate: 2.5e-4,
  annealLr: true,
  numEnvs: 4,
  numSteps: 128,
  gamma: 0.99,
  gaeLambda: 0.95,
  numMinibatches: 4,
  updateEpochs: 4,
  normAdv: true,
  clipCoef: 0.2,
  annealClip: false,
  clipVloss: true,
  entCoef: 0.01,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  targetKl: null,
  bootstrapTruncated: true,
  hidden: [64, 64],
  seed: 1,
  progressEvery: 2048,
  evalEvery: 0,
  evalEpisodes: 10,
};

export interface PPOResult {
  /** the final agent, or the best evaluated one when `evalEvery` is set */
  agent: ActorCritic;
  curve: LearningCurve;
  /** the periodic evaluations (empty unless `evalEvery` is set) */
  evaluations: EvalPoint[];
  /** env steps the periodic evaluations took (besides totalTimesteps) */
  evalSteps: number;
}

/**
 * Proximal Policy Optimization (Schulman et al. 2017) for discrete actions, CleanRL-style: rollouts
 * of `numSteps` from `numEnvs` envs (SyncVectorEnv), GAE advantages, `updateEpochs` epochs of
 * shuffled minibatches with the clipped surrogate objective, a (clipped) value loss, an entropy
 * bonus, per-minibatch advantage normalisation and gradient-norm clipping. With `evalEvery`, greedy
 * evaluations run between updates and the best evaluated weights are returned.
 *
 *   const { agent, curve } = trainPPO(() => make('CartPole-v1'), { totalTimesteps: 100_000, numEnvs: 8, numSteps: 32 });
 *   evaluate(agent, make('CartPole-v1'), { episodes: 100 });
 */
export function trainPPO(makeEnv: () => Env<Float32Array, number>, config: PPOConfig = {}): PPOResult {
  const c = { ...PPO_DEFAULTS, ...config };
  const batchSize = c.numEnvs * c.numSteps;
  const minibatchSize = Math.floor(batchSize / c.numMinibatches);
  if (minibatchSize < 1) throw new RLValueError('trainPPO', `numEnvs * numSteps (${batchSize}) must be at least numMinibatches (${c.numMinibatches})`);
  const numUpdates = Math.floor(c.totalTimesteps / batchSize);
  if (numUpdates < 1) throw new RLValueError('trainPPO', `totalTimesteps (${c.totalTimesteps}) must be at least numEnvs * numSteps (${batchSize})`);

  const envs = new SyncVectorEnv(Array.from({ length: c.numEnvs }, () => () => new RecordEpisodeStatistics(makeEnv())));
  const N = c.numEnvs;
  const T = c.numSteps;
  const D = envs.obsSize;
  manualSeed(c.seed);
  const agent = new ActorCritic({ obsSize: D, numActions: envs.singleActionSpace.n, hidden: c.hidden });
  const params = agent.parameters();
  const optimizer = new Adam(params, { lr: c.learningRate, eps: 1e-5 });
  const gen = new Generator(c.seed);
  const rng = new Rng(c.seed);

  // rollout storage, [T, N, ...] row-major
  const obsBuf = new Float32Array(T * N * D);
  const actions = new Int32Array(T * N);
  const logprobs = new Float32Array(T * N);
  const rewards = new Float32Array(T * N);
  const dones = new Float32Array(T * N);
  const values = new Float32Array(T * N);
  const advantages = new Float32Array(T * N);
  const returns = new Float32Array(T * N);

  const curve: LearningCurve = { returns: [], steps: [] };
  const progress = new ProgressReporter(numUpdates * batchSize, c.progressEvery, c.onProgress);
  let losses: Record<string, number> = {};
  const tracker = new BestPolicyTracker(agent, makeEnv, c.evalEvery, c.evalEpisodes);
  let globalStep = 0;
  let nextObs = envs.reset({ seed: c.seed }).observations;
  let nextDone = new Float32Array(N);

  // V(s) of a batch of observations, on the host
  const valueOf = (obs: Float32Array, n: number) => scope(() => noGrad(() => agent.getValue(tensor(obs, { shape: [n, D] })).dataSync() as Float32Array));

  for (let update = 1; update <= numUpdates; update++) {
    const frac = 1.0 - (update - 1.0) / numUpdates;
    if (c.annealLr) optimizer.paramGroups[0].lr = frac * c.learningRate;
    const clipCoef = c.annealClip ? frac * c.clipCoef : c.clipCoef;

    for (let t = 0; t < T; t++) {
      globalStep += N;
      obsBuf.set(nextObs, t * N * D);
      dones.set(nextDone, t * N);
      const [a, lp, v] = scope(() =>
        noGrad(() => {
          const x = tensor(nextObs, { shape: [N, D] }); // (N, D)
          const dist = new Categorical({ logits: agent.forward(x) }); // logits (N, A)
          const action = dist.sample([], { generator: gen }); // (N)
          return [action.dataSync() as Int32Array, dist.logProb(action).dataSync() as Float32Array, agent.getValue(x).dataSync() as Float32Array];
        }),
      );
      actions.set(a, t * N);
      logprobs.set(lp, t * N);
      values.set(v, t * N);
      const r = envs.step(a);
      const bootstrap: number[] = [];
      for (let i = 0; i < N; i++) {
        rewards[t * N + i] = r.rewards[i];
        nextDone[i] = r.terminated[i] || r.truncated[i] ? 1 : 0;
        if (r.truncated[i] && !r.terminated[i] && c.bootstrapTruncated) bootstrap.push(i);
        recordEpisode(curve, r.infos[i], globalStep);
      }
      if (bootstrap.length) {
        // a time-limit cut is not a terminal state: credit the value of where the episode was cut (SB3)
        const finals = new Float32Array(bootstrap.length * D);
        bootstrap.forEach((i, k) => finals.set(r.infos[i].finalObservation as Float32Array, k * D));
        const fv = valueOf(finals, bootstrap.length);
        bootstrap.forEach((i, k) => (rewards[t * N + i] += c.gamma * fv[k]));
      }
      nextObs = r.observations;
    }

    // GAE over the rollout, backwards
    const nextValue = valueOf(nextObs, N);
    for (let i = 0; i < N; i++) {
      let lastGaeLam = 0;
      for (let t = T - 1; t >= 0; t--) {
        const nextNonTerminal = t === T - 1 ? 1 - nextDone[i] : 1 - dones[(t + 1) * N + i];
        const nextValues = t === T - 1 ? nextValue[i] : values[(t + 1) * N + i];
        const delta = rewards[t * N + i] + c.gamma * nextValues * nextNonTerminal - values[t * N + i];
        lastGaeLam = delta + c.gamma * c.gaeLambda * nextNonTerminal * lastGaeLam;
        advantages[t * N + i] = lastGaeLam;
        returns[t * N + i] = lastGaeLam + values[t * N + i];
      }
    }

    // optimise the policy and value network on the flattened batch
    const mbObs = new Float32Array(minibatchSize * D);
    const mbActions = new Int32Array(minibatchSize);
    const mbLogprobs = new Float32Array(minibatchSize);
    const mbAdv = new Float32Array(minibatchSize);
    const mbReturns = new Float32Array(minibatchSize);
    const mbValues = new Float32Array(minibatchSize);
    let stop = false;
    for (let epoch = 0; epoch < c.updateEpochs && !stop; epoch++) {
      const inds = rng.permutation(batchSize);
      for (let start = 0; start + minibatchSize <= batchSize; start += minibatchSize) {
        for (let k = 0; k < minibatchSize; k++) {
          const j = inds[start + k];
          mbObs.set(obsBuf.subarray(j * D, (j + 1) * D), k * D);
          mbActions[k] = actions[j];
          mbLogprobs[k] = logprobs[j];
          mbAdv[k] = advantages[j];
          mbReturns[k] = returns[j];
          mbValues[k] = values[j];
        }
        losses = scope(() => ppoStep(agent, optimizer, params, c, clipCoef, mbObs, mbActions, mbLogprobs, mbAdv, mbReturns, mbValues));
        if (c.targetKl !== null && losses.approxKl > c.targetKl) {
          stop = true;
          break;
        }
      }
    }
    tracker.check(globalStep, update === numUpdates);
    progress.report(globalStep, curve, losses, update === numUpdates);
  }
  tracker.restoreBest();
  return { agent: agent.eval(), curve, evaluations: tracker.evaluations, evalSteps: tracker.evalSteps };
}

/** One minibatch gradient step of PPO's loss; returns the loss terms. */
function ppoStep(
  agent: ActorCritic,
  optimizer: Adam,
  params: Tensor[],
  c: Required<Omit<PPOConfig, 'onProgress'>>,
  clipCoef: number,
  obs: Float32Array,
  actionsArr: Int32Array,
  logprobsArr: Float32Array,
  advArr: Float32Array,
  returnsArr: Float32Array,
  valuesArr: Float32Array,
): Record<string, number> {
  const B = actionsArr.length;
  const x = tensor(obs, { shape: [B, obs.length / B] }); // (B, D)
  const dist = new Categorical({ logits: agent.forward(x) }); // logits (B, A)
  const newLogprob = dist.logProb(tensor(actionsArr, { shape: [B] })); // (B)
  const entropy = dist.entropy().mean();
  const newValue = agent.getValue(x); // (B)
  const logratio = newLogprob.sub(tensor(logprobsArr, { shape: [B] })); // (B)
  const ratio = logratio.exp();
  const approxKl = noGrad(() => ratio.sub(1).sub(logratio).mean().item());

  let adv = tensor(advArr, { shape: [B] }); // (B)
  if (c.normAdv && B > 1) adv = adv.sub(adv.mean()).div(adv.std().add(1e-8));
  const pgLoss1 = adv.neg().mul(ratio);
  const pgLoss2 = adv.neg().mul(ratio.clamp(1 - clipCoef, 1 + clipCoef));
  const pgLoss = pgLoss1.maximum(pgLoss2).mean();

  const ret = tensor(returnsArr, { shape: [B] });
  let vLoss: Tensor;
  if (c.clipVloss) {
    const old = tensor(valuesArr, { shape: [B] });
    const vClipped = old.add(newValue.sub(old).clamp(-clipCoef, clipCoef));
    vLoss = newValue.sub(ret).square().maximum(vClipped.sub(ret).square()).mean().mul(0.5);
  } else vLoss = newValue.sub(ret).square().mean().mul(0.5);

  const loss = pgLoss.sub(entropy.mul(c.entCoef)).add(vLoss.mul(c.vfCoef));
  optimizer.zeroGrad();
  backward(loss);
  clipGradNorm(params, c.maxGradNorm);
  optimizer.step();
  return { loss: loss.item(), pgLoss: pgLoss.item(), vLoss: vLoss.item(), entropy: entropy.item(), approxKl };
}
