import { SEG_DEFAULTS, evalUnetSeg, trainUnetSeg } from '../train-unet-seg.js';
import { TRAIN_OPTIONS, num, numIn, pick, required, seed, text } from './args.js';
import type { Task } from './task.js';

/** `dl train unet-seg`: a U-Net labels every pixel of 64x64 scenes of 2-4 MNIST digits. */
export const unetSeg: Task = {
  name: 'unet-seg',
  summary: 'U-Net segmentation of 64x64 scenes of 2-4 MNIST digits into 11 pixel classes; last line `test mIoU: X`',
  options: {
    ...pick(TRAIN_OPTIONS, 'epochs', 'batch-size', 'lr', 'out', 'resume', 'seed', 'limit', 'checkpoint'),
    scenes: { type: 'string', help: 'new training scenes drawn each epoch', default: String(SEG_DEFAULTS.scenes) },
    'test-scenes': { type: 'string', help: 'fixed test scenes', default: String(SEG_DEFAULTS.testScenes) },
    width: { type: 'string', help: "channels of the U-Net's first level (x1, 2, 4, 8 per level)", default: String(SEG_DEFAULTS.width) },
    'bg-weight': { type: 'string', help: 'cross-entropy weight of background pixels (digit pixels: 1)', default: String(SEG_DEFAULTS.bgWeight) },
    dice: { type: 'string', help: 'weight of the soft Dice loss added to the cross-entropy, 0 = off', default: String(SEG_DEFAULTS.dice) },
  },
  commands: {
    async train(v, { device, log }) {
      const mIoU = await trainUnetSeg(
        {
          epochs: num(v, 'epochs', SEG_DEFAULTS.epochs, true),
          scenes: num(v, 'scenes', SEG_DEFAULTS.scenes, true),
          testScenes: num(v, 'test-scenes', SEG_DEFAULTS.testScenes, true),
          batchSize: num(v, 'batch-size', SEG_DEFAULTS.batchSize, true),
          lr: num(v, 'lr', SEG_DEFAULTS.lr),
          width: num(v, 'width', SEG_DEFAULTS.width, true),
          bgWeight: numIn(v, 'bg-weight', SEG_DEFAULTS.bgWeight, 0, 100),
          dice: numIn(v, 'dice', SEG_DEFAULTS.dice, 0, 100),
          device,
          out: text(v, 'out', SEG_DEFAULTS.out),
          resume: v.resume === true,
          seed: seed(v),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
        },
        log,
      );
      return `test mIoU: ${mIoU.toFixed(4)}`;
    },
    async eval(v, { device, log }) {
      const mIoU = await evalUnetSeg(required(v, 'checkpoint', 'dl eval unet-seg'), device, log, num(v, 'test-scenes', SEG_DEFAULTS.testScenes, true));
      return `test mIoU: ${mIoU.toFixed(4)}`;
    },
  },
};
