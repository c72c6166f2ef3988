import { DLError, adaptiveAvgPool2d, avgPool2d, flatten, matmul, maxPool2d, tensor, type Tensor } from '@dl/tensor';
import { Module } from './module.js';

type Pair = number | [number, number];

export interface PoolLayerOptions {
  /** defaults to the kernel size */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

/**
 * Max over kernel windows of x [N,C,H,W].
 *
 *   new MaxPool2d(2).forward(x); // halves H and W
 */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly opts: PoolLayerOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    this.checkInput(x, [null, null, null, null], ['N', 'C', 'H', 'W']);
    return maxPool2d(x, this.kernelSize, this.opts);
  }
  protected override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}`;
  }
}

/** Mean over kernel windows of x [N,C,H,W] (`countIncludePad` as PyTorch, default true). */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly opts: PoolLayerOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    this.checkInput(x, [null, null, null, null], ['N', 'C', 'H', 'W']);
    return avgPool2d(x, this.kernelSize, this.opts);
  }
  protected override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}`;
  }
}

/**
 * Average pooling to a fixed output size with PyTorch's bins.
 *
 *   new AdaptiveAvgPool2d(1).forward(x); // [N, C, 1, 1]
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  protected override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}

/** Flattens dims startDim..endDim (default 1..-1, keeping the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

export interface UpsampleOptions {
  /** output [H, W] (or one number for both); give this or scaleFactor */
  size?: Pair;
  scaleFactor?: Pair;
  mode?: 'nearest' | 'bilinear';
  /** bilinear only: map corner pixel centres onto each other (default false, as PyTorch) */
  alignCorners?: boolean;
}

/**
 * [out, n] matrix mapping an axis of length n to length out: one-hot rows for nearest, two
 * weights per row for bilinear, with PyTorch's source-index formulas.
 */
function interpMatrix(n: number, out: number, scale: number | undefined, mode: 'nearest' | 'bilinear', alignCorners: boolean, x: Tensor): Tensor {
  const m = new Float32Array(out * n);
  // PyTorch uses 1/scaleFactor when one was given, else n/out
  const ratio = scale !== undefined ? 1 / scale : n / out;
  for (let i = 0; i < out; i++) {
    if (mode === 'nearest') {
      m[i * n + Math.min(Math.floor(i * ratio), n - 1)] = 1;
      continue;
    }
    let src: number;
    if (alignCorners) src = out > 1 ? (i * (n - 1)) / (out - 1) : 0;
    else src = Math.max(0, (i + 0.5) * ratio - 0.5);
    const i0 = Math.min(Math.floor(src), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    const w1 = src - i0;
    m[i * n + i0] += 1 - w1;
    m[i * n + i1] += w1;
  }
  return tensor(m, { shape: [out, n], dtype: x.dtype, device: x.device });
}

/**
 * Resizes x [N,C,H,W] by nearest or bilinear interpolation (as two small matmuls, so gradients
 * come for free).
 *
 *   new Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(x); // [N, C, 2H, 2W]
 */
export class Upsample extends Module {
  readonly mode: 'nearest' | 'bilinear';
  constructor(readonly opts: UpsampleOptions) {
    super();
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new DLError('Upsample', 'give exactly one of size and scaleFactor');
    this.mode = opts.mode ?? 'nearest';
  }
  forward(x: Tensor): Tensor {
    this.checkInput(x, [null, null, null, null], ['N', 'C', 'H', 'W']);
    const [H, W] = x.shape.slice(2);
    const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);
    const scale = this.opts.scaleFactor === undefined ? undefined : pair(this.opts.scaleFactor);
    const [oH, oW] = this.opts.size !== undefined ? pair(this.opts.size) : [Math.floor(H * scale![0]), Math.floor(W * scale![1])];
    const align = this.opts.alignCorners ?? false;
    const mh = interpMatrix(H, oH, scale?.[0], this.mode, align, x); // [oH, H]
    const mw = interpMatrix(W, oW, scale?.[1], this.mode, align, x); // [oW, W]
    return matmul(matmul(mh, x), mw.T); // [N, C, oH, oW]
  }
  protected override extraRepr(): string {
    return `mode=${this.mode}`;
  }
}
