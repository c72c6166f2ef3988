import { backward, noGrad } from '@dl/autograd';
import { Adam, Categorical, mseLoss } from '@dl/layers';
import { Generator, manualSeed, scope, tensor } from '@dl/tensor';
import type { Env } from '../env.js';
import { RLValueError } from '../errors.js';
import { Box, Discrete } from '../spaces.js';
import { ProgressReporter, type LearningCurve, type RLProgress } from './common.js';
import { ActorCritic } from './policy.js';

export interface ReinforceConfig {
  /** training episodes (default 500) */
  episodes?: number;
  /** episodes per gradient step (default 4) */
  batchEpisodes?: number;
  /** Adam's learning rate for the policy and the baseline (default 1e-2) */
  learningRate?: number;
  /** discount (default 0.99) */
  gamma?: number;
  /** weight of the baseline's MSE loss (default 0.5) */
  vfCoef?: number;
  /** entropy bonus weight (default 0) */
  entCoef?: number;
  /** standardise the advantages G - V(s) over the batch (default true) */
  normAdv?: boolean;
  /** hidden sizes of policy and baseline (default [64]) */
  hidden?: number[];
  /** seeds network init, env and action sampling (default 1) */
  seed?: number;
  onProgress?: (p: RLProgress) => void;
}

/**
 * REINFORCE with a learned baseline (Williams 1992; Sutton & Barto 13.4): sample whole episodes with
 * the current policy, compute each step's discounted return G_t, and step on
 * -mean(log pi(a_t|s_t) * (G_t - V(s_t))) + vfCoef * mean((V(s_t) - G_t)^2). The policy and the
 * baseline are an ActorCritic's actor and critic.
 *
 *   const { agent } = trainReinforce(() => make('CartPole-v1'), { episodes: 500 });
 */
export function trainReinforce(makeEnv: () => Env<Float32Array, number>, config: ReinforceConfig = {}): { agent: ActorCritic; curve: LearningCurve } {
  const { episodes = 500, batchEpisodes = 4, learningRate = 1e-2, gamma = 0.99, vfCoef = 0.5, entCoef = 0, normAdv = true, hidden = [64], seed = 1, onProgress } = config;
  const env = makeEnv();
  const os = env.observationSpace;
  const as = env.actionSpace;
  if (!(os instanceof Box) || !(as instanceof Discrete)) throw new RLValueError('trainReinforce', `needs Box observations and Discrete actions, got ${os} and ${as}`);
  const D = os.size;
  manualSeed(seed);
  const agent = new ActorCritic({ obsSize: D, numActions: as.n, hidden });
  const optimizer = new Adam(agent.parameters(), { lr: learningRate });
  const gen = new Generator(seed);
  const curve: LearningCurve = { returns: [], steps: [] };
  const progress = new ProgressReporter(Infinity, 1, onProgress);
  let step = 0;

  for (let e = 0; e < episodes; e += batchEpisodes) {
    const obs: number[] = [];
    const actions: number[] = [];
    const returns: number[] = [];
    for (let k = 0; k < batchEpisodes && e + k < episodes; k++) {
      let o = env.reset(e + k === 0 ? { seed } : {}).observation;
      const rewards: number[] = [];
      for (;;) {
        const a = scope(() => noGrad(() => new Categorical({ logits: agent.forward(tensor(o, { shape: [1, D] })) }).sample([], { generator: gen }).dataSync()[0]));
        obs.push(...o);
        actions.push(a);
        const r = env.step(a);
        rewards.push(r.reward);
        step++;
        o = r.observation;
        if (r.terminated || r.truncated) break;
      }
      // G_t = r_t + gamma * G_{t+1}, from the end of the episode
      const g = new Array<number>(rewards.length);
      let acc = 0;
      for (let t = rewards.length - 1; t >= 0; t--) g[t] = acc = rewards[t] + gamma * acc;
      returns.push(...g);
      curve.returns.push(rewards.reduce((a, b) => a + b, 0));
      curve.steps.push(step);
    }
    const losses = scope(() => {
      const B = actions.length;
      const x = tensor(Float32Array.from(obs), { shape: [B, D] }); // (B, D)
      const G = tensor(Float32Array.from(returns), { shape: [B] }); // (B)
      const dist = new Categorical({ logits: agent.forward(x) }); // logits (B, A)
      const logp = dist.logProb(tensor(Int32Array.from(actions), { shape: [B] })); // (B)
      const value = agent.getValue(x); // (B)
      let adv = G.sub(value.detach());
      if (normAdv && B > 1) adv = adv.sub(adv.mean()).div(adv.std().add(1e-8));
      const pgLoss = logp.mul(adv).mean().neg();
      const vLoss = mseLoss(value, G);
      const entropy = dist.entropy().mean();
      const loss = pgLoss.add(vLoss.mul(vfCoef)).sub(entropy.mul(entCoef));
      optimizer.zeroGrad();
      backward(loss);
      optimizer.step();
      return { loss: loss.item(), pgLoss: pgLoss.item(), vLoss: vLoss.item(), entropy: entropy.item() };
    });
    progress.report(step, curve, losses, true);
  }
  return { agent: agent.eval(), curve };
}
