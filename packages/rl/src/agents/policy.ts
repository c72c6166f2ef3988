import { noGrad } from '@dl/autograd';
import { Linear, Module, ReLU, Sequential, Tanh, init, loadSafetensors, saveSafetensors, type Layer } from '@dl/layers';
import { scope, tensor, type Tensor } from '@dl/tensor';
import type { Env } from '../env.js';
import { RLValueError } from '../errors.js';

/** Anything that picks an action for an observation: what `evaluate` runs. */
export interface Policy<O = Float32Array> {
  /** the greedy (deterministic) action */
  act(observation: O): number;
}

export type Activation = 'tanh' | 'relu';

/**
 * An MLP as nn.Sequential(Linear, act, Linear, act, ..., Linear): parameters `0.weight`, `0.bias`,
 * `2.weight`, ... With `outGain` set, the layers are initialised as CleanRL's `layer_init`
 * (orthogonal, gain sqrt(2) for hidden layers and `outGain` for the last, zero biases); otherwise
 * PyTorch's default Linear init.
 *
 *   mlp([4, 64, 64, 2], 'tanh', { outGain: 0.01 }); // CleanRL's PPO actor
 */
export function mlp(sizes: readonly number[], activation: Activation, { outGain }: { outGain?: number } = {}): Sequential {
  if (sizes.length < 2) throw new RLValueError('mlp', `needs at least input and output sizes, got [${sizes}]`);
  const layers: (Module & Layer)[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const fc = new Linear(sizes[i], sizes[i + 1]);
    const last = i + 2 === sizes.length;
    if (outGain !== undefined) {
      init.orthogonal(fc.weight, last ? outGain : Math.SQRT2);
      init.zeros(fc.bias!);
    }
    layers.push(fc);
    if (!last) layers.push(activation === 'tanh' ? new Tanh() : new ReLU());
  }
  return new Sequential(...layers);
}

/** Runs `net` on one observation without gradient and returns the argmax of its output. */
function greedy(net: { forward(x: Tensor): Tensor }, observation: Float32Array): number {
  return scope(() => noGrad(() => net.forward(tensor(observation, { shape: [1, observation.length] })).argmax(-1).item()));
}

export interface ActorCriticConfig {
  obsSize: number;
  numActions: number;
  /** hidden layer sizes of both the actor and the critic (default [64, 64]) */
  hidden?: number[];
  /** default 'tanh' (CleanRL's and SB3's PPO) */
  activation?: Activation;
}

/**
 * CleanRL's PPO agent for discrete actions: `actor` (logits) and `critic` (state value) MLPs,
 * orthogonally initialised (gain sqrt(2), 0.01 on the actor's last layer, 1 on the critic's).
 * State-dict keys as CleanRL's `Agent`: `critic.0.weight`, ..., `actor.4.bias`.
 *
 *   const agent = new ActorCritic({ obsSize: 4, numActions: 2 });
 *   agent.act(observation); // greedy action
 */
export class ActorCritic extends Module implements Policy {
  readonly config: Required<ActorCriticConfig>;
  critic: Sequential;
  actor: Sequential;

  constructor({ obsSize, numActions, hidden = [64, 64], activation = 'tanh' }: ActorCriticConfig) {
    super();
    this.config = { obsSize, numActions, hidden, activation };
    this.critic = mlp([obsSize, ...hidden, 1], activation, { outGain: 1.0 });
    this.actor = mlp([obsSize, ...hidden, numActions], activation, { outGain: 0.01 });
  }

  /** V(s): x [B, obsSize] -> [B] */
  getValue(x: Tensor): Tensor {
    return this.critic.forward(x).squeeze(-1); // (B)
  }

  /** action logits: x [B, obsSize] -> [B, numActions] */
  forward(x: Tensor): Tensor {
    return this.actor.forward(x);
  }

  act(observation: Float32Array): number {
    return greedy(this, observation);
  }
}

