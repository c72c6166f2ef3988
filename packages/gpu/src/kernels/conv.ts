import { isContiguousLayout } from '@dl/tensor';
import { type ConvAttrs, type OutInfo, type PoolAttrs, type TensorInfo } from '@dl/tensor/internal';
import type { GpuContext, GpuData } from '../runtime/context.js';
import { ShaderBuilder, fromDomain, grid, storageType, toDomain, type StorageType } from '../wgsl/builder.js';
import { WG, dataOf, newData, outSize } from './common.js';
import { runGemm } from './gemm.js';

/** Shape and attribute uniforms shared by the three convolution kernels. */
function convParams(x: readonly number[], w: readonly number[], y: readonly number[], a: ConvAttrs): Record<string, number> {
  const g = a.groups;
  return {
    NB: x[0], C: x[1], H: x[2], W: x[3], O: w[0], kH: w[2], kW: w[3], Cg: x[1] / g, Og: w[0] / g,
    sH: a.stride[0], sW: a.stride[1], pH: a.padding[0], pW: a.padding[1], dH: a.dilation[0], dW: a.dilation[1],
    oH: y[2], oW: y[3],
  };
}

type P = (name: string) => string;

/** A rank-4 strided view accessor `<name>At(i0, i1, i2, i3)` for a conv operand. */
function at4(s: ShaderBuilder, name: string, st: StorageType): void {
  const p: P = (n) => s.param(n);
  s.fn(`fn ${name}At(i0: i32, i1: i32, i2: i32, i3: i32) -> f32 {
  return ${toDomain(`${name}[${p(`${name}_off`)} + i0 * ${p(`${name}_s0`)} + i1 * ${p(`${name}_s1`)} + i2 * ${p(`${name}_s2`)} + i3 * ${p(`${name}_s3`)}]`, st, 'f32')};
}`);
}

function at4Params(name: string, x: TensorInfo, into: Record<string, number>): void {
  into[`${name}_off`] = x.offset;
  x.strides.forEach((s, i) => (into[`${name}_s${i}`] = s));
}

/** x [N,C,H,W] * w [O,C/g,kH,kW] -> [N,O,oH,oW] as implicit GEMM per group: M = O/g, N = N*oH*oW, K = C/g*kH*kW. */
export function conv2dKernel(ctx: GpuContext, [x, w]: TensorInfo[], attrs: ConvAttrs, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const cp = convParams(x.shape, w.shape, out.shape, attrs);
  const params = { ...cp };
  at4Params('x', x, params);
  at4Params('w', w, params);
  const xt = storageType(x.dtype);
  const wt = storageType(w.dtype);
  const ot = storageType(out.dtype);
  // a contiguous weight is a row-major [O, C/g*kH*kW] matrix: A needs no index math
  const wc = isContiguousLayout(w.shape, w.strides);
  runGemm(
    ctx,
    'conv2d',
    {
      key: `conv2d:${x.dtype}:${w.dtype}:${out.dtype}:${wc ? 'wc' : 'ws'}`,
      fusable: ot === 'f32' ? data : undefined,
      declare(s, after) {
        const p: P = (n) => s.param(n);
        s.storage('out', ot, 'read_write');
        s.storage('x', xt);
        s.storage('w', wt);
        at4(s, 'x', xt);
        at4(s, 'w', wt);
        s.fn('var<private> grp: i32;');
        if (wc) {
          s.fn(`fn loadA4(m: i32, k: i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (m >= ${p('M')}) { return v; }
  let base = ${p('w_off')} + (grp * ${p('Og')} + m) * ${p('w_s0')} + k;
  for (var j = 0; j < 4; j++) { if (k + j < ${p('K')}) { v[j] = ${toDomain('w[base + j]', wt, 'f32')}; } }
  return v;
}`);
        }
        // four consecutive output pixels: decompose n once, then step (nb, oh, ow)
        s.fn(`fn loadB4(k: i32, n: i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k >= ${p('K')}) { return v; }
  let khw = ${p('kH')} * ${p('kW')};
  let c = grp * ${p('Cg')} + k / khw; let r = k % khw;
  let dh = (r / ${p('kW')}) * ${p('dH')} - ${p('pH')};
  let dw = (r % ${p('kW')}) * ${p('dW')} - ${p('pW')};
  let ohw = ${p('oH')} * ${p('oW')};
  var nb = n / ohw; let q = n % ohw;
  var oh = q / ${p('oW')}; var ow = q % ${p('oW')};
  for (var j = 0; j < 4; j++) {
    if (n + j < ${p('N')}) {
      let ih = oh * ${p('sH')} + dh; let iw = ow * ${p('sW')} + dw;
      if (ih >= 0 && ih < ${p('H')} && iw >= 0 && iw < ${p('W')}) { v[j] = xAt(nb, c, ih, iw); }
    }
    ow += 1;
    if (ow == ${p('oW')}) { ow = 0; oh += 1; if (oh == ${p('oH')}) { oh = 0; nb += 1; } }
  }
  return v;
}`);
        s.fn(`fn storeC4(m: i32, n: i32, v: vec4<f32>) {
  if (m >= ${p('M')}) { return; }
  let ohw = ${p('oH')} * ${p('oW')};
  var nb = n / ohw; var q = n % ohw;
  for (var j = 0; j < 4; j++) {
    if (n + j < ${p('N')}) {
      let g = (nb * ${p('O')} + grp * ${p('Og')} + m) * ohw + q;
      out[g] = ${fromDomain('v[j]', 'f32', ot)};${after('g', 'v[j]')}
    }
    q += 1;
    if (q == ohw) { q = 0; nb += 1; }
  }
}`);
        s.fn(`fn loadA(m: i32, k: i32) -> f32 {
  let khw = ${p('kH')} * ${p('kW')};
  let c = k / khw; let r = k % khw;
  return wAt(grp * ${p('Og')} + m, c, r / ${p('kW')}, r % ${p('kW')});
}`);
        return { prologue: '  grp = z;', vec4: { A: wc, B: true, C: true } };
      },
    },
    { M: cp.Og, N: cp.NB * cp.oH * cp.oW, K: cp.Cg * cp.kH * cp.kW, batch: attrs.groups },
    [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }, { buffer: dataOf(w).buffer }],
    params,
  );
  return data;
}

