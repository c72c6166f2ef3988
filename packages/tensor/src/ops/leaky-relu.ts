import { map } from '../cpu/map.js';
import { takeArray } from '../cpu/pool.js';
import { defineOp, type CustomOp } from '../custom-op.js';
import { DLError, DTypeError, fmt } from '../errors.js';
import { contiguousStrides, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { elementwiseWgsl, leakyReluGrad, perSlope, wgslF32 } from './activation-grad.js';

// LeakyReLU as one op forward and one backward (leakyReluGrad), where the composed form
// where(x > 0, x, x * slope) ran a comparison, a multiply and a select forward and five ops back.

const forwardFns = new Map<string, (x: number) => number>();

interface LeakyAttrs {
  negativeSlope: number;
}

const leakyReluOp: CustomOp<LeakyAttrs, 1> = defineOp<LeakyAttrs, 1>({
  name: 'leakyRelu',
  inputs: 1,
  inferOutput: ([x]) => {
    if (x.dtype !== 'float32' && x.dtype !== 'float64' && x.dtype !== 'float16') throw new DTypeError('leakyRelu', `x must be a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
    return { shape: x.shape, dtype: x.dtype };
  },
  // the CPU's strided elementwise loop reads views without a copy
  strided: { cpu: true },
  cpu: ([x], { negativeSlope }, out) => {
    const r = takeArray(out.dtype, sizeOf(out.shape), false);
    const f = perSlope(forwardFns, negativeSlope, out.dtype, (k) => (v: number) => v * k[+(v > 0)]);
    map(f, out.shape, { data: r, strides: contiguousStrides(out.shape), offset: 0 }, [x]);
    return r;
  },
  wgsl: ([x], { negativeSlope }, out) => elementwiseWgsl(x.dtype, ['x'], sizeOf(out.shape), `select(x * ${wgslF32(negativeSlope)}, x, x > 0.0)`),
  save: ([x]) => [x],
  backward: (g, { saved: [x], attrs }) => [leakyReluGrad([g, x], attrs)],
});

/**
 * x where x > 0, else x * negativeSlope (PyTorch's `F.leaky_relu`), one kernel forward and one
 * backward on CPU and WebGPU, for float tensors.
 *
 *   leakyRelu(tensor([-2, 0, 3]), 0.1).toArray(); // [-0.2, 0, 3]
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) throw new DLError('leakyRelu', `negativeSlope must be a finite number, got ${String(negativeSlope)}`);
  return leakyReluOp([x], { negativeSlope });
}
