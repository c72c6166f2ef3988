import { DTypeError } from '@dl/tensor';
import { WGSL_ERF, type BinaryOp, type UnaryOp } from '@dl/tensor/internal';
import type { ShaderBuilder } from '../wgsl/builder.js';

/**
 * WGSL for each elementwise op, matching the CPU reference (src/cpu/math.ts of @dl/tensor):
 * NaN propagates through max/min/sign/relu, pow of a negative base works for integer exponents,
 * mod takes the divisor's sign, round is half-to-even. Helper functions are added on demand.
 */
const F_HELPERS: Record<string, string> = {
  expm1_: `fn expm1_(x: f32) -> f32 {
  if (abs(x) >= 0.5) { return exp(x) - 1.0; }
  let u = exp(x);
  if (u == 1.0) { return x; }
  return (u - 1.0) * x / log(u);
}`,
  tanh_: `fn tanh_(x: f32) -> f32 {
  // tanh through exp overflows for large |x| on some drivers
  if (abs(x) > 15.0) { return sign(x); }
  return tanh(x);
}`,
  erf_: WGSL_ERF,
  sigmoid_: 'fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }',
  pow_: `fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a < 0.0 && floor(b) == b) {
    let r = pow(-a, b);
    return select(r, -r, abs(b % 2.0) == 1.0);
  }
  if (a == 0.0) { return select(0.0, inf(), b < 0.0); }
  return pow(a, b);
}`,
  mod_: `fn mod_(a: f32, b: f32) -> f32 {
  let r = a - b * trunc(a / b);
  return select(r, r + b, r != 0.0 && ((r < 0.0) != (b < 0.0)));
}`,
  ipow_: `fn ipow_(a: i32, b: i32) -> i32 {
  if (b < 0) { return select(select(0, select(-1, 1, (b & 1) == 0), a == -1), 1, a == 1); }
  var r = 1;
  var base = a;
  var e = b;
  loop {
    if (e == 0) { break; }
    if ((e & 1) == 1) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}`,
  imod_: `fn imod_(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  let r = a % b;
  return select(r, r + b, r != 0 && ((r < 0) != (b < 0)));
}`,
};

function use(b: ShaderBuilder, ...names: string[]): void {
  for (const n of names) b.fn(F_HELPERS[n]);
}

const SQRT1_2 = '0.7071067811865476';
const SQRT_2_PI = '0.7978845608028654';

/** Statements setting `v: f32` from `x0: f32`. */
export function unaryF32(op: UnaryOp, b: ShaderBuilder): string {
  const e = ((): string => {
    switch (op) {
      case 'neg': return '-x0';
      case 'abs': return 'abs(x0)';
      case 'sign': return 'select(sign(x0), x0, isnan(x0))';
      case 'exp': return 'exp(x0)';
      case 'log': return 'log1p_(x0 - 1.0)';
      case 'log1p': return 'log1p_(x0)';
      case 'expm1': use(b, 'expm1_'); return 'expm1_(x0)';
      case 'sqrt': return 'sqrt(x0)';
      case 'rsqrt': return '1.0 / sqrt(x0)';
      case 'sin': return 'sincos_(x0).x';
      case 'cos': return 'sincos_(x0).y';
      case 'tanh': use(b, 'tanh_'); return 'tanh_(x0)';
      case 'sigmoid': use(b, 'sigmoid_'); return 'sigmoid_(x0)';
      case 'relu': return 'select(x0, 0.0, x0 <= 0.0)';
      case 'gelu': use(b, 'erf_'); return `0.5 * x0 * (1.0 + erf_(x0 * ${SQRT1_2}))`;
      case 'geluTanh': use(b, 'tanh_'); return `0.5 * x0 * (1.0 + tanh_(${SQRT_2_PI} * (x0 + 0.044715 * x0 * x0 * x0)))`;
      case 'silu': use(b, 'sigmoid_'); return 'x0 * sigmoid_(x0)';
      case 'softplus': return 'select(log1p_(exp(x0)), x0, x0 > 20.0)';
      case 'erf': use(b, 'erf_'); return 'erf_(x0)';
      case 'reciprocal': return '1.0 / x0';
      case 'floor': return 'floor(x0)';
      case 'ceil': return 'ceil(x0)';
      case 'round': return 'round(x0)';
      case 'logicalNot': return 'select(0.0, 1.0, x0 == 0.0)';
    }
  })();
  return `  let v = ${e};`;
}