/**
 * gy [N,O,oH,oW], w [O,C/g,kH,kW] -> gx [N,C,H,W]: per group, M = C/g, N = N*H*W, K = O/g*kH*kW,
 * reading gy at the output position each (h, w, kh, kw) came from (skipped when the stride misses).
 */
export function conv2dGradInputKernel(ctx: GpuContext, [gy, w]: TensorInfo[], attrs: ConvAttrs, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const cp = convParams(out.shape, w.shape, gy.shape, attrs);
  const params = { ...cp };
  at4Params('gy', gy, params);
  at4Params('w', w, params);
  const yt = storageType(gy.dtype);
  const wt = storageType(w.dtype);
  const ot = storageType(out.dtype);
  runGemm(
    ctx,
    'conv2dGradInput',
    {
      key: `conv2dGradInput:${gy.dtype}:${w.dtype}:${out.dtype}`,
      fusable: ot === 'f32' ? data : undefined,
      declare(s, after) {
        const p: P = (n) => s.param(n);
        s.storage('out', ot, 'read_write');
        s.storage('gy', yt);
        s.storage('w', wt);
        at4(s, 'gy', yt);
        at4(s, 'w', wt);
        s.fn('var<private> grp: i32;');
        s.fn(`fn loadA(m: i32, k: i32) -> f32 {
  let khw = ${p('kH')} * ${p('kW')};
  let o = k / khw; let r = k % khw;
  return wAt(grp * ${p('Og')} + o, m, r / ${p('kW')}, r % ${p('kW')});
}`);
        s.fn(`fn loadB(k: i32, n: i32) -> f32 {
  let khw = ${p('kH')} * ${p('kW')};
  let o = k / khw; let r = k % khw;
  let hw = ${p('H')} * ${p('W')};
  let nb = n / hw; let q = n % hw;
  let th = q / ${p('W')} + ${p('pH')} - (r / ${p('kW')}) * ${p('dH')};
  let tw = q % ${p('W')} + ${p('pW')} - (r % ${p('kW')}) * ${p('dW')};
  if (th < 0 || tw < 0 || th % ${p('sH')} != 0 || tw % ${p('sW')} != 0) { return 0.0; }
  let oh = th / ${p('sH')}; let ow = tw / ${p('sW')};
  if (oh >= ${p('oH')} || ow >= ${p('oW')}) { return 0.0; }
  return gyAt(nb, grp * ${p('Og')} + o, oh, ow);
}`);
        s.fn(`fn storeC(m: i32, n: i32, v: f32) {
  let hw = ${p('H')} * ${p('W')};
  let nb = n / hw; let q = n % hw;
  let g = (nb * ${p('C')} + grp * ${p('Cg')} + m) * hw + q;
  out[g] = ${fromDomain('v', 'f32', ot)};${after('g', 'v')}
}`);
        return { prologue: '  grp = z;' };
      },
    },
    { M: cp.Cg, N: cp.NB * cp.H * cp.W, K: cp.Og * cp.kH * cp.kW, batch: attrs.groups },
    [{ buffer: data.buffer }, { buffer: dataOf(gy).buffer }, { buffer: dataOf(w).buffer }],
    params,
  );
  return data;
}

