import { Categorical, Dropout, Normal } from '@dl/layers';
import { Generator, bernoulli, full, multinomial, rand, randint, randn, randperm, tensor } from '@dl/tensor';
import { runKernel } from '@dl/tensor/internal';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasWebGPU, sameAsCpu, useWebGPU } from './test-utils.js';

// The random kernels far into the Philox stream, and the sampling ops and distributions built on
// them, on WebGPU.
describe.skipIf(!hasWebGPU)('webgpu random numbers', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it('a counter of 2^32 does not repeat draw 0', async () => {
    const at = (counter: number) => runKernel('randomNormal', [], { shape: [8], dtype: 'float32', device: 'webgpu', key: [5, 6], counter }, [8], 'float32', 'webgpu');
    expect(Array.from(await at(2 ** 32).data())).not.toEqual(Array.from(await at(0).data()));
  });

  it('a tensor whose counters cross 2^32 (and one near 2^40) matches the cpu', async () => {
    for (const counter of [2 ** 32 - 3, 2 ** 40 - 2, 2 ** 40 + 2 ** 32 - 1]) {
      const attrs = (d: string) => ({ shape: [2, 13], dtype: 'float32' as const, device: d, key: [11, 12] as [number, number], counter });
      await sameAsCpu((d) => runKernel('randomUniform', [], attrs(d), [2, 13], 'float32', d), 0, 0, `uniform at ${counter}`);
      await sameAsCpu((d) => runKernel('randomNormal', [], attrs(d), [2, 13], 'float32', d), 1e-5, 1e-5, `normal at ${counter}`);
    }
  });

  it('random ops with a generator give the cpu numbers', async () => {
    const g = (d: string) => ({ device: d, generator: new Generator(77) });
    await sameAsCpu((d) => rand([3, 5], g(d)), 0, 0, 'rand');
    await sameAsCpu((d) => randn([3, 5], g(d)), 1e-5, 1e-5, 'randn');
    await sameAsCpu((d) => randint(-4, 9, [3, 5], g(d)), 0, 0, 'randint');
    await sameAsCpu((d) => randperm(9, g(d)), 0, 0, 'randperm');
    await sameAsCpu((d) => bernoulli(tensor([0, 0.3, 0.5, 0.9, 1], { device: d }).expand([4, 5]), g(d)), 0, 0, 'bernoulli');
    await sameAsCpu((d) => new Dropout(0.4, { generator: new Generator(5) }).forward(full([2, 9], 1, { device: d })), 0, 0, 'Dropout');
  });

  it('multinomial with replacement: the cpu draws (dyadic probabilities sum exactly on both)', async () => {
    const p = (d: string) => tensor([[0.125, 0.375, 0, 0.5], [0, 0.5, 0.5, 0]], { device: d });
    await sameAsCpu((d) => multinomial(p(d), 64, { replacement: true, generator: new Generator(3) }), 0, 0, 'multinomial');
    await sameAsCpu((d) => multinomial(p(d).select(0, 0), 16, { replacement: true, generator: new Generator(3) }), 0, 0, '1-D multinomial');
    // u = 1 - 2^-24 (element 9320226 of Generator(0)'s stream) lands on the last non-zero category
    const g = new Generator(0);
    g.counter = Math.floor(9320226 / 4);
    const top = multinomial(tensor([[0.25, 0.75, 0, 0]], { device: 'webgpu' }), 3, { replacement: true, generator: g });
    expect((await top.data())[9320226 % 4]).toBe(1);
  });

  it('multinomial without replacement: distinct non-zero categories, first draws by probability', async () => {
    const probs = tensor([0.5, 0.3, 0.2, 0], { device: 'webgpu' }).reshape([1, 4]).expand([600, 4]);
    const s = multinomial(probs, 3, { generator: new Generator(5) });
    expect(s.device).toBe('webgpu');
    expect(s.shape).toEqual([600, 3]);
    const v = await s.data();
    const first = [0, 0, 0, 0];
    for (let r = 0; r < 600; r++) {
      const row = [v[r * 3], v[r * 3 + 1], v[r * 3 + 2]];
      expect(new Set(row).size).toBe(3);
      expect(row).not.toContain(3);
      first[row[0]] += 1 / 600;
    }
    [0.5, 0.3, 0.2].forEach((p, i) => expect(Math.abs(first[i] - p)).toBeLessThan(0.08)); // sd <= 0.02
  });

  it('Normal and Categorical sample, logProb and entropy as on the cpu', async () => {
    const normal = (d: string) => new Normal(tensor([0, 1.5], { device: d }), tensor([1, 0.5], { device: d }));
    await sameAsCpu((d) => normal(d).rsample([3], { generator: new Generator(1) }), 1e-5, 1e-5, 'Normal.rsample');
    await sameAsCpu((d) => normal(d).logProb(tensor([0.3, 1], { device: d })), 1e-5, 1e-5, 'Normal.logProb');
    await sameAsCpu((d) => normal(d).entropy(), 1e-6, 1e-6, 'Normal.entropy');
    const cat = (d: string) => new Categorical({ logits: tensor([[1, -0.5, 2, 0], [0, 0, 0, -Infinity]], { device: d }) });
    await sameAsCpu((d) => cat(d).probs, 1e-5, 1e-6, 'Categorical.probs');
    await sameAsCpu((d) => cat(d).logProb(tensor(new Int32Array([3, 1]), { device: d })), 1e-5, 1e-5, 'Categorical.logProb');
    await sameAsCpu((d) => cat(d).entropy(), 1e-5, 1e-5, 'Categorical.entropy');
    const s = new Categorical({ probs: tensor([0.25, 0.75, 0], { device: 'webgpu' }) }).sample([400], { generator: new Generator(2) });
    const v = await s.data();
    expect(Array.from(v).every((k) => k === 0 || k === 1)).toBe(true);
    expect(Math.abs(Array.from(v).filter((k) => k === 1).length / 400 - 0.75)).toBeLessThan(0.1); // sd 0.02
  });
});
