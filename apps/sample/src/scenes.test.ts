import { Generator } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import type { MnistSplit } from './mnist.js';
import { SCENE, addConfusion, iou, makeScenes, testSceneGenerator, trainSceneGenerator } from './scenes.js';

/** Ten fake digits: digit i is a solid 10x10 square of value 0.8 (i = 3: 0.4, below the mask threshold) inside a 28x28 crop. */
function squares(): MnistSplit {
  const images = new Float32Array(10 * 784);
  for (let i = 0; i < 10; i++) for (let y = 9; y < 19; y++) for (let x = 5; x < 15; x++) images[i * 784 + y * 28 + x] = i === 3 ? 0.4 : 0.8;
  return { images, labels: Int32Array.from({ length: 10 }, (_, i) => i), length: 10 };
}

describe('makeScenes', () => {
  it('places 2-4 digits by their tight boxes without overlap; a pixel is labelled digit + 1 where it is above 0.5', () => {
    const split = squares();
    const s = makeScenes(split, 200, new Generator(1));
    const counts = new Set<number>();
    for (let k = 0; k < s.length; k++) {
      const img = s.images.subarray(k * SCENE * SCENE, (k + 1) * SCENE * SCENE);
      const mask = s.masks.subarray(k * SCENE * SCENE, (k + 1) * SCENE * SCENE);
      // every square keeps its 100 pixels: none overlaps another or leaves the canvas
      const lit = img.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
      expect(lit % 100).toBe(0);
      counts.add(lit / 100);
      let wrong = 0;
      for (let i = 0; i < img.length; i++) if (mask[i] > 0 !== img[i] > 0.5 || mask[i] === 4 || mask[i] > 10) wrong++;
      expect(wrong, `scene ${k}: pixels whose label does not match their value`).toBe(0);
    }
    expect([...counts].sort()).toEqual([2, 3, 4]);
  });

  it('the same generator state gives the same scenes; each epoch and the test set get their own', () => {
    const split = squares();
    const a = makeScenes(split, 20, trainSceneGenerator(0, 1));
    expect(makeScenes(split, 20, trainSceneGenerator(0, 1))).toEqual(a);
    expect(makeScenes(split, 20, trainSceneGenerator(0, 2)).images).not.toEqual(a.images);
    expect(makeScenes(split, 20, trainSceneGenerator(1, 1)).images).not.toEqual(a.images);
    expect(makeScenes(split, 20, testSceneGenerator())).toEqual(makeScenes(split, 20, testSceneGenerator()));
    expect(makeScenes(split, 20, testSceneGenerator()).images).not.toEqual(a.images);
  });

  it('draws only the digits of the split it is given', () => {
    const split = squares();
    const sevens: MnistSplit = { images: split.images.slice(7 * 784, 8 * 784), labels: Int32Array.of(7), length: 1 };
    const s = makeScenes(sevens, 10, new Generator(2));
    expect(new Set(s.masks)).toEqual(new Set([0, 8]));
  });
});

describe('iou', () => {
  it('is TP / (TP + FP + FN) per class, NaN for a class in neither truth nor prediction', () => {
    const conf = new Float64Array(9);
    addConfusion(conf, [0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 0], 3);
    // class 0: TP 2, FN 1, FP 1 -> 0.5; class 1: TP 2, FN 1, FP 1 -> 0.5
    expect(iou(conf, 3)).toEqual([0.5, 0.5, NaN]);
    addConfusion(conf, [2], [2], 3);
    expect(iou(conf, 3)[2]).toBe(1);
  });
});
