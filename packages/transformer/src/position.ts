/**
 * Position encodings: fixed sinusoids added to the input ("Attention Is All You Need"), a learned
 * table added to the input (GPT-2's wpe), and rotary embeddings that rotate queries and keys
 * (RoFormer; the rotate-half layout of GPT-NeoX and LLaMA). Each takes an offset, the number of
 * positions already seen, for decoding with a KV cache.
 */
import { DLError, ShapeError, cat, fmt, tensor, zeros, type Tensor } from '@dl/tensor';
import { Dropout, Module, init, param } from '@dl/layers';

function checkPositive(owner: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new DLError(owner, `${name} must be a positive integer, got ${v}`);
}

/** Throws unless positions offset .. offset + T - 1 are within the table's maxLen. */
function checkRange(owner: string, x: Tensor, T: number, offset: number, maxLen: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new DLError(owner, `offset must be an integer >= 0, got ${offset}`);
  if (offset + T > maxLen) {
    throw new ShapeError(owner, `positions ${offset}..${offset + T - 1} (offset ${offset} + length ${T} of input ${fmt(x.shape)}) pass maxLen ${maxLen}`);
  }
}

/**
 * The sinusoid table [length, dim]: even columns sin(p / 10000^(2i/dim)), odd columns cos, as
 * PyTorch's transformer tutorial (computed in float64, stored float32).
 *
 *   sinusoidalTable(100, 64); // [100, 64]
 */
export function sinusoidalTable(length: number, dim: number, { device }: { device?: string } = {}): Tensor {
  const out = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < dim; i += 2) {
      const a = p * Math.exp(i * (-Math.log(10000) / dim));
      out[p * dim + i] = Math.sin(a);
      if (i + 1 < dim) out[p * dim + i + 1] = Math.cos(a);
    }
  }
  return tensor(out, { shape: [length, dim], device });
}

export interface PositionalEncodingOptions {
  /** 5000; the longest sequence */
  maxLen?: number;
  /** 0; dropout after adding the encoding */
  dropout?: number;
  /** true: x is (B, T, dModel); false: (T, B, dModel) */
  batchFirst?: boolean;
  device?: string;
}

/**
 * x + sinusoids of the positions, then dropout. The table is a non-persistent buffer (`pe`): it
 * moves with `to()` and stays out of the state dict.
 *
 *   const pos = new SinusoidalPositionalEncoding(64);
 *   pos.forward(emb); // (B, T, 64)
 *   pos.forward(embNext, 10); // positions 10.. for the next tokens
 */
export class SinusoidalPositionalEncoding extends Module {
  dropout: Dropout;
  readonly maxLen: number;
  readonly batchFirst: boolean;

  constructor(readonly dModel: number, { maxLen = 5000, dropout = 0, batchFirst = true, device }: PositionalEncodingOptions = {}) {
    super();
    checkPositive('SinusoidalPositionalEncoding', 'dModel', dModel);
    checkPositive('SinusoidalPositionalEncoding', 'maxLen', maxLen);
    this.maxLen = maxLen;
    this.batchFirst = batchFirst;
    this.dropout = new Dropout(dropout);
    this.registerBuffer('pe', sinusoidalTable(maxLen, dModel, { device }), false);
  }

  get pe(): Tensor {
    return this.buffer('pe')!;
  }

