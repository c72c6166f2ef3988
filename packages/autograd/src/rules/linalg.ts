import { type Tensor } from '@dl/tensor';
import { runKernel, type KernelPrimitive } from '@dl/tensor/internal';
import { nonDifferentiable, type GradRule, type TensorMeta } from './types.js';

type Linalg = Extract<KernelPrimitive, 'matmul' | 'conv2d' | 'conv2dGradInput' | 'conv2dGradWeight' | 'maxPool2dIndices'>;

// Convolutions are bilinear: conv2dGradInput is the adjoint of conv2d in x and conv2dGradWeight
// its adjoint in w, so each of the three primitives differentiates into the other two — which is
// what makes second-order gradients through convolutions work.

/** A 2-D operand laid out column-major (the transpose of a contiguous matrix), with more than one row and column. */
function columnMajor(m: TensorMeta): boolean {
  return m.shape.length === 2 && m.shape[0] > 1 && m.shape[1] > 1 && m.strides[0] === 1 && m.strides[1] === m.shape[0];
}

/**
 * x @ y, the gradient of an operand shaped like `like`. For a 2-D operand stored transposed (a
 * Linear layer's w.T) it is computed as (yᵀ xᵀ)ᵀ: the gradient then has the operand's layout and
 * reaches the contiguous weight without a copy.
 */
function product(x: Tensor, y: Tensor, like: TensorMeta): Tensor {
  if (!columnMajor(like)) return runKernel('matmul', [x, y], {}, like.shape, x.dtype);
  const [r, c] = like.shape;
  return runKernel('matmul', [y.transpose(0, 1), x.transpose(0, 1)], {}, [c, r], x.dtype).transpose(0, 1);
}

export const linalgRules: { [P in Linalg]: GradRule<P> } = {
  // a [...B, M, K] @ b [...B, K, N]: ga = g bᵀ, gb = aᵀ g (batch broadcasting is undone by expand's rule)
  matmul: {
    save: ([a, b], _out, _attrs, [na, nb]) => [nb ? a : null, na ? b : null],
    backward: (g, { saved: [a, b], needs: [na, nb], inputs: [am, bm] }) => [
      na ? product(g, b.transpose(-1, -2), am) : null,
      nb ? product(a.transpose(-1, -2), g, bm) : null,
    ],
  },
  // y = conv(x, w)
  conv2d: {
    save: ([x, w], _out, _attrs, [nx, nw]) => [nw ? x : null, nx ? w : null],
    backward: (g, { attrs, saved: [x, w], needs: [nx, nw], inputs: [xm, wm] }) => [
      nx ? runKernel('conv2dGradInput', [g, w], attrs, xm.shape, g.dtype) : null,
      nw ? runKernel('conv2dGradWeight', [x, g], attrs, wm.shape, g.dtype) : null,
    ],
  },
  // gx = convᵀ(gy, w); <G, convᵀ(gy, w)> = <conv(G, w), gy>
  conv2dGradInput: {
    save: ([gy, w], _out, _attrs, [ngy, nw]) => [nw ? gy : null, ngy ? w : null],
    backward: (g, { attrs, saved: [gy, w], needs: [ngy, nw], inputs: [gym, wm] }) => [
      ngy ? runKernel('conv2d', [g, w], attrs, gym.shape, g.dtype) : null,
      nw ? runKernel('conv2dGradWeight', [g, gy], attrs, wm.shape, g.dtype) : null,
    ],
  },
  // gw = ∂<conv(x, w), gy>/∂w; <G, gw(x, gy)> = <conv(x, G), gy>
  conv2dGradWeight: {
    save: ([x, gy], _out, _attrs, [nx, ngy]) => [ngy ? x : null, nx ? gy : null],
    backward: (g, { attrs, saved: [x, gy], needs: [nx, ngy], inputs: [xm, gym] }) => [
      nx ? runKernel('conv2dGradInput', [gy, g], attrs, xm.shape, g.dtype) : null,
      ngy ? runKernel('conv2d', [x, g], attrs, gym.shape, g.dtype) : null,
    ],
  },
  // maxPool2d's values are a gather at these indices, so its gradient flows through gather
  maxPool2dIndices: nonDifferentiable(),
};
