import { GAN_LOSSES, type GANLoss } from '@dl/gan';
import { SCORING_OPTIONS, classifierPath } from '../eval/command.js';
import { GAN_MNIST_DEFAULTS, sampleGanMnist, trainGanMnist } from '../train-gan.js';
import { TRAIN_OPTIONS, num, pick, required, seed, text } from './args.js';
import type { Task } from './task.js';

const D = GAN_MNIST_DEFAULTS;

function loss(v: Record<string, unknown>): GANLoss {
  const l = v.loss ?? D.loss;
  if (!GAN_LOSSES.includes(l as GANLoss)) throw new Error(`--loss must be one of ${GAN_LOSSES.join(', ')}, got '${String(l)}'`);
  return l as GANLoss;
}

/** `dl train gan-mnist`: DCGAN on the MNIST train split, scored by `dl eval-samples`' classifier. */
export const ganMnist: Task = {
  name: 'gan-mnist',
  summary: 'DCGAN (@dl/gan) on the 7,996 MNIST training digits: sample grids, samples.safetensors, last line `fid: X`',
  options: {
    ...pick(TRAIN_OPTIONS, 'steps', 'batch-size', 'lr', 'out', 'resume', 'seed', 'limit', 'checkpoint'),
    loss: { type: 'string', help: `GAN objective: ${GAN_LOSSES.join(', ')}`, default: D.loss },
    'latent-dim': { type: 'string', help: 'length of z', default: String(D.latentDim) },
    width: { type: 'string', help: "channels of G's last hidden layer and D's first (x2 per level)", default: String(D.width) },
    conditional: { type: 'boolean', help: 'condition on the digit class (label embedding in G, projection D); samples get labels' },
    'grid-every': { type: 'string', help: 'a sample grid from a fixed z every N steps', default: String(D.gridEvery) },
    samples: { type: 'string', help: 'images in samples.safetensors', default: String(D.samples) },
    ...SCORING_OPTIONS,
  },
  commands: {
    async train(v, { device, log }) {
      return trainGanMnist(
        {
          steps: num(v, 'steps', D.steps, true),
          batchSize: num(v, 'batch-size', D.batchSize, true),
          lr: num(v, 'lr', D.lr),
          loss: loss(v),
          latentDim: num(v, 'latent-dim', D.latentDim, true),
          width: num(v, 'width', D.width, true),
          conditional: v.conditional === true,
          gridEvery: num(v, 'grid-every', D.gridEvery, true),
          samples: num(v, 'samples', D.samples, true),
          device,
          out: text(v, 'out', D.out),
          resume: v.resume === true,
          seed: seed(v),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
          classifier: classifierPath(v),
        },
        log,
      );
    },
    async sample(v, { device, log }) {
      return sampleGanMnist(
        {
          checkpoint: required(v, 'checkpoint', 'dl sample gan-mnist'),
          samples: num(v, 'samples', D.samples, true),
          out: text(v, 'out', D.out),
          seed: seed(v),
          device,
          classifier: classifierPath(v),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
        },
        log,
      );
    },
  },
};
