/**
 * A drawing pad for digits (mouse, pen or finger through pointer events) that hands out its
 * drawing as a 28x28 MNIST-style image: the strokes' bounding box scaled to fit 20x20, then moved
 * so the centre of mass sits at the centre, as the MNIST digits were prepared.
 */
export class DigitPad {
  readonly canvas: HTMLCanvasElement;
  onChange: () => void = () => {};
  #g: CanvasRenderingContext2D;
  #last: [number, number] | null = null;

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    this.#g = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.#last = this.#point(e);
      this.#stroke(this.#last, this.#last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.#last) return;
      const p = this.#point(e);
      this.#stroke(this.#last, p);
      this.#last = p;
    });
    const end = (): void => void (this.#last = null);
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.#g.fillStyle = '#000';
    this.#g.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.onChange();
  }

  /** Shows a 28x28 image (values in [0, 1]) scaled up. */
  show(pixels: Float32Array): void {
    const img = new ImageData(28, 28);
    pixels.forEach((v, i) => img.data.set([v * 255, v * 255, v * 255, 255], i * 4));
    const small = new OffscreenCanvas(28, 28);
    small.getContext('2d')!.putImageData(img, 0, 0);
    this.#g.imageSmoothingEnabled = false;
    this.#g.drawImage(small, 0, 0, this.canvas.width, this.canvas.height);
  }

  #point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * this.canvas.width, ((e.clientY - r.top) / r.height) * this.canvas.height];
  }

  #stroke(a: [number, number], b: [number, number]): void {
    const g = this.#g;
    g.strokeStyle = '#fff';
    g.lineWidth = this.canvas.width / 14;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(...a);
    g.lineTo(...b);
    g.stroke();
    this.onChange();
  }

  /** The drawing as 784 values in [0, 1], or null while the pad is empty. */
  pixels(): Float32Array | null {
    const { width: W, height: H } = this.canvas;
    const src = this.#g.getImageData(0, 0, W, H).data;
    let [x0, y0, x1, y1] = [W, H, -1, -1];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (src[(y * W + x) * 4] > 20) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      }
    }
    if (x1 < 0) return null;
    const [bw, bh] = [x1 - x0 + 1, y1 - y0 + 1];
    const s = 20 / Math.max(bw, bh);
    const small = new OffscreenCanvas(28, 28);
    const g = small.getContext('2d', { willReadFrequently: true })!;
    g.fillStyle = '#000';
    g.fillRect(0, 0, 28, 28);
    g.imageSmoothingQuality = 'high';
    g.drawImage(this.canvas, x0, y0, bw, bh, 14 - (bw * s) / 2, 14 - (bh * s) / 2, bw * s, bh * s);
    const box = g.getImageData(0, 0, 28, 28).data;
    const v = new Float32Array(784);
    let [m, mx, my] = [0, 0, 0];
    for (let i = 0; i < 784; i++) {
      v[i] = box[i * 4] / 255;
      m += v[i];
      mx += v[i] * (i % 28);
      my += v[i] * Math.floor(i / 28);
    }
    // centre of mass to (13.5, 13.5), whole pixels
    const [dx, dy] = [Math.round(13.5 - mx / m), Math.round(13.5 - my / m)];
    const out = new Float32Array(784);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const [sx, sy] = [x - dx, y - dy];
        if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = v[sy * 28 + sx];
      }
    }
    return out;
  }
}
