import { noGrad } from '@dl/autograd';
import { scope, tensor } from '@dl/tensor';
import { loadMnist } from '../mnist.js';
import type { MnistCnn } from '../model.js';
import { evalClassifier, type EvalClassifier, type EvalClassifierOptions } from './classifier.js';
import { frechetDistance, gaussianOf, type Gaussian } from './frechet.js';
import type { Samples } from './samples.js';

/**
 * Scores of generated digits by the scoring classifier (`dl eval-samples` and the end of every
 * generative task).
 */
export interface SampleScore {
  /** number of samples */
  count: number;
  /** Frechet distance between the samples' and the 2,004 test digits' penultimate features (FID-style) */
  fid: number;
  /** mean of the classifier's largest softmax probability */
  meanConfidence: number;
  /** samples the classifier assigns to each digit 0..9 */
  histogram: number[];
  /** conditional samples: the share classified as their requested label */
  agreement?: number;
  classifier: EvalClassifier;
}

/** The classifier's penultimate features (n, hidden) and softmax probabilities (n, 10) of n images. */
export async function classifierOutputs(model: MnistCnn, images: Float32Array, n: number, device: string, batch = 500): Promise<{ features: Float32Array; probs: Float32Array; dim: number }> {
  const wasTraining = model.training;
  model.eval();
  const parts: { f: Float32Array; p: Float32Array }[] = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const [f, p] = noGrad(() =>
      scope(() => {
        const x = tensor(images.subarray(i * 784, (i + m) * 784), { shape: [m, 1, 28, 28] }).to(device);
        const h = model.penultimate(x); // (m, hidden)
        return [h, model.head(h).softmax(-1)]; // (m, hidden), (m, 10)
      }),
    );
    parts.push({ f: (await f.data()) as Float32Array, p: (await p.data()) as Float32Array });
    f.dispose();
    p.dispose();
  }
  model.train(wasTraining);
  const dim = parts.length ? parts[0].f.length / Math.min(batch, n) : 0;
  const features = new Float32Array(n * dim);
  const probs = new Float32Array(n * 10);
  parts.forEach(({ f, p }, k) => {
    features.set(f, k * batch * dim);
    probs.set(p, k * batch * 10);
  });
  return { features, probs, dim };
}

// the test digits' statistics, once per classifier
const reference = new WeakMap<MnistCnn, Gaussian>();

/** The Gaussian of the classifier's features of the 2,004 test digits. */
export async function testDigitsGaussian(model: MnistCnn, device: string): Promise<Gaussian> {
  let g = reference.get(model);
  if (!g) {
    const { test } = loadMnist();
    const { features, dim } = await classifierOutputs(model, test.images, test.length, device);
    g = gaussianOf(features, test.length, dim);
    reference.set(model, g);
  }
  return g;
}

/**
 * Scores samples with a loaded classifier: FID-style distance to the test digits, mean confidence,
 * class histogram, and agreement with the requested labels when there are labels.
 *
 *   const score = await scoreWith(await evalClassifier({ device, log }), samples, device);
 */
export async function scoreWith(classifier: EvalClassifier, s: Samples, device: string): Promise<SampleScore> {
  const { model } = classifier;
  const { features, probs, dim } = await classifierOutputs(model, s.images, s.length, device);
  const fid = frechetDistance(gaussianOf(features, s.length, dim), await testDigitsGaussian(model, device));
  const histogram = new Array<number>(10).fill(0);
  let confidence = 0;
  let agree = 0;
  for (let i = 0; i < s.length; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (probs[i * 10 + k] > probs[i * 10 + best]) best = k;
    histogram[best]++;
    confidence += probs[i * 10 + best];
    if (s.labels && s.labels[i] === best) agree++;
  }
  const score: SampleScore = { count: s.length, fid, meanConfidence: confidence / s.length, histogram, classifier };
  if (s.labels) score.agreement = agree / s.length;
  return score;
}

/** `fid: 12.34` (the last line of `dl eval-samples`, the GAN and the DDPM). */
export function fidLine(score: SampleScore): string {
  return `fid: ${score.fid.toFixed(2)}`;
}

/** The lines of a score before its `fid: X`: classifier, confidence, class histogram, agreement. */
export function scoreLines(score: SampleScore): string[] {
  const { classifier: c, histogram, count } = score;
  const pct = (k: number) => `${((100 * k) / count).toFixed(1)}%`;
  const lines = [
    `scoring classifier: ${c.path} (test accuracy ${c.testAccuracy.toFixed(4)}${c.quick ? '; quick --limit classifier, scores compare with nothing' : ''})`,
    `mean classifier confidence: ${score.meanConfidence.toFixed(4)}`,
    `classes: ${histogram.map((k, d) => `${d}: ${pct(k)}`).join('  ')} (smallest ${pct(Math.min(...histogram))})`,
  ];
  if (score.agreement !== undefined) lines.push(`requested class: ${(100 * score.agreement).toFixed(1)}% of the samples are classified as their label`);
  return lines;
}

/**
 * Loads (or trains once) the scoring classifier, scores the samples and logs every line but the
 * last: what a generative task calls at its end. The caller prints `fidLine(score)` last (GAN,
 * DDPM) or logs it before its own last line (VAE).
 *
 *   const score = await reportSamples(samples, { path: o.classifier, device, log, limit: o.limit });
 *   return fidLine(score);
 */
export async function reportSamples(s: Samples, opts: EvalClassifierOptions): Promise<SampleScore> {
  const classifier = await evalClassifier(opts);
  const score = await scoreWith(classifier, s, opts.device);
  opts.log(`samples: ${s.length.toLocaleString('en-US')} images${s.labels ? ' with requested labels' : ''}`);
  for (const line of scoreLines(score)) opts.log(line);
  return score;
}
