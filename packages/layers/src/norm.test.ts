import { Tensor, ones, randn, tensor } from '@dl/tensor';
import { describe, expect, it, vi } from 'vitest';
import { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm } from './norm.js';
import { checkLayerCase, assertClose, fixture, under } from './test-helpers.js';

describe('normalisation layers match PyTorch (output and gradients)', () => {
  it('BatchNorm2d in training mode, including the running statistics it updates', () => {
    const bn = new BatchNorm2d(3);
    checkLayerCase('bn2d_train', bn);
    const after = under(fixture('layers'), 'bn2d_train.after');
    assertClose(bn.runningMean!, after.running_mean, 'running_mean');
    assertClose(bn.runningVar!, after.running_var, 'running_var');
    expect(bn.numBatchesTracked!.item()).toBe(after.num_batches_tracked.item());
  });
  it('BatchNorm2d in eval mode uses the running statistics', () => {
    checkLayerCase('bn2d_eval', new BatchNorm2d(3).eval());
  });
  it('BatchNorm1d with momentum 0.3', () => {
    const bn = new BatchNorm1d(6, { momentum: 0.3 });
    checkLayerCase('bn1d_train', bn);
    assertClose(bn.runningVar!, under(fixture('layers'), 'bn1d_train.after').running_var, 'running_var');
  });
  it('LayerNorm over two dims', () => checkLayerCase('layernorm', new LayerNorm([4, 5])));
  it('GroupNorm', () => checkLayerCase('groupnorm', new GroupNorm(2, 6)));
  it('RMSNorm', () => checkLayerCase('rmsnorm', new RMSNorm(6)));
});

describe('BatchNorm', () => {
  it('exposes PyTorch buffer names in the state dict, and no buffers without tracking', () => {
    expect(Object.keys(new BatchNorm2d(4).stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(Object.keys(new BatchNorm2d(4, { trackRunningStats: false, affine: false }).stateDict())).toEqual([]);
  });
  it("with momentum null matches PyTorch's cumulative running statistics (momentum=None) over three batches", () => {
    const c = under(fixture('layers'), 'bn_cma');
    const bn = new BatchNorm1d(4, { momentum: null });
    for (let i = 0; i < 3; i++) bn.forward(c[`x${i}`]);
    assertClose(bn.runningMean!, c['after.running_mean'], 'running_mean', { rtol: 1e-6, atol: 1e-6 });
    assertClose(bn.runningVar!, c['after.running_var'], 'running_var', { rtol: 1e-6, atol: 1e-6 });
    expect(bn.numBatchesTracked!.item()).toBe(3);
  });
  it('with momentum null reads nothing back from the device in a training step', () => {
    const bn = new BatchNorm1d(2, { momentum: null });
    const reads = [vi.spyOn(Tensor.prototype, 'item'), vi.spyOn(Tensor.prototype, 'dataSync'), vi.spyOn(Tensor.prototype, 'toArray')];
    try {
      bn.forward(randn([4, 2]));
      bn.forward(randn([4, 2]));
      for (const r of reads) expect(r).not.toHaveBeenCalled();
    } finally {
      for (const r of reads) r.mockRestore();
    }
  });
  it('with momentum null keeps a cumulative average', () => {
    const bn = new BatchNorm1d(2, { momentum: null });
    bn.forward(tensor([[0, 0], [2, 4]]));
    bn.forward(tensor([[4, 0], [6, 4]]));
    expect(bn.runningMean!.toArray()).toEqual([3, 2]);
  });
  it('refuses one value per channel while training', () => {
    expect(() => new BatchNorm1d(3).forward(ones([1, 3]))).toThrow(/more than 1 value per channel/);
    expect(new BatchNorm1d(3).eval().forward(ones([1, 3])).shape).toEqual([1, 3]);
  });
  it('checks the channel count', () => {
    expect(() => new BatchNorm2d(3).forward(randn([2, 4, 2, 2]))).toThrow('BatchNorm2d: expected input [N,3,H,W], got [2,4,2,2]');
  });
});
