import { backward } from '@dl/autograd';
import { Adam, BatchNorm1d, Embedding, Linear, Module, crossEntropy } from '@dl/layers';
import { manualSeed, scope, tensor, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

/** Weights tied as GPT-2's (the head reuses the embedding), plus batch-norm buffers. */
class Tied extends Module {
  emb = new Embedding(5, 3);
  bn = new BatchNorm1d(3);
  head = new Linear(3, 5);
  constructor() {
    super();
    this.head.weight = this.emb.weight;
  }
  forward(idx: Tensor): Tensor {
    const h = this.emb.forward(idx); // [B, T, 3]
    return this.head.forward(this.bn.forward(h.transpose(1, 2)).transpose(1, 2)); // [B, T, 5]
  }
}

// Module.to moves storage in place: an optimizer built before the moves keeps training the same
// parameter objects, with its state moved along, from the CPU to WebGPU and back.
describe.skipIf(!hasWebGPU)('Module.to with webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  it('moves cpu -> webgpu -> cpu in place; an Adam built before the moves trains as on the CPU throughout', async () => {
    manualSeed(5);
    const moved = new Tied();
    const ref = new Tied(); // the same training, on the CPU only
    ref.loadStateDict(moved.stateDict());
    const params = moved.parameters();
    const opt = new Adam(params, { lr: 0.05 });
    const optRef = new Adam(ref.parameters(), { lr: 0.05 });
    const step = async (m: Tied, o: Adam, device: string): Promise<number> => {
      const loss = scope(() => {
        o.zeroGrad();
        const logits = m.forward(tensor([[1, 2, 3]], { dtype: 'int32', device })).reshape([3, 5]);
        const l = crossEntropy(logits, tensor([2, 3, 4], { dtype: 'int32', device }));
        backward(l);
        o.step();
        return l;
      });
      const v = (await loss.data())[0];
      loss.dispose();
      return v;
    };
    const losses: number[] = [];
    const refLosses: number[] = [];
    const run = async (device: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        losses.push(await step(moved, opt, device));
        refLosses.push(await step(ref, optRef, 'cpu'));
      }
    };
    await run('cpu', 1); // Adam's moments now exist on the CPU

    moved.to('webgpu');
    expect(moved.parameters().every((p, i) => p === params[i])).toBe(true);
    expect(moved.head.weight).toBe(moved.emb.weight);
    const devices = (m: Tied): string[] => [
      ...m.parameters().flatMap((p) => [p.device, p.grad!.device]),
      ...m.buffers().map((b) => b.device),
      ...[...opt.state.values()].flatMap((st) => Object.values(st).flatMap((v) => (typeof v === 'number' ? [] : [v.device]))),
    ];
    expect(new Set(devices(moved))).toEqual(new Set(['webgpu']));
    expect(() => moved.to('cpu')).toThrow(/await model.toAsync\('cpu'\)/);
    await run('webgpu', 3);

    expect(await moved.toAsync('cpu')).toBe(moved);
    expect(moved.parameters().every((p, i) => p === params[i])).toBe(true);
    expect(new Set(devices(moved))).toEqual(new Set(['cpu']));
    await run('cpu', 2);

    expectClose(losses, refLosses, 1e-4, 1e-5, 'losses');
    expect(losses[5]).toBeLessThan(losses[0]);
    const sd = ref.stateDict();
    for (const [name, t] of Object.entries(moved.stateDict())) expectClose(t.dataSync(), sd[name].dataSync(), 1e-4, 1e-5, name);
  });
});
