import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveSafetensors } from '@dl/layers';
import { DLError, ShapeError, manualSeed, rand, tensor } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dataset, subset, testAccuracy } from '../classify.js';
import { main } from '../main.js';
import { loadMnist } from '../mnist.js';
import { evalClassifier, type EvalClassifier } from './classifier.js';
import { loadSamples, saveSamples, type Samples } from './samples.js';
import { fidLine, scoreLines, scoreWith } from './score.js';

// A quick classifier (one epoch on 1,000 digits, as a task's --limit 1000 makes) keeps this fast;
// the properties below hold for any classifier.
const dir = mkdtempSync(join(tmpdir(), 'dl-eval-'));
let clf: EvalClassifier;
const { train, test } = loadMnist();

beforeAll(async () => {
  clf = await evalClassifier({ path: join(dir, 'clf', 'checkpoint.safetensors'), device: 'cpu', log: () => {}, limit: 1000 });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scoring samples', () => {
  it('the test digits against themselves: distance ~0; with their labels the agreement is the test accuracy', async () => {
    const s = await scoreWith(clf, test, 'cpu');
    expect(Math.abs(s.fid)).toBeLessThan(1e-6);
    expect(s.count).toBe(2004);
    expect(s.histogram.reduce((a, b) => a + b, 0)).toBe(2004);
    expect(s.agreement).toBe(await testAccuracy(clf.model, dataset(test), 'cpu'));
    expect(s.meanConfidence).toBeGreaterThan(0.1);
    expect(s.meanConfidence).toBeLessThanOrEqual(1);
  });

  it('train digits are close, uniform noise is far; wrong labels agree rarely', async () => {
    const real = await scoreWith(clf, subset(train, 1000), 'cpu');
    manualSeed(0);
    const noise = await scoreWith(clf, { images: rand([1000, 784]).dataSync() as Float32Array, length: 1000 }, 'cpu');
    expect(real.fid).toBeGreaterThan(0);
    expect(noise.fid).toBeGreaterThan(20 * real.fid);
    expect(noise.agreement).toBeUndefined();
    const wrong = subset(test, 1000);
    const shifted = await scoreWith(clf, { ...wrong, labels: wrong.labels.map((y) => (y + 1) % 10) }, 'cpu');
    expect(shifted.agreement!).toBeLessThan(0.2);
    const lines = scoreLines(shifted);
    expect(lines[0]).toContain('quick --limit classifier');
    expect(lines.at(-1)).toMatch(/^requested class: \d+\.\d% of the samples are classified as their label$/);
    expect(lines[2]).toMatch(/^classes: 0: \d+\.\d%  1: .* \(smallest \d+\.\d%\)$/);
    expect(fidLine(real)).toMatch(/^fid: \d+\.\d\d$/);
  });
});

describe('samples.safetensors', () => {
  it('round-trips images and labels; saveSamples refuses what loadSamples would', async () => {
    const file = join(dir, 'round.safetensors');
    const s: Samples = { images: test.images.slice(0, 3 * 784), labels: Int32Array.of(1, 2, 3), length: 3 };
    await saveSamples(file, s, { model: 'test' });
    const back = loadSamples(file);
    expect(back.length).toBe(3);
    expect(Array.from(back.labels!)).toEqual([1, 2, 3]);
    expect(back.images).toEqual(s.images);
    expect(back.metadata.model).toBe('test');
    await expect(saveSamples(file, { ...s, labels: Int32Array.of(1, 2) })).rejects.toThrow('expected 3 labels (one per image), got 2');
  });

  it('names what is wrong with a file', async () => {
    const write = async (name: string, tensors: Parameters<typeof saveSafetensors>[1]) => {
      const f = join(dir, name);
      await saveSafetensors(f, tensors);
      return f;
    };
    const ok = tensor(new Float32Array(2 * 784), { shape: [2, 1, 28, 28] });
    const a = await write('a.safetensors', { x: ok });
    expect(() => loadSamples(a)).toThrow(`${a} has no 'images' tensor (it has: x)`);
    const b = await write('b.safetensors', { images: tensor(new Float32Array(2 * 784), { shape: [2, 784] }) });
    expect(() => loadSamples(b)).toThrow(ShapeError);
    expect(() => loadSamples(b)).toThrow(`eval-samples: ${b}: images must be [N,1,28,28], got [2,784]`);
    const c = await write('c.safetensors', { images: ok.mul(0).add(1.5) });
    expect(() => loadSamples(c)).toThrow(DLError);
    expect(() => loadSamples(c)).toThrow('pixel values must be in [0, 1], image 0 holds 1.5 at pixel 0 (write probabilities or Bernoulli means, not logits)');
    const d = await write('d.safetensors', { images: ok, labels: tensor(Int32Array.of(3)) });
    expect(() => loadSamples(d)).toThrow(`${d}: labels must be int32 [2] (one per image), got int32 [1]`);
    const e = await write('e.safetensors', { images: ok, labels: tensor(Int32Array.of(3, 10)) });
    expect(() => loadSamples(e)).toThrow('labels must be digits 0..9, label 1 is 10');
  });
});

describe('dl eval-samples FILE', () => {
  it('prints the scores and `fid: X` last; refuses a missing file argument and foreign options', async () => {
    const file = join(dir, 'train.safetensors');
    await saveSamples(file, subset(train, 500));
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true));
    let out: string[];
    try {
      expect(await main(['eval-samples', file, '--classifier', clf.path])).toBe(0);
      out = lines.join('').trim().split('\n');
      await expect(main(['eval-samples'])).rejects.toThrow('dl eval-samples needs a FILE (a samples.safetensors)');
      await expect(main(['eval-samples', file, '--epochs', '3'])).rejects.toThrow('--epochs is not an option of eval-samples (see dl help eval-samples)');
    } finally {
      vi.restoreAllMocks();
    }
    expect(out[0]).toBe('device: cpu');
    expect(out).toContain('samples: 500 images with requested labels');
    expect(out.at(-1)).toMatch(/^fid: \d+\.\d\d$/);
  });
});