  forward(x: Tensor, offset = 0): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dModel) {
      throw new ShapeError(this.label(), `expected input ${this.batchFirst ? '[B,T,' : '[T,B,'}${this.dModel}], got ${fmt(x.shape)}`);
    }
    const T = x.shape[this.batchFirst ? 1 : 0];
    checkRange(this.label(), x, T, offset, this.maxLen);
    const pe = this.pe.narrow(0, offset, T); // (T, dModel)
    return this.dropout.forward(x.add(this.batchFirst ? pe : pe.unsqueeze(1)));
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, maxLen=${this.maxLen}`;
  }
}

/**
 * x + a learned row per position (`weight` [maxLen, dim], N(0, std)), as GPT-2's wpe.
 *
 *   const pos = new LearnedPositionalEmbedding(1024, 768);
 *   pos.forward(tokEmb); // (B, T, 768)
 */
export class LearnedPositionalEmbedding extends Module {
  weight: Tensor;

  constructor(readonly maxLen: number, readonly dim: number, { std = 0.02, device }: { std?: number; device?: string } = {}) {
    super();
    checkPositive('LearnedPositionalEmbedding', 'maxLen', maxLen);
    checkPositive('LearnedPositionalEmbedding', 'dim', dim);
    this.weight = param(zeros([maxLen, dim], { device }));
    init.normal(this.weight, 0, std);
  }

  /** x [..., T, dim] plus the rows offset .. offset + T - 1 */
  forward(x: Tensor, offset = 0): Tensor {
    if (x.ndim < 2 || x.shape[x.ndim - 1] !== this.dim) throw new ShapeError(this.label(), `expected input [...,T,${this.dim}], got ${fmt(x.shape)}`);
    const T = x.shape[x.ndim - 2];
    checkRange(this.label(), x, T, offset, this.maxLen);
    return x.add(this.weight.narrow(0, offset, T)); // (..., T, dim)
  }

  protected override extraRepr(): string {
    return `maxLen=${this.maxLen}, dim=${this.dim}`;
  }
}

/**
 * [-x2, x1] for x = [x1, x2] split in halves along the last dim (the rotation by 90 degrees
 * of each (x1[i], x2[i]) pair).
 *
 *   rotateHalf(tensor([1, 2, 3, 4])); // [-3, -4, 1, 2]
 */
export function rotateHalf(x: Tensor): Tensor {
  const h = x.shape[x.ndim - 1] / 2;
  return cat([x.narrow(-1, h, h).neg(), x.narrow(-1, 0, h)], -1);
}

export interface RotaryOptions {
  /** 10000; the wavelength base */
  base?: number;
  /** 2048; the longest sequence */
  maxLen?: number;
  device?: string;
}

/**
 * Rotary position embedding: rotates each pair (x[i], x[i + dim/2]) of the first `dim` channels
 * of a query or key by position * base^(-2i/dim), so q . k depends on the positions only through
 * their difference. Channels past `dim` pass unchanged (partial rotary, as GPT-NeoX).
 *
 *   const rope = new RotaryEmbedding(32);
 *   const q2 = rope.forward(q); // q (B, nh, T, hs >= 32)
 *   const k2 = rope.forward(k, past); // keys at positions past..past+T-1
 */
export class RotaryEmbedding extends Module {
  readonly base: number;
  readonly maxLen: number;

  constructor(readonly dim: number, { base = 10000, maxLen = 2048, device }: RotaryOptions = {}) {
    super();
    checkPositive('RotaryEmbedding', 'maxLen', maxLen);
    if (!Number.isInteger(dim) || dim < 2 || dim % 2) throw new DLError('RotaryEmbedding', `dim must be an even integer >= 2, got ${dim}`);
    if (!(base > 1)) throw new DLError('RotaryEmbedding', `base must be > 1, got ${base}`);
    this.base = base;
    this.maxLen = maxLen;
    const cos = new Float32Array(maxLen * dim);
    const sin = new Float32Array(maxLen * dim);
    const half = dim / 2;
    for (let p = 0; p < maxLen; p++) {
      for (let i = 0; i < half; i++) {
        const a = p / base ** ((2 * i) / dim);
        cos[p * dim + i] = cos[p * dim + i + half] = Math.cos(a);
        sin[p * dim + i] = sin[p * dim + i + half] = Math.sin(a);
      }
    }
    this.registerBuffer('cos', tensor(cos, { shape: [maxLen, dim], device }), false);
    this.registerBuffer('sin', tensor(sin, { shape: [maxLen, dim], device }), false);
  }

  /** x [..., T, D] with D >= dim, at positions offset .. offset + T - 1 */
  forward(x: Tensor, offset = 0): Tensor {
    const D = x.shape[x.ndim - 1];
    if (x.ndim < 2 || D < this.dim) throw new ShapeError(this.label(), `expected input [...,T,D] with D >= dim ${this.dim}, got ${fmt(x.shape)}`);
    const T = x.shape[x.ndim - 2];
    checkRange(this.label(), x, T, offset, this.maxLen);
    const cos = this.buffer('cos')!.narrow(0, offset, T); // (T, dim)
    const sin = this.buffer('sin')!.narrow(0, offset, T);
    const xr = D === this.dim ? x : x.narrow(-1, 0, this.dim);
    const y = xr.mul(cos).add(rotateHalf(xr).mul(sin));
    return D === this.dim ? y : cat([y, x.narrow(-1, this.dim, D - this.dim)], -1);
  }

  protected override extraRepr(): string {
    return `dim=${this.dim}, base=${this.base}, maxLen=${this.maxLen}`;
  }
}
