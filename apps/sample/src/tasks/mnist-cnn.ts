import { MNIST_DEFAULTS, evalMnist, trainMnist } from '../train-mnist.js';
import { TRAIN_OPTIONS, num, numIn, pick, required, seed, text } from './args.js';
import type { Task } from './task.js';

/** `dl train mnist-cnn`: the quick start's demo, a small CNN on the fixed MNIST split. */
export const mnistCnn: Task = {
  name: 'mnist-cnn',
  summary: 'conv16-pool-conv32-pool-fc128-fc10 on the 7,996 / 2,004 MNIST split; last line `test accuracy: X`',
  options: {
    ...pick(TRAIN_OPTIONS, 'epochs', 'batch-size', 'lr', 'out', 'resume', 'seed', 'limit', 'checkpoint'),
    shift: { type: 'string', help: 'random shifts in pixels, 0 = off', default: String(MNIST_DEFAULTS.shift) },
    'label-smoothing': { type: 'string', help: "crossEntropy's label smoothing", default: String(MNIST_DEFAULTS.labelSmoothing) },
    'no-cosine': { type: 'boolean', help: 'keep the learning rate constant (default: cosine decay to 0)' },
  },
  commands: {
    async train(v, { device, log }) {
      const acc = await trainMnist(
        {
          epochs: num(v, 'epochs', MNIST_DEFAULTS.epochs, true),
          batchSize: num(v, 'batch-size', MNIST_DEFAULTS.batchSize, true),
          lr: num(v, 'lr', MNIST_DEFAULTS.lr),
          device,
          out: text(v, 'out', MNIST_DEFAULTS.out),
          resume: v.resume === true,
          seed: seed(v),
          shift: numIn(v, 'shift', MNIST_DEFAULTS.shift, 0, 9, true),
          cosine: v['no-cosine'] !== true,
          labelSmoothing: numIn(v, 'label-smoothing', MNIST_DEFAULTS.labelSmoothing, 0, 1),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
        },
        log,
      );
      return `test accuracy: ${acc.toFixed(4)}`;
    },
    async eval(v, { device, log }) {
      const acc = await evalMnist(required(v, 'checkpoint', 'dl eval mnist-cnn'), device, log);
      return `test accuracy: ${acc.toFixed(4)}`;
    },
  },
};
