// Bad settings and inputs of @dl/gan throw typed errors naming the net, the argument, what was
// expected and what came; none computes something else silently.
import { Adam } from '@dl/layers';
import { DLError, DTypeError, IndexError, ShapeError, randn, tensor, zeros } from '@dl/tensor';
import { runSweep, type SweepCase } from '@dl/tensor/testing';
import { describe, it } from 'vitest';
import { Discriminator, Generator } from './dcgan.js';
import { discriminatorLoss, generatorLoss, type GANLoss } from './losses.js';
import { GANTrainer, ganStep } from './train.js';

const small = { imageSize: 16, width: 2 } as const;
const int = (...v: number[]) => tensor(new Int32Array(v));

const cases: SweepCase[] = [
  // construction
  { name: 'an image size that is not 4 * 2^k or 7 * 2^k', run: () => new Generator({ imageSize: 30 }), throws: ShapeError, op: 'Generator', says: ['4 * 2^k or 7 * 2^k', 'got 30'] },
  { name: 'an image size of 4 (no upsampling)', run: () => new Discriminator({ imageSize: 4 }), throws: ShapeError, op: 'Discriminator', says: ['got 4'] },
  { name: 'a fractional latent size', run: () => new Generator({ latentDim: 2.5 }), throws: DLError, op: 'Generator', says: ['latentDim', 'integer >= 1', '2.5'] },
  { name: 'a negative class count', run: () => new Discriminator({ numClasses: -1 }), throws: DLError, op: 'Discriminator', says: ['numClasses', 'integer >= 0', '-1'] },
  { name: 'an unknown conditioning', run: () => new Discriminator({ numClasses: 10, conditioning: 'concat' as 'channel' }), throws: DLError, op: 'Discriminator', says: ["'projection' or 'channel'", '"concat"'] },

  // the generator's inputs
  { name: 'z of the wrong size', run: () => new Generator({ ...small, latentDim: 8 }).forward(randn([2, 100])), throws: ShapeError, op: 'Generator', says: ['expected z [N,8] or [N,8,1,1]', 'latentDim 8', 'got [2,100]'] },
  { name: 'z as an image', run: () => new Generator({ ...small, latentDim: 8 }).forward(randn([2, 8, 2, 2])), throws: ShapeError, op: 'Generator', says: ['[N,8,1,1]', 'got [2,8,2,2]'] },
  { name: 'an int z', run: () => new Generator({ ...small, latentDim: 2 }).forward(int(1, 2).reshape([1, 2])), throws: DTypeError, op: 'Generator', says: ['float z', 'int32 [1,2]'] },
  { name: 'labels for an unconditional generator', run: () => new Generator({ ...small, latentDim: 4 }).forward(randn([2, 4]), int(1, 2)), throws: DLError, op: 'Generator', says: ['labels [2]', 'unconditional (numClasses 0)'] },
  { name: 'no labels for a conditional generator', run: () => new Generator({ ...small, latentDim: 4, numClasses: 10 }).forward(randn([2, 4])), throws: DLError, op: 'Generator', says: ['conditional (numClasses 10)', 'needs labels', '[0, 10)'] },
  { name: 'float labels', run: () => new Generator({ ...small, latentDim: 4, numClasses: 10 }).forward(randn([2, 4]), tensor([1, 2])), throws: DTypeError, op: 'Generator', says: ['int32 labels', 'float32 [2]'] },
  { name: 'one label per image, not 3 for 2', run: () => new Generator({ ...small, latentDim: 4, numClasses: 10 }).forward(randn([2, 4]), int(1, 2, 3)), throws: ShapeError, op: 'Generator', says: ['expected labels [2]', 'got [3]'] },
  { name: 'a label out of range', run: () => new Generator({ ...small, latentDim: 4, numClasses: 10 }).forward(randn([2, 4]), int(1, 10)), throws: IndexError, op: 'embed (Embedding)', says: ['[0, 10)', 'index 10'] },
  { name: 'sample(0)', run: () => new Generator(small).sample(0), throws: DLError, op: 'Generator.sample', says: ['positive integer', 'got 0'] },

  // the discriminator's inputs
  { name: 'images of another size', run: () => new Discriminator(small).forward(randn([2, 1, 28, 28])), throws: ShapeError, op: 'Discriminator', says: ['expected input [N,1,16,16]', 'got [2,1,28,28]'] },
  { name: 'colour images for a grey discriminator', run: () => new Discriminator(small).forward(randn([2, 3, 16, 16])), throws: ShapeError, op: 'Discriminator', says: ['[N,1,16,16]', '[2,3,16,16]'] },
  { name: 'labels for an unconditional discriminator', run: () => new Discriminator(small).forward(randn([2, 1, 16, 16]), int(0, 1)), throws: DLError, op: 'Discriminator', says: ['unconditional'] },
  { name: 'no labels for a channel-conditioned discriminator', run: () => new Discriminator({ ...small, numClasses: 3, conditioning: 'channel' }).forward(randn([2, 1, 16, 16])), throws: DLError, op: 'Discriminator', says: ['numClasses 3', 'needs labels'] },
  { name: 'int images', run: () => new Discriminator(small).forward(zeros([2, 1, 16, 16], { dtype: 'int32' })), throws: DTypeError, op: 'Discriminator', says: ['float input', 'int32 [2,1,16,16]'] },

  // losses
  { name: 'an unknown loss', run: () => discriminatorLoss(randn([2]), randn([2]), 'wasserstein' as GANLoss), throws: DLError, op: 'discriminatorLoss', says: ["'nonSaturating', 'hinge', 'minimax'", '"wasserstein"'] },
  { name: 'int logits', run: () => generatorLoss(int(1, 2)), throws: DTypeError, op: 'generatorLoss', says: ['float fake logits', 'int32 [2]'] },
  { name: 'empty logits', run: () => discriminatorLoss(randn([0]), randn([2])), throws: DLError, op: 'discriminatorLoss', says: ['real logits are empty', '[0]'] },

  // the trainer
  { name: 'a conditional generator against an unconditional discriminator', run: () => new GANTrainer(new Generator({ ...small, numClasses: 10 }), new Discriminator(small)), throws: DLError, op: 'GANTrainer', says: ['numClasses 10', 'discriminator 0'] },
  { name: 'a 16x16 generator against a 32x32 discriminator', run: () => new GANTrainer(new Generator(small), new Discriminator({ ...small, imageSize: 32 })), throws: ShapeError, op: 'GANTrainer', says: ['[N,1,16,16]', '[N,1,32,32]'] },
  {
    name: 'z rows that do not match the real batch',
    run: () => {
      const netG = new Generator({ ...small, latentDim: 4 });
      const netD = new Discriminator(small);
      return ganStep({ netG, netD, optG: new Adam(netG.parameters()), optD: new Adam(netD.parameters()), real: randn([3, 1, 16, 16]), z: randn([2, 4]) });
    },
    throws: ShapeError,
    op: 'ganStep',
    says: ['z has 2 rows', '3 images', 'z=[2,4]', 'real=[3,1,16,16]'],
  },
  { name: 'a real batch of the wrong size', run: () => new GANTrainer(new Generator(small), new Discriminator(small)).step(randn([2, 1, 28, 28])), throws: ShapeError, op: 'Discriminator', says: ['[N,1,16,16]', '[2,1,28,28]'] },
];

runSweep({ describe, it }, 'bad input to @dl/gan', cases);
