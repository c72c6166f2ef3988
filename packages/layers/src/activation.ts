import { IndexError, isFloat, leakyRelu, logSoftmax, rand, softmax, where, type Generator, type Tensor } from '@dl/tensor';
import { checkChoice, checkNumber } from './args.js';
import { Module } from './module.js';

/** softmax's dim, checked when the layer is built (its range when the input's rank is known). */
function checkDim(layer: string, dim: number): void {
  if (!Number.isInteger(dim)) throw new IndexError(layer, `dim must be an integer, got ${String(dim)}`);
}

/** max(x, 0) */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** x * Phi(x); `approximate: 'tanh'` uses the tanh formula (as PyTorch's GELU). */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    checkChoice('GELU', 'approximate', approximate, ['none', 'tanh']);
  }
  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
  protected override extraRepr(): string {
    return this.approximate === 'none' ? '' : `approximate='${this.approximate}'`;
  }
}

/** x * sigmoid(x) */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** log(1 + exp(x)) */
export class Softplus extends Module {
  forward(x: Tensor): Tensor {
    return x.softplus();
  }
}

/** x for x > 0, negativeSlope * x otherwise */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    checkNumber('LeakyReLU', 'negativeSlope', negativeSlope, -Infinity);
  }
  forward(x: Tensor): Tensor {
    // one fused kernel each way for floats (the same values as the composed form below)
    return isFloat(x.dtype) ? leakyRelu(x, this.negativeSlope) : where(x.gt(0), x, x.mul(this.negativeSlope));
  }
  protected override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** x for x > 0, alpha * (exp(x) - 1) otherwise */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    checkNumber('ELU', 'alpha', alpha, -Infinity);
  }
  forward(x: Tensor): Tensor {
    return where(x.gt(0), x, x.expm1().mul(this.alpha));
  }
}

/** softmax along `dim` */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
    checkDim('Softmax', dim);
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim = -1) {
    super();
    checkDim('LogSoftmax', dim);
  }
  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim);
  }
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p) when `training`
 * (inverted dropout, so eval needs no rescaling); identity otherwise. The mask comes from
 * `generator` when given, else from the global generator.
 *
 *   dropout(h, 0.1, model.training)
 *   dropout(h, 0.1, true, new Generator(0))
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  checkNumber('dropout', 'p', p, 0, 1);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const keep = rand(x.shape, { device: x.device, generator }).ge(p); // bool mask
  return x.mul(keep.cast(x.dtype)).mul(1 / (1 - p));
}

export interface DropoutOptions {
  /** where the masks come from (default: the global generator) */
  generator?: Generator;
}

/**
 * Inverted dropout as a layer: active in train(), identity in eval().
 *
 *   new Dropout(0.1);
 *   new Dropout(0.1, { generator: new Generator(0) }); // masks independent of the global stream
 */
export class Dropout extends Module {
  readonly generator: Generator | undefined;
  constructor(
    readonly p = 0.5,
    { generator }: DropoutOptions = {},
  ) {
    super();
    checkNumber('Dropout', 'p', p, 0, 1);
    this.generator = generator;
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }
  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}
