import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { RLValueError } from '../errors.js';
import { make } from '../make.js';
import { Rng } from '../rng.js';
import { linearSchedule } from './common.js';
import { trainDQN } from './dqn.js';
import { ActorCritic, QNetwork, evaluate, loadPolicy, savePolicy } from './policy.js';
import { trainPPO } from './ppo.js';
import { trainQLearning } from './q-learning.js';
import { trainReinforce } from './reinforce.js';
import { ReplayBuffer } from './replay-buffer.js';

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

describe('building blocks', () => {
  test('linearSchedule', () => {
    expect(linearSchedule(1, 0.05, 1000, 0)).toBe(1);
    expect(linearSchedule(1, 0.05, 1000, 500)).toBeCloseTo(0.525, 12);
    expect(linearSchedule(1, 0.05, 1000, 5000)).toBe(0.05);
  });

  test('ReplayBuffer keeps the newest capacity transitions and samples them', () => {
    const rb = new ReplayBuffer(3, 2);
    for (let i = 0; i < 5; i++) rb.add(Float32Array.of(i, i), i % 2, i, Float32Array.of(i + 1, i + 1), i === 4);
    expect(rb.size).toBe(3);
    const b = rb.sample(50, new Rng(0));
    expect(new Set(b.rewards)).toEqual(new Set([2, 3, 4]));
    for (let k = 0; k < 50; k++) {
      expect(b.observations[2 * k]).toBe(b.rewards[k]);
      expect(b.nextObservations[2 * k]).toBe(b.rewards[k] + 1);
      expect(b.dones[k]).toBe(b.rewards[k] === 4 ? 1 : 0);
    }
    expect(() => rb.add(new Float32Array(3), 0, 0, new Float32Array(2), false)).toThrow(RLValueError);
  });

  test('policies save and load as safetensors with CleanRL parameter names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-'));
    const ac = new ActorCritic({ obsSize: 4, numActions: 2 });
    expect(Object.keys(ac.stateDict())).toEqual(['critic.0.weight', 'critic.0.bias', 'critic.2.weight', 'critic.2.bias', 'critic.4.weight', 'critic.4.bias', 'actor.0.weight', 'actor.0.bias', 'actor.2.weight', 'actor.2.bias', 'actor.4.weight', 'actor.4.bias']);
    const q = new QNetwork({ obsSize: 4, numActions: 2, hidden: [8] });
    for (const net of [ac, q]) {
      await savePolicy(join(dir, 'p.safetensors'), net);
      const back = await loadPolicy(join(dir, 'p.safetensors'));
      expect(back.constructor).toBe(net.constructor);
      const obs = Float32Array.of(0.1, -0.2, 0.03, 0.4);
      expect(Array.from(back.forward(tensorOf(obs)).dataSync())).toEqual(Array.from(net.forward(tensorOf(obs)).dataSync()));
    }
  });

  test('evaluate runs greedy episodes from seed + i', () => {
    const always = { act: () => 1 };
    const r = evaluate(always, make('CartPole-v1'), { episodes: 5, seed: 3 });
    expect(r.returns).toHaveLength(5);
    expect(r.mean).toBe(mean(r.returns));
    expect(r.mean).toBeLessThan(20); // always pushing right drops the pole
    expect(evaluate(always, make('CartPole-v1'), { episodes: 5, seed: 3 })).toEqual(r);
    expect(() => evaluate(always, make('CartPole-v1'), { episodes: 0 })).toThrow(RLValueError);
  });
});

import { tensor } from '@dl/tensor';
function tensorOf(o: Float32Array) {
  return tensor(o, { shape: [1, o.length] });
}

