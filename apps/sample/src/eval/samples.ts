import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors, saveSafetensors } from '@dl/layers';
import { DLError, DTypeError, ShapeError, fmt, tensor, type Tensor } from '@dl/tensor';
import { imageGridPng } from './grid.js';

/**
 * `samples.safetensors`, the file every generative task writes so any tool can score it:
 * `images` float32 [N, 1, 28, 28] in [0, 1] and, for conditional models, `labels` int32 [N] (the
 * requested class).
 */
export interface Samples {
  /** N * 784 pixel values in [0, 1] */
  images: Float32Array;
  /** the requested class of each image (conditional models only) */
  labels?: Int32Array;
  length: number;
}

/**
 * Writes samples.safetensors (atomically). `meta` lands in the file's metadata (model, seed, ...).
 *
 *   await saveSamples('runs/vae-mnist/samples.safetensors', { images, length: 1000 }, { model: 'VAE' });
 */
export async function saveSamples(path: string, s: Samples, meta: Record<string, string> = {}): Promise<void> {
  checkSamples(path, s);
  const tensors: Record<string, Tensor> = { images: tensor(s.images, { shape: [s.length, 1, 28, 28] }) };
  if (s.labels) tensors.labels = tensor(s.labels, { shape: [s.length], dtype: 'int32' });
  await saveSafetensors(path, tensors, meta);
}

/**
 * What a generative task writes at its end: DIR/samples.safetensors and DIR/samples.png (a grid of
 * the first 100, with the requested class under each for conditional samples). Returns the paths.
 *
 *   const files = await writeSamples(o.out, { images, labels, length: 1000 }, { model: 'DCGAN' });
 */
export async function writeSamples(dir: string, s: Samples, meta: Record<string, string> = {}): Promise<string[]> {
  const file = join(dir, 'samples.safetensors');
  const png = join(dir, 'samples.png');
  await saveSamples(file, s, meta);
  writeFileSync(png, imageGridPng(s.images, 100, { labels: s.labels }));
  return [file, png];
}

/**
 * Reads and checks a samples.safetensors: `images` must be float32 [N, 1, 28, 28] (N >= 2) with
 * every value in [0, 1], `labels` (optional) int32 [N] in 0..9.
 *
 *   const s = loadSamples('runs/gan-mnist/samples.safetensors'); // s.length, s.images, s.labels?
 */
export function loadSamples(path: string): Samples & { metadata: Record<string, string> } {
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(path)));
  const { images, labels } = tensors;
  if (!images) throw new DLError('eval-samples', `${path} has no 'images' tensor (it has: ${Object.keys(tensors).join(', ') || 'none'})`);
  // safetensors F16/BF16 are read as float32; the file should hold float32 or float64 images
  if (images.dtype !== 'float32' && images.dtype !== 'float64') throw new DTypeError('eval-samples', `${path}: images must be float32, got ${images.dtype} ${fmt(images.shape)}`);
  const [n, c, h, w] = images.shape;
  if (images.ndim !== 4 || c !== 1 || h !== 28 || w !== 28) throw new ShapeError('eval-samples', `${path}: images must be [N,1,28,28], got ${fmt(images.shape)}`);
  if (labels && (labels.dtype !== 'int32' || labels.ndim !== 1 || labels.shape[0] !== n)) {
    throw new ShapeError('eval-samples', `${path}: labels must be int32 [${n}] (one per image), got ${labels.dtype} ${fmt(labels.shape)}`);
  }
  const s: Samples = { images: Float32Array.from(images.dataSync()), length: n };
  if (labels) s.labels = Int32Array.from(labels.dataSync());
  checkSamples(path, s);
  return { ...s, metadata };
}

function checkSamples(path: string, { images, labels, length }: Samples): void {
  if (!Number.isInteger(length) || length < 2) throw new ShapeError('eval-samples', `${path}: needs at least 2 images (a covariance), got ${length}`);
  if (images.length !== length * 784) throw new ShapeError('eval-samples', `${path}: expected ${length} x 784 pixel values, got ${images.length}`);
  for (let i = 0; i < images.length; i++) {
    const v = images[i];
    if (!(v >= 0 && v <= 1)) {
      throw new DLError('eval-samples', `${path}: pixel values must be in [0, 1], image ${Math.floor(i / 784)} holds ${v} at pixel ${i % 784} (write probabilities or Bernoulli means, not logits)`);
    }
  }
  if (labels) {
    if (labels.length !== length) throw new ShapeError('eval-samples', `${path}: expected ${length} labels (one per image), got ${labels.length}`);
    const bad = labels.findIndex((y) => !(y >= 0 && y <= 9));
    if (bad >= 0) throw new DLError('eval-samples', `${path}: labels must be digits 0..9, label ${bad} is ${labels[bad]}`);
  }
}
