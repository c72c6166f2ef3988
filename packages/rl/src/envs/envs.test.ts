import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { BaseEnv } from '../env.js';
import { InvalidActionError, NonFiniteObservationError, ResetNeededError } from '../errors.js';
import { make } from '../make.js';
import { Acrobot } from './acrobot.js';
import { CartPole } from './cartpole.js';
import { GridWorld } from './grid-world.js';
import { MountainCar } from './mountain-car.js';

interface Case {
  state: number[];
  actions: number[];
  observations: number[][];
  rewards: number[];
  terminated: boolean[];
}
// written by ../../fixtures/gen_fixtures.py from the numpy transcription of Gymnasium (../../fixtures/classic_control.py)
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/trajectories.json', import.meta.url), 'utf8')) as Record<string, Case[]>;
const envs: Record<string, () => BaseEnv<Float32Array, number>> = {
  CartPole: () => new CartPole(),
  MountainCar: () => new MountainCar(),
  Acrobot: () => new Acrobot(),
};

describe.each(Object.keys(envs))('%s follows the Gymnasium reference step by step', (name) => {
  test.each(fixture[name].map((c, i) => [i, c] as const))('case %i', (_, c) => {
    const env = envs[name]();
    env.reset({ options: { state: c.state } });
    let worst = 0;
    c.actions.forEach((a, t) => {
      const r = env.step(a);
      for (let i = 0; i < r.observation.length; i++) {
        const want = c.observations[t][i];
        worst = Math.max(worst, Math.abs(r.observation[i] - want) / Math.max(1, Math.abs(want)));
      }
      expect(r.reward, `reward at step ${t}`).toBe(c.rewards[t]);
      expect(r.terminated, `terminated at step ${t}`).toBe(c.terminated[t]);
    });
    // float32 observations; cos/sin of V8 and libm may differ in the last bit of a float64
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('reset distributions', () => {
  test('CartPole starts uniform in [-0.05, 0.05]^4, float32 observations of a float64 state', () => {
    const env = new CartPole();
    const all: number[] = [];
    for (let s = 0; s < 500; s++) {
      const { observation } = env.reset({ seed: s });
      expect(observation).toBeInstanceOf(Float32Array);
      expect(Array.from(observation)).toEqual(Array.from(Float32Array.from(env.state)));
      all.push(...observation);
    }
    expect(Math.min(...all)).toBeGreaterThanOrEqual(-0.05);
    expect(Math.max(...all)).toBeLessThanOrEqual(0.05);
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length;
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(variance).toBeCloseTo(0.1 ** 2 / 12, 4); // uniform of width 0.1
    expect(Math.max(...all)).toBeGreaterThan(0.049);
  });

  test('MountainCar starts at rest in [-0.6, -0.4]; Acrobot in [-0.1, 0.1] stored as float32', () => {
    const mc = new MountainCar();
    const ac = new Acrobot();
    for (let s = 0; s < 100; s++) {
      const o = mc.reset({ seed: s }).observation;
      expect(o[0]).toBeGreaterThanOrEqual(-0.6);
      expect(o[0]).toBeLessThanOrEqual(-0.4);
      expect(o[1]).toBe(0);
      ac.reset({ seed: s });
      for (const v of ac.state) {
        expect(Math.abs(v)).toBeLessThanOrEqual(0.1);
        expect(Math.fround(v)).toBe(v);
      }
    }
  });

  test('reset options low/high as Gymnasium', () => {
    const env = new CartPole();
    const o = env.reset({ seed: 3, options: { low: 0.2, high: 0.3 } }).observation;
    for (const v of o) expect(v >= 0.19999 && v <= 0.30001).toBe(true);
  });
});

test('the same seed gives the same episode; another seed another', () => {
  const run = (seed: number) => {
    const env = make('CartPole-v1');
    const obs: number[] = [...env.reset({ seed }).observation];
    for (let t = 0; t < 50; t++) {
      const r = env.step(env.actionSpace.sample());
      obs.push(...r.observation);
      if (r.terminated || r.truncated) obs.push(...env.reset().observation);
    }
    return obs;
  };
  expect(run(7)).toEqual(run(7));
  expect(run(7)).not.toEqual(run(8));
});

test('CartPole-v1 truncates at 500 steps and rewards every step', () => {
  const env = make('CartPole-v1');
  const cp = env.unwrapped as CartPole;
  env.reset({ seed: 0 });
  let steps = 0;
  let total = 0;
  for (;;) {
    // a controller that keeps the pole up for 500 steps
    const [x, xDot, theta, thetaDot] = cp.state;
    const r = env.step(theta + 0.5 * thetaDot + 0.01 * x + 0.05 * xDot > 0 ? 1 : 0);
    steps++;
    total += r.reward;
    if (r.terminated || r.truncated) {
      expect(r.truncated).toBe(true);
      expect(r.terminated).toBe(false);
      break;
    }
  }
  expect(steps).toBe(500);
  expect(total).toBe(500);
  expect(() => env.step(0)).toThrow(ResetNeededError);
});

describe('typed errors', () => {
  test('invalid actions', () => {
    const env = make('CartPole-v1');
    env.reset({ seed: 0 });
    for (const a of [2, -1, 0.5, NaN]) expect(() => env.step(a)).toThrow(InvalidActionError);
    expect(() => env.step(2)).toThrow(/CartPole\.step: action 2 is not in Discrete\(2\)/);
  });

  test('step before reset and after terminated', () => {
    const env = new CartPole();
    expect(() => env.step(0)).toThrow(ResetNeededError);
    env.reset({ options: { state: [2.39, 5, 0, 0] } });
    expect(env.step(1).terminated).toBe(true);
    expect(() => env.step(1)).toThrow(/terminated; call reset\(\)/);
    env.reset();
    expect(env.step(1).terminated).toBe(false);
  });

  test('NaN observations', () => {
    const env = new CartPole();
    expect(() => env.reset({ options: { state: [0, NaN, 0, 0] } })).toThrow(/state must hold 4 finite numbers/);
    env.reset({ seed: 0 });
    env.state[3] = NaN;
    expect(() => env.step(0)).toThrow(NonFiniteObservationError);
  });
});

test('GridWorld: FrozenLake moves, walls, hole and goal', () => {
  const env = new GridWorld();
  expect(env.reset({ seed: 0 }).observation).toBe(0);
  expect(env.step(0).observation).toBe(0); // wall
  expect(env.step(2).observation).toBe(1);
  const hole = env.step(1);
  expect(hole).toMatchObject({ observation: 5, reward: 0, terminated: true });
  env.reset();
  let r = env.step(1);
  for (const a of [1, 2, 1, 2]) r = env.step(a);
  expect(r.terminated).toBe(false);
  r = env.step(2);
  expect(r).toMatchObject({ observation: 15, reward: 1, terminated: true });
  const slippery = new GridWorld({ slippery: true });
  slippery.reset({ seed: 1 });
  const seen = new Set<number>();
  for (let i = 0; i < 30; i++) {
    seen.add(slippery.step(2).observation);
    slippery.reset();
  }
  expect([...seen].sort()).toEqual([0, 1, 4]);
});

test('render draws an RGB frame of the state', () => {
  const env = new CartPole({ renderWidth: 150 });
  env.reset({ options: { state: [0, 0, 0, 0] } });
  const upright = env.render();
  expect([upright.width, upright.height, upright.data.length]).toEqual([150, 100, 150 * 100 * 3]);
  env.reset({ options: { state: [1, 0, 0.2, 0] } });
  const moved = env.render();
  expect(Buffer.from(moved.data).equals(Buffer.from(upright.data))).toBe(false);
  // the cart is black at its centre: x = 1 maps to 150/2 + 1 * 150/4.8 px, 25 px up from the bottom
  const px = Math.round(75 + 150 / 4.8);
  const row = 100 - 1 - 25;
  expect(Array.from(moved.data.subarray((row * 150 + px) * 3, (row * 150 + px) * 3 + 3))).toEqual([0, 0, 0]);
  for (const e of [new MountainCar({ renderWidth: 60 }), new Acrobot({ renderWidth: 50 }), new GridWorld()]) {
    e.reset({ seed: 0 });
    const f = e.render();
    expect(f.data.length).toBe(f.width * f.height * 3);
    expect(new Set(f.data).size).toBeGreaterThan(2);
  }
});
