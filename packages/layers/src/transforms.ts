import { DLError, ShapeError, fmt, pad, rand, stack, tensor, where, type Tensor } from '@dl/tensor';
import { checkDims, checkInt, checkNumber, show } from './args.js';

/**
 * Image transforms on batches x [N, C, H, W] (or one image [C, H, W]). Randomness comes from the
 * seeded generator (`manualSeed`), drawn per image.
 *
 *   const aug = compose(randomCrop(28, { padding: 2 }), randomHorizontalFlip(), normalize([0.1307], [0.3081]));
 *   const xb = aug(x);
 */
export type Transform = (x: Tensor) => Tensor;

function batched(op: string, x: Tensor, fn: (b: Tensor) => Tensor): Tensor {
  if (x.ndim === 3) return fn(x.unsqueeze(0)).squeeze(0);
  if (x.ndim !== 4) throw new ShapeError(op, `expected [N,C,H,W] or [C,H,W], got ${fmt(x.shape)}`);
  return fn(x);
}

/** Applies transforms left to right. */
export function compose(...ts: Transform[]): Transform {
  return (x) => ts.reduce((y, t) => t(y), x);
}

/** (x - mean[c]) / std[c] per channel. */
export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  if (!mean.every(Number.isFinite)) throw new DLError('normalize', `mean must be finite numbers, got ${show(mean)}`);
  // torchvision refuses a zero std (a division by zero)
  if (!std.every((v) => Number.isFinite(v) && v !== 0)) throw new DLError('normalize', `std must be nonzero finite numbers, got ${show(std)}`);
  return (x) =>
    batched('normalize', x, (b) => {
      const C = b.shape[1];
      if (mean.length !== C || std.length !== C) throw new ShapeError('normalize', `mean and std need ${C} values (x ${fmt(b.shape)}), got ${mean.length} and ${std.length}`);
      const m = tensor(Float32Array.from(mean), { shape: [1, C, 1, 1], device: b.device });
      const s = tensor(Float32Array.from(std), { shape: [1, C, 1, 1], device: b.device });
      return b.sub(m).div(s);
    });
}

/** Mirrors each image left-right with probability p. */
export function randomHorizontalFlip(p = 0.5): Transform {
  checkNumber('randomHorizontalFlip', 'p', p, 0, 1);
  return (x) =>
    batched('randomHorizontalFlip', x, (b) => {
      const flip = rand([b.shape[0], 1, 1, 1], { device: b.device }).lt(p);
      return where(flip, b.flip(3), b);
    });
}

/**
 * Pads each image by `padding` zeros per side, then crops a random size x size window
 * (torchvision's RandomCrop with padding, as used for CIFAR and MNIST augmentation).
 */
export function randomCrop(size: number | [number, number], { padding = 0 }: { padding?: number } = {}): Transform {
  const [h, w] = checkDims('randomCrop', 'size', size, 2, 1);
  checkInt('randomCrop', 'padding', padding);
  return (x) =>
    batched('randomCrop', x, (b) => {
      const padded = padding ? pad(b, [padding, padding, padding, padding]) : b;
      const [N, , H, W] = padded.shape;
      if (h > H || w > W) throw new ShapeError('randomCrop', `crop ${h}x${w} is larger than the padded image ${H}x${W}`);
      const u = rand([N, 2], { device: 'cpu' }).dataSync(); // offsets are chosen on the host
      const crops: Tensor[] = [];
      for (let i = 0; i < N; i++) {
        const top = Math.floor(u[2 * i] * (H - h + 1));
        const left = Math.floor(u[2 * i + 1] * (W - w + 1));
        crops.push(padded.select(0, i).narrow(1, top, h).narrow(2, left, w));
      }
      return stack(crops);
    });
}
