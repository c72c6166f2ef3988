import { noGrad } from '@dl/autograd';
import { DLError, ShapeError, fmt, rand, randn, scope, tensor, type Tensor } from '@dl/tensor';
import { checkChoice, checkNumber } from './args.js';

/**
 * In-place initialisers, as torch.nn.init (without the trailing underscore). All draw from the
 * seeded counter-based generator (`manualSeed`), so the same seed gives the same weights on
 * every device.
 *
 *   import { init } from '@dl/layers';
 *   init.kaimingNormal(conv.weight, { mode: 'fanOut', nonlinearity: 'relu' });
 */

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

/** fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field (PyTorch's rule). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new ShapeError('init', `fan in and fan out need a tensor with at least 2 dims, got ${fmt(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

/** The recommended gain for a nonlinearity (leakyRelu's `param` is the negative slope, default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new DLError('calculateGain', `unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

function fill(t: Tensor, make: () => Tensor): Tensor {
  if (t.size === 0) return t; // nothing to fill, as PyTorch (which warns)
  noGrad(() => scope(() => void t.copy_(make())));
  return t;
}

/** Fills t with U(low, high). */
export function uniform(t: Tensor, low = 0, high = 1): Tensor {
  checkNumber('uniform', 'low', low, -Infinity);
  checkNumber('uniform', 'high', high, -Infinity);
  if (low > high) throw new DLError('uniform', `low (${low}) must be <= high (${high})`);
  return fill(t, () => rand(t.shape, { device: t.device }).mul(high - low).add(low));
}
/** Fills t with N(mean, std^2). */
export function normal(t: Tensor, mean = 0, std = 1): Tensor {
  checkNumber('normal', 'mean', mean, -Infinity);
  checkNumber('normal', 'std', std);
  return fill(t, () => randn(t.shape, { device: t.device }).mul(std).add(mean));
}
export function constant(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}
export function zeros(t: Tensor): Tensor {
  return constant(t, 0);
}
export function ones(t: Tensor): Tensor {
  return constant(t, 1);
}

/** Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform(t: Tensor, gain = 1): Tensor {
  checkNumber('xavierUniform', 'gain', gain, -Infinity);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const b = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -b, b);
}
/** Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal(t: Tensor, gain = 1): Tensor {
  checkNumber('xavierNormal', 'gain', gain, -Infinity);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** negative slope of the leaky ReLU after this layer (PyTorch's `a`), default 0 */
  a?: number;
  /** 'fanIn' keeps the forward variance, 'fanOut' the backward one */
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, { a = 0, mode = 'fanIn', nonlinearity = 'leakyRelu' }: KaimingOptions): number {
  checkNumber(op, 'a', a, -Infinity);
  checkChoice(op, 'mode', mode, ['fanIn', 'fanOut']);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/** He uniform: U(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd('kaimingUniform', t, opts);
  return uniform(t, -b, b);
}
/** He normal: N(0, (gain / sqrt(fan))^2). */
export function kaimingNormal(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal(t, 0, kaimingStd('kaimingNormal', t, opts));
}

/**
 * A (semi-)orthogonal matrix times `gain`, as torch.nn.init.orthogonal_: t viewed as
 * [shape[0], rest] is the Q of the QR decomposition (diagonal of R made positive) of a standard
 * normal matrix, transposed first when it has more columns than rows. The QR runs on the host in
 * float64 (modified Gram-Schmidt); the normal draw is the seeded one of `randn`.
 *
 *   init.orthogonal(fc.weight, Math.SQRT2); // CleanRL's / SB3's layer_init for policy MLPs
 */
export function orthogonal(t: Tensor, gain = 1): Tensor {
  checkNumber('orthogonal', 'gain', gain, -Infinity);
  if (t.ndim < 2) throw new ShapeError('orthogonal', `needs a tensor of at least 2 dims, got ${fmt(t.shape)}`);
  if (t.size === 0) return t;
  const rows = t.shape[0];
  const cols = t.size / rows;
  const draw = scope(() => randn([rows, cols]).cast('float64').dataSync() as Float64Array);
  // work on the tall orientation: m >= n, orthonormalise the n columns of an m x n matrix
  const tall = rows >= cols;
  const m = tall ? rows : cols;
  const n = tall ? cols : rows;
  const a = new Float64Array(m * n); // column-major: column j at [j * m, (j + 1) * m)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) a[tall ? j * m + i : i * m + j] = draw[i * cols + j];
  for (let j = 0; j < n; j++) {
    const cj = a.subarray(j * m, (j + 1) * m);
    for (let k = 0; k < j; k++) {
      const ck = a.subarray(k * m, (k + 1) * m);
      let dot = 0;
      for (let i = 0; i < m; i++) dot += ck[i] * cj[i];
      for (let i = 0; i < m; i++) cj[i] -= dot * ck[i];
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += cj[i] * cj[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) cj[i] /= norm;
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * a[tall ? j * m + i : i * m + j];
  return fill(t, () => tensor(out, { shape: [...t.shape] }).cast(t.dtype).to(t.device));
}

/**
 * PyTorch's default for Linear and Conv layers: kaiming_uniform(a=sqrt(5)) on the weight
 * (U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on the bias.
 */
export function defaultLinearInit(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const b = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(bias, -b, b);
  }
}
