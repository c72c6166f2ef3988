// Float32 transcendental elementwise kernels in SIMD128: a vector exp (Cody-Waite range reduction,
// a degree-6 minimax polynomial, 2^n built in the exponent bits) and the activations made from it
// (sigmoid, silu, tanh, gelu through erfc) with the fused gradients of silu and gelu.
import { type FuncBuilder, i32 as I32, type ModuleBuilder, v128 as V128 } from './emitter.js';

/** Elementwise ops of the `ewise` export, by code. Binary ops take (g, x); unary ones x alone. */
export const EW = { exp: 0, sigmoid: 1, silu: 2, siluGrad: 3, tanh: 4, gelu: 5, geluGrad: 6, geluTanh: 7, geluTanhGrad: 8, reluGrad: 9, relu: 10, softplus: 11 } as const;
export type EwOp = keyof typeof EW;
/** ops whose first input is an incoming gradient g */
export const EW_BINARY: ReadonlySet<EwOp> = new Set<EwOp>(['siluGrad', 'geluGrad', 'geluTanhGrad', 'reluGrad']);

/**
 * exp constants. Inputs are clamped to [LO, HI]: exp(89) overflows float32 (ln FLT_MAX ~ 88.72) and
 * exp(-104) is below half the smallest subnormal (2^-150), so the clamped values still round to
 * inf and 0, and ±Inf land on them; min/max keep NaN.
 */
const LO = -104;
const HI = 89;
/** ln 2 = LN2_HI + LN2_LO: LN2_HI has 9 significant bits, so n * LN2_HI is exact for |n| <= 2^15 */
const LN2_HI = 0.693359375;
const LN2_LO = Math.LN2 - LN2_HI;
/**
 * (e^r - 1 - r) / r^2 on |r| <= ln2/2: degree-4 minimax fit (Lawson-weighted least squares on
 * Chebyshev nodes), so e^r = 1 + r + r^2 q(r) has relative error 3.1e-9 before float32 rounding.
 */
const Q = [0.4999999403953552, 0.1666652113199234, 0.04166838899254799, 0.00836874544620514, 0.0013814539415761828];

/**
 * tanh(x) = x + x^3 P(x^2) for |x| < TANH_SMALL (degree-5 minimax fit, relative error 1.6e-10),
 * where 1 - 2 / (e^2|x| + 1) would lose the low bits of a small result.
 */
const TANH_SMALL = 0.625;
const TANH_P = [-0.3333333134651184, 0.1333320587873459, -0.05394676327705383, 0.021700702607631683, -0.008177398703992367, 0.0021429620683193207];
/**
 * erfc(z) = e^(-z^2) F(t), t = 1 / (1 + z / 2), for z >= 0: F is a degree-9 minimax fit in t
 * (relative error 3e-8 over z in [0, 10], 3.3e-7 evaluated in float32); erfc underflows past 9.2.
 * Written this way the lower tail 0.5 erfc(|z|) of Phi(x) keeps its relative accuracy, where
 * 1 + erf(z) would cancel.
 */
const ERFC_P = 0.5;
const ERFC_F = [
  -6.0113002291473094e-6, 0.28222137689590454, 0.2810984253883362, 0.24979348480701447, 0.1812499612569809, 0.01707746647298336, 0.22119125723838806,
  -0.44147789478302, 0.2639032006263733, -0.05505131557583809,
];
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/** gelu's tanh form: u = sqrt(2/pi) (x + GELU_A x^3) */
const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/**
 * Sets t.phi = s = sigmoid(2u), u = sqrt(2/pi) (x + a x^3), and t.p = 2 u' = 2 sqrt(2/pi) (1 + 3a x^2):
 * gelu's tanh form is 0.5 x (1 + tanh u) = x s, with no cancellation where tanh u nears -1.
 */
function vgeluTanhParts(f: FuncBuilder, t: VecLocals, x: number): void {
  f.get(x).get(x).f32x4Mul().set(t.p); // x^2
  vsig(f, t, () => f.get(t.p).f32x4Const(GELU_A).f32x4Mul().f32x4Const(1).f32x4Add().get(x).f32x4Mul().f32x4Const(2 * SQRT_2_PI).f32x4Mul());
  f.set(t.phi);
  f.get(t.p).f32x4Const(3 * GELU_A).f32x4Mul().f32x4Const(1).f32x4Add().f32x4Const(2 * SQRT_2_PI).f32x4Mul().set(t.p);
}

