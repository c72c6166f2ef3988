import { eq, ge, gt, log, logicalAnd, lt, pow, where, type BinaryOp, type Tensor } from '@dl/tensor';
import { nonDifferentiable, type GradRule } from './types.js';

// Inputs arrive expanded to the output shape, so every gradient here has the output's shape.

/** weight of `a` where max/min ties: 1 where it wins, 1/2 on ties (PyTorch's even split) */
function winWeight(win: Tensor, tie: Tensor, like: Tensor): Tensor {
  return win.cast(like.dtype).add(tie.cast(like.dtype).mul(0.5));
}

export const binaryRules: { [P in BinaryOp]: GradRule<P> } = {
  add: { backward: (g, { needs }) => [needs[0] ? g : null, needs[1] ? g : null] },
  sub: { backward: (g, { needs }) => [needs[0] ? g : null, needs[1] ? g.neg() : null] },
  mul: {
    save: ([a, b], _out, _attrs, [na, nb]) => [nb ? a : null, na ? b : null],
    backward: (g, { saved: [a, b], needs: [na, nb] }) => [na ? g.mul(b) : null, nb ? g.mul(a) : null],
  },
  div: {
    save: ([a, b], _out, _attrs, [, nb]) => [nb ? a : null, b],
    // d(a/b)/db = -a / b²
    backward: (g, { saved: [a, b], needs: [na, nb] }) => [na ? g.div(b) : null, nb ? g.mul(a).div(b.mul(b)).neg() : null],
  },
  pow: {
    save: ([a, b], out, _attrs, [, nb]) => [a, b, nb ? out : null],
    backward: (g, { saved: [a, b, y], needs: [na, nb] }) => [
      // b a^(b-1), and 0 where b == 0 (so 0^0 has no NaN gradient)
      na ? where(eq(b, 0), 0, g.mul(b).mul(pow(a, b.sub(1)))) : null,
      // a^b log(a), and 0 where a == 0 and b >= 0 (the limit)
      nb ? where(logicalAnd(eq(a, 0), ge(b, 0)), 0, g.mul(y).mul(log(a))) : null,
    ],
  },
  maximum: {
    save: ([a, b]) => [a, b],
    backward: (g, { saved: [a, b], needs: [na, nb] }) => {
      const tie = eq(a, b);
      return [na ? g.mul(winWeight(gt(a, b), tie, g)) : null, nb ? g.mul(winWeight(lt(a, b), tie, g)) : null];
    },
  },
  minimum: {
    save: ([a, b]) => [a, b],
    backward: (g, { saved: [a, b], needs: [na, nb] }) => {
      const tie = eq(a, b);
      return [na ? g.mul(winWeight(lt(a, b), tie, g)) : null, nb ? g.mul(winWeight(gt(a, b), tie, g)) : null];
    },
  },
  // a mod b = a - b floor(a / b)
  mod: {
    save: ([a, b], _out, _attrs, [, nb]) => (nb ? [a, b] : []),
    backward: (g, { saved: [a, b], needs: [na, nb] }) => [na ? g : null, nb ? g.mul(a.div(b).floor()).neg() : null],
  },
  eq: nonDifferentiable(),
  ne: nonDifferentiable(),
  lt: nonDifferentiable(),
  le: nonDifferentiable(),
  gt: nonDifferentiable(),
  ge: nonDifferentiable(),
  logicalAnd: nonDifferentiable(),
  logicalOr: nonDifferentiable(),
};

export const whereRule: GradRule<'where'> = {
  save: ([cond]) => [cond],
  backward: (g, { saved: [cond], needs: [, na, nb] }) => [null, na ? where(cond, g, 0) : null, nb ? where(cond, 0, g) : null],
};