export interface QNetworkConfig {
  obsSize: number;
  numActions: number;
  /** hidden layer sizes (default [120, 84], CleanRL's; SB3's tuned CartPole uses [256, 256]) */
  hidden?: number[];
}

/**
 * A Q-network Q(s, .) as CleanRL's DQN `QNetwork`: an MLP with ReLU under the name `network`
 * (keys `network.0.weight`, ...), PyTorch's default Linear init.
 *
 *   const q = new QNetwork({ obsSize: 4, numActions: 2, hidden: [256, 256] });
 *   q.forward(obs); // [B, 2]
 */
export class QNetwork extends Module implements Policy {
  readonly config: Required<QNetworkConfig>;
  network: Sequential;

  constructor({ obsSize, numActions, hidden = [120, 84] }: QNetworkConfig) {
    super();
    this.config = { obsSize, numActions, hidden };
    this.network = mlp([obsSize, ...hidden, numActions], 'relu');
  }

  /** x [B, obsSize] -> Q-values [B, numActions] */
  forward(x: Tensor): Tensor {
    return this.network.forward(x);
  }

  act(observation: Float32Array): number {
    return greedy(this, observation);
  }
}

/**
 * Saves a network's state dict as safetensors, with its class and config in the metadata so
 * `loadPolicy` rebuilds it (the file loads in PyTorch into the same CleanRL module).
 *
 *   await savePolicy('ppo.safetensors', agent);
 */
export async function savePolicy(path: string, net: ActorCritic | QNetwork): Promise<void> {
  await saveSafetensors(path, net.stateDict(), { kind: net.constructor.name, config: JSON.stringify(net.config) });
}

/**
 * Reads a file `savePolicy` wrote and returns the network, in eval mode.
 *
 *   const agent = await loadPolicy('ppo.safetensors');
 *   evaluate(agent, make('CartPole-v1'), { episodes: 100, seed: 0 });
 */
export async function loadPolicy(path: string): Promise<ActorCritic | QNetwork> {
  const { tensors, metadata } = await loadSafetensors(path);
  const config = JSON.parse(metadata.config ?? 'null');
  let net: ActorCritic | QNetwork;
  if (metadata.kind === 'ActorCritic') net = new ActorCritic(config);
  else if (metadata.kind === 'QNetwork') net = new QNetwork(config);
  else throw new RLValueError('loadPolicy', `${path} holds no @dl/rl policy (metadata kind '${metadata.kind}', expected ActorCritic or QNetwork)`);
  net.loadStateDict(tensors);
  return net.eval();
}

export interface EvaluateOptions {
  /** number of episodes (default 10) */
  episodes?: number;
  /** episode i is reset with seed + i (default 0) */
  seed?: number;
}

export interface EvaluateResult {
  mean: number;
  std: number;
  /** each episode's return */
  returns: number[];
  /** each episode's length */
  lengths: number[];
}

/**
 * Runs greedy episodes of `policy` in `env` and returns the mean and (population) std of the
 * returns, as SB3's evaluate_policy. Episode i starts from `reset({ seed: seed + i })`.
 *
 *   const { mean, std } = evaluate(agent, make('CartPole-v1'), { episodes: 100, seed: 0 });
 */
export function evaluate<O>(policy: Policy<O>, env: Env<O, number>, { episodes = 10, seed = 0 }: EvaluateOptions = {}): EvaluateResult {
  if (!Number.isInteger(episodes) || episodes < 1) throw new RLValueError('evaluate', `episodes must be a positive integer, got ${episodes}`);
  const returns: number[] = [];
  const lengths: number[] = [];
  for (let e = 0; e < episodes; e++) {
    let { observation } = env.reset({ seed: seed + e });
    let total = 0;
    let length = 0;
    for (;;) {
      const r = env.step(policy.act(observation));
      total += r.reward;
      length++;
      observation = r.observation;
      if (r.terminated || r.truncated) break;
    }
    returns.push(total);
    lengths.push(length);
  }
  const mean = returns.reduce((a, b) => a + b, 0) / episodes;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / episodes);
  return { mean, std, returns, lengths };
}
