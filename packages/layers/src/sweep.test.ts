// The bad-input sweep of @dl/layers: layer constructors and forwards, losses, optimizers,
// schedules, data loading, safetensors, state dicts and checkpoints. Each case is a typed error
// naming the layer/function and the argument, or the PyTorch-correct result (torch 1.13).
import {
  DLError, DTypeError, DeviceError, Generator, IndexError, ShapeError, cpuBackend, registerBackend, tensor, zeros, ones,
  type Tensor,
} from '@dl/tensor';
import { runSweep, type SweepCase } from '@dl/tensor/testing';
import { describe, it } from 'vitest';
import {
  AdaptiveAvgPool2d, Adam, AdamW, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose2d, CosineWithWarmup,
  DataLoader, Dropout, Embedding, Flatten, GELU, GroupNorm, LayerNorm, Linear, LinearWarmup, MaxPool2d, ModuleDict, ModuleList, MultiheadAttention,
  RMSNorm, RMSprop, ReduceLROnPlateau, SGD, SafetensorsError, Sequential, Softmax, StateDictError, StepLR, TensorDataset,
  Upsample, accuracy, bceWithLogits, binaryCrossEntropy, clipGradNorm, crossEntropy, defaultCollate, dropout, klDivergence,
  l1Loss, mseLoss, nllLoss, normalize, param, parseSafetensors, restoreCheckpoint, serializeCheckpoint, serializeSafetensors,
  smoothL1Loss,
} from './index.js';

registerBackend({ ...cpuBackend, name: 'cpu2' });

const i32 = (v: number[], shape = [v.length]): Tensor => tensor(new Int32Array(v), { shape });
const f32 = (v: number[], shape = [v.length]): Tensor => tensor(new Float32Array(v), { shape });
const params = (): Tensor[] => [param(zeros([2]))];
const sgd = (): SGD => new SGD(params(), { lr: 0.1 });
const fail = (msg: string): never => {
  throw new Error(msg);
};

