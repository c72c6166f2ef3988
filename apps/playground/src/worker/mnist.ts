import { noGrad } from '@dl/autograd';
import { Adam, Conv2d, crossEntropy, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential, seededPermutation } from '@dl/layers';
import { manualSeed, scope, tensor, type Tensor } from '@dl/tensor';
import type { Device } from '../protocol.js';
import { loadMnist, type MnistSet } from './data.js';
import { pickDevice } from './devices.js';
import { register } from './registry.js';
import { disposeTrainee, optimizerStep, readScalar, trainRun, type Trainee } from './train-loop.js';

/**
 * `dl train mnist-cnn`'s model (conv16-pool-conv32-pool-fc128-fc10), built from @dl/layers with
 * the same parameter names (`features.0.weight`, `classifier.3.bias`), so its checkpoints load
 * here and the page's download loads in `dl eval mnist-cnn`.
 */
export class MnistCnn extends Module {
  features = new Sequential(
    new Conv2d(1, 16, 3, { padding: 1 }), // (N, 16, 28, 28)
    new ReLU(),
    new MaxPool2d(2), // (N, 16, 14, 14)
    new Conv2d(16, 32, 3, { padding: 1 }), // (N, 32, 14, 14)
    new ReLU(),
    new MaxPool2d(2), // (N, 32, 7, 7)
  );
  classifier = new Sequential(new Flatten(), new Linear(32 * 7 * 7, 128), new ReLU(), new Linear(128, 10)); // (N, 10)

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}

let trainee: Trainee<MnistCnn> | null = null;
let epoch = 0;
let order: Int32Array | null = null;
let cursor = 0;

/** A fresh model (seeded) with Adam on `device`. */
function reset(device: Device, lr: number): Trainee<MnistCnn> {
  disposeTrainee(trainee);
  manualSeed(0);
  // in a scope: the tensors the layers' init made and wrapped as parameters are freed now
  const model = scope(() => new MnistCnn().to(device));
  trainee = { model, optimizer: new Adam(model.parameters(), { lr }), device, step: 0 };
  epoch = 0;
  order = null;
  cursor = 0;
  return trainee;
}

/** The next `n` shuffled training digits (a new order each epoch). */
function nextBatch(train: MnistSet, n: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (!order || cursor >= order.length) {
      order = seededPermutation(train.length, 0, epoch++);
      cursor = 0;
    }
    const k = order[cursor++];
    x.set(train.images.subarray(k * 784, (k + 1) * 784), i * 784);
    y[i] = train.labels[k];
  }
  return { x, y };
}

function current(): Trainee<MnistCnn> {
  if (!trainee) throw new Error('mnist: no model yet; train it or load a checkpoint first');
  return trainee;
}

/**
 * `n` test digits spread evenly over the test split (which is ordered by class, so the first ones
 * would all be zeros): images (n * 784) and labels.
 */
export function spreadTestDigits(test: MnistSet, n: number): { images: Float32Array; labels: Int32Array } {
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor((i * test.length) / n);
    images.set(test.images.subarray(k * 784, (k + 1) * 784), i * 784);
    labels[i] = test.labels[k];
  }
  return { images, labels };
}

/** Accuracy and mean cross-entropy on `n` test digits spread over the test split. */
async function testScore(t: Trainee<MnistCnn>, test: MnistSet, n: number): Promise<{ accuracy: number; loss: number }> {
  const { images, labels } = spreadTestDigits(test, n);
  let correct = 0;
  let lossSum = 0;
  for (let i = 0; i < n; i += 250) {
    const m = Math.min(250, n - i);
    const [pred, loss] = noGrad(() =>
      scope(() => {
        const logits = t.model.forward(tensor(images.subarray(i * 784, (i + m) * 784), { shape: [m, 1, 28, 28] }).to(t.device)); // (m, 10)
        return [logits.argmax(-1), crossEntropy(logits, tensor(labels.subarray(i, i + m), { dtype: 'int32' }).to(t.device), { reduction: 'sum' })];
      }),
    );
    const p = await pred.data();
    pred.dispose();
    lossSum += await readScalar(loss);
    for (let j = 0; j < m; j++) if (p[j] === labels[i + j]) correct++;
  }
  return { accuracy: correct / n, loss: lossSum / n };
}

register({
  /** Trains `steps` steps (a new model when asked, or when the device changed). */
  'mnist.train': async (a: { steps: number; batch: number; lr: number; evalDigits: number; device?: Device; reset?: boolean }, emit) => {
    const { train, test } = await loadMnist();
    const device = pickDevice(a.device);
    const t = a.reset || !trainee || trainee.device !== device ? reset(device, a.lr) : trainee;
    const scored = Math.min(a.evalDigits, test.length);
    const before = scored > 0 ? await testScore(t, test, scored) : null;
    const run = await trainRun('mnist', t, a.steps, emit, async () => {
      const { x, y } = nextBatch(train, a.batch);
      const [loss, correct] = optimizerStep(t, () => {
        const logits = t.model.forward(tensor(x, { shape: [a.batch, 1, 28, 28] }).to(device)); // (B, 10)
        const target = tensor(y, { dtype: 'int32' }).to(device);
        return [crossEntropy(logits, target), logits.argmax(-1).eq(target).sum()];
      });
      const [l, c] = [(await loss.data())[0], (await correct.data())[0]];
      loss.dispose();
      correct.dispose();
      return { loss: l, batchAccuracy: c / a.batch };
    });
    const after = scored > 0 ? await testScore(t, test, scored) : null;
    return { ...run, device, scored, before, after };
  },
  /** Class probabilities of a 28x28 image (784 values in [0, 1]). */
  'mnist.predict': async (pixels: Float32Array) => {
    const t = current();
    const probs = noGrad(() => scope(() => t.model.forward(tensor(pixels, { shape: [1, 1, 28, 28] }).to(t.device)).softmax(-1)));
    const p = Array.from(await probs.data());
    probs.dispose();
    return p;
  },
  /** Test digit `i` (pixels and label), for the drawing pad. */
  'mnist.testDigit': async (i: number) => {
    const { test } = await loadMnist();
    const k = ((i % test.length) + test.length) % test.length;
    return { pixels: test.images.slice(k * 784, (k + 1) * 784), label: test.labels[k] };
  },
});

/** Puts a loaded model in place (a checkpoint drop): Adam afresh, the next run continues from it. */
export function setMnistModel(model: MnistCnn, device: Device, step: number): void {
  disposeTrainee(trainee);
  model.to(device);
  trainee = { model, optimizer: new Adam(model.parameters(), { lr: 2e-3 }), device, step };
}

export { current as mnistTrainee };