/** Scratch locals the vector helpers share within one function. */
export interface VecLocals {
  xc: number;
  kf: number;
  r: number;
  q: number;
  k: number;
  k1: number;
  /** for the activations: |x| or z, e^-z^2, a polynomial, Phi(x) */
  a: number;
  e: number;
  p: number;
  phi: number;
  h: number;
}

export function vecLocals(f: FuncBuilder): VecLocals {
  const v = () => f.local(V128);
  return { xc: v(), kf: v(), r: v(), q: v(), k: v(), k1: v(), a: v(), e: v(), p: v(), phi: v(), h: v() };
}

/** Horner: pushes c[0] + u (c[1] + u (c[2] + ...)) for the u in local `u`. */
function horner(f: FuncBuilder, u: number, c: readonly number[]): void {
  f.get(u).f32x4Const(c[c.length - 1]).f32x4Mul().f32x4Const(c[c.length - 2]).f32x4Add();
  for (let i = c.length - 3; i >= 0; i--) f.get(u).f32x4Mul().f32x4Const(c[i]).f32x4Add();
}

/**
 * Sets t.phi = Phi(x) (the standard normal CDF) and t.e = e^(-x^2/2) for the x in local `x`:
 * with z = |x| / sqrt 2 and E = erfc(z), Phi = 1 - E/2 for x >= 0 and E/2 below (no cancellation
 * in the lower tail). NaN gives NaN. x^2/2 is split as hi + lo, hi = xh^2/2 exact (xh = |x| cut
 * to 12 significant bits), and e^(-lo) (|lo| < 0.09 while the result is above float32's range)
 * comes from its series: the rounding of x^2 alone would cost up to 80 ulp of e^(-x^2/2) at |x| = 13.
 */
function vphi(f: FuncBuilder, t: VecLocals, x: number): void {
  f.get(x).f32x4Abs().set(t.a);
  // |x| <= 15 for e^(-x^2/2) (already 0 at 14.5), so inf never meets inf - inf; NaN stays NaN
  f.get(t.a).f32x4Const(15).f32x4Pmin().set(t.h);
  f.get(t.h).i32x4Const(0xfffff000 | 0).v128And().set(t.phi); // xh (phi is scratch until the end)
  f.get(t.h).get(t.phi).f32x4Sub().get(t.h).get(t.phi).f32x4Add().f32x4Mul().f32x4Const(0.5).f32x4Mul().set(t.h); // lo
  vexp(f, t, () => f.get(t.phi).get(t.phi).f32x4Mul().f32x4Const(-0.5).f32x4Mul());
  // e^-hi (1 - lo (1 - lo (1/2 - lo (1/6 - lo / 24))))
  f.f32x4Const(1).get(t.h).f32x4Const(1).get(t.h).f32x4Const(0.5).get(t.h).f32x4Const(1 / 6).get(t.h).f32x4Const(1 / 24).f32x4Mul().f32x4Sub();
  f.f32x4Mul().f32x4Sub().f32x4Mul().f32x4Sub().f32x4Mul().f32x4Sub().f32x4Mul().set(t.e);
  f.f32x4Const(1).f32x4Const(1).get(t.a).f32x4Const(ERFC_P * Math.SQRT1_2).f32x4Mul().f32x4Add().f32x4Div().set(t.p);
  horner(f, t.p, ERFC_F);
  f.get(t.e).f32x4Mul().f32x4Const(0.5).f32x4Mul().set(t.p); // E / 2
  f.f32x4Const(1).get(t.p).f32x4Sub().get(t.p).get(x).f32x4Const(0).f32x4Ge().v128Bitselect().set(t.phi);
}

/** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer (ties to even), which then sits in the low mantissa bits */
const ROUND = 12582912;
const ROUND_BITS = 0x4b400000;

/**
 * Pushes exp of the f32x4 that `push` leaves on the stack. x = n ln2 + r with n = nearest(x log2e)
 * (Cody-Waite: r = x - n LN2_HI - n LN2_LO, the first product exact), e^r from the polynomial,
 * then e^r 2^n1 2^n2 with n1 = n >> 1, n2 = n - n1: both powers are normal floats for every
 * n in [-150, 128], and the final product rounds once into the subnormal range or to inf.
 * Written for V8's lowering: pmin/pmax are one instruction each (min/max with NaN rules are
 * several), and n comes from adding ROUND (its integer is then bits - bits(ROUND)) instead of
 * nearest + trunc_sat (the latter a dozen instructions).
 */
