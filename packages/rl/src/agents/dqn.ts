import { backward, noGrad } from '@dl/autograd';
import { Adam, clipGradNorm, mseLoss, smoothL1Loss } from '@dl/layers';
import { manualSeed, scope, tensor } from '@dl/tensor';
import type { Env } from '../env.js';
import { RLValueError } from '../errors.js';
import { Rng } from '../rng.js';
import { Box, Discrete } from '../spaces.js';
import { RecordEpisodeStatistics } from '../wrappers.js';
import { BestPolicyTracker, ProgressReporter, linearSchedule, recordEpisode, type EvalConfig, type EvalPoint, type LearningCurve, type RLProgress } from './common.js';
import { QNetwork } from './policy.js';
import { ReplayBuffer } from './replay-buffer.js';

/** DQN's settings; defaults are CleanRL's dqn.py (Stable-Baselines3's tuned CartPole values in comments). */
export interface DQNConfig extends EvalConfig {
  /** env steps (SB3 CartPole 50k) */
  totalTimesteps?: number;
  /** Adam's learning rate, 2.5e-4 (SB3 CartPole 2.3e-3) */
  learningRate?: number;
  /** replay capacity, 10k (SB3 CartPole 100k) */
  bufferSize?: number;
  /** discount, 0.99 */
  gamma?: number;
  /** soft target update weight, 1 (a hard copy) */
  tau?: number;
  /** env steps between target network updates, 500 (SB3 CartPole 10) */
  targetNetworkFrequency?: number;
  /** minibatch size, 128 (SB3 CartPole 64) */
  batchSize?: number;
  /** epsilon at the start, 1 */
  startE?: number;
  /** epsilon at the end of the schedule, 0.05 (SB3 CartPole 0.04) */
  endE?: number;
  /** fraction of totalTimesteps over which epsilon falls linearly, 0.5 (SB3 CartPole 0.16) */
  explorationFraction?: number;
  /** env steps before learning starts, 10k (SB3 CartPole 1000) */
  learningStarts?: number;
  /** env steps between training phases, 10 (SB3 CartPole 256) */
  trainFrequency?: number;
  /** gradient steps per training phase, 1 (SB3 CartPole 128) */
  gradientSteps?: number;
  /** pick the next action with the online net and value it with the target net (van Hasselt et al. 2016), false */
  doubleQ?: boolean;
  /** 'huber' (smooth L1, SB3's) or 'mse' (CleanRL's) */
  loss?: 'huber' | 'mse';
  /** gradient clipping norm, 10 (SB3's); Infinity for none */
  maxGradNorm?: number;
  /** Q-network hidden sizes, [120, 84] (SB3 CartPole [256, 256]) */
  hidden?: number[];
  /** seeds the network init, the env, exploration and replay sampling (1) */
  seed?: number;
  onProgress?: (p: RLProgress) => void;
  /** env steps between progress reports (2000) */
  progressEvery?: number;
}

export const DQN_DEFAULTS: Required<Omit<DQNConfig, 'onProgress'>> = {
  totalTimesteps: 500_000,
  learningRate: 2.5e-4,
  bufferSize: 10_000,
  gamma: 0.99,
  tau: 1.0,
  targetNetworkFrequency: 500,
  batchSize: 128,
  startE: 1,
  endE: 0.05,
  explorationFraction: 0.5,
  learningStarts: 10_000,
  trainFrequency: 10,
  gradientSteps: 1,
  doubleQ: false,
  loss: 'huber',
  maxGradNorm: 10,
  hidden: [120, 84],
  seed: 1,
  progressEvery: 2000,
  evalEvery: 0,
  evalEpisodes: 10,
};

export interface DQNResult {
  /** the final network, or the best evaluated one when `evalEvery` is set */
  qNetwork: QNetwork;
  curve: LearningCurve;
  /** the periodic evaluations (empty unless `evalEvery` is set) */
  evaluations: EvalPoint[];
  /** env steps the periodic evaluations took (besides totalTimesteps) */
  evalSteps: number;
}

/**
 * Deep Q-learning (Mnih et al. 2015), CleanRL-style: epsilon-greedy actions with a linear epsilon
 * schedule, a replay buffer, a target network updated every `targetNetworkFrequency` env steps,
 * the Huber (or MSE) TD loss, optional Double DQN. A truncated episode's last transition is stored
 * as non-terminal, so its target bootstraps (SB3's handle_timeout_termination). With `evalEvery`,
 * greedy evaluations run every `evalEvery` steps and the best evaluated weights are returned.
 *
 *   const { qNetwork } = trainDQN(() => make('CartPole-v1'), { totalTimesteps: 50_000, doubleQ: true });
 *   evaluate(qNetwork, make('CartPole-v1'), { episodes: 100 });
 */
