import type { OutInfo, RandomAttrs } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import type { ShaderBuilder } from '../wgsl/builder.js';
import { newData, outSize } from './common.js';
import { runMap } from './map.js';

/**
 * Philox4x32-10, the same generator as @dl/tensor's CPU one (rng.ts): element g uses counter
 * + floor(g / 4) and lane g % 4, so both devices produce the same numbers for a seed.
 * WGSL has no 32x32->64 multiply, so the high half is assembled from 16-bit pieces. The counter
 * (below 2^53) arrives as two u32 words (low, high) and is added to with a carry.
 */
const PHILOX = `fn mulhi(a: u32, b: u32) -> u32 {
  let aL = a & 0xffffu; let aH = a >> 16u;
  let bL = b & 0xffffu; let bH = b >> 16u;
  let ll = aL * bL; let lh = aL * bH; let hl = aH * bL; let hh = aH * bH;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}
fn philox(c0: u32, c1: u32, key0: u32, key1: u32) -> vec4<u32> {
  var x = vec4<u32>(c0, c1, 0u, 0u);
  var k0 = key0;
  var k1 = key1;
  for (var r = 0; r < 10; r++) {
    let hi0 = mulhi(0xd2511f53u, x.x);
    let lo0 = 0xd2511f53u * x.x;
    let hi1 = mulhi(0xcd9e8d57u, x.z);
    let lo1 = 0xcd9e8d57u * x.z;
    x = vec4<u32>(hi1 ^ x.y ^ k0, lo1, hi0 ^ x.w ^ k1, lo0);
    k0 = k0 + 0x9e3779b9u;
    k1 = k1 + 0xbb67ae85u;
  }
  return x;
}
// sin and cos of 2*pi*t for t in [0, 1): reduced to a quarter turn exactly (the polynomial is the
// shared sincosQuadrant helper)
fn sincosTurns(t: f32) -> vec2<f32> {
  let q = round(t * 4.0);
  return sincosQuadrant((t - q * 0.25) * 6.283185307179586, i32(q));
}`;

function randomBody(normal: boolean, b: ShaderBuilder): string {
  b.fn(PHILOX);
  const lo = b.param('counterLo', 'u32');
  const lines = [
    // 64-bit counter + g / 4: a u32 add whose wrap-around carries into the high word
    `  let c0 = ${lo} + u32(g / 4);`,
    `  let c1 = ${b.param('counterHi', 'u32')} + select(0u, 1u, c0 < ${lo});`,
    `  let bits = philox(c0, c1, ${b.param('k0', 'u32')}, ${b.param('k1', 'u32')});`,
    '  let lane = g % 4;',
  ];
  if (!normal) {
    // top 24 bits times 2^-24: exact in f32, so uniform numbers match the CPU bit for bit
    lines.push('  let v = f32(bits[lane] >> 8u) * 5.960464477539063e-8;');
  } else {
    // Box-Muller on lanes (0,1) and (2,3); u1 in (0, 1] keeps the log finite
    lines.push(
      '  let p = lane & ~1;',
      '  let u1 = (f32(bits[p] >> 8u) + 1.0) * 5.960464477539063e-8;',
      '  let u2 = f32(bits[p + 1] >> 8u) * 5.960464477539063e-8;',
      // u1 - 1 is exact, and log1p_ keeps log(u1) accurate when u1 is near 1
      '  let rad = sqrt(-2.0 * log1p_(u1 - 1.0));',
      '  let sc = sincosTurns(u2);',
      '  let v = select(rad * sc.x, rad * sc.y, lane == p);',
    );
  }
  return lines.join('\n');
}

export function randomKernel(ctx: GpuContext, normal: boolean, a: RandomAttrs, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  runMap(ctx, normal ? 'randomNormal' : 'randomUniform', {
    key: normal ? 'randomNormal' : 'randomUniform',
    inputs: [],
    out: { data, shape: out.shape },
    domain: 'f32',
    body: (b) => randomBody(normal, b),
    params: { counterLo: a.counter >>> 0, counterHi: Math.floor(a.counter / 4294967296) >>> 0, k0: a.key[0] >>> 0, k1: a.key[1] >>> 0 },
  });
  return data;
}
