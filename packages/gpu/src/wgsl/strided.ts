import type { ShaderBuilder } from './builder.js';

/**
 * Emits `fn <name>(i: i32) -> i32`: the element offset of row-major index i in a strided view.
 * The code is unrolled for `rank`; the shape (param `<shape>{d}`), strides (`<name>_st{d}`) and
 * offset (`<name>_off`) are uniforms, so one shader serves every shape of that rank.
 * Negative strides (flips) and stride 0 (broadcasting) need nothing special.
 */
export function stridedOffsetFn(b: ShaderBuilder, name: string, rank: number, shape: string): string {
  const off = b.param(`${name}_off`);
  const lines = [`fn ${name}(i: i32) -> i32 {`, `  var r = i;`, `  var o = ${off};`];
  for (let d = rank - 1; d >= 0; d--) {
    const st = b.param(`${name}_st${d}`);
    if (d === 0) lines.push(`  o += r * ${st};`);
    else {
      const s = b.param(`${shape}${d}`);
      lines.push(`  o += (r % ${s}) * ${st};`, `  r = r / ${s};`);
    }
  }
  lines.push('  return o;', '}');
  b.fn(lines.join('\n'));
  return name;
}

/** Uniform values for `stridedOffsetFn`: the shape under `shape` and the view's strides/offset under `name`. */
export function stridedParams(
  name: string,
  shapeName: string,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  into: Record<string, number> = {},
): Record<string, number> {
  into[`${name}_off`] = offset;
  for (let d = 0; d < shape.length; d++) {
    into[`${name}_st${d}`] = strides[d];
    into[`${shapeName}${d}`] = shape[d];
  }
  return into;
}

/** A view's layout with `dims` split off: the kept dims (in order) and the listed dims. */
export function splitDims(
  shape: readonly number[],
  strides: readonly number[],
  dims: readonly number[],
): { outerShape: number[]; outerStrides: number[]; innerShape: number[]; innerStrides: number[] } {
  const outerShape: number[] = [];
  const outerStrides: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (!dims.includes(d)) {
      outerShape.push(shape[d]);
      outerStrides.push(strides[d]);
    }
  }
  return { outerShape, outerStrides, innerShape: dims.map((d) => shape[d]), innerStrides: dims.map((d) => strides[d]) };
}
