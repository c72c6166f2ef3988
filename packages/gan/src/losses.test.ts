import { grad } from '@dl/autograd';
import { bceWithLogits } from '@dl/layers';
import { ones, tensor, zeros, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { discriminatorLoss, generatorLoss } from './losses.js';

const real = tensor([2, 0.5, -1]);
const fake = tensor([-2, 0, 1]);

describe('GAN losses', () => {
  it("nonSaturating and minimax train D with BCE on logits: real -> 1, fake -> 0 (a mean each, summed)", () => {
    const bce = bceWithLogits(real, ones([3])).add(bceWithLogits(fake, zeros([3]))).item();
    expect(discriminatorLoss(real, fake).item()).toBeCloseTo(bce, 6);
    expect(discriminatorLoss(real, fake, 'minimax').item()).toBeCloseTo(bce, 6);
    // logits 0 everywhere: D(x) = 1/2, so 2 log 2
    expect(discriminatorLoss(zeros([4]), zeros([2])).item()).toBeCloseTo(2 * Math.LN2, 6);
  });

  it('the generator losses: -log D(G(z)) (nonSaturating), log(1 - D(G(z))) (minimax), -logit (hinge)', () => {
    expect(generatorLoss(fake).item()).toBeCloseTo(bceWithLogits(fake, ones([3])).item(), 6);
    expect(generatorLoss(fake, 'minimax').item()).toBeCloseTo(-bceWithLogits(fake, zeros([3])).item(), 6);
    expect(generatorLoss(fake, 'hinge').item()).toBeCloseTo(1 / 3, 6);
  });

  it('hinge for D: mean relu(1 - real) + mean relu(1 + fake)', () => {
    // relu(1 - [2, 0.5, -1]) = [0, 0.5, 2]; relu(1 + [-2, 0, 1]) = [0, 1, 2]
    expect(discriminatorLoss(real, fake, 'hinge').item()).toBeCloseTo(2.5 / 3 + 1, 6);
  });

  it("where D rejects the fakes (logit -10), minimax's generator gradient vanishes and the non-saturating one does not", () => {
    const t = tensor([-10]);
    const gMinimax = grad((x: Tensor) => generatorLoss(x, 'minimax'))(t);
    const gNonSat = grad((x: Tensor) => generatorLoss(x))(t);
    expect(Math.abs(gMinimax.item())).toBeLessThan(1e-4); // -sigmoid(-10)
    expect(gNonSat.item()).toBeCloseTo(-1, 3); // -sigmoid(10)
  });

  it('logits of +-100 give finite losses (softplus, not log of a sigmoid)', () => {
    const big = tensor([100, -100]);
    for (const loss of ['nonSaturating', 'minimax', 'hinge'] as const) {
      expect(Number.isFinite(discriminatorLoss(big, big, loss).item()), loss).toBe(true);
      expect(Number.isFinite(generatorLoss(big, loss).item()), loss).toBe(true);
    }
    expect(generatorLoss(tensor([-100])).item()).toBeCloseTo(100, 4);
  });
});
