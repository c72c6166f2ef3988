import { div, eq, ge, gt, le, log, logicalAnd, lt, pow, where, zerosLike, type DType, type Tensor } from '@dl/tensor';
import { type BinaryOp } from '@dl/tensor/internal';
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

/** The scalar as the kernel used it: rounded to float32 unless x is float64 (float16 rounding is left out). */
const asUsed = (v: number, dtype: DType): number => (dtype === 'float64' ? v : Math.fround(v));

/** binaryScalar ops whose gradient needs x (saved[0]); reversed pow also needs its output (saved[1]). */
const NEEDS_X: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['pow', 'maximum', 'minimum']);

/**
 * x op s, or s op x when reversed, with s a JS number: only x has a gradient. maximum and minimum
 * give it all to x at a tie (torch.clamp's rule: clamp(x, min) passes g where x >= min).
 */
export const binaryScalarRule: GradRule<'binaryScalar'> = {
  save: ([x], out, { op, reversed }) => [NEEDS_X.has(op) || (reversed && (op === 'div' || op === 'mod')) ? x : null, op === 'pow' && reversed ? out : null],
  backward: (g, { attrs: { op, value, reversed }, saved: [x, y], inputs: [xm] }) => {
    const s = asUsed(value, xm.dtype);
    switch (op) {
      case 'add':
        return [g];
      case 'sub':
        return [reversed ? g.neg() : g];
      case 'mul':
        return [g.mul(s)];
      // d(s/x)/dx = -s / x²
      case 'div':
        return [reversed ? g.mul(s).div(x.mul(x)).neg() : g.div(s)];
      case 'pow':
        // s^x: s^x log(s), and 0 where s == 0 and x >= 0 (the limit)
        if (reversed) return [s === 0 ? where(ge(x, 0), 0, g.mul(y).mul(-Infinity)) : g.mul(y).mul(Math.log(s))];
        // x^s: s x^(s-1), and 0 everywhere when s == 0 (so 0^0 has no NaN gradient)
        return [s === 0 ? zerosLike(g) : g.mul(s).mul(pow(x, s - 1))];
      case 'maximum':
        return [where(ge(x, s), g, 0)];
      case 'minimum':
        return [where(le(x, s), g, 0)];
      // x mod s = x - s floor(x / s); s mod x = s - x floor(s / x)
      case 'mod':
        return [reversed ? g.mul(div(s, x).floor()).neg() : g];
      default:
        // comparisons and logical ops give bool outputs, which are never recorded
        return [null];
    }
  },
};

/** whereScalar(cond, x): x's gradient is g where x was kept, 0 where the scalar was filled in. */
export const whereScalarRule: GradRule<'whereScalar'> = {
  save: ([cond]) => [cond],
  backward: (g, { attrs: { fillWhen }, saved: [cond], needs: [, nx] }) => [null, nx ? (fillWhen ? where(cond, 0, g) : where(cond, g, 0)) : null],
};