/** Statements setting `v: i32` from `x0: i32` for the ops that keep integers. */
export function unaryI32(op: UnaryOp): string {
  const e = ((): string => {
    switch (op) {
      case 'neg': return '-x0';
      case 'abs': return 'abs(x0)';
      case 'sign': return 'sign(x0)';
      case 'relu': return 'max(x0, 0)';
      case 'floor':
      case 'ceil':
      case 'round': return 'x0';
      case 'logicalNot': return 'select(0, 1, x0 == 0)';
      default: throw new DTypeError(op, 'has no int32 kernel on WebGPU');
    }
  })();
  return `  let v = ${e};`;
}

export const INT_UNARY: readonly UnaryOp[] = ['neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round', 'logicalNot'];

/**
 * Statements setting `v` from operands `l`, `r` (`x0`, `x1` unless named) in domain `d`;
 * comparisons give 0/1 in that domain.
 */
export function binaryExpr(op: BinaryOp, d: 'f32' | 'i32', b: ShaderBuilder, [l, r]: readonly [string, string] = ['x0', 'x1']): string {
  const z = d === 'f32' ? '0.0' : '0';
  const one = d === 'f32' ? '1.0' : '1';
  const cmp = (c: string): string => `select(${z}, ${one}, ${c})`;
  const e = ((): string => {
    switch (op) {
      case 'add': return `${l} + ${r}`;
      case 'sub': return `${l} - ${r}`;
      case 'mul': return `${l} * ${r}`;
      case 'div': return d === 'f32' ? `${l} / ${r}` : `select(0, ${l} / ${r}, ${r} != 0)`;
      case 'pow': if (d === 'f32') { use(b, 'pow_'); return `pow_(${l}, ${r})`; } use(b, 'ipow_'); return `ipow_(${l}, ${r})`;
      case 'maximum': return d === 'f32' ? `select(max(${l}, ${r}), ${l} + ${r}, isnan(${l}) || isnan(${r}))` : `max(${l}, ${r})`;
      case 'minimum': return d === 'f32' ? `select(min(${l}, ${r}), ${l} + ${r}, isnan(${l}) || isnan(${r}))` : `min(${l}, ${r})`;
      case 'mod': if (d === 'f32') { use(b, 'mod_'); return `mod_(${l}, ${r})`; } use(b, 'imod_'); return `imod_(${l}, ${r})`;
      case 'eq': return cmp(`${l} == ${r}`);
      // Tint's float != is ordered (false when either side is NaN): test the NaNs by their bits
      case 'ne': return d === 'f32' ? cmp(`!(${l} == ${r}) || isnan(${l}) || isnan(${r})`) : cmp(`${l} != ${r}`);
      case 'lt': return cmp(`${l} < ${r}`);
      case 'le': return cmp(`${l} <= ${r}`);
      case 'gt': return cmp(`${l} > ${r}`);
      case 'ge': return cmp(`${l} >= ${r}`);
      case 'logicalAnd': return d === 'f32' ? cmp(`truthy(${l}) && truthy(${r})`) : cmp(`${l} != ${z} && ${r} != ${z}`);
      case 'logicalOr': return d === 'f32' ? cmp(`truthy(${l}) || truthy(${r})`) : cmp(`${l} != ${z} || ${r} != ${z}`);
    }
  })();
  return `  let v = ${e};`;
}
