import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CartPole, evaluate, loadPolicy, make, savePolicy, trainDQN, trainPPO, type ActorCritic, type EvalPoint, type LearningCurve, type QNetwork, type RLProgress, type RgbFrame } from '@dl/rl';
import { frameStripPng, returnCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';

export type CartPoleAlgo = 'ppo' | 'dqn';

export interface CartPoleRunOptions {
  /** env steps of training */
  steps: number;
  /** Adam's learning rate */
  lr: number;
  /** network init, envs, exploration and sampling; evaluation episode i starts from seed + i */
  seed: number;
  out: string;
  /** greedy evaluation episodes after training */
  episodes: number;
}

/** CartPole-v1 counts as solved at a mean return of 475 over 100 episodes. */
export const CARTPOLE_TARGET = 475;

/**
 * Stable-Baselines3's tuned CartPole-v1 settings (rl-baselines3-zoo hyperparams/ppo.yml and
 * dqn.yml): PPO 8 envs x 32 steps, one 256-minibatch, 20 epochs, gamma 0.98, GAE 0.8, no entropy
 * bonus, learning rate and clip range decayed linearly from 1e-3 and 0.2, 100k steps; DQN [256, 256]
 * ReLU, lr 2.3e-3, batch 64, 128 gradient steps every 256 env steps, target update every 10 steps,
 * epsilon 1 -> 0.04 over 16% of 50k steps.
 */
export const CARTPOLE_DEFAULTS: Record<CartPoleAlgo, CartPoleRunOptions> = {
  ppo: { steps: 100_000, lr: 1e-3, seed: 0, out: 'runs/ppo-cartpole', episodes: 100 },
  dqn: { steps: 50_000, lr: 2.3e-3, seed: 0, out: 'runs/dqn-cartpole', episodes: 100 },
};

function describeAgent(algo: CartPoleAlgo, o: CartPoleRunOptions): string {
  return algo === 'ppo'
    ? `PPO, actor and critic 4-64-64 tanh, 8 envs x 32 steps, 20 epochs of one 256-minibatch, gamma 0.98, GAE 0.8, lr ${o.lr} and clip 0.2 decayed linearly`
    : `DQN, Q-network 4-256-256-2 ReLU, lr ${o.lr}, batch 64, 128 gradient steps every 256 steps, target update every 10 steps, epsilon 1 -> 0.04 over 16%, Huber loss`;
}

interface Trained {
  net: ActorCritic | QNetwork;
  curve: LearningCurve;
  evaluations: EvalPoint[];
  evalSteps: number;
}

function train(algo: CartPoleAlgo, o: CartPoleRunOptions, onProgress: (p: RLProgress) => void): Trained {
  const env = () => make('CartPole-v1');
  if (algo === 'ppo') {
    const { agent, ...rest } = trainPPO(env, {
      totalTimesteps: o.steps, learningRate: o.lr, numEnvs: 8, numSteps: 32, numMinibatches: 1, updateEpochs: 20, gamma: 0.98, gaeLambda: 0.8,
      entCoef: 0, annealClip: true, clipVloss: false, vfCoef: 1, seed: o.seed, onProgress, progressEvery: 2048,
    });
    return { net: agent, ...rest };
  }
  // DQN's greedy policy swings between updates (one run: 406 mean training return, 176 greedy at
  // the end), so it is evaluated every 5k steps on 10 episodes and the best weights are kept:
  // at most 10 x 5000 evaluation steps, so training and evaluation stay within 100k env steps
  const { qNetwork, ...rest } = trainDQN(env, {
    totalTimesteps: o.steps, learningRate: o.lr, batchSize: 64, bufferSize: 100_000, learningStarts: 1000, gamma: 0.99, targetNetworkFrequency: 10,
    trainFrequency: 256, gradientSteps: 128, explorationFraction: 0.16, endE: 0.04, hidden: [256, 256], seed: o.seed, onProgress, progressEvery: 1000,
    evalEvery: 5000, evalEpisodes: 10,
  });
  return { net: qNetwork, ...rest };
}

/** One greedy episode from `seed`, rendered every `every` steps (at most `count` frames, 150x100 each). */
function episodeFrames(net: ActorCritic | QNetwork, seed: number, count = 10, every = 50): RgbFrame[] {
  const env = make('CartPole-v1');
  const cp = env.unwrapped as CartPole;
  const small = new CartPole({ renderWidth: 150 });
  const frames: RgbFrame[] = [];
  let { observation } = env.reset({ seed });
  for (let t = 0; frames.length < count; t++) {
    if (t % every === 0) {
      small.state.set(cp.state);
      frames.push(small.render());
    }
    const r = env.step(net.act(observation));
    observation = r.observation;
    if (r.terminated || r.truncated) {
      small.state.set(cp.state);
      frames.push(small.render());
      break;
    }
  }
  return frames;
}

/**
 * `dl train ppo-cartpole` / `dl train dqn-cartpole`: trains on CartPole-v1 with progress on stderr,
 * saves `policy.safetensors`, writes `learning-curve.png` and `cartpole.png` (a strip of one greedy
 * episode), evaluates `episodes` greedy episodes and returns their mean return.
 */
export async function trainCartPole(algo: CartPoleAlgo, o: CartPoleRunOptions, log: (s: string) => void): Promise<number> {
  mkdirSync(o.out, { recursive: true });
  log(`env: CartPole-v1 (500-step limit); agent: ${describeAgent(algo, o)}; ${o.steps} env steps, seed ${o.seed}`);
  const bar = new ProgressBar(process.stderr, 1, 'step');
  const t0 = performance.now();
  let total = 0;
  const { net, curve, evaluations, evalSteps } = train(algo, o, (p) => {
    total = p.step;
    const sec = (performance.now() - t0) / 1000;
    bar.update(
      { epoch: 0, epochs: 1, step: p.step, stepsPerEpoch: p.totalSteps, globalStep: p.step, totalSteps: p.totalSteps, loss: NaN, epochLoss: NaN, lr: o.lr, samplesPerSec: p.stepsPerSec, msPerStep: (1000 * sec) / Math.max(1, p.step), elapsedSec: sec, etaSec: (p.totalSteps - p.step) / p.stepsPerSec },
      `episodes ${p.episodes}  mean return ${Number.isNaN(p.meanReturn) ? '-' : p.meanReturn.toFixed(1)}`,
    );
  });
  const sec = (performance.now() - t0) / 1000;
  const { returns, steps } = curve;
  log(`trained: ${total} env steps, ${returns.length} episodes in ${duration(sec)} (${(total / sec).toFixed(0)} steps/s); last 20 episodes' mean return ${(returns.slice(-20).reduce((a, b) => a + b, 0) / Math.max(1, Math.min(20, returns.length))).toFixed(1)}`);
  if (evaluations.length) {
    const best = evaluations.reduce((a, b) => (b.mean >= a.mean ? b : a));
    log(`periodic evaluations (10 greedy episodes each): ${evaluations.map((e) => `${e.step}: ${e.mean.toFixed(0)}`).join(', ')}; kept the weights of step ${best.step}; evaluation took ${evalSteps} env steps, ${total + evalSteps} in all`);
  }
  await savePolicy(join(o.out, 'policy.safetensors'), net);
  writeFileSync(join(o.out, 'learning-curve.png'), returnCurvePng(steps, returns, { target: CARTPOLE_TARGET, maxSteps: o.steps }));
  writeFileSync(join(o.out, 'cartpole.png'), frameStripPng(episodeFrames(net, o.seed)));
  log(`wrote ${join(o.out, 'policy.safetensors')}, learning-curve.png, cartpole.png`);
  return evaluateCartPole(net, o.episodes, o.seed, log);
}

function evaluateCartPole(net: ActorCritic | QNetwork, episodes: number, seed: number, log: (s: string) => void): number {
  const r = evaluate(net, make('CartPole-v1'), { episodes, seed });
  log(`evaluation: ${episodes} greedy episodes (seeds ${seed}..${seed + episodes - 1}): mean ${r.mean.toFixed(1)} std ${r.std.toFixed(1)}, min ${Math.min(...r.returns)}${r.mean >= CARTPOLE_TARGET ? ' (solved: >= 475)' : ''}`);
  return r.mean;
}

/** `dl eval ppo-cartpole --checkpoint FILE --episodes N --seed S`: the mean greedy return of a saved policy. */
export async function evalCartPole(checkpoint: string, episodes: number, seed: number, log: (s: string) => void): Promise<number> {
  const net = await loadPolicy(checkpoint);
  log(`loaded ${checkpoint} (${net.constructor.name})`);
  return evaluateCartPole(net, episodes, seed, log);
}
