import { backward } from '@dl/autograd';
import { DTypeError, ShapeError, conv1d, manualSeed, randn, silu, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { causalConv1d } from './index.js';
import { expectClose } from './test-helpers.js';

/** The composition the fused op replaces: a grouped conv1d (groups = D, padding W - 1), the first L outputs, SiLU. */
function composed(x: Tensor, weight: Tensor, bias: Tensor | null, act: boolean): Tensor {
  let y = conv1d(x, weight, { groups: x.shape[1], padding: weight.shape[2] - 1 }).narrow(2, 0, x.shape[2]); // (batch, D, L)
  if (bias) y = y.add(bias.reshape([1, -1, 1]));
  return act ? silu(y) : y;
}

describe('causalConv1d (fused depthwise causal convolution)', () => {
  for (const c of [
    { batch: 2, D: 3, L: 9, W: 4, act: true, bias: true, dtype: 'float64' as const, tol: 1e-12 },
    { batch: 1, D: 2, L: 2, W: 4, act: false, bias: false, dtype: 'float64' as const, tol: 1e-12 }, // L < W
    { batch: 3, D: 5, L: 17, W: 3, act: true, bias: true, dtype: 'float32' as const, tol: 2e-6 },
    { batch: 1, D: 4, L: 1, W: 1, act: true, bias: true, dtype: 'float32' as const, tol: 2e-6 },
  ]) {
    it(`matches Conv1d + narrow + silu, values and the gradients of x, weight, bias: ${JSON.stringify(c)}`, () => {
      manualSeed(11);
      const o = { dtype: c.dtype };
      const weight = randn([c.D, 1, c.W], o).requiresGrad_(); // Conv1d's layout
      const bias = c.bias ? randn([c.D], o).requiresGrad_() : null;
      const x = randn([c.batch, c.D, c.L], { dtype: c.dtype }).requiresGrad_();
      const w = randn([c.batch, c.D, c.L], { dtype: c.dtype });
      const grads = (y: Tensor): Tensor[] => {
        for (const p of [x, weight, bias]) if (p) p.grad = null;
        backward(y.mul(w).sum());
        return [x.grad!, weight.grad!, ...(bias ? [bias.grad!] : [])];
      };
      const want = composed(x, weight, bias, c.act);
      const gWant = grads(want);
      const got = causalConv1d(x, weight, bias, { activation: c.act ? 'silu' : null });
      const gGot = grads(got);
      expectClose(got, want, c.tol, c.tol, 'y');
      ['dx', 'dweight', 'dbias'].slice(0, gWant.length).forEach((name, i) => expectClose(gGot[i], gWant[i], c.tol * 10, c.tol * 10, name));
    });
  }

  it('names the argument and every shape for bad input', () => {
    const x = randn([2, 3, 5]);
    expect(() => causalConv1d(x, randn([4, 1, 4]))).toThrow(new ShapeError('mamba.causalConv1d', 'weight must be (D, W) with D = x.shape[1] (3) and W >= 1, got [4,4]; x=[2,3,5] weight=[4,4] bias=[4]'));
    expect(() => causalConv1d(x, randn([3, 4]), randn([2]))).toThrow(/bias must be \(D\) = \[3\], got \[2\]; x=\[2,3,5\] weight=\[3,4\] bias=\[2\]/);
    expect(() => causalConv1d(randn([3, 5]), randn([3, 4]))).toThrow(/x must be \(batch, D, L\), got \[3,5\]/);
    expect(() => causalConv1d(x, randn([3, 4], { dtype: 'float64' }))).toThrow(DTypeError);
  });
});
