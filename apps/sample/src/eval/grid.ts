import { Canvas } from '../png.js';

export interface GridOptions {
  /** 10; images per row */
  cols?: number;
  /** 2; pixels per image pixel */
  scale?: number;
  /** a label drawn under each image (the requested class of conditional samples) */
  labels?: ArrayLike<number>;
  /** 28; side of the square images */
  side?: number;
}

/**
 * The first n images of a batch (values in [0, 1], n * side * side of them) as a PNG grid, dark
 * digits on white like the test-digit pictures; with `labels`, each image's label underneath.
 *
 *   writeFileSync('samples.png', imageGridPng(images, 100)); // 10 x 10 digits
 */
export function imageGridPng(images: ArrayLike<number>, n: number, { cols = 10, scale = 2, labels, side = 28 }: GridOptions = {}): Uint8Array {
  const area = side * side;
  const count = Math.min(n, Math.floor(images.length / area));
  const rows = Math.max(1, Math.ceil(count / cols));
  const gap = 4;
  const labelH = labels ? 14 : 0;
  const cell = side * scale + gap;
  const c = new Canvas(Math.min(cols, Math.max(1, count)) * cell + gap, rows * (cell + labelH) + gap, [255, 255, 255]);
  for (let i = 0; i < count; i++) {
    const x0 = (i % cols) * cell + gap;
    const y0 = Math.floor(i / cols) * (cell + labelH) + gap;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = 255 - Math.round(Math.min(1, Math.max(0, images[i * area + y * side + x])) * 255);
        c.rect(x0 + x * scale, y0 + y * scale, scale, scale, [v, v, v]);
      }
    }
    if (labels) c.text(x0 + 2, y0 + side * scale + 2, String(labels[i]), [0, 0, 160], 2);
  }
  return c.png();
}
