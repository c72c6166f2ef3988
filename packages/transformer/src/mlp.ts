/**
 * The position-wise feed-forward networks of Transformer blocks: a two-layer MLP with a GELU (or
 * another activation), and SwiGLU (a SiLU-gated linear unit, as PaLM and LLaMA).
 */
import { DLError, type Tensor } from '@dl/tensor';
import { Dropout, Linear, Module } from '@dl/layers';

/** 'gelu' (exact, erf), 'geluTanh' (GPT-2's tanh approximation), 'relu', 'silu', or a function. */
export type MLPActivation = 'gelu' | 'geluTanh' | 'relu' | 'silu' | ((x: Tensor) => Tensor);

/** Applies an MLPActivation. */
export function applyActivation(x: Tensor, a: MLPActivation): Tensor {
  if (typeof a === 'function') return a(x);
  switch (a) {
    case 'gelu':
      return x.gelu();
    case 'geluTanh':
      return x.gelu('tanh');
    case 'relu':
      return x.relu();
    case 'silu':
      return x.silu();
  }
}

const ACTIVATIONS = ['gelu', 'geluTanh', 'relu', 'silu'];

/** Throws unless `a` is a known activation name or a function. */
export function checkActivation(owner: string, a: unknown): void {
  if (typeof a !== 'function' && !ACTIVATIONS.includes(a as string)) {
    throw new DLError(owner, `activation must be one of ${ACTIVATIONS.map((s) => `'${s}'`).join(', ')} or a function, got ${JSON.stringify(a)}`);
  }
}

export interface MLPOptions {
  /** inFeatures; width of the output */
  outFeatures?: number;
  /** 'gelu' */
  activation?: MLPActivation;
  /** true; biases in both layers */
  bias?: boolean;
  /** 0; dropout after the output layer */
  dropout?: number;
  device?: string;
}

/**
 * fc2(act(fc1(x))), then dropout: x [..., in] -> [..., out] (timm's Mlp names: fc1, fc2).
 *
 *   const mlp = new MLP(128, 512); // GELU
 *   mlp.forward(x); // (B, T, 128)
 */
export class MLP extends Module {
  fc1: Linear;
  fc2: Linear;
  drop: Dropout;
  readonly activation: MLPActivation;

  constructor(inFeatures: number, hiddenFeatures: number, { outFeatures = inFeatures, activation = 'gelu', bias = true, dropout = 0, device }: MLPOptions = {}) {
    super();
    checkActivation('MLP', activation);
    this.fc1 = new Linear(inFeatures, hiddenFeatures, { bias, device });
    this.fc2 = new Linear(hiddenFeatures, outFeatures, { bias, device });
    this.drop = new Dropout(dropout);
    this.activation = activation;
  }

  forward(x: Tensor): Tensor {
    const h = applyActivation(this.fc1.forward(x), this.activation); // (..., hidden)
    return this.drop.forward(this.fc2.forward(h)); // (..., out)
  }
}

/**
 * w2(silu(w1 x) * w3 x): a gated feed-forward network (LLaMA's FeedForward names: w1 gate, w3
 * up, w2 down; no biases by default).
 *
 *   const ffn = new SwiGLU(128, 344);
 *   ffn.forward(x); // (B, T, 128)
 */
export class SwiGLU extends Module {
  w1: Linear;
  w2: Linear;
  w3: Linear;

  constructor(dim: number, hiddenDim: number, { bias = false, device }: { bias?: boolean; device?: string } = {}) {
    super();
    this.w1 = new Linear(dim, hiddenDim, { bias, device });
    this.w2 = new Linear(hiddenDim, dim, { bias, device });
    this.w3 = new Linear(dim, hiddenDim, { bias, device });
  }

  forward(x: Tensor): Tensor {
    return this.w2.forward(this.w1.forward(x).silu().mul(this.w3.forward(x))); // (..., dim)
  }
}
