// The bad-input sweep of @dl/gpu on the WebGPU adapter: float64, tensors of two devices in every
// op family, synchronous reads, disposed tensors, bad indices (raised at the next read), buffers
// over the binding limit that cannot split, and int/bool/NaN/Inf edge values, whose results must
// be PyTorch's (the values the CPU sweep checks). Sizes stay tiny for the software adapter.
import { Embedding, Linear, crossEntropy, mseLoss } from '@dl/layers';
import {
  DTypeError, DeviceError, DisposedError, IndexError, cat, conv2d, full, gather, indexSelect, layerNorm, matmul, maximum,
  oneHot, ones, registerBackend, scatterAdd, tensor, where, zeros, type DType, type Tensor,
} from '@dl/tensor';
import { runSweep, type SweepCase } from '@dl/tensor/testing';
import { beforeAll, describe, it } from 'vitest';
import { createWebGPUBackend } from './device.js';
import { hasWebGPU, useWebGPU } from './test-utils.js';

const G = 'webgpu';
const SMALL = 'webgpu-sweep-64k';
const MAX = 2147483647;
const MIN = -2147483648;
const on = (t: Tensor, device = G): Tensor => t.to(device);
const f32 = (v: number[], shape = [v.length]): Tensor => on(tensor(new Float32Array(v), { shape }));
const i32 = (v: number[], shape = [v.length]): Tensor => on(tensor(new Int32Array(v), { shape }));
const cpu = (shape: number[], dtype: DType = 'float32'): Tensor => zeros(shape, { dtype });
const gpu = (shape: number[], dtype: DType = 'float32'): Tensor => zeros(shape, { dtype, device: G });
const disposed = (t: Tensor): Tensor => {
  t.dispose();
  return t;
};
const mixed = ['webgpu', 'cpu'];

const devices: SweepCase[] = [
  { name: 'float64 .to(webgpu)', run: () => tensor([1, 2], { dtype: 'float64' }).to(G), throws: DTypeError, op: 'to', says: ['float64', '[2]', '.float()'] },
  { name: 'float64 created on webgpu', run: () => tensor([1, 2], { dtype: 'float64', device: G }), throws: DTypeError, op: 'tensor', says: ['float64'] },
  { name: 'cast to float64 on webgpu', run: () => gpu([2]).double(), throws: DTypeError, op: 'cast', says: ['float64', '[2]'] },
  { name: 'add of cpu and webgpu', run: () => gpu([2]).add(cpu([2])), throws: DeviceError, op: 'add', says: mixed },
  { name: 'mul of cpu and webgpu (broadcast)', run: () => cpu([2, 1]).mul(gpu([3])), throws: DeviceError, op: 'mul', says: mixed },
  { name: 'comparison of cpu and webgpu', run: () => gpu([2]).lt(cpu([2])), throws: DeviceError, op: 'lt', says: mixed },
  { name: 'maximum of cpu and webgpu', run: () => maximum(gpu([2]), cpu([2])), throws: DeviceError, op: 'maximum', says: mixed },
  { name: 'logicalAnd of cpu and webgpu', run: () => gpu([2], 'bool').logicalAnd(cpu([2], 'bool')), throws: DeviceError, op: 'logicalAnd', says: mixed },
  { name: 'where with the condition on cpu', run: () => where(cpu([2], 'bool'), gpu([2]), gpu([2])), throws: DeviceError, op: 'where', says: mixed },
  { name: 'where with a scalar side and the condition on cpu', run: () => where(cpu([2], 'bool'), gpu([2]), 0), throws: DeviceError, op: 'whereScalar', says: mixed },
  { name: 'matmul of cpu and webgpu', run: () => matmul(gpu([2, 2]), cpu([2, 2])), throws: DeviceError, op: 'matmul', says: mixed },
  { name: 'conv2d with the weight on cpu', run: () => conv2d(gpu([1, 1, 3, 3]), cpu([1, 1, 1, 1])), throws: DeviceError, op: 'conv2d', says: mixed },
  { name: 'cat of cpu and webgpu', run: () => cat([gpu([2]), cpu([2])]), throws: DeviceError, op: 'cat', says: mixed },
  { name: 'gather with the index on cpu', run: () => gather(gpu([2, 2]), 1, cpu([2, 1], 'int32')), throws: DeviceError, op: 'gather', says: mixed },
  { name: 'indexSelect with the index on cpu', run: () => indexSelect(gpu([2, 2]), 0, cpu([1], 'int32')), throws: DeviceError, op: 'gather', says: mixed },
  { name: 'scatterAdd with src on cpu', run: () => scatterAdd(gpu([3]), 0, i32([0]), cpu([1])), throws: DeviceError, op: 'scatterAdd', says: mixed },
  { name: 'layerNorm with the weight on cpu', run: () => layerNorm(gpu([2, 2]), [2], cpu([2])), throws: DeviceError, op: 'layerNorm', says: mixed },
  { name: 'copy_ from cpu into webgpu', run: () => gpu([2]).copy_(cpu([2])), throws: DeviceError, op: 'copy_', says: mixed },
  { name: 'add_ of a cpu tensor into a webgpu one', run: () => gpu([2]).add_(cpu([2])), throws: DeviceError, op: 'add', says: mixed },
  { name: 'Linear on webgpu given a cpu input', run: () => new Linear(2, 2).to(G).forward(cpu([1, 2])), throws: DeviceError, op: 'matmul', says: ['Linear', 'webgpu', 'cpu'] },
  { name: 'mseLoss of cpu input and webgpu target', run: () => mseLoss(cpu([2]), gpu([2])), throws: DeviceError, op: 'mseLoss', says: mixed },
  { name: 'dataSync on webgpu', run: () => gpu([2]).dataSync(), throws: DeviceError, op: 'dataSync', says: ['webgpu', 'await', '[2]'] },
  { name: 'item on webgpu', run: () => gpu([1]).item(), throws: DeviceError, op: 'item', says: ['webgpu', 'await'] },
  { name: 'toArray on webgpu', run: () => gpu([2]).toArray(), throws: DeviceError, op: 'toArray', says: ['webgpu', 'await'] },
  { name: 'to(cpu) of a webgpu tensor', run: () => gpu([2]).to('cpu'), throws: DeviceError, op: 'to', says: ['toAsync'] },
  { name: 'data() of a disposed webgpu tensor', run: () => disposed(gpu([2])).data(), throws: DisposedError, op: 'data', says: ['[2]'] },
  { name: 'add with a disposed webgpu operand', run: () => gpu([2]).add(disposed(gpu([2]))), throws: DisposedError, op: 'add', says: ['[2]'] },
  { name: 'matmul of a disposed webgpu tensor', run: () => matmul(disposed(gpu([2, 2])), gpu([2, 2])), throws: DisposedError, op: 'matmul' },
  { name: 'toAsync of a disposed webgpu tensor', run: () => disposed(gpu([2])).toAsync('cpu'), throws: DisposedError, op: 'toAsync' },
  { name: 'toAsync(cpu) reads the values', run: () => f32([1.5, -2]).toAsync('cpu'), passes: { shape: [2], dtype: 'float32', values: [1.5, -2] } },
];