const constructors: SweepCase[] = [
  { name: 'Linear inFeatures 0', run: () => new Linear(0, 4), throws: ShapeError, op: 'Linear', says: ['inFeatures', '0'] },
  { name: 'Linear fractional outFeatures', run: () => new Linear(4, 2.5), throws: ShapeError, op: 'Linear', says: ['outFeatures', '2.5'] },
  { name: 'Linear NaN inFeatures', run: () => new Linear(NaN, 2), throws: ShapeError, op: 'Linear', says: ['inFeatures'] },
  { name: 'Embedding dim 0', run: () => new Embedding(10, 0), throws: ShapeError, op: 'Embedding', says: ['embeddingDim'] },
  { name: 'Embedding paddingIdx past the table', run: () => new Embedding(10, 4, { paddingIdx: 10 }), throws: IndexError, op: 'Embedding', says: ['paddingIdx', '10'] },
  { name: 'Conv2d kernel 0', run: () => new Conv2d(1, 8, 0), throws: ShapeError, op: 'Conv2d', says: ['kernelSize', '0'] },
  { name: 'Conv2d groups that do not divide', run: () => new Conv2d(3, 8, 3, { groups: 2 }), throws: ShapeError, op: 'Conv2d', says: ['groups', '3'] },
  { name: 'Conv2d stride 0', run: () => new Conv2d(1, 8, 3, { stride: 0 }), throws: ShapeError, op: 'Conv2d', says: ['stride'] },
  { name: 'Conv2d negative padding', run: () => new Conv2d(1, 8, 3, { padding: -1 }), throws: ShapeError, op: 'Conv2d', says: ['padding', '-1'] },
  { name: 'Conv2d unknown padding mode', run: () => new Conv2d(1, 8, 3, { padding: 'full' as never }), throws: ShapeError, op: 'Conv2d', says: ['full'] },
  { name: "Conv2d padding 'same' with stride 2", run: () => new Conv2d(1, 8, 3, { padding: 'same', stride: 2 }), throws: ShapeError, op: 'Conv2d', says: ["'same'", 'stride'] },
  { name: 'Conv2d dilation 0', run: () => new Conv2d(1, 8, 3, { dilation: 0 }), throws: ShapeError, op: 'Conv2d', says: ['dilation'] },
  { name: 'Conv2d kernel of three dims', run: () => new Conv2d(1, 8, [3, 3, 3] as never), throws: ShapeError, op: 'Conv2d', says: ['kernelSize', '[3,3,3]'] },
  { name: 'Conv1d kernel 0', run: () => new Conv1d(1, 8, 0), throws: ShapeError, op: 'Conv1d', says: ['kernelSize'] },
  { name: 'ConvTranspose2d inChannels 0', run: () => new ConvTranspose2d(0, 8, 3), throws: ShapeError, op: 'ConvTranspose2d', says: ['inChannels'] },
  { name: 'MaxPool2d kernel 0', run: () => new MaxPool2d(0), throws: ShapeError, op: 'MaxPool2d', says: ['kernelSize'] },
  { name: 'MaxPool2d padding over half the kernel', run: () => new MaxPool2d(2, { padding: 2 }), throws: ShapeError, op: 'MaxPool2d', says: ['padding', '[2,2]'] },
  { name: 'AvgPool2d stride 0', run: () => new AvgPool2d(2, { stride: 0 }), throws: ShapeError, op: 'AvgPool2d', says: ['stride'] },
  { name: 'AdaptiveAvgPool2d output 0', run: () => new AdaptiveAvgPool2d(0), throws: ShapeError, op: 'AdaptiveAvgPool2d', says: ['outputSize'] },
  { name: 'BatchNorm2d 0 features', run: () => new BatchNorm2d(0), throws: ShapeError, op: 'BatchNorm2d', says: ['numFeatures'] },
  { name: 'BatchNorm1d momentum 2', run: () => new BatchNorm1d(4, { momentum: 2 }), throws: DLError, op: 'BatchNorm1d', says: ['momentum', '2'] },
  { name: 'BatchNorm2d negative eps', run: () => new BatchNorm2d(4, { eps: -1 }), throws: DLError, op: 'BatchNorm2d', says: ['eps', '-1'] },
  { name: 'LayerNorm size 0', run: () => new LayerNorm(0), throws: ShapeError, op: 'LayerNorm', says: ['normalizedShape'] },
  { name: 'RMSNorm NaN eps', run: () => new RMSNorm(4, { eps: NaN }), throws: DLError, op: 'RMSNorm', says: ['eps', 'NaN'] },
  { name: 'GroupNorm channels not divisible by groups', run: () => new GroupNorm(3, 4), throws: ShapeError, op: 'GroupNorm', says: ['3', '4'] },
  { name: 'GroupNorm 0 groups', run: () => new GroupNorm(0, 4), throws: ShapeError, op: 'GroupNorm', says: ['numGroups'] },
  { name: 'Dropout p 1.5', run: () => new Dropout(1.5), throws: DLError, op: 'Dropout', says: ['p', '1.5'] },
  { name: 'Dropout p -0.1', run: () => new Dropout(-0.1), throws: DLError, op: 'Dropout', says: ['-0.1'] },
  { name: 'dropout() p NaN', run: () => dropout(ones([2]), NaN), throws: DLError, op: 'dropout', says: ['NaN'] },
  { name: 'MultiheadAttention heads that do not divide', run: () => new MultiheadAttention(10, 3), throws: ShapeError, op: 'MultiheadAttention', says: ['10', '3'] },
  { name: 'MultiheadAttention dropout 2', run: () => new MultiheadAttention(8, 2, { dropout: 2 }), throws: DLError, op: 'MultiheadAttention', says: ['dropout', '2'] },
  { name: 'GELU unknown approximation', run: () => new GELU('fast' as never), throws: DLError, op: 'GELU', says: ["'fast'"] },
  { name: 'Upsample with size and scaleFactor', run: () => new Upsample({ size: 4, scaleFactor: 2 }), throws: DLError, op: 'Upsample', says: ['size', 'scaleFactor'] },
  { name: 'Upsample scaleFactor 0', run: () => new Upsample({ scaleFactor: 0 }), throws: ShapeError, op: 'Upsample', says: ['scaleFactor'] },
  { name: 'Upsample bicubic', run: () => new Upsample({ scaleFactor: 2, mode: 'bicubic' as never }), throws: DLError, op: 'Upsample', says: ["'bicubic'"] },
  { name: 'Embedding paddingIdx -1 is the last row', run: () => new Embedding(10, 4, { paddingIdx: -1 }).paddingIdx, passes: (v) => void (v === 9 || fail(`paddingIdx ${String(v)}`)) },
];

