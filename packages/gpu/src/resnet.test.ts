// @dl/resnet on WebGPU: the same weights give the CPU's logits, gradients and batch-norm
// statistics, for a BasicBlock net with the small-input stem and a Bottleneck net with the
// ImageNet stem (7x7 stride-2 conv, 3x3 max-pool), grouped and dilated 3x3 convs and downsamples.
import { backward } from '@dl/autograd';
import { SGD, crossEntropy } from '@dl/layers';
import { manualSeed, randint, randn, type Tensor } from '@dl/tensor';
import { BasicBlock, Bottleneck, ResNet } from '@dl/resnet';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

const CASES: [string, () => ResNet, number[]][] = [
  ['BasicBlock, small-input stem', () => new ResNet(BasicBlock, [1, 1, 1, 1], { widths: [4, 8, 8, 16], numClasses: 5, inChannels: 1, smallInput: true }), [2, 1, 12, 12]],
  ['Bottleneck, ImageNet stem, groups 2, dilation', () => new ResNet(Bottleneck, [1, 2, 1, 1], { widths: [4, 4, 8, 8], numClasses: 5, groups: 2, widthPerGroup: 32, replaceStrideWithDilation: [false, false, true] }), [2, 3, 32, 32]],
];

describe.skipIf(!hasWebGPU)('@dl/resnet on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it.each(CASES)('%s: logits, every gradient and the running statistics match the CPU, in train and eval mode', async (_, make, shape) => {
    manualSeed(7);
    const cpu = make();
    const gpu = make();
    gpu.loadStateDict(cpu.stateDict());
    gpu.to('webgpu');
    const x = randn(shape);
    const r = randn([shape[0], 5]);
    const run = (m: ResNet, device: string): Tensor => {
      const out = m.forward(x.to(device)); // (N, 5)
      backward(out.mul(r.to(device)).sum());
      return out;
    };
    const oc = run(cpu, 'cpu');
    const og = run(gpu, 'webgpu');
    expect(og.device).toBe('webgpu');
    expectClose(await og.data(), await oc.data(), 1e-3, 1e-4, 'train-mode logits');
    const gc = new Map(cpu.namedParameters());
    for (const [name, p] of gpu.namedParameters()) expectClose(await p.grad!.data(), await gc.get(name)!.grad!.data(), 2e-3, 2e-4, `grad of ${name}`);
    const bc = new Map([...cpu.namedBuffers()].map(([k, b]) => [k, b]));
    for (const [name, b] of gpu.namedBuffers()) expectClose(await b.data(), await bc.get(name)!.data(), 1e-4, 1e-5, name);
    cpu.eval();
    gpu.eval();
    expectClose(await gpu.forward(x.to('webgpu')).data(), await cpu.forward(x).data(), 1e-3, 1e-4, 'eval logits');
  });

  it('two SGD steps of the small-input net give the CPU\'s losses and weights', async () => {
    manualSeed(8);
    const make = CASES[0][1];
    const cpu = make();
    const gpu = make();
    gpu.loadStateDict(cpu.stateDict());
    gpu.to('webgpu');
    const [oc, og] = [cpu, gpu].map((m) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }));
    const batches = Array.from({ length: 2 }, () => [randn([4, 1, 12, 12]), randint(0, 5, [4])] as const);
    for (const [step, [x, y]] of batches.entries()) {
      const losses: Tensor[] = [];
      for (const [m, o, device] of [[cpu, oc, 'cpu'], [gpu, og, 'webgpu']] as const) {
        o.zeroGrad();
        const loss = crossEntropy(m.forward(x.to(device)), y.to(device));
        backward(loss);
        o.step();
        losses.push(loss);
      }
      expectClose(await losses[1].data(), await losses[0].data(), 1e-3, 1e-4, `loss at step ${step}`);
    }
    const sc = cpu.stateDict();
    for (const [name, t] of Object.entries(gpu.stateDict())) expectClose(await t.data(), await sc[name].data(), 2e-3, 2e-4, name);
  });
});
