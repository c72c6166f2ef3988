import { backward } from '@dl/autograd';
import { manualSeed, ones, randn, tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { MultiheadAttention } from './attention.js';
import { bceWithLogits, binaryCrossEntropy, crossEntropy, klDivergence, l1Loss, mseLoss, nllLoss, smoothL1Loss } from './loss.js';
import { assertClose, fixture, under } from './test-helpers.js';

/** Compares a loss with PyTorch's value and the gradient of sum(loss * r) wrt the input. */
function check(name: string, fn: (x: Tensor, t: Tensor, c: Record<string, Tensor>) => Tensor): void {
  const c = under(fixture('losses'), name);
  const x = c.x.clone().requiresGrad_();
  const y = fn(x, c.t, c);
  assertClose(y, c.y, `${name}: value`);
  backward(y.mul(c.r).sum());
  assertClose(x.grad!, c.gx, `${name}: gradient`);
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

describe('binary cross entropy at its edges matches PyTorch', () => {
  it('binaryCrossEntropy at p = 0 and p = 1: PyTorch values and finite gradients (targets 0, 1, 0.3)', () => {
    check('bce_edges', (x, t) => binaryCrossEntropy(x, t, { reduction: 'none' }));
    check('bce_edges_mean', (x, t) => binaryCrossEntropy(x, t));
    check('bce_edges_weight', (x, t, c) => binaryCrossEntropy(x, t, { weight: c.w, reduction: 'sum' }));
  });
  it("binaryCrossEntropy's target gradient is PyTorch's -logit(p), infinite at 0 and 1", () => {
    const c = under(fixture('losses'), 'bce_edges');
    const t = c.t.clone().requiresGrad_();
    backward(binaryCrossEntropy(c.x, t, { reduction: 'sum' }));
    assertClose(t.grad!, c.gt, 'target gradient');
  });
  it('binaryCrossEntropy of a saturated sigmoid (sigmoid(20) = 1 in float32) backpropagates finite gradients', () => {
    check('bce_sigmoid', (x, t) => binaryCrossEntropy(x.sigmoid(), t, { reduction: 'none' }));
  });
  it('bceWithLogits stays finite and equal to PyTorch for logits up to 1e30', () => {
    check('bce_logits_large', (x, t) => bceWithLogits(x, t, { reduction: 'none' }));
    check('bce_logits_large_pw', (x, t, c) => bceWithLogits(x, t, { posWeight: c.pw, reduction: 'none' }));
  });
});

const finite = (t: Tensor): boolean => t.dataSync().every(Number.isFinite);

describe('fully masked rows (attention over padding) stay finite', () => {
  // Sequence 0 is left-padded by 2; with a causal mask its first two queries see only padding.
  const [B, T, D, C] = [2, 4, 3, 5];
  const pad = tensor([[1, 1, 0, 0], [0, 0, 0, 0]]).gt(0); // [B, T], true at padding keys
  const causal = ones([T, T]).triu(1).gt(0); // [T, T], true above the diagonal
  const mask = pad.unsqueeze(1).logicalOr(causal.unsqueeze(0)); // [B, T, T]
  const labels = tensor([[-100, -100, 1, 2], [0, 3, 4, 1]], { dtype: 'int32' }).reshape([-1]); // [B*T]
  const keyTargets = tensor([[-100, -100, 2, 3], [0, 1, 2, 3]], { dtype: 'int32' }).reshape([-1]); // [B*T]
  const valid = tensor([2, 3, 4, 5, 6, 7], { dtype: 'int32' }); // rows of [B*T] with a visible key

  /** softmax -> matmul -> crossEntropy (+ a pointer loss on the scores themselves), rows picked by `keep`. */
  function attentionLoss(q: Tensor, k: Tensor, v: Tensor, wo: Tensor, keep?: Tensor): { loss: Tensor; attn: Tensor; out: Tensor } {
    const scores = q.matmul(k.transpose(1, 2)).mul(1 / Math.sqrt(D)).maskedFill(mask, -Infinity); // (B, T, T)
    const attn = scores.softmax(-1); // (B, T, T)
    const out = attn.matmul(v); // (B, T, D)
    const pick = (t: Tensor): Tensor => (keep ? t.indexSelect(0, keep) : t);
    const logits = pick(out.matmul(wo).reshape([-1, C])); // (rows, C)
    const rows = pick(scores.reshape([-1, T])); // (rows, T); fully masked rows are all -Infinity
    const loss = crossEntropy(logits, pick(labels))
      .add(crossEntropy(rows, pick(keyTargets)))
      .add(nllLoss(rows.logSoftmax(1), pick(keyTargets), { reduction: 'sum' }));
    return { loss, attn, out };
  }

  it('softmax -> matmul -> crossEntropy/nllLoss with ignoreIndex -> backward: finite, zero rows, same as without the masked rows', () => {
    manualSeed(7);
    const inputs = () => [randn([B, T, D]), randn([B, T, D]), randn([B, T, D]), randn([D, C])].map((t) => t.requiresGrad_());
    const [q, k, v, wo] = inputs();
    const { loss, attn, out } = attentionLoss(q, k, v, wo);
    backward(loss);
    expect(Number.isFinite(loss.item())).toBe(true);
    expect(attn.slice(0, 0, 1).slice(1, 0, 2).toArray()).toEqual([[[0, 0, 0, 0], [0, 0, 0, 0]]]);
    expect(out.slice(0, 0, 1).slice(1, 0, 2).toArray()).toEqual([[[0, 0, 0], [0, 0, 0]]]);
    for (const [name, t] of Object.entries({ attn, out, q: q.grad!, k: k.grad!, v: v.grad!, wo: wo.grad! })) expect(finite(t), name).toBe(true);
    // the masked rows contribute nothing: the loss and gradients equal those computed without them
    const ref = [q, k, v, wo].map((t) => t.detach().clone().requiresGrad_());
    const r = attentionLoss(ref[0], ref[1], ref[2], ref[3], valid);
    backward(r.loss);
    expect(loss.item()).toBeCloseTo(r.loss.item(), 5);
    [q, k, v, wo].forEach((t, i) => assertClose(t.grad!, ref[i].grad!, `grad ${i}`));
  });

  it('MultiheadAttention with left padding and a causal mask: zero weights for masked queries, finite gradients', () => {
    manualSeed(8);
    const mha = new MultiheadAttention(4, 2);
    const x = randn([B, T, 4]).requiresGrad_();
    const [y, w] = mha.forward(x, x, x, { keyPaddingMask: pad, isCausal: true });
    backward(crossEntropy(y.reshape([-1, 4]), labels.clamp(-100, 3)));
    expect(w!.slice(0, 0, 1).slice(1, 0, 2).toArray()).toEqual([[[0, 0, 0, 0], [0, 0, 0, 0]]]);
    expect(finite(y) && finite(x.grad!)).toBe(true);
    for (const p of mha.parameters()) expect(finite(p.grad!)).toBe(true);
  });

  it('crossEntropy with label smoothing and class weights: an ignored -Infinity row adds 0', () => {
    const logits = tensor([[-Infinity, -Infinity, -Infinity], [1, 0, 2], [0.5, -1, 0]]).requiresGrad_();
    const rest = logits.detach().slice(0, 1, 3).requiresGrad_();
    const target = tensor([-100, 2, 0], { dtype: 'int32' });
    for (const opts of [{ labelSmoothing: 0.2 }, { labelSmoothing: 0.2, weight: tensor([0.5, 1, 2]) }, { weight: tensor([0.5, 1, 2]) }]) {
      logits.grad = null;
      rest.grad = null;
      const loss = crossEntropy(logits, target, opts);
      const ref = crossEntropy(rest, target.slice(0, 1, 3), opts);
      backward(loss);
      backward(ref);
      expect(loss.item()).toBeCloseTo(ref.item(), 6);
      expect(logits.grad!.toArray()).toEqual([[0, 0, 0], ...(rest.grad!.toArray() as number[][])]);
    }
  });

  it('crossEntropy with probability targets: an all-zero target row over -Infinity logits adds 0', () => {
    const logits = tensor([[-Infinity, -Infinity, -Infinity], [1, -Infinity, 2]]).requiresGrad_();
    const target = tensor([[0, 0, 0], [0.5, 0, 0.5]]);
    const loss = crossEntropy(logits, target, { reduction: 'sum' });
    backward(loss);
    const lp = [1 - Math.log(Math.E + Math.E ** 2), 2 - Math.log(Math.E + Math.E ** 2)];
    expect(loss.item()).toBeCloseTo(-(lp[0] + lp[1]) / 2, 5);
    expect(finite(logits.grad!)).toBe(true);
    expect(logits.grad!.slice(0, 0, 1).toArray()).toEqual([[0, 0, 0]]);
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