const x4 = (): Tensor => zeros([2, 3, 5, 5]);
const forwards: SweepCase[] = [
  { name: 'Linear wrong last dim', run: () => new Linear(4, 2).forward(zeros([3, 5])), throws: ShapeError, op: 'Linear', says: ['[...,4]', '[3,5]'] },
  { name: 'Linear int input', run: () => new Linear(4, 2).forward(i32([1, 2, 3, 4])), throws: DTypeError, op: 'Linear', says: ['int32', '[4]'] },
  { name: 'Linear 0-d input', run: () => new Linear(1, 2).forward(zeros([])), throws: ShapeError, op: 'Linear', says: ['[]'] },
  { name: 'Linear input on another device', run: () => new Linear(4, 2).forward(zeros([1, 4], { device: 'cpu2' })), throws: DeviceError, op: 'matmul', says: ['Linear', 'cpu2'] },
  { name: 'Conv2d wrong channels', run: () => new Conv2d(4, 8, 3).forward(x4()), throws: ShapeError, op: 'Conv2d', says: ['[N,4,H,W]', '[2,3,5,5]'] },
  { name: 'Conv2d 5-D input', run: () => new Conv2d(3, 8, 3).forward(zeros([1, 2, 3, 5, 5])), throws: ShapeError, op: 'Conv2d', says: ['[1,2,3,5,5]'] },
  { name: 'Conv2d input smaller than the kernel', run: () => new Conv2d(3, 8, 7).forward(x4()), throws: ShapeError, op: 'conv2d', says: ['Conv2d', '[2,3,5,5]'] },
  { name: 'Conv2d int input', run: () => new Conv2d(3, 8, 3).forward(zeros([1, 3, 5, 5], { dtype: 'int32' })), throws: DTypeError, op: 'conv2d', says: ['Conv2d', 'int32'] },
  { name: 'Conv1d 4-D input', run: () => new Conv1d(3, 8, 3).forward(x4()), throws: ShapeError, op: 'Conv1d', says: ['[2,3,5,5]'] },
  { name: 'ConvTranspose2d wrong channels', run: () => new ConvTranspose2d(4, 8, 3).forward(x4()), throws: ShapeError, op: 'ConvTranspose2d', says: ['[2,3,5,5]'] },
  { name: 'ConvTranspose2d outputPadding not below stride', run: () => new ConvTranspose2d(3, 8, 3, { outputPadding: 1 }).forward(x4()), throws: ShapeError, op: 'ConvTranspose2d', says: ['outputPadding', '[1,1]'] },
  { name: 'MaxPool2d 2-D input', run: () => new MaxPool2d(2).forward(zeros([4, 4])), throws: ShapeError, op: 'MaxPool2d', says: ['[4,4]'] },
  { name: 'BatchNorm2d wrong channels', run: () => new BatchNorm2d(4).forward(x4()), throws: ShapeError, op: 'BatchNorm2d', says: ['[N,4,H,W]', '[2,3,5,5]'] },
  { name: 'BatchNorm1d one value per channel in training', run: () => new BatchNorm1d(3).forward(zeros([1, 3])), throws: ShapeError, op: 'BatchNorm1d', says: ['[1,3]'] },
  { name: 'BatchNorm2d int input', run: () => new BatchNorm2d(3).forward(zeros([2, 3, 2, 2], { dtype: 'int32' })), throws: DTypeError, op: 'BatchNorm2d', says: ['int32'] },
  { name: 'LayerNorm wrong last dim', run: () => new LayerNorm(4).forward(zeros([2, 5])), throws: ShapeError, op: 'LayerNorm', says: ['[...,4]', '[2,5]'] },
  { name: 'RMSNorm int input', run: () => new RMSNorm(2).forward(i32([1, 2])), throws: DTypeError, op: 'RMSNorm', says: ['int32'] },
  { name: 'GroupNorm wrong channels', run: () => new GroupNorm(2, 4).forward(zeros([2, 3, 5])), throws: ShapeError, op: 'GroupNorm', says: ['[2,3,5]'] },
  { name: 'Embedding float indices', run: () => new Embedding(10, 4).forward(f32([1])), throws: DTypeError, op: 'Embedding', says: ['float32'] },
  { name: 'Embedding index past the table', run: () => new Embedding(10, 4).forward(i32([2, 10])), throws: IndexError, op: 'Embedding', says: ['10', '[0, 10)'] },
  { name: 'Embedding index -1', run: () => new Embedding(10, 4).forward(i32([-1])), throws: IndexError, op: 'Embedding', says: ['-1'] },
  { name: 'MultiheadAttention query of another width', run: () => new MultiheadAttention(8, 2).forward(zeros([1, 3, 6]), zeros([1, 3, 8]), zeros([1, 3, 8])), throws: ShapeError, op: 'MultiheadAttention', says: ['query', '[1,3,6]'] },
  { name: 'MultiheadAttention key batch mismatch', run: () => new MultiheadAttention(8, 2).forward(zeros([1, 3, 8]), zeros([2, 3, 8]), zeros([2, 3, 8])), throws: ShapeError, op: 'MultiheadAttention', says: ['key', '[2,3,8]'] },
  { name: 'MultiheadAttention mask of the wrong shape', run: () => new MultiheadAttention(8, 2).forward(zeros([1, 3, 8]), zeros([1, 4, 8]), zeros([1, 4, 8]), { attnMask: zeros([3, 3], { dtype: 'bool' }) }), throws: ShapeError, op: 'MultiheadAttention', says: ['attnMask', '[3,3]'] },
  { name: 'a layer inside Sequential names its path', run: () => new Sequential(new Linear(4, 3), new Linear(4, 2)).forward(zeros([1, 4])), throws: ShapeError, op: '1 (Linear)', says: ['[1,3]'] },
  { name: 'Softmax layer dim out of range', run: () => new Softmax(3).forward(zeros([2, 2])), throws: IndexError, op: 'softmax', says: ['Softmax', '3'] },
  { name: 'Flatten with start after end', run: () => new Flatten(2, 1).forward(zeros([2, 3, 4])), throws: IndexError, op: 'flatten', says: ['Flatten'] },
  { name: 'Upsample 3-D input', run: () => new Upsample({ scaleFactor: 2 }).forward(zeros([1, 2, 2])), throws: ShapeError, op: 'Upsample', says: ['[1,2,2]'] },
  { name: 'Sequential.at out of range', run: () => new Sequential(new Linear(1, 1)).at(1), throws: IndexError, op: 'Sequential.at', says: ['1'] },
  { name: 'Sequential of a non-module', run: () => new Sequential(new Linear(1, 1), (() => 0) as never), throws: DLError, op: 'Sequential', says: ['1'] },
  { name: 'ModuleList.at out of range', run: () => new ModuleList([new Linear(1, 1)]).at(-2), throws: IndexError, op: 'ModuleList.at', says: ['-2'] },
  { name: 'ModuleDict.get of a missing key', run: () => new ModuleDict({ a: new Linear(1, 1) }).get('b'), throws: DLError, op: 'ModuleDict', says: ["'b'", 'a'] },
  { name: 'TensorDataset.getBatch with -1', run: () => new TensorDataset(zeros([3])).getBatch([0, -1]), throws: IndexError, op: 'TensorDataset.getBatch', says: ['-1', 'position 1'] },
  { name: 'Embedding of an empty index', run: () => new Embedding(4, 2).forward(i32([])), passes: { shape: [0, 2], values: [] } },
  { name: 'empty Sequential returns its input', run: () => new Sequential().forward(f32([1, 2])), passes: { shape: [2], values: [1, 2] } },
  { name: 'Linear on an empty batch', run: () => new Linear(3, 2).forward(zeros([0, 3])), passes: { shape: [0, 2], values: [] } },
  { name: 'Conv2d on an empty batch', run: () => new Conv2d(1, 2, 3).forward(zeros([0, 1, 5, 5])), passes: { shape: [0, 2, 3, 3], values: [] } },
  { name: 'MaxPool2d of a 3-D [C,H,W] input (as PyTorch)', run: () => new MaxPool2d(2).forward(tensor(Float32Array.from({ length: 16 }, (_, i) => i), { shape: [1, 4, 4] })), passes: { shape: [1, 2, 2], values: [5, 7, 13, 15] } },
  { name: 'Dropout p = 1 zeroes everything', run: () => new Dropout(1).forward(ones([3])), passes: { shape: [3], values: [0, 0, 0] } },
  { name: 'Dropout in eval passes NaN through', run: () => new Dropout(0.5).eval().forward(f32([NaN, 1])), passes: { shape: [2], values: [NaN, 1] } },
];

