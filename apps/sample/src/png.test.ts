import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Canvas, encodePng } from './png.js';
import { digitGridPng, lossCurvePng } from './plots.js';

/** Minimal PNG reader for the tests: chunk list with CRC check, and the inflated rows. */
function readPng(bytes: Uint8Array): { width: number; height: number; rows: Uint8Array[]; types: string[] } {
  expect(Array.from(bytes.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  let o = 8;
  const types: string[] = [];
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (o < bytes.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    types.push(type);
    const data = bytes.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(o + 8);
      height = dv.getUint32(o + 12);
      expect([bytes[o + 16], bytes[o + 17]]).toEqual([8, 2]);
    }
    if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rows = Array.from({ length: height }, (_, y) => {
    expect(raw[y * (1 + width * 3)]).toBe(0); // filter: none
    return raw.subarray(y * (1 + width * 3) + 1, (y + 1) * (1 + width * 3));
  });
  return { width, height, rows, types };
}

describe('PNG encoder', () => {
  it('writes RGB pixels that a decoder reads back', () => {
    const px = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
    const png = readPng(encodePng(2, 2, px));
    expect(png.types).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(Array.from(png.rows[0])).toEqual([255, 0, 0, 0, 255, 0]);
    expect(Array.from(png.rows[1])).toEqual([0, 0, 255, 9, 9, 9]);
  });

  it('rejects a pixel buffer of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(5))).toThrow(/expected 12 bytes/);
  });

  it('draws lines and text inside the canvas only', () => {
    const c = new Canvas(10, 10);
    c.line(-5, 0, 20, 0, [0, 0, 0]);
    c.text(0, 2, '7', [1, 2, 3]);
    expect(Array.from(c.pixels.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(c.pixels.subarray(3 * (2 * 10), 3 * (2 * 10) + 3))).toEqual([1, 2, 3]);
  });

  it('renders the loss curve and the digit grid', () => {
    const curve = readPng(lossCurvePng([2.3, 1.5, 0.8, 0.4, 0.2, 0.15], 3));
    expect([curve.width, curve.height]).toEqual([640, 360]);
    const grid = readPng(digitGridPng(new Float32Array(2 * 784).fill(1), [3, 4], [3, 5], 2));
    expect(grid.width).toBe(2 * (56 + 8));
  });
});
