import { describe, expect, it } from 'vitest';
import { padPlanes } from './pad.js';
import { heapF32, runtime, scratch } from './runtime.js';
import { onThreads, seeded } from './test-util.js';

/** padPlanes through kernel memory: the destination planes as an array. */
function pad(src: Float32Array, planes: number, H: number, W: number, Hp: number, Wp: number, pH: number, pW: number): Float32Array {
  runtime();
  scratch.reset();
  const s = scratch.alloc(4 * src.length);
  const d = scratch.alloc(4 * planes * Hp * Wp);
  scratch.reserve();
  heapF32().set(src, s / 4);
  heapF32().fill(Number.NaN, d / 4, d / 4 + planes * Hp * Wp); // every element must be written
  padPlanes(planes, s, H, W, d, Hp, Wp, pH, pW);
  return heapF32().slice(d / 4, d / 4 + planes * Hp * Wp);
}

/** The same in plain loops. */
function reference(src: Float32Array, planes: number, H: number, W: number, Hp: number, Wp: number, pH: number, pW: number): Float32Array {
  const out = new Float32Array(planes * Hp * Wp);
  for (let p = 0; p < planes; p++)
    for (let r = 0; r < Hp; r++)
      for (let c = 0; c < Wp; c++) {
        const i = r - pH, j = c - pW;
        out[(p * Hp + r) * Wp + c] = i >= 0 && i < H && j >= 0 && j < W ? src[(p * H + i) * W + j] : 0;
      }
  return out;
}

for (const threads of [1, 2]) {
  describe(`padPlanes, ${threads} thread(s)`, () => {
    onThreads(threads);
    for (const [what, planes, H, W, Hp, Wp, pH, pW] of [
      ['padding 1 all round (a conv input)', 3, 5, 7, 7, 9, 1, 1],
      ['wider padding on the right and below (Winograd tiles)', 2, 28, 28, 30, 36, 1, 1],
      ['no padding, rows and columns past the destination dropped', 4, 6, 9, 4, 5, 0, 0],
      ['many planes over the threads', 300, 13, 11, 15, 13, 1, 1],
      ['a top-left offset larger than the source', 1, 2, 2, 6, 6, 3, 3],
    ] as [string, number, number, number, number, number, number, number][]) {
      it(what, () => {
        const src = seeded(3)(planes * H * W);
        expect(Array.from(pad(src, planes, H, W, Hp, Wp, pH, pW))).toEqual(Array.from(reference(src, planes, H, W, Hp, Wp, pH, pW)));
      });
    }
  });
}