/** x [N,C,H,W], gy [N,O,oH,oW] -> gw [O,C/g,kH,kW]: per group, M = O/g, N = C/g*kH*kW, K = N*oH*oW. */
export function conv2dGradWeightKernel(ctx: GpuContext, [x, gy]: TensorInfo[], attrs: ConvAttrs, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), out.dtype);
  const cp = convParams(x.shape, out.shape, gy.shape, attrs);
  const params = { ...cp };
  at4Params('x', x, params);
  at4Params('gy', gy, params);
  const xt = storageType(x.dtype);
  const yt = storageType(gy.dtype);
  const ot = storageType(out.dtype);
  runGemm(
    ctx,
    'conv2dGradWeight',
    {
      key: `conv2dGradWeight:${x.dtype}:${gy.dtype}:${out.dtype}`,
      // gw [O, C/g*kH*kW] is [groups, O/g, N] row-major: the GEMM's own C layout
      plainC: ot,
      declare(s) {
        const p: P = (n) => s.param(n);
        s.storage('x', xt);
        s.storage('gy', yt);
        at4(s, 'x', xt);
        at4(s, 'gy', yt);
        s.fn('var<private> grp: i32;');
        s.fn(`fn loadA(m: i32, k: i32) -> f32 {
  let ohw = ${p('oH')} * ${p('oW')};
  let nb = k / ohw; let q = k % ohw;
  return gyAt(nb, grp * ${p('Og')} + m, q / ${p('oW')}, q % ${p('oW')});
}`);
        s.fn(`fn loadB(k: i32, n: i32) -> f32 {
  let ohw = ${p('oH')} * ${p('oW')};
  let nb = k / ohw; let q = k % ohw;
  let khw = ${p('kH')} * ${p('kW')};
  let c = n / khw; let r = n % khw;
  let ih = (q / ${p('oW')}) * ${p('sH')} - ${p('pH')} + (r / ${p('kW')}) * ${p('dH')};
  let iw = (q % ${p('oW')}) * ${p('sW')} - ${p('pW')} + (r % ${p('kW')}) * ${p('dW')};
  if (ih < 0 || ih >= ${p('H')} || iw < 0 || iw >= ${p('W')}) { return 0.0; }
  return xAt(nb, grp * ${p('Cg')} + c, ih, iw);
}`);
        return { prologue: '  grp = z;' };
      },
    },
    { M: cp.Og, N: cp.Cg * cp.kH * cp.kW, K: cp.NB * cp.oH * cp.oW, batch: attrs.groups },
    [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }, { buffer: dataOf(gy).buffer }],
    params,
  );
  return data;
}

/** int32 [N,C,oH,oW]: flat h*W+w of each window's max (first max wins; padding never does; NaN wins). */
export function maxPool2dIndicesKernel(ctx: GpuContext, [x]: TensorInfo[], a: PoolAttrs, out: OutInfo): GpuData {
  const data = newData(ctx, outSize(out), 'int32');
  const n = outSize(out);
  if (n === 0) return data;
  const [, C, H, W] = x.shape;
  const [, , oH, oW] = out.shape;
  const xt = storageType(x.dtype);
  const prog = ctx.program(`maxPool2dIndices:${x.dtype}`, () => {
    const s = new ShaderBuilder(WG);
    const p: P = (k) => s.param(k);
    s.storage('out', 'i32', 'read_write');
    s.storage('x', xt);
    at4(s, 'x', xt);
    return s.build(`
  let i = wg * ${WG} + lid;
  if (i >= ${p('n')}) { return; }
  let ow = i % ${p('oW')}; let oh = (i / ${p('oW')}) % ${p('oH')};
  let nc = i / (${p('oW')} * ${p('oH')});
  let nb = nc / ${p('C')}; let c = nc % ${p('C')};
  var best = 0.0;
  var bi = -1;
  var done = false;
  for (var ki = 0; ki < ${p('kH')} && !done; ki++) {
    let h = oh * ${p('sH')} - ${p('pH')} + ki * ${p('dH')};
    if (h < 0 || h >= ${p('H')}) { continue; }
    for (var kj = 0; kj < ${p('kW')}; kj++) {
      let w = ow * ${p('sW')} - ${p('pW')} + kj * ${p('dW')};
      if (w < 0 || w >= ${p('W')}) { continue; }
      let v = xAt(nb, c, h, w);
      if (bi < 0 || v > best || isnan(v)) {
        best = v;
        bi = h * ${p('W')} + w;
        if (isnan(v)) { done = true; break; }
      }
    }
  }
  out[i] = bi;`);
  });
  const params: Record<string, number> = {
    n, C, H, W, oH, oW, kH: a.kernel[0], kW: a.kernel[1], sH: a.stride[0], sW: a.stride[1],
    pH: a.padding[0], pW: a.padding[1], dH: a.dilation[0], dW: a.dilation[1],
  };
  at4Params('x', x, params);
  ctx.dispatch('maxPool2dIndices', prog, [{ buffer: data.buffer }, { buffer: dataOf(x).buffer }], params, grid(Math.ceil(n / WG)));
  return data;
}
