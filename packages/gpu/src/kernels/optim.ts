import { sizeOf } from '@dl/tensor';
import { type AdamHyper, type TensorInfo } from '@dl/tensor/internal';
import type { GpuContext } from '../runtime/context.js';
import { ShaderBuilder, grid } from '../wgsl/builder.js';
import { WG, dataOf } from './common.js';

/**
 * One Adam step (AdamW's decoupled decay included) in place over contiguous float32 p, g, m, v:
 * one dispatch instead of the dozen elementwise ops of the generic path. Returns false when a buffer is over the binding limit (the
 * generic path splits those) or the parameter aliases another operand.
 */
export function adamStepKernel(ctx: GpuContext, p: TensorInfo, g: TensorInfo, m: TensorInfo, v: TensorInfo, h: AdamHyper): boolean {
  const ts = [p, g, m, v];
  if (ts.some((t) => dataOf(t).buffer.size > ctx.maxBinding)) return false;
  // p, m and v are written: each needs a buffer of its own
  const written = [p, m, v].map((t) => dataOf(t).buffer);
  if (new Set(written).size < 3 || written.includes(dataOf(g).buffer)) return false;
  const n = sizeOf(p.shape);
  if (n === 0) return true;
  const prog = ctx.program('adamStep', () => {
    const b = new ShaderBuilder(WG);
    b.storage('p', 'f32', 'read_write');
    b.storage('m', 'f32', 'read_write');
    b.storage('v', 'f32', 'read_write');
    b.storage('g', 'f32');
    const [b1, b2, stepSize, sqrtBc2, eps, decay] = ['b1', 'b2', 'stepSize', 'sqrtBc2', 'eps', 'decay'].map((k) => b.param(k, 'f32'));
    const [po, mo, vo, go] = ['po', 'mo', 'vo', 'go'].map((k) => b.param(k));
    return b.build(`
  let i = wg * ${WG} + lid;
  if (i >= ${b.param('n')}) { return; }
  let gi = g[${go} + i];
  let mi = ${b1} * m[${mo} + i] + (1.0 - ${b1}) * gi;
  let vi = ${b2} * v[${vo} + i] + (1.0 - ${b2}) * gi * gi;
  m[${mo} + i] = mi;
  v[${vo} + i] = vi;
  p[${po} + i] = ${decay} * p[${po} + i] - ${stepSize} * mi / (sqrt(vi) / ${sqrtBc2} + ${eps});`);
  });
  const params = { n, b1: h.beta1, b2: h.beta2, stepSize: h.stepSize, sqrtBc2: h.sqrtBc2, eps: h.eps, decay: h.decay, po: p.offset, mo: m.offset, vo: v.offset, go: g.offset };
  ctx.dispatch('adamStep', prog, [p, m, v, g].map((t) => ({ buffer: dataOf(t).buffer })), params, grid(Math.ceil(n / WG)));
  return true;
}
