import { RESNET_MNIST_DEFAULTS, evalResNetMnist, trainResNetMnist } from '../train-resnet.js';
import { TRAIN_OPTIONS, num, numIn, pick, required, seed, text } from './args.js';
import type { Task } from './task.js';

const D = RESNET_MNIST_DEFAULTS;

/** `dl train resnet-mnist`: a small @dl/resnet ResNet with augmentation on the fixed MNIST split. */
export const resnetMnist: Task = {
  name: 'resnet-mnist',
  summary: 'a small ResNet (@dl/resnet, small-input stem) with random shifts on the 7,996 / 2,004 MNIST split; last line `test accuracy: X`',
  options: {
    ...pick(TRAIN_OPTIONS, 'epochs', 'batch-size', 'lr', 'out', 'resume', 'seed', 'limit', 'checkpoint'),
    width: { type: 'string', help: 'channels of layer1 (layer2..4: 2x, 4x, 8x)', default: String(D.width) },
    blocks: { type: 'string', help: 'BasicBlocks per layer', default: String(D.blocks) },
    shift: { type: 'string', help: 'random shifts in pixels, 0 = off', default: String(D.shift) },
    'label-smoothing': { type: 'string', help: "crossEntropy's label smoothing", default: String(D.labelSmoothing) },
    'no-cosine': { type: 'boolean', help: 'keep the learning rate constant (default: cosine decay to 0)' },
  },
  commands: {
    async train(v, { device, log }) {
      const acc = await trainResNetMnist(
        {
          epochs: num(v, 'epochs', D.epochs, true),
          batchSize: num(v, 'batch-size', D.batchSize, true),
          lr: num(v, 'lr', D.lr),
          device,
          out: text(v, 'out', D.out),
          resume: v.resume === true,
          seed: seed(v),
          shift: numIn(v, 'shift', D.shift, 0, 9, true),
          cosine: v['no-cosine'] !== true,
          labelSmoothing: numIn(v, 'label-smoothing', D.labelSmoothing, 0, 1),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
          width: num(v, 'width', D.width, true),
          blocks: num(v, 'blocks', D.blocks, true),
        },
        log,
      );
      return `test accuracy: ${acc.toFixed(4)}`;
    },
    async eval(v, { device, log }) {
      const acc = await evalResNetMnist(required(v, 'checkpoint', 'dl eval resnet-mnist'), device, log);
      return `test accuracy: ${acc.toFixed(4)}`;
    },
  },
};
