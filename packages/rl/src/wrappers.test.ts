import { describe, expect, test } from 'vitest';
import { CartPole } from './envs/cartpole.js';
import { RLValueError } from './errors.js';
import { make } from './make.js';
import { Box, Discrete } from './spaces.js';
import { SyncVectorEnv } from './vector.js';
import { FrameStack, NormalizeObservation, RecordEpisodeStatistics, TimeLimit, type EpisodeStatistics } from './wrappers.js';

describe('spaces', () => {
  test('Discrete and Box sample inside, contains checks type and bounds, seed repeats', () => {
    const d = new Discrete(3, 1);
    d.seed(0);
    const a = Array.from({ length: 200 }, () => d.sample());
    expect(new Set(a)).toEqual(new Set([1, 2, 3]));
    expect([d.contains(1), d.contains(4), d.contains(0), d.contains('1'), d.contains(1.5)]).toEqual([true, false, false, false, false]);
    d.seed(0);
    expect(Array.from({ length: 200 }, () => d.sample())).toEqual(a);
    const b = new Box([-1, 0, -Infinity, -Infinity], [1, Infinity, 5, Infinity]);
    for (let i = 0; i < 100; i++) expect(b.contains(b.sample())).toBe(true);
    expect(b.contains(new Float32Array([2, 0, 0, 0]))).toBe(false);
    expect(b.contains(new Float32Array([0, 0, 0]))).toBe(false);
    expect(b.contains([0, 0, 0, 0])).toBe(false);
    expect(() => new Box([1], [0])).toThrow(RLValueError);
  });
});

test('TimeLimit truncates; RecordEpisodeStatistics reports return and length', () => {
  const env = new RecordEpisodeStatistics(new TimeLimit(new CartPole(), 5));
  env.reset({ options: { state: [0, 0, 0, 0] } });
  let r;
  for (let t = 0; t < 5; t++) {
    r = env.step(t % 2);
    if (t < 4) expect(r.info.episode).toBeUndefined();
  }
  expect(r!.truncated).toBe(true);
  expect(r!.info.episode).toMatchObject({ r: 5, l: 5 } satisfies Partial<EpisodeStatistics>);
  expect(env.returnQueue).toEqual([5]);
  expect(env.name).toBe('RecordEpisodeStatistics<TimeLimit<CartPole>>');
});

test('NormalizeObservation drives observations to zero mean, unit variance', () => {
  const env = new NormalizeObservation(make('MountainCar-v0'));
  env.reset({ seed: 0 });
  env.actionSpace.seed(0);
  const seen: Float32Array[] = [];
  for (let t = 0; t < 2000; t++) {
    const r = env.step(env.actionSpace.sample());
    seen.push(r.observation);
    if (r.terminated || r.truncated) env.reset();
  }
  const late = seen.slice(1000);
  for (let i = 0; i < 2; i++) {
    const m = late.reduce((a, o) => a + o[i], 0) / late.length;
    const v = late.reduce((a, o) => a + (o[i] - m) ** 2, 0) / late.length;
    expect(Math.abs(m)).toBeLessThan(0.5);
    expect(v).toBeGreaterThan(0.3);
    expect(v).toBeLessThan(3);
  }
});

test('FrameStack keeps the last k observations, padded with the first after reset', () => {
  const env = new FrameStack(make('CartPole-v1'), 3);
  expect(env.observationSpace.shape).toEqual([3, 4]);
  const o0 = env.reset({ seed: 0 }).observation;
  expect(Array.from(o0.subarray(0, 4))).toEqual(Array.from(o0.subarray(8, 12)));
  const o1 = env.step(1).observation;
  const o2 = env.step(0).observation;
  expect(Array.from(o2.subarray(0, 8))).toEqual([...o0.subarray(0, 4), ...o1.subarray(8, 12)]);
});

test('SyncVectorEnv steps N copies, seeds copy i with seed + i, autoresets in the same step', () => {
  const envs = new SyncVectorEnv(Array.from({ length: 3 }, () => () => new RecordEpisodeStatistics(make('CartPole-v1'))));
  const { observations } = envs.reset({ seed: 10 });
  const single = make('CartPole-v1');
  expect(Array.from(observations.subarray(4, 8))).toEqual(Array.from(single.reset({ seed: 11 }).observation));
  let ended = 0;
  for (let t = 0; t < 60; t++) {
    const r = envs.step([1, 1, 1]);
    r.terminated.forEach((done, i) => {
      if (!done) return;
      ended++;
      const final = r.infos[i].finalObservation as Float32Array;
      expect(Math.abs(final[0]) > 2.4 || Math.abs(final[2]) > 0.2094).toBe(true);
      // the row holds the next episode's start
      for (const v of r.observations.subarray(i * 4, i * 4 + 4)) expect(Math.abs(v)).toBeLessThanOrEqual(0.05);
      expect((r.infos[i].finalInfo as { episode: EpisodeStatistics }).episode.l).toBeGreaterThan(5);
    });
  }
  expect(ended).toBeGreaterThanOrEqual(3); // always pushing right drops the pole within ~10 steps
  expect(() => envs.step([1, 1])).toThrow(/expected 3 actions/);
});
