/**
 * Draws `n` grayscale 28x28 images (values in [0, 1], one after another) as a grid of `cols`
 * columns on a canvas of 28 * cols pixels per side; CSS scales it up (pixelated).
 */
export function drawDigits(canvas: HTMLCanvasElement, pixels: Float32Array, n = 1, cols = 1): void {
  const rows = Math.ceil(n / cols);
  canvas.width = 28 * cols;
  canvas.height = 28 * rows;
  const img = new ImageData(canvas.width, canvas.height);
  for (let k = 0; k < n; k++) {
    const [ox, oy] = [(k % cols) * 28, Math.floor(k / cols) * 28];
    for (let i = 0; i < 784; i++) {
      const v = Math.round(pixels[k * 784 + i] * 255);
      const p = ((oy + Math.floor(i / 28)) * canvas.width + ox + (i % 28)) * 4;
      img.data[p] = img.data[p + 1] = img.data[p + 2] = v;
      img.data[p + 3] = 255;
    }
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
  // a digest of what is shown, for the browser test
  let sum = 0;
  for (let i = 0; i < n * 784; i++) sum += pixels[i] * ((i % 97) + 1);
  canvas.dataset.digest = sum.toFixed(3);
}
