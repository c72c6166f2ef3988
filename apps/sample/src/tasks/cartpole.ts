import { CARTPOLE_DEFAULTS, evalCartPole, trainCartPole, type CartPoleAlgo } from '../train-cartpole.js';
import { TRAIN_OPTIONS, num, pick, required, seed, text } from './args.js';
import type { OptionSpec, Task } from './task.js';

/** The agents read each action back synchronously (host-side envs), which WebGPU cannot do. */
function cpuOnly(name: string, device: string): void {
  if (device !== 'cpu') throw new Error(`${name} runs on the CPU only (@dl/rl reads each action back synchronously; networks this small train faster on the CPU), got --device ${device}`);
}

function cartPoleTask(algo: CartPoleAlgo, summary: string): Task {
  const D = CARTPOLE_DEFAULTS[algo];
  const name = `${algo}-cartpole`;
  const options: Record<string, OptionSpec> = {
    steps: { type: 'string', help: 'environment steps of training', default: String(D.steps) },
    ...pick(TRAIN_OPTIONS, 'lr', 'out', 'checkpoint'),
    seed: { type: 'string', help: 'initial weights, envs and exploration; evaluation episode i starts from seed + i', default: '0' },
    episodes: { type: 'string', help: 'greedy evaluation episodes', default: String(D.episodes) },
  };
  return {
    name,
    summary,
    options,
    commands: {
      async train(v, { device, log }) {
        cpuOnly(name, device);
        const opts = { steps: num(v, 'steps', D.steps, true), lr: num(v, 'lr', D.lr), seed: seed(v), out: text(v, 'out', D.out), episodes: num(v, 'episodes', D.episodes, true) };
        return `mean return: ${(await trainCartPole(algo, opts, log)).toFixed(1)}`;
      },
      async eval(v, { device, log }) {
        cpuOnly(name, device);
        const mean = await evalCartPole(required(v, 'checkpoint', `dl eval ${name}`), num(v, 'episodes', D.episodes, true), seed(v), log);
        return `mean return: ${mean.toFixed(1)}`;
      },
    },
  };
}

/** `dl train ppo-cartpole`: @dl/rl's PPO with Stable-Baselines3's tuned CartPole-v1 settings. */
export const ppoCartpole = cartPoleTask('ppo', "PPO (@dl/rl) on CartPole-v1 with SB3's tuned settings, 100k env steps; writes the learning curve and a strip of the pole; last line `mean return: X` over 100 greedy episodes (solved: >= 475)");

/** `dl train dqn-cartpole`: @dl/rl's DQN with Stable-Baselines3's tuned CartPole-v1 settings. */
export const dqnCartpole = cartPoleTask('dqn', "DQN (@dl/rl) on CartPole-v1 with SB3's tuned settings, 50k env steps; writes the learning curve and a strip of the pole; last line `mean return: X` over 100 greedy episodes (solved: >= 475)");