const losses: SweepCase[] = [
  { name: 'mseLoss shape mismatch', run: () => mseLoss(zeros([2, 3]), zeros([3])), throws: ShapeError, op: 'mseLoss', says: ['[2,3]', '[3]'] },
  { name: 'mseLoss int input', run: () => mseLoss(i32([1]), f32([1])), throws: DTypeError, op: 'mseLoss', says: ['int32'] },
  { name: 'mseLoss unknown reduction', run: () => mseLoss(zeros([2]), zeros([2]), { reduction: 'avg' as never }), throws: DLError, op: 'mseLoss', says: ["'avg'"] },
  { name: 'mseLoss across devices', run: () => mseLoss(zeros([2]), zeros([2], { device: 'cpu2' })), throws: DeviceError, op: 'mseLoss', says: ['cpu2', 'target'] },
  { name: 'l1Loss shape mismatch', run: () => l1Loss(zeros([2]), zeros([3])), throws: ShapeError, op: 'l1Loss', says: ['[2]', '[3]'] },
  { name: 'smoothL1Loss negative beta', run: () => smoothL1Loss(zeros([2]), zeros([2]), { beta: -1 }), throws: DLError, op: 'smoothL1Loss', says: ['beta', '-1'] },
  { name: 'crossEntropy target equal to C', run: () => crossEntropy(zeros([2, 3]), i32([0, 3])), throws: IndexError, op: 'crossEntropy', says: ['3'] },
  { name: 'crossEntropy target -1', run: () => crossEntropy(zeros([2, 3]), i32([0, -1])), throws: IndexError, op: 'crossEntropy', says: ['-1'] },
  { name: 'crossEntropy target of the wrong shape', run: () => crossEntropy(zeros([2, 3]), i32([0, 1, 2])), throws: ShapeError, op: 'crossEntropy', says: ['[3]', '[2,3]'] },
  { name: 'crossEntropy float target of the wrong shape', run: () => crossEntropy(zeros([2, 3]), f32([0, 1])), throws: ShapeError, op: 'crossEntropy', says: ['[2]', '[2,3]'] },
  { name: 'crossEntropy weight of the wrong size', run: () => crossEntropy(zeros([2, 3]), i32([0, 1]), { weight: ones([2]) }), throws: ShapeError, op: 'crossEntropy', says: ['weight', '[2]'] },
  { name: 'crossEntropy labelSmoothing 1.5', run: () => crossEntropy(zeros([2, 3]), i32([0, 1]), { labelSmoothing: 1.5 }), throws: DLError, op: 'crossEntropy', says: ['labelSmoothing', '1.5'] },
  { name: 'crossEntropy int input', run: () => crossEntropy(i32([0, 1, 2, 3, 4, 5], [2, 3]), i32([0, 1])), throws: DTypeError, op: 'crossEntropy', says: ['int32'] },
  { name: 'crossEntropy 0-d input', run: () => crossEntropy(zeros([]), i32([0])), throws: ShapeError, op: 'crossEntropy', says: ['[]'] },
  { name: 'nllLoss target out of range', run: () => nllLoss(zeros([1, 2]), i32([5])), throws: IndexError, op: 'nllLoss', says: ['5'] },
  { name: 'binaryCrossEntropy input above 1', run: () => binaryCrossEntropy(f32([0.5, 1.5]), f32([0, 1])), throws: DLError, op: 'binaryCrossEntropy', says: ['1.5'] },
  { name: 'binaryCrossEntropy shape mismatch', run: () => binaryCrossEntropy(f32([0.5]), f32([0, 1])), throws: ShapeError, op: 'binaryCrossEntropy', says: ['[1]', '[2]'] },
  { name: 'bceWithLogits posWeight that widens the input', run: () => bceWithLogits(zeros([2]), zeros([2]), { posWeight: ones([3]) }), throws: ShapeError, op: 'bceWithLogits', says: ['posWeight', '[3]'] },
  { name: 'klDivergence shape mismatch', run: () => klDivergence(zeros([2]), zeros([3])), throws: ShapeError, op: 'klDivergence', says: ['[2]', '[3]'] },
  { name: 'accuracy target of the wrong shape', run: () => accuracy(zeros([2, 3]), i32([0, 1, 2])), throws: ShapeError, op: 'accuracy', says: ['[3]', '[2,3]'] },
  { name: 'normalize with too few means', run: () => normalize([0.5], [0.5, 0.5])(zeros([1, 2, 2, 2])), throws: ShapeError, op: 'normalize', says: ['2'] },
  { name: 'crossEntropy with every target ignored is NaN', run: () => crossEntropy(zeros([2, 3]), i32([-100, -100])), passes: { shape: [], values: [NaN] } },
  { name: 'crossEntropy of an empty batch is NaN (sum: 0)', run: () => [crossEntropy(zeros([0, 3]), i32([])), crossEntropy(zeros([0, 3]), i32([]), { reduction: 'sum' })], passes: (r) => checkValues(r as Tensor[], [NaN, 0]) },
  { name: 'mseLoss of empty tensors is NaN (sum: 0)', run: () => [mseLoss(zeros([0]), zeros([0])), mseLoss(zeros([0]), zeros([0]), { reduction: 'sum' })], passes: (r) => checkValues(r as Tensor[], [NaN, 0]) },
  { name: 'crossEntropy with a -inf logit off target', run: () => crossEntropy(f32([-Infinity, 0, 1], [1, 3]), i32([2])), passes: { shape: [], values: [0.31326169], tol: 1e-6 } },
  { name: 'crossEntropy with probabilities as target', run: () => crossEntropy(f32([1, 2, 3], [1, 3]), f32([0.2, 0.3, 0.5], [1, 3])), passes: { shape: [], values: [1.10760596], tol: 1e-6 } },
  { name: 'crossEntropy of an unbatched input', run: () => crossEntropy(f32([1, 2, 3]), i32([2]).reshape([])), passes: { shape: [], values: [0.40760596], tol: 1e-6 } },
  { name: 'binaryCrossEntropy at p = 0 and 1 clamps the log at -100', run: () => binaryCrossEntropy(f32([0, 0, 1]), f32([0, 1, 1]), { reduction: 'none' }), passes: { shape: [3], values: [0, 100, 0] } },
  { name: 'bceWithLogits at +-100 is exact', run: () => bceWithLogits(f32([100, -100]), f32([0, 1]), { reduction: 'none' }), passes: { shape: [2], values: [100, 100], tol: 1e-6 } },
  { name: 'smoothL1Loss with beta 0 is l1', run: () => smoothL1Loss(f32([0, 3]), f32([0.5, 0]), { beta: 0 }), passes: { shape: [], values: [1.75] } },
  { name: 'l1Loss of inf - inf is NaN', run: () => l1Loss(f32([Infinity]), f32([Infinity])), passes: { shape: [], values: [NaN] } },
];

