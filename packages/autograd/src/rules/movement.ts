import { gather, isFloat, permute, reshape, scatterAdd, shapesEqual, sliceScatter, zeros, type Tensor } from '@dl/tensor';
import { runView, type KernelPrimitive, type ViewPrimitive } from '@dl/tensor/internal';
import { nonDifferentiable, type GradRule } from './types.js';

type Movement =
  | ViewPrimitive
  | Extract<KernelPrimitive, 'cast' | 'copy' | 'gather' | 'scatterAdd' | 'argsort' | 'cat' | 'sliceScatter'>;
type Creation = Extract<KernelPrimitive, 'full' | 'arange' | 'randomUniform' | 'randomNormal'>;

const zerosOf = (shape: readonly number[], like: Tensor): Tensor => zeros(shape, { dtype: like.dtype, device: like.device });

/**
 * Sums g over the dims that broadcasting expanded (new leading dims, and size-1 dims that grew):
 * the one place broadcasting is differentiated.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const s = dims.length ? g.sum(dims, true) : g;
  return shapesEqual(s.shape, shape) ? s : reshape(s, shape);
}

/** The strided region of g that `starts`/`steps` select, as a recorded (differentiable) slice view. */
function region(g: Tensor, starts: readonly number[], steps: readonly number[], shape: readonly number[]): Tensor {
  const strides = g.strides.map((s, d) => s * steps[d]);
  const empty = shape.some((s) => s === 0);
  const offset = empty ? g.offset : starts.reduce((o, s, d) => o + s * g.strides[d], g.offset);
  return runView('slice', g, { starts: [...starts], steps: [...steps], shape: [...shape] }, shape, strides, offset);
}

export const movementRules: { [P in Movement]: GradRule<P> } = {
  reshape: { backward: (g, { inputs: [x] }) => [reshape(g, x.shape)] },
  permute: {
    backward: (g, { attrs: { dims } }) => {
      const inverse = new Array<number>(dims.length);
      dims.forEach((d, i) => (inverse[d] = i));
      return [permute(g, inverse)];
    },
  },
  expand: { backward: (g, { inputs: [x] }) => [sumToShape(g, x.shape)] },
  // x[region] -> a zero tensor of x's shape with g written into the region
  slice: {
    backward: (g, { attrs: { starts, steps }, inputs: [x] }) => [sliceScatter(zerosOf(x.shape, g), g, starts, steps)],
  },
  cast: { backward: (g, { inputs: [x] }) => [isFloat(x.dtype) ? g.cast(x.dtype) : null] },
  copy: { backward: (g) => [g] },
  gather: {
    save: ([, index]) => [index],
    backward: (g, { attrs: { dim }, saved: [index], inputs: [x] }) => [scatterAdd(zerosOf(x.shape, g), dim, index, g), null],
  },
  // only src's entries inside index's shape are added; the rest of src gets a zero gradient
  scatterAdd: {
    save: ([, index], _out, _attrs, [, , nsrc]) => [nsrc ? index : null],
    backward: (g, { attrs: { dim }, saved: [index], needs: [nx, , nsrc], inputs: [, , src] }) => {
      let gsrc: Tensor | null = null;
      if (nsrc) {
        gsrc = gather(g, dim, index);
        if (!shapesEqual(gsrc.shape, src.shape)) {
          gsrc = sliceScatter(zerosOf(src.shape, g), gsrc, src.shape.map(() => 0), src.shape.map(() => 1));
        }
      }
      return [nx ? g : null, null, gsrc];
    },
  },
  argsort: nonDifferentiable(),
  cat: {
    backward: (g, { attrs: { dim }, inputs, needs }) => {
      let at = 0;
      return inputs.map((x, i) => {
        const n = x.shape[dim];
        const part = needs[i] ? g.slice(dim, at, at + n) : null;
        at += n;
        return part;
      });
    },
  },
  sliceScatter: {
    backward: (g, { attrs: { starts, steps }, inputs: [, src], needs: [nbase, nsrc] }) => [
      nbase ? sliceScatter(g, zerosOf(src.shape, g), starts, steps) : null,
      nsrc ? region(g, starts, steps, src.shape) : null,
    ],
  },
};

export const creationRules: { [P in Creation]: GradRule<P> } = {
  full: nonDifferentiable(),
  arange: nonDifferentiable(),
  randomUniform: nonDifferentiable(),
  randomNormal: nonDifferentiable(),
};
