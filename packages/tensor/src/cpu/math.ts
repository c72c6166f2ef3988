import type { BinaryOp, UnaryOp } from '../primitives.js';

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/** erf to ~1e-15: Taylor series near 0, Lentz-style continued fraction for erfc in the tails. */
export function erfSeries(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    const r = 2 * INV_SQRT_PI * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
  let k = ax;
  for (let n = 60; n >= 1; n--) k = ax + n / 2 / k;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / k;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/**
 * erf from a table: at x0 = i/64 on [0, 6], erf(x0) and the Taylor coefficients about x0, whose
 * derivatives are Hermite polynomials: erf^(k+1)(x0) = (2/√π)(-1)^k H_k(x0) e^{-x0²}. With
 * |h| <= 1/128, nine terms reach the table's own accuracy (erfSeries, ~1e-14) at a fraction of the
 * series' cost, which matters because GELU runs erf on every activation.
 */
const ERF_STEP = 64;
const ERF_TERMS = 9;
const ERF_VAL = new Float64Array(6 * ERF_STEP + 1);
const ERF_COEF = new Float64Array(ERF_VAL.length * ERF_TERMS);
for (let i = 0; i < ERF_VAL.length; i++) {
  const x0 = i / ERF_STEP;
  ERF_VAL[i] = erfSeries(x0);
  // coefficient of h^(k+1): (2/√π) e^{-x0²} (-1)^k H_k(x0) / (k+1)!, with H_(k+1) = 2x0 H_k - 2k H_(k-1)
  let c = 2 * INV_SQRT_PI * Math.exp(-x0 * x0);
  let hPrev = 0;
  let hk = 1;
  for (let k = 0; k < ERF_TERMS; k++) {
    ERF_COEF[i * ERF_TERMS + k] = c * hk;
    c *= -1 / (k + 2);
    const next = 2 * x0 * hk - 2 * k * hPrev;
    hPrev = hk;
    hk = next;
  }
}

export function erf(x: number): number {
  const ax = Math.abs(x);
  if (!(ax <= 6)) return x !== x ? x : x < 0 ? -1 : 1;
  // round to the nearest table point; multiplying by 1/64 is exact and much cheaper than dividing
  const i = (ax * ERF_STEP + 0.5) | 0;
  const h = ax - i * (1 / ERF_STEP);
  const c = i * ERF_TERMS;
  const C = ERF_COEF;
  // Estrin's scheme: independent halves instead of one long dependent chain of multiply-adds
  const h2 = h * h;
  const h4 = h2 * h2;
  const p01 = C[c] + h * C[c + 1];
  const p23 = C[c + 2] + h * C[c + 3];
  const p45 = C[c + 4] + h * C[c + 5];
  const p67 = C[c + 6] + h * C[c + 7];
  const poly = p01 + h2 * p23 + h4 * (p45 + h2 * p67 + h4 * C[c + 8]);
  const r = ERF_VAL[i] + h * poly;
  return (1 - 2 * +(x < 0)) * r; // a sign without a branch: random signs would mispredict
}

/** Round half to even, as PyTorch's round. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// 2^k for k in [-1050, 1050]: exp32's scale factor, read instead of built from bits
const POW2 = Float64Array.from({ length: 2101 }, (_, i) => 2 ** (i - 1050));
const ROUND = 6755399441055744; // 1.5 * 2^52: adding and subtracting it rounds a double to an integer

/**
 * exp for results stored as float32 (or float16): e^v = 2^k e^f with k = round(v / ln 2),
 * |f| <= ln2 / 2, and a degree-7 Taylor polynomial for e^f (relative error < 6e-9, far below
 * float32's half ulp of 6e-8). V8 runs Math.exp as a call into C that costs ~20 ns; this inlines
 * into the elementwise loops at ~4 ns, which is most of the time of sigmoid and silu (and their
 * gradients) in a convolutional network's training step. Not for float64 results.
 */
export function exp32(v: number): number {
  if (v > 709) return Infinity;
  if (v < -745) return 0;
  const t = v * Math.LOG2E;
  const k = t + ROUND - ROUND;
  const f = (t - k) * Math.LN2;
  // NaN falls through: k | 0 is 0 and the polynomial is NaN
  const p = 1 + f * (1 + f * (0.5 + f * (1 / 6 + f * (1 / 24 + f * (1 / 120 + f * (1 / 720 + f * (1 / 5040)))))));
  return POW2[(k | 0) + 1050] * p;
}

const sigmoid32 = (x: number): number => 1 / (1 + exp32(-x));

/** Unary functions with a faster form for float32/float16 outputs (exp32 in place of Math.exp). */
export const UNARY_F32: Partial<Record<UnaryOp, (x: number) => number>> = {
  sigmoid: sigmoid32,
  silu: (x) => x / (1 + exp32(-x)),
};

/**
 * g * d/dx silu(x) = g s (1 + x (1 - s)), s = sigmoid(x): silu's backward in one pass (float64,
 * and the float32 form through exp32).
 */
export const SILU_GRAD = {
  f64: (g: number, x: number): number => {
    const s = sigmoid(x);
    return g * (s * (x * (1 - s) + 1));
  },
  f32: (g: number, x: number): number => {
    const s = sigmoid32(x);
    return g * (s * (x * (1 - s) + 1));
  },
};

export const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : x),
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 ? x : x !== x ? x : 0),
  gelu: (x) => 0.5 * x * (1 + erf(x * SQRT1_2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_PI * (x + 0.044715 * x * x * x))),
  silu: (x) => x * sigmoid(x),
  // PyTorch's threshold of 20 keeps large inputs exact
  softplus: (x) => (x > 20 ? x : Math.log1p(Math.exp(x))),
  erf,
  reciprocal: (x) => 1 / x,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundEven,
  logicalNot: (x) => +(x === 0),
};

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** g * d/dx gelu(x): exact, Φ(x) + x φ(x); tanh form, from u = √(2/π)(x + 0.044715 x³). */
export const GELU_GRAD: Record<'none' | 'tanh', (g: number, x: number) => number> = {
  none: (g, x) => g * (0.5 * (1 + erf(x * SQRT1_2)) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI),
  tanh: (g, x) => {
    const t = Math.tanh(SQRT_2_PI * (x + 0.044715 * x * x * x));
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_PI * (1 + 3 * 0.044715 * x * x));
  },
};

// comparisons as +(bool): V8 emits a flag move, not a branch that mispredicts on random data
export const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
  mod: (a, b) => {
    const r = a % b;
    return r !== 0 && r < 0 !== b < 0 ? r + b : r;
  },
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  logicalAnd: (a, b) => +(a !== 0) & +(b !== 0),
  logicalOr: (a, b) => +(a !== 0) | +(b !== 0),
};