async function checkValues(ts: Tensor[], want: number[]): Promise<void> {
  const got = await Promise.all(ts.map(async (t) => (await t.data())[0]));
  if (got.some((g, i) => !(Object.is(g, want[i]) || g === want[i]))) fail(`values [${got.join(', ')}], expected [${want.join(', ')}]`);
}

const optimizers: SweepCase[] = [
  { name: 'SGD with no parameters', run: () => new SGD([], { lr: 0.1 }), throws: DLError, op: 'SGD', says: ['empty'] },
  { name: 'SGD negative lr', run: () => new SGD(params(), { lr: -1 }), throws: DLError, op: 'SGD', says: ['lr', '-1'] },
  { name: 'SGD NaN lr', run: () => new SGD(params(), { lr: NaN }), throws: DLError, op: 'SGD', says: ['lr', 'NaN'] },
  { name: 'SGD without lr', run: () => new SGD(params(), {} as never), throws: DLError, op: 'SGD', says: ['lr'] },
  { name: 'SGD negative momentum', run: () => new SGD(params(), { lr: 0.1, momentum: -0.5 }), throws: DLError, op: 'SGD', says: ['momentum', '-0.5'] },
  { name: 'SGD nesterov without momentum', run: () => new SGD(params(), { lr: 0.1, nesterov: true }), throws: DLError, op: 'SGD', says: ['nesterov'] },
  { name: 'Adam with no parameters', run: () => new Adam([]), throws: DLError, op: 'Adam', says: ['empty'] },
  { name: 'Adam betas[0] 1.5', run: () => new Adam(params(), { betas: [1.5, 0.999] }), throws: DLError, op: 'Adam', says: ['betas[0]', '1.5'] },
  { name: 'Adam one beta', run: () => new Adam(params(), { betas: [0.9] as never }), throws: DLError, op: 'Adam', says: ['betas'] },
  { name: 'Adam negative eps', run: () => new Adam(params(), { eps: -1 }), throws: DLError, op: 'Adam', says: ['eps', '-1'] },
  { name: 'Adam negative weightDecay', run: () => new Adam(params(), { weightDecay: -1 }), throws: DLError, op: 'Adam', says: ['weightDecay'] },
  { name: 'AdamW infinite lr', run: () => new AdamW(params(), { lr: Infinity }), throws: DLError, op: 'AdamW', says: ['lr', 'Infinity'] },
  { name: 'RMSprop negative alpha', run: () => new RMSprop(params(), { alpha: -1 }), throws: DLError, op: 'RMSprop', says: ['alpha', '-1'] },
  { name: 'Adam of a computed (non-leaf) tensor', run: () => { const p = param(zeros([2])); return new Adam([p.mul(2)]); }, throws: DLError, op: 'Adam', says: ['leaf'] },
  { name: 'a parameter in two groups', run: () => { const p = param(zeros([2])); return new Adam([{ params: [p] }, { params: [p] }]); }, throws: DLError, op: 'Adam', says: ['more than one group'] },
  { name: 'clipGradNorm normType 0', run: () => clipGradNorm(params(), 1, 0), throws: DLError, op: 'clipGradNorm', says: ['normType', '0'] },
  { name: 'clipGradNorm negative maxNorm', run: () => clipGradNorm(params(), -1), throws: DLError, op: 'clipGradNorm', says: ['maxNorm', '-1'] },
  { name: 'clipGradNorm with no gradients', run: () => clipGradNorm(params(), 1), throws: DLError, op: 'clipGradNorm', says: ['gradient'] },
  { name: 'optimizer state with another group count', run: () => sgd().loadStateDict({ state: {}, paramGroups: [] } as never), throws: DLError, op: 'SGD.loadStateDict', says: ['0', '1'] },
  { name: 'StepLR stepSize 0', run: () => new StepLR(sgd(), { stepSize: 0 }), throws: DLError, op: 'StepLR', says: ['stepSize', '0'] },
  { name: 'StepLR negative gamma', run: () => new StepLR(sgd(), { stepSize: 1, gamma: -1 }), throws: DLError, op: 'StepLR', says: ['gamma', '-1'] },
  { name: 'LinearWarmup negative warmupSteps', run: () => new LinearWarmup(sgd(), { warmupSteps: -1 }), throws: DLError, op: 'LinearWarmup', says: ['warmupSteps', '-1'] },
  { name: 'LinearWarmup startFactor 0', run: () => new LinearWarmup(sgd(), { warmupSteps: 1, startFactor: 0 }), throws: DLError, op: 'LinearWarmup', says: ['startFactor', '0'] },
  { name: 'CosineWithWarmup warmup past the end', run: () => new CosineWithWarmup(sgd(), { warmupSteps: 10, totalSteps: 5 }), throws: DLError, op: 'CosineWithWarmup', says: ['warmupSteps=10', 'totalSteps=5'] },
  { name: 'ReduceLROnPlateau unknown mode', run: () => new ReduceLROnPlateau(sgd(), { mode: 'avg' as never }), throws: DLError, op: 'ReduceLROnPlateau', says: ['mode', "'avg'"] },
  { name: 'ReduceLROnPlateau factor 1', run: () => new ReduceLROnPlateau(sgd(), { factor: 1 }), throws: DLError, op: 'ReduceLROnPlateau', says: ['factor', '1'] },
  { name: 'ReduceLROnPlateau step with a string', run: () => new ReduceLROnPlateau(sgd()).step('0.5' as never), throws: DLError, op: 'ReduceLROnPlateau.step', says: ["'0.5'"] },
  { name: 'SGD with lr 0 leaves the parameter', run: () => { const p = param(f32([1, 2])); p.grad = ones([2]); new SGD([p], { lr: 0 }).step(); return p; }, passes: { shape: [2], values: [1, 2] } },
  { name: 'ReduceLROnPlateau never counts NaN as better', run: () => { const o = sgd(); const r = new ReduceLROnPlateau(o, { patience: 0 }); r.step(1); r.step(NaN); return o.paramGroups[0].lr; }, passes: (lr) => void (Math.abs((lr as number) - 0.01) < 1e-12 || fail(`lr ${String(lr)}, expected 0.01`)) },
];

