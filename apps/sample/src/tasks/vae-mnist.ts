import { SCORING_OPTIONS, classifierPath } from '../eval/command.js';
import { VAE_MNIST_DEFAULTS, evalVaeMnist, sampleVaeMnist, trainVaeMnist } from '../train-vae.js';
import { TRAIN_OPTIONS, num, numIn, pick, required, seed, text } from './args.js';
import type { OptionValues, Task } from './task.js';

const D = VAE_MNIST_DEFAULTS;

function arch(v: OptionValues): 'mlp' | 'conv' {
  const a = text(v, 'arch', D.arch);
  if (a !== 'mlp' && a !== 'conv') throw new Error(`--arch must be mlp or conv, got '${a}'`);
  return a;
}

const limit = (v: OptionValues) => (v.limit === undefined ? undefined : num(v, 'limit', 0, true));

/** `dl train vae-mnist`: a @dl/vae VAE on the fixed MNIST split, judged by the test negative ELBO. */
export const vaeMnist: Task = {
  name: 'vae-mnist',
  summary: 'a variational autoencoder (@dl/vae) on the 7,996 / 2,004 MNIST split; writes reconstructions, prior samples (scored as by dl eval-samples); last line `test negative elbo: X` (nats per image)',
  options: {
    ...pick(TRAIN_OPTIONS, 'epochs', 'batch-size', 'lr', 'out', 'resume', 'seed', 'limit', 'checkpoint'),
    arch: { type: 'string', help: "conv (16-32 stride-2 convs) or mlp (784-400-z, PyTorch's examples/vae)", default: D.arch },
    latent: { type: 'string', help: 'latent size; 2 also writes latent-grid.png', default: String(D.latent) },
    beta: { type: 'string', help: 'weight of the KL term while training (beta-VAE)', default: String(D.beta) },
    samples: { type: 'string', help: 'prior samples written to samples.safetensors and scored', default: String(D.samples) },
    'no-cosine': { type: 'boolean', help: 'keep the learning rate constant (default: cosine decay to 0)' },
    ...SCORING_OPTIONS,
  },
  commands: {
    async train(v, { device, log }) {
      const nelbo = await trainVaeMnist(
        {
          epochs: num(v, 'epochs', D.epochs, true),
          batchSize: num(v, 'batch-size', D.batchSize, true),
          lr: num(v, 'lr', D.lr),
          device,
          out: text(v, 'out', D.out),
          resume: v.resume === true,
          seed: seed(v),
          limit: limit(v),
          arch: arch(v),
          latent: num(v, 'latent', D.latent, true),
          beta: numIn(v, 'beta', D.beta, 0, 1e6),
          cosine: v['no-cosine'] !== true,
          samples: numIn(v, 'samples', D.samples, 2, 1e6, true),
          classifier: classifierPath(v),
        },
        log,
      );
      return `test negative elbo: ${nelbo.toFixed(2)}`;
    },
    async eval(v, { device, log }) {
      const r = await evalVaeMnist(required(v, 'checkpoint', 'dl eval vae-mnist'), device, log);
      log(`reconstruction ${r.reconstruction.toFixed(2)} + KL ${r.kl.toFixed(2)} nats per image`);
      return `test negative elbo: ${r.nelbo.toFixed(2)}`;
    },
    async sample(v, { device, log }) {
      return sampleVaeMnist(
        required(v, 'checkpoint', 'dl sample vae-mnist'),
        { out: text(v, 'out', D.out), samples: numIn(v, 'samples', D.samples, 2, 1e6, true), seed: seed(v), device, classifier: classifierPath(v), limit: limit(v) },
        log,
      );
    },
  },
};