export function vexp(f: FuncBuilder, t: VecLocals, push: () => void): void {
  push();
  // clamp; pmax(x, LO) and pmin(x, HI) return x itself when x is NaN
  f.f32x4Const(LO).f32x4Pmax().f32x4Const(HI).f32x4Pmin().set(t.xc);
  f.get(t.xc).f32x4Const(Math.LOG2E).f32x4Mul().f32x4Const(ROUND).f32x4Add().set(t.k); // n + ROUND
  f.get(t.k).f32x4Const(ROUND).f32x4Sub().set(t.kf); // n as a float
  f.get(t.xc).get(t.kf).f32x4Const(LN2_HI).f32x4Mul().f32x4Sub().get(t.kf).f32x4Const(LN2_LO).f32x4Mul().f32x4Sub().set(t.r);
  f.get(t.r).f32x4Const(Q[4]).f32x4Mul().f32x4Const(Q[3]).f32x4Add();
  for (let i = 2; i >= 0; i--) f.get(t.r).f32x4Mul().f32x4Const(Q[i]).f32x4Add();
  f.set(t.q);
  // p = 1 + (r + r^2 q)
  f.get(t.r).get(t.r).f32x4Mul().get(t.q).f32x4Mul().get(t.r).f32x4Add().f32x4Const(1).f32x4Add();
  // n as an integer; for NaN it is garbage, but p is NaN and so is the product
  f.get(t.k).i32x4Const(ROUND_BITS).i32x4Sub().set(t.k);
  f.get(t.k).i32Const(1).i32x4ShrS().set(t.k1);
  f.get(t.k1).i32x4Const(127).i32x4Add().i32Const(23).i32x4Shl().f32x4Mul();
  f.get(t.k).get(t.k1).i32x4Sub().i32x4Const(127).i32x4Add().i32Const(23).i32x4Shl().f32x4Mul();
}

/**
 * Pushes sigmoid(v) for the v that `push` leaves (kept in t.a): with e = exp(-|v|), 1 / (1 + e)
 * for v >= 0 and e / (1 + e) below, so the lower tail keeps its relative accuracy down to the
 * subnormals instead of flushing to 0 where exp(-v) overflows. NaN gives NaN.
 */
function vsig(f: FuncBuilder, t: VecLocals, push: () => void): void {
  push();
  f.set(t.a);
  vexp(f, t, () => f.get(t.a).f32x4Abs().f32x4Neg());
  f.set(t.e);
  f.f32x4Const(1).get(t.e).get(t.a).f32x4Const(0).f32x4Ge().v128Bitselect();
  f.f32x4Const(1).get(t.e).f32x4Add().f32x4Div();
}

/** Pushes sigmoid of the x in local `x`. */
function vsigmoid(f: FuncBuilder, t: VecLocals, x: number): void {
  vsig(f, t, () => f.get(x));
}