describe('agents learn at small budgets', () => {
  test('tabular Q-learning solves the 4x4 GridWorld', () => {
    const { table, curve } = trainQLearning(make('GridWorld-v0'), { episodes: 3000, alpha: 0.5, gamma: 0.95, seed: 0 });
    expect(evaluate(table, make('GridWorld-v0'), { episodes: 3 }).mean).toBe(1);
    expect(mean(curve.returns.slice(0, 100))).toBeLessThan(0.3); // it was not solved from the start
    expect(trainQLearning(make('GridWorld-v0'), { episodes: 3000, alpha: 0.5, gamma: 0.95, seed: 0 }).curve).toEqual(curve);
  });

  test('REINFORCE with a baseline improves CartPole returns', () => {
    const { agent, curve } = trainReinforce(() => make('CartPole-v1'), { episodes: 120, seed: 1 });
    const first = mean(curve.returns.slice(0, 20));
    const last = mean(curve.returns.slice(-20));
    console.log(`REINFORCE: first 20 episodes ${first.toFixed(1)}, last 20 ${last.toFixed(1)}`);
    expect(last).toBeGreaterThan(2.5 * first);
    expect(evaluate(agent, make('CartPole-v1'), { episodes: 5 }).mean).toBeGreaterThan(60);
  });

  test('DQN (double, Huber) learns CartPole; evalEvery returns the best evaluated weights', () => {
    const { qNetwork, evaluations, evalSteps } = trainDQN(() => make('CartPole-v1'), {
      totalTimesteps: 6000, learningRate: 2.3e-3, batchSize: 64, bufferSize: 10000, learningStarts: 500, targetNetworkFrequency: 10, trainFrequency: 64, gradientSteps: 32, explorationFraction: 0.3, endE: 0.04, hidden: [64, 64], doubleQ: true, seed: 1,
      evalEvery: 2000, evalEpisodes: 3,
    });
    const r = evaluate(qNetwork, make('CartPole-v1'), { episodes: 10 });
    console.log(`DQN after 6000 steps: ${r.mean.toFixed(1)} +- ${r.std.toFixed(1)}; periodic evaluations ${evaluations.map((e) => e.mean.toFixed(0))}`);
    expect(r.mean).toBeGreaterThan(100);
    expect(evaluations.map((e) => e.step)).toEqual([2000, 4000, 6000]);
    // the returned weights are those of the best evaluation: re-running it on its seeds gives its mean
    const best = Math.max(...evaluations.map((e) => e.mean));
    const k = evaluations.map((e) => e.mean).lastIndexOf(best);
    expect(evaluate(qNetwork, make('CartPole-v1'), { episodes: 3, seed: 1_000_000 + 3 * k }).mean).toBe(best);
    expect(evalSteps).toBeGreaterThanOrEqual(9);
  });

  test('PPO learns CartPole, and the same seed gives the same learning curve', () => {
    const cfg = { totalTimesteps: 12_288, numEnvs: 8, numSteps: 32, numMinibatches: 1, updateEpochs: 10, gamma: 0.98, gaeLambda: 0.8, entCoef: 0, learningRate: 1e-3, annealClip: true, clipVloss: false, vfCoef: 1, seed: 3 };
    const { agent, curve } = trainPPO(() => make('CartPole-v1'), cfg);
    const r = evaluate(agent, make('CartPole-v1'), { episodes: 10 });
    console.log(`PPO after 12k steps: ${r.mean.toFixed(1)} +- ${r.std.toFixed(1)}; training episodes ${mean(curve.returns.slice(0, 20)).toFixed(1)} -> ${mean(curve.returns.slice(-10)).toFixed(1)}`);
    expect(r.mean).toBeGreaterThan(150);
    const again = trainPPO(() => make('CartPole-v1'), { ...cfg, totalTimesteps: 1024 });
    const twice = trainPPO(() => make('CartPole-v1'), { ...cfg, totalTimesteps: 1024 });
    expect(twice.curve).toEqual(again.curve);
    expect(Array.from(twice.agent.actor.at(0).parameters()[0].dataSync())).toEqual(Array.from(again.agent.actor.at(0).parameters()[0].dataSync()));
  });
});