const indices: SweepCase[] = [
  { name: 'gather with index -1 (at read)', run: () => gather(f32([1, 2, 3], [1, 3]), 1, i32([-1], [1, 1])), throws: IndexError, op: 'gather', says: ['-1', '[0, 3)'] },
  { name: 'gather with an index past the end (at read)', run: () => gather(f32([1, 2, 3], [1, 3]), 1, i32([3], [1, 1])), throws: IndexError, op: 'gather', says: ['3', '[0, 3)'] },
  { name: 'indexSelect with -1 (at read)', run: () => indexSelect(f32([1, 2]), 0, i32([-1])), throws: IndexError, op: 'gather', says: ['-1'] },
  { name: 'scatterAdd with an index past the end (at read)', run: () => scatterAdd(gpu([3]), 0, i32([5]), f32([1])), throws: IndexError, op: 'scatterAdd', says: ['5'] },
  { name: 'oneHot with class = numClasses (at read)', run: () => oneHot(i32([0, 3]), 3), throws: IndexError, op: 'scatterAdd', says: ['3'] },
  { name: 'Embedding index past the table (at read)', run: () => new Embedding(4, 2).to(G).forward(i32([4])), throws: IndexError, op: 'gather', says: ['4'] },
  { name: 'crossEntropy target -1 (at read)', run: () => crossEntropy(gpu([2, 3]), i32([0, -1])), throws: IndexError, op: 'gather', says: ['-1'] },
  { name: 'gather with a float index', run: () => gather(gpu([2, 2]), 1, gpu([2, 1])), throws: DTypeError, op: 'gather', says: ['float32'] },
  { name: 'valid gather after an error', run: () => gather(f32([1, 2, 3], [1, 3]), 1, i32([2, 0], [1, 2])), passes: { shape: [1, 2], values: [3, 1] } },
];

