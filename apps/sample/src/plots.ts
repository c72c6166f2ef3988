import { Canvas } from './png.js';

const AXIS = [60, 60, 60];
const RAW = [170, 190, 230];
const SMOOTH = [20, 70, 200];
const GRID = [230, 230, 230];

/**
 * Loss curve as a PNG: every step's loss (light) and a moving average (dark), log-scaled y axis,
 * epoch boundaries as vertical grid lines, y labels at powers of ten.
 */
export function lossCurvePng(losses: readonly number[], stepsPerEpoch: number, width = 640, height = 360): Uint8Array {
  const c = new Canvas(width, height);
  const left = 50;
  const bottom = height - 30;
  const top = 15;
  const right = width - 15;
  const finite = losses.filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.log10(Math.min(...finite, 1));
  const hi = Math.log10(Math.max(...finite, 1e-3));
  const ymin = Math.floor(lo);
  const ymax = Math.max(Math.ceil(hi), ymin + 1);
  const X = (i: number) => left + ((right - left) * i) / Math.max(1, losses.length - 1);
  const Y = (v: number) => bottom - ((bottom - top) * (Math.log10(Math.max(v, 10 ** ymin)) - ymin)) / (ymax - ymin);
  for (let p = ymin; p <= ymax; p++) {
    c.line(left, Y(10 ** p), right, Y(10 ** p), GRID);
    c.text(4, Y(10 ** p) - 5, p >= 0 ? String(10 ** p) : (10 ** p).toFixed(-p), AXIS, 2);
  }
  for (let e = stepsPerEpoch; e < losses.length; e += stepsPerEpoch) c.line(X(e), top, X(e), bottom, GRID);
  c.line(left, top, left, bottom, AXIS);
  c.line(left, bottom, right, bottom, AXIS);
  for (let i = 1; i < losses.length; i++) c.line(X(i - 1), Y(losses[i - 1]), X(i), Y(losses[i]), RAW);
  const k = Math.max(1, Math.floor(stepsPerEpoch / 5));
  let prev: number | null = null;
  for (let i = 0; i < losses.length; i++) {
    const w = losses.slice(Math.max(0, i - k + 1), i + 1);
    const m = w.reduce((a, b) => a + b, 0) / w.length;
    if (prev !== null) c.line(X(i - 1), Y(prev), X(i), Y(m), SMOOTH);
    prev = m;
  }
  c.text(left + 8, top + 4, 'loss', AXIS, 2);
  c.text(left, bottom + 10, `epochs: ${Math.round(losses.length / Math.max(1, stepsPerEpoch))}`, AXIS, 2);
  return c.png();
}

/**
 * A reinforcement-learning curve as a PNG: each episode's return (light dots) at the env step it
 * ended, the mean of the last 20 (dark line), and a dashed `target` line; linear axes from 0.
 */
export function returnCurvePng(steps: readonly number[], returns: readonly number[], { target, maxSteps, width = 640, height = 360 }: { target?: number; maxSteps?: number; width?: number; height?: number } = {}): Uint8Array {
  const c = new Canvas(width, height);
  const left = 50;
  const bottom = height - 30;
  const top = 15;
  const right = width - 15;
  const xmax = Math.max(maxSteps ?? 0, ...steps, 1);
  const ymax = Math.max(target ?? 0, ...returns, 1);
  const ymin = Math.min(0, ...returns);
  const X = (s: number) => left + ((right - left) * s) / xmax;
  const Y = (v: number) => bottom - ((bottom - top) * (v - ymin)) / (ymax - ymin);
  for (let k = 0; k <= 4; k++) {
    const v = ymin + ((ymax - ymin) * k) / 4;
    c.line(left, Y(v), right, Y(v), GRID);
    c.text(4, Y(v) - 5, String(Math.round(v)), AXIS, 2);
  }
  c.line(left, top, left, bottom, AXIS);
  c.line(left, bottom, right, bottom, AXIS);
  if (target !== undefined) for (let x = left; x < right; x += 12) c.line(x, Y(target), Math.min(x + 6, right), Y(target), [200, 60, 60]);
  for (let i = 0; i < returns.length; i++) c.rect(X(steps[i]) - 1, Y(returns[i]) - 1, 2, 2, RAW);
  let prev: [number, number] | null = null;
  for (let i = 0; i < returns.length; i++) {
    const w = returns.slice(Math.max(0, i - 19), i + 1);
    const p: [number, number] = [X(steps[i]), Y(w.reduce((a, b) => a + b, 0) / w.length)];
    if (prev) c.line(prev[0], prev[1], p[0], p[1], SMOOTH);
    prev = p;
  }
  c.text(left + 8, top + 4, 'return', AXIS, 2);
  c.text(left, bottom + 10, `steps: ${xmax}`, AXIS, 2);
  return c.png();
}