const dataCases: SweepCase[] = [
  { name: 'TensorDataset of nothing', run: () => new TensorDataset(), throws: DLError, op: 'TensorDataset', says: ['at least one'] },
  { name: 'TensorDataset of different lengths', run: () => new TensorDataset(zeros([3]), zeros([4])), throws: ShapeError, op: 'TensorDataset', says: ['[3]', '[4]'] },
  { name: 'TensorDataset of a 0-d tensor', run: () => new TensorDataset(zeros([])), throws: ShapeError, op: 'TensorDataset', says: ['[]'] },
  { name: 'TensorDataset of a non-tensor', run: () => new TensorDataset([1, 2] as never), throws: DLError, op: 'TensorDataset', says: ['argument 0'] },
  { name: 'TensorDataset.get past the end', run: () => new TensorDataset(zeros([3])).get(3), throws: IndexError, op: 'TensorDataset.get', says: ['3'] },
  { name: 'TensorDataset.get(1.5)', run: () => new TensorDataset(zeros([3])).get(1.5), throws: IndexError, op: 'TensorDataset.get', says: ['1.5'] },
  { name: 'DataLoader batchSize 0', run: () => new DataLoader(new TensorDataset(zeros([3])), { batchSize: 0 }), throws: DLError, op: 'DataLoader', says: ['batchSize', '0'] },
  { name: 'DataLoader batchSize 1.5', run: () => new DataLoader(new TensorDataset(zeros([3])), { batchSize: 1.5 }), throws: DLError, op: 'DataLoader', says: ['1.5'] },
  { name: "DataLoader shuffle 'yes'", run: () => new DataLoader(new TensorDataset(zeros([3])), { shuffle: 'yes' as never }), throws: DLError, op: 'DataLoader', says: ['shuffle'] },
  { name: 'DataLoader seed and generator', run: () => new DataLoader(new TensorDataset(zeros([3])), { seed: 1, generator: new Generator(1) }), throws: DLError, op: 'DataLoader', says: ['seed', 'generator'] },
  { name: 'DataLoader negative seed', run: () => new DataLoader(new TensorDataset(zeros([3])), { seed: -1 }), throws: DLError, op: 'DataLoader', says: ['seed', '-1'] },
  { name: 'DataLoader of null', run: () => new DataLoader(null as never), throws: DLError, op: 'DataLoader', says: ['null'] },
  { name: 'defaultCollate of no examples', run: () => defaultCollate([]), throws: DLError, op: 'defaultCollate', says: ['no examples'] },
  { name: 'DataLoader over an empty dataset yields no batch', run: () => [...new DataLoader(new TensorDataset(zeros([0, 2])), { batchSize: 2 })].length, passes: (n) => void (n === 0 || fail(`${String(n)} batches`)) },
  { name: 'DataLoader dropLast with a batch larger than the data', run: () => [...new DataLoader(new TensorDataset(zeros([3])), { batchSize: 4, dropLast: true })].length, passes: (n) => void (n === 0 || fail(`${String(n)} batches`)) },
  { name: 'DataLoader keeps the last short batch', run: () => [...new DataLoader(new TensorDataset(f32([1, 2, 3])), { batchSize: 2 })].map((b) => b[0].shape[0]).join(), passes: (s) => void (s === '2,1' || fail(`batch sizes ${String(s)}`)) },
];