export function trainDQN(makeEnv: () => Env<Float32Array, number>, config: DQNConfig = {}): DQNResult {
  const c = { ...DQN_DEFAULTS, ...config };
  const env = new RecordEpisodeStatistics(makeEnv());
  const os = env.observationSpace;
  const as = env.actionSpace;
  if (!(os instanceof Box) || !(as instanceof Discrete)) throw new RLValueError('trainDQN', `needs Box observations and Discrete actions, got ${os} and ${as}`);
  const D = os.size;
  manualSeed(c.seed);
  const qNetwork = new QNetwork({ obsSize: D, numActions: as.n, hidden: c.hidden });
  const targetNetwork = new QNetwork({ obsSize: D, numActions: as.n, hidden: c.hidden });
  const qParams = qNetwork.parameters();
  const targetParams = targetNetwork.parameters();
  const updateTarget = (tau: number) =>
    noGrad(() => scope(() => targetParams.forEach((tp, i) => void tp.copy_(tau === 1 ? qParams[i] : qParams[i].mul(tau).add(tp.mul(1 - tau))))));
  updateTarget(1);
  const optimizer = new Adam(qParams, { lr: c.learningRate });
  const rb = new ReplayBuffer(c.bufferSize, D);
  const rng = new Rng(c.seed);
  const curve: LearningCurve = { returns: [], steps: [] };
  const progress = new ProgressReporter(c.totalTimesteps, c.progressEvery, c.onProgress);
  let losses: Record<string, number> = {};
  const tracker = new BestPolicyTracker(qNetwork, makeEnv, c.evalEvery, c.evalEpisodes);

  let obs = env.reset({ seed: c.seed }).observation;
  for (let globalStep = 1; globalStep <= c.totalTimesteps; globalStep++) {
    const epsilon = linearSchedule(c.startE, c.endE, c.explorationFraction * c.totalTimesteps, globalStep - 1);
    const action = rng.uniform() < epsilon ? rng.integer(as.n) : qNetwork.act(obs);
    const r = env.step(action);
    rb.add(obs, action, r.reward, r.observation, r.terminated);
    if (r.terminated || r.truncated) {
      recordEpisode(curve, r.info, globalStep);
      obs = env.reset().observation;
    } else obs = r.observation;

    if (globalStep > c.learningStarts) {
      if (globalStep % c.trainFrequency === 0) {
        for (let g = 0; g < c.gradientSteps; g++) losses = scope(() => dqnStep(qNetwork, targetNetwork, optimizer, qParams, c, rb.sample(c.batchSize, rng)));
        losses.epsilon = epsilon;
      }
      if (globalStep % c.targetNetworkFrequency === 0) updateTarget(c.tau);
    }
    if (globalStep > c.learningStarts) tracker.check(globalStep, globalStep === c.totalTimesteps);
    progress.report(globalStep, curve, losses, globalStep === c.totalTimesteps);
  }
  tracker.restoreBest();
  return { qNetwork: qNetwork.eval(), curve, evaluations: tracker.evaluations, evalSteps: tracker.evalSteps };
}

/** One gradient step on a replay minibatch; returns the TD loss and the mean Q. */
function dqnStep(
  q: QNetwork,
  target: QNetwork,
  optimizer: Adam,
  params: ReturnType<QNetwork['parameters']>,
  c: Required<Omit<DQNConfig, 'onProgress'>>,
  b: ReturnType<ReplayBuffer['sample']>,
): Record<string, number> {
  const B = b.actions.length;
  const D = b.observations.length / B;
  const next = tensor(b.nextObservations, { shape: [B, D] }); // (B, D)
  const tdTarget = noGrad(() => {
    const targetQ = target.forward(next); // (B, A)
    const nextQ = c.doubleQ
      ? targetQ.gather(1, q.forward(next).argmax(1, true)).squeeze(1) // (B): the online net picks, the target net values
      : targetQ.max(1); // (B)
    return tensor(b.rewards, { shape: [B] }).add(nextQ.mul(c.gamma).mul(tensor(b.dones, { shape: [B] }).neg().add(1))); // (B)
  });
  const qAll = q.forward(tensor(b.observations, { shape: [B, D] })); // (B, A)
  const qTaken = qAll.gather(1, tensor(b.actions, { shape: [B, 1] })).squeeze(1); // (B)
  const loss = c.loss === 'huber' ? smoothL1Loss(qTaken, tdTarget) : mseLoss(qTaken, tdTarget);
  optimizer.zeroGrad();
  backward(loss);
  if (Number.isFinite(c.maxGradNorm)) clipGradNorm(params, c.maxGradNorm);
  optimizer.step();
  return { qLoss: loss.item(), qValue: noGrad(() => qTaken.mean().item()) };
}