/** The loop body of each op: reads x (and g) from locals, leaves the result on the stack. */
const BODIES: Record<EwOp, (f: FuncBuilder, t: VecLocals, x: number, g: number, s: number) => void> = {
  exp: (f, t, x) => vexp(f, t, () => f.get(x)),
  sigmoid: (f, t, x) => vsigmoid(f, t, x),
  // x sigmoid(x)
  silu: (f, t, x) => {
    f.get(x);
    vsigmoid(f, t, x);
    f.f32x4Mul();
  },
  // g (s (x (1 - s) + 1)), s = sigmoid(x)
  siluGrad: (f, t, x, g, s) => {
    vsigmoid(f, t, x);
    f.set(s);
    f.get(g).get(s).get(x).f32x4Const(1).get(s).f32x4Sub().f32x4Mul().f32x4Const(1).f32x4Add().f32x4Mul().f32x4Mul();
  },
  // |tanh| from |x| (the odd polynomial for small |x|, else 1 - 2 / (e^2|x| + 1), which is 1 once
  // e^2|x| = inf), then the sign of x (so tanh(-0) = -0)
  tanh: (f, t, x) => {
    f.get(x).f32x4Abs().set(t.a);
    f.get(t.a).get(t.a).f32x4Mul().set(t.p);
    f.get(t.a).get(t.a).get(t.p).f32x4Mul();
    horner(f, t.p, TANH_P);
    f.f32x4Mul().f32x4Add(); // a + a^3 P(a^2)
    f.f32x4Const(1).f32x4Const(2);
    vexp(f, t, () => f.get(t.a).get(t.a).f32x4Add());
    f.f32x4Const(1).f32x4Add().f32x4Div().f32x4Sub();
    f.get(t.a).f32x4Const(TANH_SMALL).f32x4Lt().v128Bitselect();
    f.get(x).i32x4Const(-0x80000000).v128And().v128Or();
  },
  // x Phi(x)
  gelu: (f, t, x) => {
    vphi(f, t, x);
    f.get(x).get(t.phi).f32x4Mul();
  },
  // x sigmoid(2u) = 0.5 x (1 + tanh u)
  geluTanh: (f, t, x) => {
    vgeluTanhParts(f, t, x);
    f.get(x).get(t.phi).f32x4Mul();
  },
  // g d/dx (x s) = g s (1 + x (1 - s) 2u'), s = sigmoid(2u)
  geluTanhGrad: (f, t, x, g) => {
    vgeluTanhParts(f, t, x);
    f.get(g).get(t.phi).get(x).f32x4Const(1).get(t.phi).f32x4Sub().f32x4Mul().get(t.p).f32x4Mul().f32x4Const(1).f32x4Add().f32x4Mul().f32x4Mul();
  },
  // g where x > 0, else 0 (a NaN or infinite g included, as PyTorch's threshold_backward): a mask, no multiply
  reluGrad: (f, _t, x, g) => {
    f.get(g).get(x).f32x4Const(0).f32x4Gt().v128And();
  },
  // x where x > 0 or x is NaN, else +0 (so -0 gives +0), as PyTorch's relu: x & ~(x == x & !(x > 0))
  relu: (f, _t, x) => {
    f.get(x).get(x).get(x).f32x4Eq().get(x).f32x4Const(0).f32x4Gt().v128AndNot().v128AndNot();
  },
  // x above 20 (PyTorch's threshold), else max(x, 0) + log1p(e), e = exp(-|x|): log1p(e) = 2 atanh(s)
  // = t (1 + s^2/3 + s^4/5 + ...), t = 2e / (2 + e) = 2s, s <= 1/3, so 7 terms reach float32 (1.4e-8)
  softplus: (f, t, x, _g, s) => {
    vexp(f, t, () => f.get(x).f32x4Abs().f32x4Neg());
    f.set(t.a);
    f.get(t.a).get(t.a).f32x4Add().get(t.a).f32x4Const(2).f32x4Add().f32x4Div().set(t.p);
    f.get(t.p).get(t.p).f32x4Mul().f32x4Const(0.25).f32x4Mul().set(t.h);
    horner(f, t.h, [1, 1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11, 1 / 13]);
    // pmax(x, 0) keeps a NaN x (and so the NaN result); -inf gives 0 + log1p(0)
    f.get(t.p).f32x4Mul().get(x).f32x4Const(0).f32x4Pmax().f32x4Add().set(s);
    f.get(x).get(s).get(x).f32x4Const(20).f32x4Gt().v128Bitselect();
  },
  // g (Phi(x) + x phi(x)), phi(x) = e^(-x^2/2) / sqrt(2 pi)
  geluGrad: (f, t, x, g) => {
    vphi(f, t, x);
    f.get(g).get(t.phi).get(x).get(t.e).f32x4Mul().f32x4Const(INV_SQRT_2PI).f32x4Mul().f32x4Add().f32x4Mul();
  },
};

/**
 * `ewise(op, a, x, out, n)`: out[i] = op(x[i]) (or op(a[i], x[i]) for a gradient op) for i < n
 * rounded up to whole vectors, so the buffers must have room for up to 3 floats past n.
 * Addresses are byte offsets.
 */
export function emitEwise(m: ModuleBuilder): void {
  const f = m.func('ewise', [I32, I32, I32, I32, I32]);
  const [op, a, b, out, n] = [0, 1, 2, 3, 4];
  const end = f.local(I32);
  const x = f.local(V128);
  const g = f.local(V128);
  const s = f.local(V128);
  const t = vecLocals(f);
  f.get(out).get(n).i32Const(2).i32Shl().i32Add().set(end);
  for (const [name, code] of Object.entries(EW) as [EwOp, number][]) {
    f.get(op).i32Const(code).i32Eq();
    f.if(() => {
      f.block((done) => {
        f.loop((top) => {
          f.get(out).get(end).i32GeU().brIf(done);
          f.get(b).v128Load().set(x);
          if (EW_BINARY.has(name)) f.get(a).v128Load().set(g);
          f.get(out);
          BODIES[name](f, t, x, g, s);
          f.v128Store();
          f.get(out).i32Const(16).i32Add().set(out);
          f.get(b).i32Const(16).i32Add().set(b);
          f.get(a).i32Const(16).i32Add().set(a);
          f.br(top);
        });
      });
      f.return();
    });
  }
}