/** A safetensors file with a hand-written header and `dataLen` zero bytes of data. */
function craft(header: unknown, dataLen: number, lengthOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataLen);
  new DataView(out.buffer).setUint32(0, lengthOverride ?? h.length, true);
  out.set(h, 8);
  return out;
}
const entry = (dtype: string, shape: number[], a: number, b: number): unknown => ({ dtype, shape, data_offsets: [a, b] });
const stError = SafetensorsError;

const files: SweepCase[] = [
  { name: 'safetensors shorter than the length field', run: () => parseSafetensors(new Uint8Array(4)), throws: stError, op: 'safetensors', says: ['4 bytes'] },
  { name: 'safetensors header past the end', run: () => parseSafetensors(craft({}, 0, 100)), throws: stError, op: 'safetensors', says: ['100'] },
  { name: 'safetensors huge header length', run: () => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(4, 1, true); return parseSafetensors(b); }, throws: stError, op: 'safetensors', says: ['4294967296'] },
  { name: 'safetensors header that is not JSON', run: () => parseSafetensors(craft('{nope', 0)), throws: stError, op: 'safetensors', says: ['JSON'] },
  { name: 'safetensors header that is a JSON array', run: () => parseSafetensors(craft('[1]', 0)), throws: stError, op: 'safetensors', says: ['object'] },
  { name: 'safetensors unknown dtype', run: () => parseSafetensors(craft({ a: entry('F128', [1], 0, 16) }, 16)), throws: stError, op: 'safetensors', says: ['F128', "'a'"] },
  { name: 'safetensors negative dim', run: () => parseSafetensors(craft({ a: entry('F32', [-1], 0, 4) }, 4)), throws: stError, op: 'safetensors', says: ["'a'", '[-1]'] },
  { name: 'safetensors overlapping entries', run: () => parseSafetensors(craft({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }, 12)), throws: stError, op: 'safetensors', says: ["'a'", "'b'", 'overlap'] },
  { name: 'safetensors entry past the data', run: () => parseSafetensors(craft({ a: entry('F32', [2], 0, 8) }, 4)), throws: stError, op: 'safetensors', says: ["'a'", '8', '4'] },
  { name: 'safetensors offsets of the wrong size', run: () => parseSafetensors(craft({ a: entry('F32', [3], 0, 8) }, 8)), throws: stError, op: 'safetensors', says: ["'a'", '12', '8'] },
  { name: 'safetensors reversed offsets', run: () => parseSafetensors(craft({ a: entry('F32', [0], 8, 0) }, 8)), throws: stError, op: 'safetensors', says: ["'a'", '[8,0]'] },
  { name: 'safetensors non-string metadata', run: () => parseSafetensors(craft({ __metadata__: { epoch: 3 } }, 0)), throws: stError, op: 'safetensors', says: ['__metadata__'] },
  { name: 'safetensors I64 outside int32', run: () => { const b = craft({ a: entry('I64', [1], 0, 8) }, 8); b[b.length - 1] = 1; return parseSafetensors(b); }, throws: stError, op: 'safetensors', says: ["'a'", 'int32'] },
  { name: 'safetensors a huge shape of zero elements is empty', run: () => parseSafetensors(craft({ a: entry('F32', [0, 2 ** 40], 0, 0) }, 0)).tensors.a, passes: { shape: [0, 2 ** 40], values: [] } },
  { name: 'serializeSafetensors of a tensor named __metadata__', run: () => serializeSafetensors({ __metadata__: zeros([1]) }), throws: stError, op: 'safetensors', says: ['__metadata__'] },
  { name: 'safetensors round trip of empty and 0-d tensors', run: async () => { const t = parseSafetensors(await serializeSafetensors({ e: zeros([0, 3]), s: f32([7]).reshape([]) })).tensors; return [t.e.shape.join(), t.s.shape.length, t.s.item()].join('|'); }, passes: (s) => void (s === '0,3|0|7' || fail(String(s))) },
  { name: 'loadStateDict with a missing key', run: () => new Linear(2, 2).loadStateDict({ weight: zeros([2, 2]) }), throws: StateDictError, op: 'loadStateDict (Linear)', says: ['missing', 'bias'] },
  { name: 'loadStateDict with an unexpected key', run: () => new Linear(2, 2, { bias: false }).loadStateDict({ weight: zeros([2, 2]), extra: zeros([1]) }), throws: StateDictError, op: 'loadStateDict (Linear)', says: ['unexpected', 'extra'] },
  { name: 'loadStateDict with a wrong shape', run: () => new Linear(2, 2, { bias: false }).loadStateDict({ weight: zeros([2, 3]) }), throws: StateDictError, op: 'loadStateDict (Linear)', says: ['weight', '[2,2]', '[2,3]'] },
  { name: 'loadStateDict of the same size in another shape', run: () => new Linear(2, 2, { bias: false }).loadStateDict({ weight: zeros([4]) }), throws: StateDictError, op: 'loadStateDict (Linear)', says: ['[2,2]', '[4]'] },
  { name: 'loadStateDict converts int32 values to the float parameter', run: () => { const l = new Linear(1, 1, { bias: false }); l.loadStateDict({ weight: i32([3], [1, 1]) }); return l.weight; }, passes: { shape: [1, 1], dtype: 'float32', values: [3] } },
  { name: 'checkpoint of SGD restored into Adam', run: async () => { const m = new Linear(2, 2); const b = await serializeCheckpoint({ model: m, optimizer: new SGD(m.parameters(), { lr: 0.1 }), step: 1 }); return restoreCheckpoint(b, { model: m, optimizer: new Adam(m.parameters()) }); }, throws: DLError, op: 'loadCheckpoint', says: ['SGD', 'Adam'] },
  { name: 'checkpoint without optimizer state restored with one', run: async () => { const m = new Linear(2, 2); const b = await serializeCheckpoint({ model: m, step: 1 }); return restoreCheckpoint(b, { model: m, optimizer: new Adam(m.parameters()) }); }, throws: DLError, op: 'loadCheckpoint', says: ['no optimizer state'] },
  { name: 'plain safetensors restored as a checkpoint', run: async () => restoreCheckpoint(await serializeSafetensors({ a: zeros([1]) }), { model: new Linear(1, 1) }), throws: DLError, op: 'loadCheckpoint', says: ['not a @dl checkpoint'] },
  { name: 'checkpoint of another model', run: async () => restoreCheckpoint(await serializeCheckpoint({ model: new Linear(2, 2), step: 1 }), { model: new Linear(3, 2) }), throws: StateDictError, op: 'loadStateDict (Linear)', says: ['weight', '[2,3]', '[2,2]'] },
];

runSweep({ describe, it }, 'sweep: layer constructors', constructors);
runSweep({ describe, it }, 'sweep: layer forwards', forwards);
runSweep({ describe, it }, 'sweep: losses and metrics', losses);
runSweep({ describe, it }, 'sweep: optimizers and schedules', optimizers);
runSweep({ describe, it }, 'sweep: datasets and loaders', dataCases);
runSweep({ describe, it }, 'sweep: safetensors, state dicts and checkpoints', files);
