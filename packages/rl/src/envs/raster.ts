import type { RgbFrame } from '../env.js';

export type Rgb = readonly [number, number, number];

/**
 * A tiny software rasteriser for the envs' render(): filled convex polygons, circles and lines on
 * an RGB frame. y grows upward (as in Gymnasium's pygame drawings, which flip the surface).
 */
export class Raster {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, i * 3);
  }

  frame(): RgbFrame {
    return { width: this.width, height: this.height, data: this.data };
  }

  pixel(x: number, y: number, c: Rgb): void {
    const px = Math.round(x);
    const py = this.height - 1 - Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    this.data.set(c, (py * this.width + px) * 3);
  }

  /** A filled convex polygon (points in order, either winding). */
  polygon(points: readonly (readonly [number, number])[], c: Rgb): void {
    const ys = points.map((p) => p[1]);
    const y0 = Math.max(0, Math.floor(Math.min(...ys)));
    const y1 = Math.min(this.height - 1, Math.ceil(Math.max(...ys)));
    for (let y = y0; y <= y1; y++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < points.length; i++) {
        const [ax, ay] = points[i];
        const [bx, by] = points[(i + 1) % points.length];
        if ((y < ay && y < by) || (y > ay && y > by)) continue;
        if (ay === by) {
          lo = Math.min(lo, ax, bx);
          hi = Math.max(hi, ax, bx);
        } else {
          const x = ax + ((y - ay) * (bx - ax)) / (by - ay);
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
      }
      for (let x = Math.max(0, Math.ceil(lo)); x <= Math.min(this.width - 1, Math.floor(hi)); x++) this.pixel(x, y, c);
    }
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    this.polygon([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], c);
  }

  circle(cx: number, cy: number, r: number, c: Rgb): void {
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) this.pixel(x, y, c);
    }
  }

  /** A line `thickness` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    const nx = (-(y1 - y0) / len) * (thickness / 2);
    const ny = ((x1 - x0) / len) * (thickness / 2);
    this.polygon([[x0 + nx, y0 + ny], [x1 + nx, y1 + ny], [x1 - nx, y1 - ny], [x0 - nx, y0 - ny]], c);
  }
}
