/**
 * @dl/rl: Gymnasium-style environments (CartPole, MountainCar, Acrobot, GridWorld), wrappers, a
 * vectorised env, and agents (tabular Q-learning, REINFORCE, DQN, PPO) on @dl/layers.
 */
export { InvalidActionError, ResetNeededError, NonFiniteObservationError, RLValueError } from './errors.js';
export { Rng } from './rng.js';
export { Box, Discrete, type Space } from './spaces.js';
export { BaseEnv, checkFinite, type Env, type Info, type ResetOptions, type ResetResult, type StepResult, type RgbFrame } from './env.js';
export { CartPole, type CartPoleOptions } from './envs/cartpole.js';
export { MountainCar, type MountainCarOptions } from './envs/mountain-car.js';
export { Acrobot, rk4, wrap, type AcrobotOptions } from './envs/acrobot.js';
export { GridWorld, GRID_ACTIONS, type GridWorldOptions } from './envs/grid-world.js';
export { Wrapper, TimeLimit, RecordEpisodeStatistics, NormalizeObservation, FrameStack, RunningMeanStd, type EpisodeStatistics } from './wrappers.js';
export { SyncVectorEnv, type VectorStepResult } from './vector.js';
export { make, ENV_SPECS, type EnvId } from './make.js';
export { linearSchedule, BestPolicyTracker, type RLProgress, type LearningCurve, type EvalConfig, type EvalPoint } from './agents/common.js';
export { ActorCritic, QNetwork, mlp, savePolicy, loadPolicy, evaluate, type Policy, type Activation, type ActorCriticConfig, type QNetworkConfig, type EvaluateOptions, type EvaluateResult } from './agents/policy.js';
export { ReplayBuffer, type ReplayBatch } from './agents/replay-buffer.js';
export { QTable, trainQLearning, type QLearningConfig } from './agents/q-learning.js';
export { trainReinforce, type ReinforceConfig } from './agents/reinforce.js';
export { trainDQN, DQN_DEFAULTS, type DQNConfig, type DQNResult } from './agents/dqn.js';
export { trainPPO, PPO_DEFAULTS, type PPOConfig, type PPOResult } from './agents/ppo.js';