/** RGB frames of equal size side by side, with a `gap`-pixel grey border between them, as one PNG. */
export function frameStripPng(frames: readonly { width: number; height: number; data: Uint8Array }[], gap = 2): Uint8Array {
  const w = frames[0].width;
  const h = frames[0].height;
  const c = new Canvas(frames.length * (w + gap) + gap, h + 2 * gap, [128, 128, 128]);
  frames.forEach((f, k) => {
    for (let y = 0; y < h; y++) c.pixels.set(f.data.subarray(y * w * 3, (y + 1) * w * 3), ((y + gap) * c.width + gap + k * (w + gap)) * 3);
  });
  return c.png();
}

/**
 * A grid of 28x28 digits (values in [0, 1]) scaled up, each with its predicted label underneath:
 * green when it matches the true label, red (with the true label after a slash) when it does not.
 */
export function digitGridPng(images: Float32Array, preds: readonly number[], labels: readonly number[], cols = 10, scale = 2): Uint8Array {
  const n = preds.length;
  const rows = Math.ceil(n / cols);
  const cell = 28 * scale + 8;
  const labelH = 14;
  const c = new Canvas(cols * cell, rows * (cell + labelH), [255, 255, 255]);
  for (let i = 0; i < n; i++) {
    const x0 = (i % cols) * cell + 4;
    const y0 = Math.floor(i / cols) * (cell + labelH) + 4;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = 255 - Math.round(Math.min(1, Math.max(0, images[i * 784 + y * 28 + x])) * 255);
        c.rect(x0 + x * scale, y0 + y * scale, scale, scale, [v, v, v]);
      }
    }
    const ok = preds[i] === labels[i];
    c.text(x0 + 2, y0 + 28 * scale + 3, ok ? String(preds[i]) : `${preds[i]}/${labels[i]}`, ok ? [0, 140, 0] : [210, 0, 0], 2);
  }
  return c.png();
}

/** Colours of the 11 segmentation classes: background black, digits 0-9 in matplotlib's tab10. */
export const CLASS_COLOURS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

/**
 * Rows of segmentation results, one per scene: the input (white on black), the true mask and the
 * predicted mask in CLASS_COLOURS, each side x side pixels scaled by `scale`; a legend of the
 * digit colours underneath.
 */
export function segmentationPng(images: Float32Array, truth: Int32Array, pred: Int32Array, rows: number, side: number, scale = 2): Uint8Array {
  const cell = side * scale;
  const gap = 6;
  const legendH = 24;
  const c = new Canvas(3 * cell + 4 * gap, rows * (cell + gap) + gap + legendH, [255, 255, 255]);
  const area = side * side;
  for (let r = 0; r < rows; r++) {
    const y0 = gap + r * (cell + gap);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const i = r * area + y * side + x;
        const v = Math.round(Math.min(1, Math.max(0, images[i])) * 255);
        c.rect(gap + x * scale, y0 + y * scale, scale, scale, [v, v, v]);
        c.rect(2 * gap + cell + x * scale, y0 + y * scale, scale, scale, CLASS_COLOURS[truth[i]]);
        c.rect(3 * gap + 2 * cell + x * scale, y0 + y * scale, scale, scale, CLASS_COLOURS[pred[i]]);
      }
    }
  }
  const ly = rows * (cell + gap) + gap;
  for (let d = 0; d < 10; d++) {
    const x = gap + d * 24;
    c.rect(x, ly + 2, 10, 10, CLASS_COLOURS[d + 1]);
    c.text(x + 12, ly + 2, String(d), [0, 0, 0], 2);
  }
  return c.png();
}