const limits: SweepCase[] = [
  { name: 'softmax of a 1-D row over the binding limit', run: () => ones([20000], { device: SMALL }).softmax(0), throws: DeviceError, op: 'softmax', says: ['binding limit', '65536'] },
  { name: 'argsort of a 1-D row over the binding limit', run: () => ones([20000], { device: SMALL }).sort(), throws: DeviceError, op: 'argsort', says: ['binding limit'] },
  { name: 'cumsum of a 1-D row over the binding limit', run: () => ones([20000], { device: SMALL }).cumsum(0), throws: DeviceError, op: 'cumsum', says: ['binding limit'] },
  { name: 'elementwise over the binding limit runs in windows', run: () => ones([20000], { device: SMALL }).add(1).sum(), passes: { shape: [], values: [40000] } },
  { name: 'a row reduction over the binding limit splits along dim 0', run: () => ones([200, 100], { device: SMALL }).sum(1).max(), passes: { shape: [], values: [100] } },
];

const edges: SweepCase[] = [
  { name: 'int32 add wraps', run: () => i32([MAX]).add(1), passes: { shape: [1], dtype: 'int32', values: [MIN] } },
  { name: 'int32 mul wraps (low bits exact)', run: () => i32([MAX, 65536]).mul(i32([MAX, 65536])), passes: { shape: [2], dtype: 'int32', values: [1, 0] } },
  { name: 'neg and abs of int32 min wrap', run: () => cat([i32([MIN]).neg(), i32([MIN]).abs()]), passes: { shape: [2], values: [MIN, MIN] } },
  { name: 'int remainder takes the divisor sign', run: () => i32([5, -5, -7]).remainder(i32([-3, 3, 3])), passes: { shape: [3], dtype: 'int32', values: [-1, 1, 2] } },
  { name: 'int true division (and by zero)', run: () => i32([-7, 7, 0]).div(i32([2, 0, 0])), passes: { shape: [3], dtype: 'float32', values: [-3.5, Infinity, NaN] } },
  { name: 'int32 sum, max and cumsum', run: () => cat([i32([3, -5, 9]).sum().reshape([1]), i32([3, -5, 9]).max().reshape([1]), i32([3, -5, 9]).cumsum(0)]), passes: { shape: [5], dtype: 'int32', values: [7, 9, 3, -2, 7] } },
  { name: 'bool logic and bool sum', run: () => cat([on(tensor([true, false, true])).logicalAnd(on(tensor([true, true, false]))).int(), on(tensor([true, false, true])).sum().reshape([1])]), passes: { shape: [4], dtype: 'int32', values: [1, 0, 0, 2] } },
  { name: 'bool + int scalar is int', run: () => on(tensor([true, false])).add(1), passes: { shape: [2], dtype: 'int32', values: [2, 1] } },
  { name: 'float to int truncates toward zero', run: () => f32([-1.7, 1.7, -0.5]).int(), passes: { shape: [3], dtype: 'int32', values: [-1, 1, 0] } },
  { name: 'float to bool: NaN is true, -0 false', run: () => f32([NaN, 0, -0, 2]).bool(), passes: { shape: [4], dtype: 'bool', values: [1, 0, 0, 1] } },
  { name: 'round half to even', run: () => f32([0.5, 1.5, 2.5, -0.5]).round(), passes: { shape: [4], values: [0, 2, 2, -0] } },
  { name: 'NaN through relu, clamp, maximum', run: () => cat([f32([NaN]).relu(), f32([NaN]).clamp(0, 1), maximum(f32([NaN, 1]), f32([1, NaN]))]), passes: { shape: [4], values: [NaN, NaN, NaN, NaN] } },
  { name: 'NaN compares unequal', run: () => f32([NaN, NaN, 1]).eq(f32([NaN, 0, 1])), passes: { shape: [3], dtype: 'bool', values: [0, 0, 1] } },
  { name: 'NaN != anything, also against a scalar', run: () => cat([f32([NaN, NaN, 1]).ne(f32([NaN, 0, 1])), f32([NaN]).ne(0), f32([NaN]).ne(NaN)]), passes: { shape: [5], dtype: 'bool', values: [1, 1, 0, 1, 1] } },
  { name: 'NaN is true in logical ops', run: () => cat([f32([NaN, NaN]).logicalAnd(f32([1, 0])), f32([NaN]).logicalOr(f32([0])), f32([NaN, 0]).logicalNot()]), passes: { shape: [5], dtype: 'bool', values: [1, 0, 1, 0, 1] } },
  { name: 'log, sqrt, rsqrt, reciprocal at 0 and -1', run: () => cat([f32([0, -1]).log(), f32([-1]).sqrt(), f32([0]).rsqrt(), f32([0]).reciprocal()]), passes: { shape: [5], values: [-Infinity, NaN, NaN, Infinity, Infinity] } },
  { name: 'exp overflow, inf - inf, float32 overflow', run: () => cat([f32([100]).exp(), f32([Infinity]).sub(Infinity), f32([3e38]).mul(10)]), passes: { shape: [3], values: [Infinity, NaN, Infinity] } },
  { name: 'max propagates NaN, argmax points at it', run: () => cat([f32([1, NaN, 3]).max().reshape([1]), f32([1, NaN, 3]).argmax().float().reshape([1])]), passes: { shape: [2], values: [NaN, 1] } },
  { name: 'sum of inf and -inf is NaN', run: () => f32([Infinity, -Infinity]).sum(), passes: { shape: [], values: [NaN] } },
  { name: 'softmax with +inf is NaN (as PyTorch)', run: () => f32([Infinity, 1]).softmax(0), passes: { shape: [2], values: [NaN, NaN] } },
  { name: 'sort puts NaN last', run: () => f32([3, NaN, 1]).sort().values, passes: { shape: [3], values: [1, 3, NaN] } },
  { name: 'topk ranks NaN largest', run: () => f32([3, NaN, 1]).topk(2).indices, passes: { shape: [2], values: [1, 0] } },
  { name: 'pow edge cases', run: () => f32([0, -8, 2]).pow(f32([0, 1 / 3, -1])), passes: { shape: [3], values: [1, NaN, 0.5] } },
  { name: 'float remainder by zero is NaN, sign of divisor', run: () => f32([1, -3, 3]).remainder(f32([0, 2, -2])), passes: { shape: [3], values: [NaN, 1, -1] } },
  { name: 'argmax picks the first of ties, along a dim too', run: () => cat([f32([2, 1, 2, 1]).argmax().reshape([1]), f32([1, 2, 4, 4], [2, 2]).argmax(1)]), passes: { shape: [3], dtype: 'int32', values: [0, 1, 0] } },
  { name: 'topk of ties keeps the first indices', run: () => f32([1, 1, 1]).topk(2).indices, passes: { shape: [2], values: [0, 1] } },
  { name: 'cumsum carries NaN and inf', run: () => f32([1, NaN, 3, Infinity]).cumsum(0), passes: { shape: [4], values: [1, NaN, NaN, NaN] } },
  { name: 'cumsum of a flipped view', run: () => f32([1, 2, 3]).flip(0).cumsum(0), passes: { shape: [3], values: [3, 5, 6] } },
  { name: 'in-place add through a transpose writes the base', run: () => { const x = gpu([2, 3]); x.T.add_(1); return x; }, passes: { shape: [2, 3], values: [1, 1, 1, 1, 1, 1] } },
  { name: 'fill_ through a step-2 slice', run: () => { const x = gpu([2, 3]); x.slice(1, 0, 3, 2).fill_(5); return x; }, passes: { shape: [2, 3], values: [5, 0, 5, 5, 0, 5] } },
  { name: 'copy_ from a flipped view of itself', run: () => { const x = f32([1, 2, 3, 4, 5]); return x.copy_(x.flip(0)); }, passes: { shape: [5], values: [5, 4, 3, 2, 1] } },
  { name: 'empty tensor ops', run: () => gpu([0, 3]).add(1).sum(0), passes: { shape: [3], values: [0, 0, 0] } },
  { name: 'matmul with an empty inner dim is zeros', run: () => matmul(gpu([2, 0]), gpu([0, 3])), passes: { shape: [2, 3], values: [0, 0, 0, 0, 0, 0] } },
  { name: 'mean of an empty tensor is NaN', run: () => gpu([0]).mean(), passes: { shape: [], values: [NaN] } },
  { name: '0-d tensors', run: () => full([], 3, { device: G }).mul(f32([2]).reshape([])).softmax(0), passes: { shape: [], values: [1] } },
  { name: 'op on a permuted, expanded view', run: () => f32([1, 2]).reshape([2, 1]).expand([2, 3]).T.add(1), passes: { shape: [3, 2], values: [2, 3, 2, 3, 2, 3] } },
  { name: 'conv2d propagates NaN to its receptive field only', run: () => conv2d(f32([1, NaN, 1, 1], [1, 1, 2, 2]), on(ones([1, 1, 1, 1]))), passes: { shape: [1, 1, 2, 2], values: [1, NaN, 1, 1] } },
];

describe.skipIf(!hasWebGPU)('bad-input sweep on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
    registerBackend(await createWebGPUBackend({ name: SMALL, maxBindingBytes: 65536 }));
  });
  runSweep({ describe, it }, 'devices, reads and disposed tensors', devices);
  runSweep({ describe, it }, 'bad indices', indices);
  runSweep({ describe, it }, 'binding limits', limits);
  runSweep({ describe, it }, 'int, bool, NaN and Inf edges', edges);
});
