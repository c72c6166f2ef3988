/** PPO and DQN on CartPole-v1 as `dl train ppo-cartpole` / `dl train dqn-cartpole` run them, built from @dl/rl as a user would. */
import { make, trainDQN, trainPPO } from '@dl/rl';
import type { Step } from './types.js';

const CPU_ONLY = '@dl/rl agents read each action back synchronously (CPU only)';

/**
 * Eight PPO iterations with SB3's tuned CartPole settings (8 envs x 32 steps = 256 env steps per
 * rollout, 20 epochs of one 256-minibatch, actor and critic 4-64-64 tanh): 2,048 env steps with
 * their updates, from a fresh agent.
 */
export function ppoCartpoleRun(iterations = 8): Step {
  const envSteps = 256 * iterations;
  let seed = 0;
  return {
    name: `PPO CartPole-v1 training, ${envSteps} env steps (8 envs x 32 steps, 20 epochs of batch 256, 4-64-64 tanh)`,
    envSteps,
    cpuOnly: CPU_ONLY,
    run: () =>
      void trainPPO(() => make('CartPole-v1'), {
        totalTimesteps: envSteps, numEnvs: 8, numSteps: 32, numMinibatches: 1, updateEpochs: 20, gamma: 0.98, gaeLambda: 0.8,
        entCoef: 0, learningRate: 1e-3, annealClip: true, clipVloss: false, vfCoef: 1, seed: seed++,
      }),
  };
}

/**
 * DQN with SB3's tuned CartPole settings (4-256-256-2 ReLU, batch 64, 128 gradient steps every 256
 * env steps, target update every 10 steps, learning from step 1,000): 1,000 + 4 x 256 = 2,024 env
 * steps and 512 gradient steps, from a fresh agent.
 */
export function dqnCartpoleRun(phases = 4): Step {
  const envSteps = 1000 + 256 * phases;
  let seed = 0;
  return {
    name: `DQN CartPole-v1 training, ${envSteps} env steps (1000 warm-up + ${phases} x (256 steps, 128 gradient steps of batch 64), 4-256-256-2 ReLU)`,
    envSteps,
    cpuOnly: CPU_ONLY,
    run: () =>
      void trainDQN(() => make('CartPole-v1'), {
        totalTimesteps: envSteps, learningRate: 2.3e-3, batchSize: 64, bufferSize: 100_000, learningStarts: 1000, gamma: 0.99, targetNetworkFrequency: 10,
        trainFrequency: 256, gradientSteps: 128, explorationFraction: 0.16, endE: 0.04, hidden: [256, 256], seed: seed++,
      }),
  };
}
