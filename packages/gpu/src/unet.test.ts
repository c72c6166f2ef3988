// @dl/unet on WebGPU: the same weights give the CPU's outputs and gradients, for a segmentation
// U-Net (batch norm, max pooling, transposed convs) and a class-conditional denoiser (GroupNorm,
// attention, timestep and class embeddings, strided-conv downsampling, nearest upsampling).
import { backward } from '@dl/autograd';
import { manualSeed, randn, tensor, type Tensor } from '@dl/tensor';
import { UNet, type UNetConfig } from '@dl/unet';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

const CASES: [string, UNetConfig, number[], boolean][] = [
  ['segmentation', { inChannels: 1, outChannels: 3, baseChannels: 4, channelMults: [1, 2], numResBlocks: 1, norm: 'batch', activation: 'relu', downsample: 'maxpool', upsample: 'transpose', normGroups: 2 }, [2, 1, 8, 8], false],
  ['diffusion', { inChannels: 1, baseChannels: 4, channelMults: [1, 2], numResBlocks: 1, normGroups: 2, timeEmbedding: true, numClasses: 3, attentionResolutions: [4], sampleSize: 8, attentionHeads: 2, midAttention: true }, [2, 1, 8, 8], true],
];

describe.skipIf(!hasWebGPU)('@dl/unet on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it.each(CASES)('%s U-Net: outputs, every gradient and batch-norm statistics match the CPU', async (_, config, shape, conditioned) => {
    manualSeed(5);
    const cpu = new UNet(config);
    const gpu = new UNet(config);
    gpu.loadStateDict(cpu.stateDict());
    gpu.to('webgpu');
    const x = randn(shape);
    const r = randn([shape[0], config.outChannels ?? config.inChannels!, shape[2], shape[3]]);
    const t = tensor([3, 400]);
    const y = tensor([1, 3], { dtype: 'int32' });
    const run = (m: UNet, device: string): Tensor => {
      const args = conditioned ? [t.to(device), y.to(device)] : [];
      const out = m.forward(x.to(device), ...(args as [Tensor, Tensor]));
      backward(out.mul(r.to(device)).sum());
      return out;
    };
    const oc = run(cpu, 'cpu');
    const og = run(gpu, 'webgpu');
    expect(og.device).toBe('webgpu');
    expectClose(await og.data(), await oc.data(), 1e-3, 1e-4, 'output');
    const gc = new Map(cpu.namedParameters());
    for (const [name, p] of gpu.namedParameters()) expectClose(await p.grad!.data(), await gc.get(name)!.grad!.data(), 2e-3, 2e-4, `grad of ${name}`);
    const bc = new Map([...cpu.namedBuffers()].map(([k, b]) => [k, b]));
    for (const [name, b] of gpu.namedBuffers()) expectClose(await b.data(), await bc.get(name)!.data(), 1e-4, 1e-5, name);
    cpu.eval();
    gpu.eval();
    const args = (device: string) => (conditioned ? [t.to(device), y.to(device)] : []) as [Tensor, Tensor];
    expectClose(await gpu.forward(x.to('webgpu'), ...args('webgpu')).data(), await cpu.forward(x, ...args('cpu')).data(), 1e-3, 1e-4, 'eval output');
  });
});
