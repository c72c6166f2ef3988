import { Generator, fillUniform } from '@dl/tensor';
import type { MnistSplit } from './mnist.js';

/** Side of a scene canvas. */
export const SCENE = 64;
/** Pixel classes of a scene: 0 background, d + 1 for digit d. */
export const SCENE_CLASSES = 11;

/** Scenes of several MNIST digits and their per-pixel labels. */
export interface Scenes {
  /** [n * 64 * 64] pixel values in [0, 1] */
  images: Float32Array;
  /** [n * 64 * 64] labels: 0 background, digit + 1 where the digit's pixel is above 0.5 */
  masks: Int32Array;
  length: number;
}

export interface SceneOptions {
  /** fewest and most digits per scene (default 2 and 4) */
  minDigits?: number;
  maxDigits?: number;
}

/** A digit's tight bounding box: the rows and columns holding its non-zero pixels. */
interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

function tightBox(px: Float32Array): Box {
  let [top, bottom, left, right] = [28, -1, 28, -1];
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if (px[y * 28 + x] > 0) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  return bottom < 0 ? { top: 0, left: 0, height: 1, width: 1 } : { top, left, height: bottom - top + 1, width: right - left + 1 };
}

/** Host-side uniform [0, 1) numbers from a Generator's stream (the same on every machine). */
function uniforms(g: Generator, n: number): Float32Array {
  const out = new Float32Array(n);
  fillUniform(out, g.key, g.takeCounters(n));
  return out;
}

/** Placement attempts per digit before the scene keeps the digits it has (at least 2 fit in practice). */
const TRIES = 50;

/**
 * `n` scenes of 64x64 holding 2-4 digits of `split` (chosen at random, with replacement) at random
 * positions, their tight bounding boxes not overlapping. Every random choice comes from `g`, so
 * a generator with the same state makes the same scenes.
 *
 *   const test = makeScenes(loadMnist().test, 500, new Generator(7));
 */
export function makeScenes(split: MnistSplit, n: number, g: Generator, { minDigits = 2, maxDigits = 4 }: SceneOptions = {}): Scenes {
  const area = SCENE * SCENE;
  const images = new Float32Array(n * area);
  const masks = new Int32Array(n * area);
  const boxes = new Map<number, Box>();
  for (let s = 0; s < n; s++) {
    // one draw for the count, then per digit: which digit, and TRIES (row, column) pairs
    const u = uniforms(g, 1 + maxDigits * (1 + 2 * TRIES));
    const count = minDigits + Math.floor(u[0] * (maxDigits - minDigits + 1));
    const placed: Box[] = [];
    for (let k = 0; k < count; k++) {
      const base = 1 + k * (1 + 2 * TRIES);
      const idx = Math.floor(u[base] * split.length);
      const px = split.images.subarray(idx * 784, (idx + 1) * 784);
      const box = boxes.get(idx) ?? tightBox(px);
      boxes.set(idx, box);
      for (let t = 0; t < TRIES; t++) {
        const top = Math.floor(u[base + 1 + 2 * t] * (SCENE - box.height + 1));
        const left = Math.floor(u[base + 2 + 2 * t] * (SCENE - box.width + 1));
        const here: Box = { top, left, height: box.height, width: box.width };
        const overlaps = placed.some((p) => top < p.top + p.height && p.top < top + box.height && left < p.left + p.width && p.left < left + box.width);
        if (overlaps) continue;
        placed.push(here);
        const label = split.labels[idx] + 1;
        for (let y = 0; y < box.height; y++) {
          for (let x = 0; x < box.width; x++) {
            const v = px[(box.top + y) * 28 + box.left + x];
            const o = s * area + (top + y) * SCENE + left + x;
            images[o] = v;
            if (v > 0.5) masks[o] = label;
          }
        }
        break;
      }
    }
  }
  return { images, masks, length: n };
}

/**
 * The generator of the training scenes of one epoch: a stream keyed by (seed, epoch), so a resumed
 * run draws the scenes an uninterrupted one would.
 */
export function trainSceneGenerator(seed: number, epoch: number): Generator {
  return new Generator().setState({ key: [seed >>> 0, (0x5ce9e5 + epoch) >>> 0], counter: 0 });
}

/** The generator of the test scenes: a fixed key, the same scenes on every run and machine. */
export function testSceneGenerator(): Generator {
  return new Generator().setState({ key: [0x7e57, 0x5ce9e5], counter: 0 });
}

/**
 * Per-class intersection over union from a confusion matrix (`conf[t * k + p]` counts pixels of
 * true class t predicted p): TP / (TP + FP + FN), NaN for a class absent from both.
 *
 *   iou(conf, 11); // [background, digit 0, ..., digit 9]
 */
export function iou(conf: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: k }, (_, c) => {
    let rowSum = 0;
    let colSum = 0;
    for (let j = 0; j < k; j++) {
      rowSum += conf[c * k + j];
      colSum += conf[j * k + c];
    }
    const tp = conf[c * k + c];
    const union = rowSum + colSum - tp;
    return union === 0 ? NaN : tp / union;
  });
}

/** Adds the pixels of `pred` (class per pixel) against `truth` to the k x k confusion matrix. */
export function addConfusion(conf: Float64Array, truth: ArrayLike<number>, pred: ArrayLike<number>, k: number): void {
  for (let i = 0; i < truth.length; i++) conf[truth[i] * k + pred[i]]++;
}
