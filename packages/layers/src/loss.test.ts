import { backward } from '@dl/autograd';
import { tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { bceWithLogits, binaryCrossEntropy, crossEntropy, klDivergence, l1Loss, mseLoss, nllLoss, smoothL1Loss } from './loss.js';
import { expectClose, fixture, under } from './test-helpers.js';

/** Compares a loss with PyTorch's value and the gradient of sum(loss * r) wrt the input. */
function check(name: string, fn: (x: Tensor, t: Tensor, c: Record<string, Tensor>) => Tensor): void {
  const c = under(fixture('losses'), name);
  const x = c.x.clone().requiresGrad_();
  const y = fn(x, c.t, c);
  expectClose(y, c.y, `${name}: value`);
  backward(y.mul(c.r).sum());
  expectClose(x.grad!, c.gx, `${name}: gradient`);
}

describe('losses match PyTorch (value and gradient)', () => {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`mseLoss and l1Loss, reduction ${reduction}`, () => {
      check(`mse_${reduction}`, (x, t) => mseLoss(x, t, { reduction }));
      check(`l1_${reduction}`, (x, t) => l1Loss(x, t, { reduction }));
    });
  }
  it('smoothL1Loss with beta', () => check('smoothl1', (x, t) => smoothL1Loss(x, t, { beta: 0.5 })));
  it('crossEntropy with class indices and each reduction', () => {
    check('ce', (x, t) => crossEntropy(x, t));
    check('ce_sum', (x, t) => crossEntropy(x, t, { reduction: 'sum' }));
    check('ce_none', (x, t) => crossEntropy(x, t, { reduction: 'none' }));
  });
  it('crossEntropy with class weights and ignoreIndex', () => check('ce_weight_ignore', (x, t, c) => crossEntropy(x, t, { weight: c.w, ignoreIndex: 2 })));
  it('crossEntropy with label smoothing (plain, weighted, unreduced)', () => {
    check('ce_smooth', (x, t) => crossEntropy(x, t, { labelSmoothing: 0.1 }));
    check('ce_smooth_weight', (x, t, c) => crossEntropy(x, t, { labelSmoothing: 0.2, weight: c.w }));
    check('ce_smooth_none', (x, t) => crossEntropy(x, t, { labelSmoothing: 0.2, reduction: 'none' }));
  });
  it('crossEntropy with probability targets, with and without smoothing', () => {
    check('ce_probs', (x, t) => crossEntropy(x, t));
    check('ce_probs_smooth', (x, t) => crossEntropy(x, t, { labelSmoothing: 0.3 }));
  });
  it('crossEntropy over [N, C, H, W]', () => check('ce_4d', (x, t) => crossEntropy(x, t)));
  it('nllLoss, plain and weighted', () => {
    check('nll', (x, t) => nllLoss(x, t));
    check('nll_weight', (x, t, c) => nllLoss(x, t, { weight: c.w }));
  });
  it('binaryCrossEntropy', () => check('bce', (x, t) => binaryCrossEntropy(x, t)));
  it('bceWithLogits, plain and with posWeight', () => {
    check('bce_logits', (x, t) => bceWithLogits(x, t));
    check('bce_logits_pw', (x, t, c) => bceWithLogits(x, t, { posWeight: c.pw }));
  });
  it('klDivergence (batchmean, and logTarget with sum)', () => {
    check('kl_batchmean', (x, t) => klDivergence(x, t, { reduction: 'batchmean' }));
    check('kl_logtarget', (x, t) => klDivergence(x, t, { reduction: 'sum', logTarget: true }));
  });
});

describe('loss argument checks', () => {
  it('names shapes and dtypes that do not fit', () => {
    expect(() => mseLoss(tensor([1, 2]), tensor([1, 2, 3]))).toThrow('mseLoss: input [2] and target [3] must have the same shape');
    expect(() => crossEntropy(tensor([[1, 2]]), tensor([[0, 1]], { dtype: 'int32' }))).toThrow('crossEntropy: target [1,2] must be [1] (input [1,2] without the class dim)');
    expect(() => crossEntropy(tensor([[1, 2]]), tensor([1], { dtype: 'bool' }))).toThrow(/int32/);
    expect(() => crossEntropy(tensor([[1, 2]]), tensor([0], { dtype: 'int32' }), { reduction: 'avg' as never })).toThrow(/unknown reduction/);
  });
  it('names the class range when a target is out of it', () => {
    expect(() => crossEntropy(tensor([[1, 2]]), tensor([5], { dtype: 'int32' }))).toThrow(/class targets must be in \[0, 2\) or equal ignoreIndex \(-100\)/);
  });
  it('accepts a single unbatched row', () => {
    const l = crossEntropy(tensor([0, 0]), tensor([1], { dtype: 'int32' }).reshape([]));
    expect(l.item()).toBeCloseTo(Math.log(2), 6);
  });
});
