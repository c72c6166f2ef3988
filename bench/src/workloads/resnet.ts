/** The ResNet of `dl train resnet-mnist`, built from @dl/resnet as a user would. */
import * as dl from '@dl/tensor';
import { backward } from '@dl/autograd';
import { Adam, crossEntropy } from '@dl/layers';
import { BasicBlock, ResNet } from '@dl/resnet';
import type { Step } from './types.js';

/**
 * One training step of apps/sample's resnet-mnist model (BasicBlocks [1, 1, 1, 1], widths
 * 16-32-64-128, small-input stem, 308,538 parameters) on 28x28 digits: cross-entropy with label
 * smoothing 0.1, Adam.
 */
export function resnetMnistStep(batch = 64): Step {
  const model = new ResNet(BasicBlock, [1, 1, 1, 1], { numClasses: 10, inChannels: 1, smallInput: true, widths: [16, 32, 64, 128] });
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const x = dl.randn([batch, 1, 28, 28]);
  const y = dl.randint(0, 10, [batch]);
  return {
    name: `ResNet MNIST train step (BasicBlocks [1,1,1,1], widths 16-128, small-input stem, batch ${batch}, Adam)`,
    run: () =>
      dl.scope(() => {
        opt.zeroGrad();
        backward(crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 }));
        opt.step();
      }),
  };
}
