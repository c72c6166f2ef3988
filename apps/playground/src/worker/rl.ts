import { ActorCritic, CartPole, make, trainPPO, Wrapper, type Env, type RLProgress, type StepResult } from '@dl/rl';
import { memory } from '@dl/tensor';
import { register, yieldToEvents, type Emit } from './registry.js';

/** What the page draws: the cart's position and the pole's angle, with the episode's step and return so far. */
export interface CartFrame {
  x: number;
  theta: number;
  t: number;
  episodeReturn: number;
  done: boolean;
}

/** Thrown from inside trainPPO (a synchronous loop) when the page raised the shared stop flag. */
class StopTraining extends Error {}

/**
 * Reports the first env copy's state while PPO trains (at most every `ms` milliseconds, so the
 * canvas shows a fast-forward of its episodes) and stops the run when `stop[0]` turns 1.
 */
class Watch extends Wrapper {
  #t = 0;
  #ret = 0;
  #last = 0;
  constructor(env: Env<Float32Array, number>, readonly emit: Emit, readonly stop: Int32Array | null, readonly ms: number) {
    super(env);
  }
  override step(action: number): StepResult<Float32Array> {
    if (this.stop && Atomics.load(this.stop, 0) === 1) throw new StopTraining('stopped');
    const r = super.step(action);
    this.#t++;
    this.#ret += r.reward;
    const done = r.terminated || r.truncated;
    const now = performance.now();
    if (now - this.#last >= this.ms || done) {
      this.#last = now;
      this.emit({ frame: frameOf(this.unwrapped as CartPole, this.#t, this.#ret, done) });
    }
    if (done) [this.#t, this.#ret] = [0, 0];
    return r;
  }
}

function frameOf(cp: CartPole, t: number, episodeReturn: number, done: boolean): CartFrame {
  return { x: cp.state[0], theta: cp.state[2], t, episodeReturn, done };
}

let agent: ActorCritic | null = null;
/** The CartPole the page pushes by hand. */
let manual: { env: Env<Float32Array, number>; t: number; ret: number; done: boolean } | null = null;

register({
  /**
   * PPO on CartPole-v1 with Stable-Baselines3's tuned settings (as `dl train ppo-cartpole`):
   * 8 envs x 32 steps, 20 epochs of one minibatch, gamma 0.98, GAE 0.8; events carry the mean
   * return of the last 20 episodes every 256 env steps and frames of the first env.
   */
  'rl.train': async (a: { totalTimesteps: number; lr: number; seed: number; stop: SharedArrayBuffer | null }, emit) => {
    const stop = a.stop ? new Int32Array(a.stop) : null;
    if (stop) Atomics.store(stop, 0, 0);
    let made = 0;
    const makeEnv = (): Env<Float32Array, number> => {
      const env = make('CartPole-v1');
      return made++ === 0 ? new Watch(env, emit, stop, 30) : env;
    };
    const t0 = performance.now();
    try {
      const r = trainPPO(makeEnv, {
        totalTimesteps: a.totalTimesteps, learningRate: a.lr, numEnvs: 8, numSteps: 32, numMinibatches: 1, updateEpochs: 20, gamma: 0.98, gaeLambda: 0.8,
        entCoef: 0, annealClip: true, clipVloss: false, vfCoef: 1, seed: a.seed, progressEvery: 256,
        onProgress: (p: RLProgress) => emit({ progress: { step: p.step, meanReturn: p.meanReturn, episodes: p.episodes, stepsPerSec: p.stepsPerSec, tensors: memory().tensors } }),
      });
      if (agent) for (const p of agent.parameters()) p.dispose();
      agent = r.agent;
      const returns = r.curve.returns;
      return { stopped: false, episodes: returns.length, lastReturns: returns.slice(-20), seconds: (performance.now() - t0) / 1000 };
    } catch (e) {
      if (e instanceof StopTraining) return { stopped: true, episodes: 0, lastReturns: [], seconds: (performance.now() - t0) / 1000 };
      throw e;
    }
  },
  /** One greedy episode of the trained agent (or the pushes the page chose), paced for the eye. */
  'rl.episode': async (a: { seed: number; msPerStep: number; maxSteps: number }, emit) => {
    if (!agent) throw new Error('CartPole: no agent yet; train PPO first');
    const env = make('CartPole-v1');
    let { observation } = env.reset({ seed: a.seed });
    let ret = 0;
    for (let t = 1; t <= a.maxSteps; t++) {
      const r = env.step(agent.act(observation));
      observation = r.observation;
      ret += r.reward;
      const done = r.terminated || r.truncated;
      emit(frameOf(env.unwrapped as CartPole, t, ret, done));
      if (done) break;
      await new Promise((res) => setTimeout(res, a.msPerStep));
    }
    return { episodeReturn: ret };
  },
  /** One step of the page's own CartPole with the pushed action (0 left, 1 right); a new episode after the end. */
  'rl.push': async (a: { action: 0 | 1 | 'reset'; seed: number }) => {
    if (a.action === 'reset' || !manual || manual.done) {
      manual = { env: make('CartPole-v1'), t: 0, ret: 0, done: false };
      manual.env.reset({ seed: a.seed });
      if (a.action === 'reset') return frameOf(manual.env.unwrapped as CartPole, 0, 0, false);
    }
    const r = manual.env.step(a.action);
    manual.t++;
    manual.ret += r.reward;
    manual.done = r.terminated || r.truncated;
    await yieldToEvents();
    return frameOf(manual.env.unwrapped as CartPole, manual.t, manual.ret, manual.done);
  },
});

