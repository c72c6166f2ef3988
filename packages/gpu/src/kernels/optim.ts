import { sizeOf } from '@dl/tensor';
import { type AdamHyper, type TensorInfo } from '@dl/tensor/internal';
import type { GpuContext } from '../runtime/context.js';
import { ShaderBuilder, grid } from '../wgsl/builder.js';
import { WG, dataOf, memberBlock, memberRanges } from './common.js';

/** One parameter's operands of an Adam step: contiguous float32 views of n elements each. */
export interface AdamParam {
  p: TensorInfo;
  g: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
  n: number;
}

/**
 * One Adam step (AdamW's decoupled decay included) in place over contiguous float32 p, g, m, v:
 * one kernel instead of the dozen elementwise ops of the generic path. Steps with the same
 * hyperparameters that follow each other (an optimizer's loop over its parameters) are recorded
 * together, several parameters a dispatch (kernels/fuse.ts). Returns false when a buffer is over
 * the binding limit (the generic path splits those) or the parameter aliases another operand.
 */
export function adamStepKernel(ctx: GpuContext, p: TensorInfo, g: TensorInfo, m: TensorInfo, v: TensorInfo, h: AdamHyper): boolean {
  const ts = [p, g, m, v];
  if (ts.some((t) => dataOf(t).buffer.size > ctx.maxBinding)) return false;
  // p, m and v are written: each needs a buffer of its own
  const written = [p, m, v].map((t) => dataOf(t).buffer);
  if (new Set(written).size < 3 || written.includes(dataOf(g).buffer)) return false;
  const n = sizeOf(p.shape);
  if (n === 0) return true;
  const param = { p, g, m, v, n };
  if (!ctx.fusion?.appendAdam(param, h)) recordAdam(ctx, [param], h);
  return true;
}

/** Storage bindings an Adam step takes a parameter. */
export const ADAM_BINDINGS = 4;

/** Records Adam steps of several parameters as one dispatch: each workgroup belongs to one parameter's range. */
export function recordAdam(ctx: GpuContext, params: readonly AdamParam[], h: AdamHyper): void {
  const k = params.length;
  const prog = ctx.program(`adamStep:${k}`, () => {
    const b = new ShaderBuilder(WG);
    for (let j = 0; j < k; j++) {
      b.storage(`p${j}`, 'f32', 'read_write');
      b.storage(`m${j}`, 'f32', 'read_write');
      b.storage(`v${j}`, 'f32', 'read_write');
      b.storage(`g${j}`, 'f32');
    }
    const [b1, b2, stepSize, sqrtBc2, eps, decay] = ['b1', 'b2', 'stepSize', 'sqrtBc2', 'eps', 'decay'].map((x) => b.param(x, 'f32'));
    const fn = `fn adam(p: f32, g: f32, m: f32, v: f32) -> vec3<f32> {
  let mi = ${b1} * m + (1.0 - ${b1}) * g;
  let vi = ${b2} * v + (1.0 - ${b2}) * g * g;
  return vec3<f32>(${decay} * p - ${stepSize} * mi / (sqrt(vi) / ${sqrtBc2} + ${eps}), mi, vi);
}`;
    b.fn(fn);
    const body = Array.from({ length: k }, (_, j) => {
      const [po, mo, vo, go] = ['po', 'mo', 'vo', 'go'].map((x) => b.param(`${x}${j}`));
      return memberBlock(
        b,
        j,
        `    let r = adam(p${j}[${po} + i], g${j}[${go} + i], m${j}[${mo} + i], v${j}[${vo} + i]);
    m${j}[${mo} + i] = r.y;
    v${j}[${vo} + i] = r.z;
    p${j}[${po} + i] = r.x;`,
      );
    });
    return b.build(body.join('\n'));
  });
  const values: Record<string, number> = { b1: h.beta1, b2: h.beta2, stepSize: h.stepSize, sqrtBc2: h.sqrtBc2, eps: h.eps, decay: h.decay };
  params.forEach(({ p, g, m, v }, j) => Object.assign(values, { [`po${j}`]: p.offset, [`mo${j}`]: m.offset, [`vo${j}`]: v.offset, [`go${j}`]: g.offset }));
  const groups = memberRanges(
    params.map((x) => x.n),
    values,
  );
  const binds = params.flatMap(({ p, m, v, g }) => [p, m, v, g].map((t) => ({ buffer: dataOf(t).buffer })));
  ctx.dispatch('adamStep', prog, binds, values, grid(groups));
}
