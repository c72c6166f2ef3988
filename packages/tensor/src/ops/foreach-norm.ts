import type { OutInfo } from '../backend.js';
import { takeArray } from '../cpu/pool.js';
import { defineOp, wgslStorageType, type CustomOp, type HostInput, type KernelInput, type WgslProgram } from '../custom-op.js';
import { DLError, DTypeError, fmt } from '../errors.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';

// The norm of each of many tensors in one op (PyTorch's torch._foreach_norm, stacked): what
// clipGradNorm needs of every gradient, in one pass over each instead of abs, pow and sum (three
// kernels a tensor, and on WebGPU three dispatches a tensor).

interface Attrs {
  ord: number;
}

/** inputs one WGSL pass reads: with the output, 7 storage buffers (WebGPU guarantees 8 a stage) */
const PER_PASS = 6;
const WG = 256;

type Kind = 'two' | 'one' | 'inf' | 'p';
const kindOf = (ord: number): Kind => (ord === 2 ? 'two' : ord === 1 ? 'one' : ord === Infinity ? 'inf' : 'p');

/** The ord-norm of one tensor's values, accumulated in float64. */
function hostNorm(x: HostInput, kind: Kind, ord: number): number {
  const d = x.data;
  const n = sizeOf(x.shape);
  let acc = 0;
  if (kind === 'two') {
    for (let i = 0; i < n; i++) acc += d[i] * d[i];
    return Math.sqrt(acc);
  }
  if (kind === 'one') {
    for (let i = 0; i < n; i++) acc += Math.abs(d[i]);
    return acc;
  }
  if (kind === 'inf') {
    for (let i = 0; i < n; i++) {
      const a = Math.abs(d[i]);
      if (a !== a) return NaN; // NaN wins, as in PyTorch
      if (a > acc) acc = a;
    }
    return acc;
  }
  for (let i = 0; i < n; i++) acc += Math.abs(d[i]) ** ord;
  return acc ** (1 / ord);
}

/** One pass over inputs [first, first + count): a workgroup per input, its norm into out[first + workgroup]. */
function wgslPass(T: string, kind: Kind, total: number, first: number, count: number, ord: number, sizes: readonly number[]): WgslProgram['passes'][number] {
  const term = kind === 'two' ? 'v * v' : kind === 'p' ? 'pow(abs(v), params.p)' : 'abs(v)';
  const add = kind === 'inf' ? (a: string, b: string) => `select(max(${a}, ${b}), ${a} + ${b}, isnan_(${a}) || isnan_(${b}))` : (a: string, b: string) => `${a} + ${b}`;
  const finish = kind === 'two' ? 'sqrt(r)' : kind === 'p' ? 'pow(r, 1.0 / params.p)' : 'r';
  const ids = Array.from({ length: count }, (_, j) => j);
  const code = `${T === 'f16' ? 'enable f16;\n' : ''}
${ids.map((j) => `@group(0) @binding(${first + j}) var<storage, read> x${j}: array<${T}>;`).join('\n')}
@group(0) @binding(${total}) var<storage, read_write> out: array<${T}>;
struct Params { base: u32, p: f32, ${ids.map((j) => `n${j}: u32`).join(', ')} }
@group(0) @binding(${total + 1}) var<uniform> params: Params;
var<workgroup> sh: array<f32, ${WG}>;

fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc = 0.0;
  switch wid.x {
${ids.map((j) => `    case ${j}u: { for (var i = lid.x; i < params.n${j}; i += ${WG}u) { let v = f32(x${j}[i]); acc = ${add('acc', term)}; } }`).join('\n')}
    default: {}
  }
  sh[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { sh[lid.x] = ${add('sh[lid.x]', 'sh[lid.x + s]')}; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let r = sh[0];
    out[params.base + wid.x] = ${T}(${finish});
  }
}
`;
  const params: [('u32' | 'f32'), number][] = [['u32', first], ['f32', ord === Infinity ? 0 : ord], ...ids.map((j): ['u32', number] => ['u32', sizes[first + j]])];
  return { code, workgroups: [count], params };
}

function wgslProgram(inputs: readonly KernelInput[], { ord }: Attrs, out: OutInfo): WgslProgram {
  const T = wgslStorageType(out.dtype);
  const kind = kindOf(ord);
  const sizes = inputs.map((x) => sizeOf(x.shape));
  const passes = [];
  for (let first = 0; first < inputs.length; first += PER_PASS) passes.push(wgslPass(T, kind, inputs.length, first, Math.min(PER_PASS, inputs.length - first), ord, sizes));
  return { passes };
}

const op: CustomOp<Attrs> = defineOp<Attrs>({
  name: 'foreachNorm',
  inferOutput: (xs, { ord }) => {
    const dtype = xs[0].dtype;
    if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16') throw new DTypeError('foreachNorm', `tensors must be float tensors; tensors[0] is ${dtype} ${fmt(xs[0].shape)}`);
    xs.forEach((x, i) => {
      if (x.dtype !== dtype) throw new DTypeError('foreachNorm', `tensors must share one dtype: tensors[0] is ${dtype} ${fmt(xs[0].shape)}, tensors[${i}] is ${x.dtype} ${fmt(x.shape)}`);
    });
    if (!(ord > 0)) throw new DLError('foreachNorm', `ord must be a positive number or Infinity, got ${ord}`);
    return { shape: [xs.length], dtype };
  },
  cpu: (xs, { ord }, out) => {
    const r = takeArray(out.dtype, xs.length, false);
    const kind = kindOf(ord);
    xs.forEach((x, i) => (r[i] = hostNorm(x, kind, ord)));
    return r;
  },
  wgsl: wgslProgram,
  differentiable: false,
});

/**
 * The `ord`-norm (default 2; 1, Infinity or any p > 0) of each tensor, as a 1-D tensor of
 * `tensors.length` values: PyTorch's `torch.stack(torch._foreach_norm(tensors, ord))`. The tensors
 * share one float dtype and device and may have any shapes. One pass over each tensor (float64
 * sums on the CPU); on WebGPU one dispatch per six tensors. Not differentiable (for clipping and
 * monitoring gradients).
 *
 *   foreachNorm([tensor([3, 4]), tensor([[1, -1], [1, -1]])]).toArray(); // [5, 2]
 */
export function foreachNorm(tensors: readonly Tensor[], ord = 2): Tensor {
  if (tensors.length === 0) throw new DLError('foreachNorm', 'tensors must not be empty');
  return op(tensors as Tensor[], { ord });
}
