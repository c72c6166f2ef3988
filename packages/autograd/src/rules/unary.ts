import { exp, geluGrad, reluGrad, sigmoid, siluGrad, zerosLike, type Tensor } from '@dl/tensor';
import { type UnaryOp } from '@dl/tensor/internal';
import { nonDifferentiable, type GradRule } from './types.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** d/dx written from the saved input x */
const fromX = (f: (g: Tensor, x: Tensor) => Tensor): GradRule<UnaryOp> => ({
  save: ([x]) => [x],
  backward: (g, { saved: [x] }) => [f(g, x)],
});
/** d/dx written from the saved output y (cheaper where the derivative is a function of y) */
const fromOut = (f: (g: Tensor, y: Tensor) => Tensor): GradRule<UnaryOp> => ({
  save: (_inputs, out) => [out],
  backward: (g, { saved: [y] }) => [f(g, y)],
});
/** piecewise-constant functions: the gradient is zero almost everywhere (as PyTorch) */
const zero: GradRule<UnaryOp> = { backward: (g) => [zerosLike(g)] };

export const unaryRules: { [P in UnaryOp]: GradRule<P> } = {
  neg: { backward: (g) => [g.neg()] },
  abs: fromX((g, x) => g.mul(x.sign())),
  sign: zero,
  floor: zero,
  ceil: zero,
  round: zero,
  exp: fromOut((g, y) => g.mul(y)),
  log: fromX((g, x) => g.div(x)),
  log1p: fromX((g, x) => g.div(x.add(1))),
  expm1: fromOut((g, y) => g.mul(y.add(1))),
  sqrt: fromOut((g, y) => g.div(y.mul(2))),
  // d/dx x^-1/2 = -1/2 y^3
  rsqrt: fromOut((g, y) => g.mul(y.mul(y).mul(y)).mul(-0.5)),
  reciprocal: fromOut((g, y) => g.mul(y.mul(y)).neg()),
  sin: fromX((g, x) => g.mul(x.cos())),
  cos: fromX((g, x) => g.mul(x.sin()).neg()),
  tanh: fromOut((g, y) => g.mul(y.mul(y).neg().add(1))),
  sigmoid: fromOut((g, y) => g.mul(y.mul(y.neg().add(1)))),
  // the mask comes from the output: relu(x) > 0 exactly where x > 0; one fused kernel (g where
  // y > 0, else 0), a custom op with its own rule like siluGrad
  relu: fromOut((g, y) => reluGrad([g, y])),
  // x Φ(x) -> g (Φ(x) + x φ(x)), and its tanh form: one fused kernel, a custom op (defineOp) with
  // a rule of its own, so createGraph differentiates through it too
  gelu: fromX((g, x) => geluGrad([g, x], { approximate: 'none' })),
  geluTanh: fromX((g, x) => geluGrad([g, x], { approximate: 'tanh' })),
  // x σ(x)  ->  σ(x) (1 + x (1 - σ(x)))
  // one fused kernel (a custom op with its own rule, like geluGrad)
  silu: fromX((g, x) => siluGrad([g, x])),
  softplus: fromX((g, x) => g.mul(sigmoid(x))),
  erf: fromX((g, x) => g.mul(exp(x.mul(x).neg()).mul(TWO_OVER_SQRT_PI))),
  logicalNot: nonDifferentiable(),
};
