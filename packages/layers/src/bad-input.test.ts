// Bad arguments and inputs to layers, losses, schedulers, data loading and gradient clipping throw
// typed errors naming the layer path (or function), the argument and every shape; none computes
// something else silently.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceError, DLError, DTypeError, IndexError, ShapeError, cpuBackend, ones, registerBackend, tensor, zeros, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { ELU, GELU, LeakyReLU, ReLU, Softmax } from './activation.js';
import { ModuleDict, ModuleList, Sequential } from './container.js';
import { DataLoader, TensorDataset, defaultCollate, type Dataset } from './data.js';
import { Linear } from './linear.js';
import { binaryCrossEntropy, bceWithLogits, crossEntropy, klDivergence, l1Loss, mseLoss, nllLoss, smoothL1Loss } from './loss.js';
import { Module, param } from './module.js';
import { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm } from './norm.js';
import { clipGradNorm } from './optim/clip.js';
import { SGD } from './optim/sgd.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample } from './pool.js';
import * as init from './init.js';
import { EMA, correctCount } from './metrics.js';
import { Categorical, Normal } from './distributions.js';
import { normalize, randomCrop, randomHorizontalFlip } from './transforms.js';
import { SafetensorsError, loadSafetensors } from './safetensors.js';
import { loadCheckpoint } from './checkpoint.js';
import { CosineWithWarmup, LinearWarmup, ReduceLROnPlateau, StepLR } from './schedule.js';

/** The error of class `cls` that `f` throws, its message checked against `message`. */
function throws<E extends Error>(f: () => unknown, cls: abstract new (...a: never[]) => E, message: RegExp | string): E {
  try {
    f();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(cls);
    if (typeof message === 'string') expect((e as Error).message).toBe(message);
    else expect((e as Error).message).toMatch(message);
    return e as E;
  }
  throw new Error(`expected a ${cls.name} matching ${message}, nothing was thrown`);
}

/** `layer` as the field `layer` of a model: errors inside it are named `layer (<Class>)`. */
class Root extends Module {
  constructor(readonly layer: Module & { forward(x: Tensor): Tensor }) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.layer.forward(x);
  }
}
const run = (layer: Module & { forward(x: Tensor): Tensor }, x: Tensor) => () => new Root(layer).forward(x);
const int = (shape: number[]) => zeros(shape, { dtype: 'int32' });
const sgd = () => new SGD([param(zeros([1]))], { lr: 1 });

beforeAll(() => registerBackend({ ...cpuBackend, name: 'cpu-b' }));

describe('normalisation layers', () => {
  it('sizes, eps and momentum are checked at construction', () => {
    throws(() => new BatchNorm1d(0), ShapeError, 'BatchNorm1d: numFeatures must be a positive integer, got 0');
    throws(() => new BatchNorm2d(2.5), ShapeError, 'BatchNorm2d: numFeatures must be a positive integer, got 2.5');
    throws(() => new BatchNorm2d(-3), ShapeError, /^BatchNorm2d: numFeatures .* got -3$/);
    throws(() => new BatchNorm2d(3, { eps: -1 }), DLError, 'BatchNorm2d: eps must be a finite number >= 0, got -1');
    throws(() => new BatchNorm2d(3, { momentum: 2 }), DLError, 'BatchNorm2d: momentum must be in [0, 1] or null, got 2');
    throws(() => new BatchNorm1d(3, { momentum: NaN }), DLError, /^BatchNorm1d: momentum .* got NaN$/);
    throws(() => new LayerNorm(0), ShapeError, 'LayerNorm: normalizedShape must be positive integers, got [0]');
    throws(() => new LayerNorm([4, -1]), ShapeError, 'LayerNorm: normalizedShape must be positive integers, got [4,-1]');
    throws(() => new LayerNorm([]), ShapeError, /^LayerNorm: normalizedShape must be positive integers, got \[\]$/);
    throws(() => new LayerNorm(4, { eps: NaN }), DLError, /^LayerNorm: eps .* got NaN$/);
    throws(() => new RMSNorm(0), ShapeError, 'RMSNorm: normalizedShape must be positive integers, got [0]');
    throws(() => new RMSNorm(4, { eps: -1e-6 }), DLError, /^RMSNorm: eps/);
    throws(() => new GroupNorm(0, 4), ShapeError, 'GroupNorm: numGroups must be a positive integer, got 0');
    throws(() => new GroupNorm(-2, 4), ShapeError, /^GroupNorm: numGroups .* got -2$/);
    throws(() => new GroupNorm(2, 0), ShapeError, 'GroupNorm: numChannels must be a positive integer, got 0');
    throws(() => new GroupNorm(3, 4), ShapeError, 'GroupNorm: numChannels (4) must be divisible by numGroups (3)');
    throws(() => new GroupNorm(2, 4, { eps: -1 }), DLError, /^GroupNorm: eps/);
    expect(new BatchNorm1d(3, { momentum: null, eps: 0 }).momentum).toBeNull();
  });

  it('wrong rank, channels or dtype in forward name the layer path, the expected and the given shape', () => {
    throws(run(new BatchNorm1d(4), zeros([2, 3])), ShapeError, 'layer (BatchNorm1d): expected input [N,4], got [2,3]');
    throws(run(new BatchNorm2d(3), zeros([2, 3, 4])), ShapeError, 'layer (BatchNorm2d): expected input [N,3,H,W], got [2,3,4]');
    throws(run(new BatchNorm2d(3), int([2, 3, 4, 4])), DTypeError, 'layer (BatchNorm2d): expected a float input, got int32 [2,3,4,4]');
    throws(run(new BatchNorm1d(3).eval(), int([2, 3])), DTypeError, /^layer \(BatchNorm1d\): expected a float input, got int32 \[2,3\]$/);
    throws(run(new LayerNorm(4), zeros([2, 5])), ShapeError, 'layer (LayerNorm): expected input [...,4], got [2,5]');
    throws(run(new LayerNorm(4), int([2, 4])), DTypeError, /^layer \(LayerNorm\): .*int32 \[2,4\]/);
    throws(run(new RMSNorm(4), int([2, 4])), DTypeError, 'layer (RMSNorm): expected a float input, got int32 [2,4]');
    throws(run(new RMSNorm([2, 4]), zeros([2, 4, 2])), ShapeError, 'layer (RMSNorm): expected input [...,2,4], got [2,4,2]');
    throws(run(new GroupNorm(2, 4), zeros([4])), ShapeError, 'layer (GroupNorm): expected input [N,4,*], got [4]');
    throws(run(new GroupNorm(2, 4), int([2, 4, 3])), DTypeError, 'layer (GroupNorm): expected a float input, got int32 [2,4,3]');
  });

  it('an input on another device than the weights names the layer, its tensors and the input with devices', () => {
    const e = throws(run(new BatchNorm2d(3), zeros([2, 3, 4, 4], { device: 'cpu-b' })), DeviceError, /^layer \(BatchNorm2d\): /);
    expect(e.message).toContain('weight [3] on cpu');
    expect(e.message).toContain('running_mean [3] on cpu');
    expect(e.message).toContain('input [2,3,4,4] on cpu-b');
    throws(run(new GroupNorm(2, 4), zeros([2, 4, 3], { device: 'cpu-b' })), DeviceError, /^layer \(GroupNorm\): .*input \[2,4,3\] on cpu-b/);
  });
});

describe('pooling and resizing layers', () => {
  it('kernel size, stride, padding and dilation are checked at construction', () => {
    throws(() => new MaxPool2d(0), ShapeError, 'MaxPool2d: kernelSize must be positive integers, got 0');
    throws(() => new MaxPool2d([2, 1.5]), ShapeError, 'MaxPool2d: kernelSize must be positive integers, got [2,1.5]');
    throws(() => new MaxPool2d(2, { stride: 0 }), ShapeError, 'MaxPool2d: stride must be positive integers, got 0');
    throws(() => new MaxPool2d(2, { dilation: 0 }), ShapeError, /^MaxPool2d: dilation must be positive integers, got 0/);
    throws(() => new AvgPool2d(2, { padding: -1 }), ShapeError, 'AvgPool2d: padding must be non-negative integers, got -1');
    throws(() => new MaxPool2d(2, { padding: 2 }), ShapeError, 'MaxPool2d: padding [2,2] must be at most half of kernelSize [2,2]');
    throws(() => new AvgPool2d([4, 2], { padding: [2, 2] }), ShapeError, 'AvgPool2d: padding [2,2] must be at most half of kernelSize [4,2]');
    throws(() => new AdaptiveAvgPool2d(0), ShapeError, 'AdaptiveAvgPool2d: outputSize must be positive integers, got 0');
    throws(() => new AdaptiveAvgPool2d([2, -1]), ShapeError, /^AdaptiveAvgPool2d: outputSize .*\[2,-1\]/);
    expect(new MaxPool2d(3, { stride: 2, padding: 1 }).forward(zeros([1, 1, 5, 5])).shape).toEqual([1, 1, 3, 3]);
  });

  it('Upsample refuses scale factors and sizes that are not positive, unknown modes, alignCorners with nearest', () => {
    throws(() => new Upsample({ scaleFactor: 0 }), ShapeError, 'Upsample: scaleFactor must be positive finite numbers, got 0');
    throws(() => new Upsample({ scaleFactor: -1 }), ShapeError, /^Upsample: scaleFactor .* got -1$/);
    throws(() => new Upsample({ scaleFactor: [2, NaN] }), ShapeError, /^Upsample: scaleFactor .* got \[2,null\]$/);
    throws(() => new Upsample({ scaleFactor: Infinity }), ShapeError, /^Upsample: scaleFactor/);
    throws(() => new Upsample({ size: 0 }), ShapeError, 'Upsample: size must be positive integers, got 0');
    throws(() => new Upsample({ size: [4, 2.5] }), ShapeError, /^Upsample: size .*\[4,2.5\]$/);
    throws(() => new Upsample({ scaleFactor: 2, mode: 'bicubic' as 'nearest' }), DLError, "Upsample: mode must be 'nearest' or 'bilinear', got 'bicubic'");
    throws(() => new Upsample({ scaleFactor: 2, alignCorners: true }), DLError, /^Upsample: alignCorners only applies to mode 'bilinear'/);
    // an output of size 0 (PyTorch: "Input and output sizes should be greater than 0")
    throws(run(new Upsample({ scaleFactor: 0.1 }), zeros([1, 1, 4, 4])), ShapeError, 'layer (Upsample): output size [0,0] (scaleFactor 0.1 of input [1,1,4,4]) must be positive');
    throws(run(new Upsample({ scaleFactor: 2 }), zeros([1, 4, 4])), ShapeError, 'layer (Upsample): expected input [N,C,H,W], got [1,4,4]');
  });

  it('wrong rank or dtype in forward name the layer path', () => {
    throws(run(new MaxPool2d(2), zeros([4, 4])), ShapeError, 'layer (MaxPool2d): expected input [N,C,H,W] or [C,H,W], got [4,4]');
    expect(new MaxPool2d(2).forward(zeros([1, 4, 4])).shape).toEqual([1, 2, 2]); // one image, as PyTorch
    expect(new AvgPool2d(2).forward(zeros([3, 4, 4])).shape).toEqual([3, 2, 2]);
    throws(run(new AvgPool2d(2), int([1, 1, 4, 4])), DTypeError, /^layer \(AvgPool2d\): avgPool2d: .*int32 \[1,1,4,4\]/);
    throws(run(new AdaptiveAvgPool2d(1), zeros([4, 4])), ShapeError, /^layer \(AdaptiveAvgPool2d\): .*\[4,4\]/);
    throws(run(new MaxPool2d(5), zeros([1, 1, 4, 4])), ShapeError, /^layer \(MaxPool2d\): maxPool2d: .*\[1,1,4,4\]/);
  });
});

describe('activation layers', () => {
  it('arguments are checked at construction', () => {
    throws(() => new GELU('fast' as 'tanh'), DLError, "GELU: approximate must be 'none' or 'tanh', got 'fast'");
    throws(() => new LeakyReLU(NaN), DLError, 'LeakyReLU: negativeSlope must be a finite number, got NaN');
    throws(() => new ELU(Infinity), DLError, 'ELU: alpha must be a finite number, got Infinity');
    throws(() => new Softmax(1.5), IndexError, 'Softmax: dim must be an integer, got 1.5');
    throws(run(new Softmax(2), zeros([2, 3])), IndexError, /^layer \(Softmax\): softmax: dim 2 is out of range/);
  });
});

describe('containers', () => {
  it('hold only modules, naming the position or key of the offender', () => {
    throws(() => new Sequential(undefined as never), DLError, 'Sequential: module 0 is not a Module (got undefined)');
    throws(() => new Sequential(new ReLU(), (() => 1) as never), DLError, 'Sequential: module 1 is not a Module (got function)');
    throws(() => new Sequential({ a: new ReLU(), b: 5 as never }), DLError, "Sequential: module 'b' is not a Module (got number)");
    throws(() => new Sequential(new ReLU()).append({} as never), DLError, 'Sequential: module 1 is not a Module (got object)');
    throws(() => new ModuleList([new ReLU(), 1 as never]), DLError, 'ModuleList: module 1 is not a Module (got number)');
    throws(() => new ModuleList().push(null as never), DLError, 'ModuleList: module 0 is not a Module (got null)');
    throws(() => new ModuleDict({ a: 'relu' as never }), DLError, "ModuleDict: module 'a' is not a Module (got string)");
    throws(() => new ModuleDict().set('x', 2 as never), DLError, "ModuleDict: module 'x' is not a Module (got number)");
  });
});

describe('Linear', () => {
  it('an int input is a DTypeError naming the layer path (PyTorch refuses it), not a silent cast', () => {
    throws(run(new Linear(2, 3), int([1, 2])), DTypeError, 'layer (Linear): expected a float input, got int32 [1,2]');
  });
});

describe('losses', () => {
  it('input and target on different devices: DeviceError naming the loss, each argument, its device and shape', () => {
    throws(() => mseLoss(zeros([2]), zeros([2], { device: 'cpu-b' })), DeviceError, 'mseLoss: expected all arguments on one device, got input [2] on cpu, target [2] on cpu-b');
    throws(() => crossEntropy(zeros([4, 3]), int([4]).to('cpu-b')), DeviceError, 'crossEntropy: expected all arguments on one device, got input [4,3] on cpu, target [4] on cpu-b');
    throws(() => crossEntropy(zeros([4, 3]), int([4]), { weight: ones([3], { device: 'cpu-b' }) }), DeviceError, /^crossEntropy: .*weight \[3\] on cpu-b$/);
    throws(() => bceWithLogits(zeros([4, 2]), zeros([4, 2]), { posWeight: ones([2], { device: 'cpu-b' }) }), DeviceError, /^bceWithLogits: .*posWeight \[2\] on cpu-b$/);
    throws(() => klDivergence(zeros([2, 3], { device: 'cpu-b' }), zeros([2, 3])), DeviceError, /^klDivergence: .*input \[2,3\] on cpu-b, target \[2,3\] on cpu$/);
  });

  it('weights that do not broadcast to the input name both shapes', () => {
    throws(() => binaryCrossEntropy(zeros([4, 2]), zeros([4, 2]), { weight: ones([3]) }), ShapeError, 'binaryCrossEntropy: weight [3] must broadcast to input [4,2]');
    throws(() => bceWithLogits(zeros([4, 2]), zeros([4, 2]), { posWeight: ones([3]) }), ShapeError, 'bceWithLogits: posWeight [3] must broadcast to input [4,2]');
    throws(() => bceWithLogits(zeros([4, 2]), zeros([4, 2]), { weight: ones([4, 1, 1]) }), ShapeError, 'bceWithLogits: weight [4,1,1] must broadcast to input [4,2]');
  });

  it('a non-float input, a negative beta and probabilities outside [0, 1] are refused', () => {
    throws(() => mseLoss(int([2]), int([2])), DTypeError, 'mseLoss: input must be float, got int32 [2]');
    throws(() => l1Loss(int([2]), zeros([2])), DTypeError, /^l1Loss: input must be float/);
    throws(() => smoothL1Loss(zeros([2]), ones([2]), { beta: -1 }), DLError, 'smoothL1Loss: beta must be a finite number >= 0, got -1');
    throws(() => klDivergence(int([2]), zeros([2])), DTypeError, /^klDivergence: input must be float/);
    // a class target out of range names the loss that was called
    const t = tensor(new Int32Array([0, 3]));
    expect(throws(() => crossEntropy(zeros([2, 3]), t), IndexError, /^crossEntropy: class targets must be in \[0, 3\)/).op).toBe('crossEntropy');
    expect(throws(() => nllLoss(zeros([2, 3]), t), IndexError, /^nllLoss: class targets must be in \[0, 3\).*index 3/).op).toBe('nllLoss');
    throws(() => binaryCrossEntropy(tensor([0.5, 2, -1]), zeros([3])), DLError, 'binaryCrossEntropy: input values must be in [0, 1], got 2 at [1] (input [3])');
    throws(() => binaryCrossEntropy(tensor([NaN]), zeros([1])), DLError, /got NaN at \[0\]/);
    expect(binaryCrossEntropy(tensor([0, 1, 0.5]), tensor([0, 1, 1])).item()).toBeCloseTo(Math.log(2) / 3, 5);
  });
});

describe('LR schedulers', () => {
  it('refuse arguments PyTorch refuses, and values that would give a negative or NaN learning rate', () => {
    throws(() => new StepLR(sgd(), { stepSize: 1.5 }), DLError, 'StepLR: stepSize must be a positive integer, got 1.5');
    throws(() => new StepLR(sgd(), { stepSize: 0 }), DLError, /^StepLR: stepSize .* got 0$/);
    throws(() => new StepLR(sgd(), { stepSize: 2, gamma: -1 }), DLError, 'StepLR: gamma must be a finite number >= 0, got -1');
    throws(() => new StepLR(sgd(), { stepSize: 2, gamma: NaN }), DLError, /^StepLR: gamma .* got NaN$/);
    throws(() => new LinearWarmup(sgd(), { warmupSteps: 3, startFactor: 0 }), DLError, 'LinearWarmup: startFactor must be in (0, 1], got 0');
    throws(() => new LinearWarmup(sgd(), { warmupSteps: 3, startFactor: 2 }), DLError, /^LinearWarmup: startFactor .* got 2$/);
    throws(() => new LinearWarmup(sgd(), { warmupSteps: 1.5 }), DLError, 'LinearWarmup: warmupSteps must be a non-negative integer, got 1.5');
    throws(() => new CosineWithWarmup(sgd(), { warmupSteps: 1, totalSteps: 4, minLrRatio: 2 }), DLError, 'CosineWithWarmup: minLrRatio must be in [0, 1], got 2');
    throws(() => new CosineWithWarmup(sgd(), { warmupSteps: 1.5, totalSteps: 4 }), DLError, /^CosineWithWarmup: warmupSteps must be a non-negative integer, got 1.5$/);
    throws(() => new CosineWithWarmup(sgd(), { warmupSteps: 1, totalSteps: 4.5 }), DLError, /^CosineWithWarmup: totalSteps must be a positive integer, got 4.5$/);
    throws(() => new CosineWithWarmup(sgd(), { warmupSteps: 4, totalSteps: 4 }), DLError, /need 0 <= warmupSteps < totalSteps/);
  });

  it('ReduceLROnPlateau checks mode, factor, patience, cooldown, thresholds, minLr, eps and the metric', () => {
    throws(() => new ReduceLROnPlateau(sgd(), { mode: 'avg' as 'min' }), DLError, "ReduceLROnPlateau: mode must be 'min' or 'max', got 'avg'");
    throws(() => new ReduceLROnPlateau(sgd(), { thresholdMode: 'x' as 'rel' }), DLError, "ReduceLROnPlateau: thresholdMode must be 'rel' or 'abs', got 'x'");
    throws(() => new ReduceLROnPlateau(sgd(), { factor: 1 }), DLError, 'ReduceLROnPlateau: factor must be in [0, 1), got 1');
    throws(() => new ReduceLROnPlateau(sgd(), { factor: -0.5 }), DLError, /^ReduceLROnPlateau: factor .* got -0.5$/);
    throws(() => new ReduceLROnPlateau(sgd(), { patience: -1 }), DLError, 'ReduceLROnPlateau: patience must be a non-negative integer, got -1');
    throws(() => new ReduceLROnPlateau(sgd(), { cooldown: 0.5 }), DLError, /^ReduceLROnPlateau: cooldown .* got 0.5$/);
    throws(() => new ReduceLROnPlateau(sgd(), { threshold: -1 }), DLError, /^ReduceLROnPlateau: threshold must be a finite number >= 0, got -1$/);
    throws(() => new ReduceLROnPlateau(sgd(), { minLr: -1 }), DLError, /^ReduceLROnPlateau: minLr .* got -1$/);
    throws(() => new ReduceLROnPlateau(sgd(), { eps: NaN }), DLError, /^ReduceLROnPlateau: eps .* got NaN$/);
    throws(() => new ReduceLROnPlateau(sgd()).step('0.5' as never), DLError, "ReduceLROnPlateau.step: metric must be a number, got '0.5'");
  });
});

describe('datasets and loaders', () => {
  it('TensorDataset names a non-tensor argument, and batches tensors held on different devices', async () => {
    throws(() => new TensorDataset([1, 2] as never), DLError, 'TensorDataset: argument 0 is not a Tensor (got object)');
    throws(() => new TensorDataset(zeros([4]), 7 as never), DLError, 'TensorDataset: argument 1 is not a Tensor (got number)');
    throws(() => new TensorDataset(zeros([4]), zeros([5])), ShapeError, 'TensorDataset: every tensor needs the same first dim; got [4], [5]');
    const ds = new TensorDataset(tensor([1, 2, 3, 4]), tensor([5, 6, 7, 8], { device: 'cpu-b' }));
    const [x, y] = ds.getBatch([3, 0]);
    expect([x.device, y.device]).toEqual(['cpu', 'cpu-b']);
    expect([Array.from(await x.data()), Array.from(await y.data())]).toEqual([[4, 1], [8, 5]]);
    throws(() => ds.getBatch([1, 9]), IndexError, 'TensorDataset.getBatch: index 9 at position 1 is out of range for 4 examples');
    throws(() => ds.getBatch([-1]), IndexError, /^TensorDataset.getBatch: index -1 at position 0/);
  });

  it('DataLoader checks its dataset and every option', () => {
    const ds = new TensorDataset(zeros([4]));
    throws(() => new DataLoader({} as Dataset<number>), DLError, /^DataLoader: dataset must have a non-negative integer length and a get\(i\) method/);
    throws(() => new DataLoader(ds, { batchSize: 0 }), DLError, 'DataLoader: batchSize must be a positive integer, got 0');
    throws(() => new DataLoader(ds, { batchSize: -2 }), DLError, /^DataLoader: batchSize .* got -2$/);
    throws(() => new DataLoader(ds, { shuffle: 'yes' as never }), DLError, "DataLoader: shuffle must be true or false, got 'yes'");
    throws(() => new DataLoader(ds, { dropLast: 1 as never }), DLError, /^DataLoader: dropLast must be true or false/);
    throws(() => new DataLoader(ds, { shuffle: true, seed: -1 }), DLError, 'DataLoader: seed must be a non-negative integer, got -1');
    throws(() => new DataLoader(ds, { shuffle: true, seed: 1.5 }), DLError, /^DataLoader: seed .* got 1.5$/);
    throws(() => new DataLoader(ds, { collate: 'stack' as never }), DLError, /^DataLoader: collate must be a function/);
    throws(() => new DataLoader(ds).setEpoch(-1), DLError, 'DataLoader.setEpoch: epoch must be a non-negative integer, got -1');
    throws(() => defaultCollate([]), DLError, 'defaultCollate: no examples to batch');
  });
});

describe('safetensors files and gradient clipping', () => {
  it('a corrupt file names its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-bad-'));
    try {
      const path = join(dir, 'bad.safetensors');
      writeFileSync(path, new Uint8Array([1, 2, 3]));
      await expect(loadSafetensors(path)).rejects.toThrow(`safetensors: ${path}: file has 3 bytes; the 8-byte header length is missing`);
      await expect(loadCheckpoint(path, { model: new Linear(2, 2) })).rejects.toThrow(`safetensors: ${path}: file has 3 bytes`);
      const e = await loadSafetensors(path).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SafetensorsError);
      expect((e as SafetensorsError).code).toBe('truncated');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('clipGradNorm refuses a negative maxNorm (it would flip the gradients) and a norm type that is not positive', () => {
    const p = param(ones([2]));
    p.grad = ones([2]);
    throws(() => clipGradNorm([p], -1), DLError, 'clipGradNorm: maxNorm must be a finite number >= 0, got -1');
    throws(() => clipGradNorm([p], 1, 0), DLError, 'clipGradNorm: normType must be a positive number or Infinity, got 0');
    throws(() => clipGradNorm([p], 1, NaN), DLError, /^clipGradNorm: normType .* got NaN$/);
    expect(p.grad.toArray()).toEqual([1, 1]);
  });
});

describe('init, metrics, distributions and transforms', () => {
  it('initialisers refuse ranges and options PyTorch refuses, and non-finite gains', () => {
    const w = () => zeros([3, 4]);
    throws(() => init.normal(w(), 0, -1), DLError, 'normal: std must be a finite number >= 0, got -1');
    throws(() => init.normal(w(), NaN), DLError, /^normal: mean must be a finite number, got NaN$/);
    throws(() => init.uniform(w(), 1, 0), DLError, 'uniform: low (1) must be <= high (0)');
    throws(() => init.uniform(w(), -Infinity, 0), DLError, /^uniform: low must be a finite number, got -Infinity$/);
    throws(() => init.xavierUniform(w(), NaN), DLError, 'xavierUniform: gain must be a finite number, got NaN');
    throws(() => init.xavierNormal(w(), Infinity), DLError, /^xavierNormal: gain/);
    throws(() => init.kaimingUniform(w(), { mode: 'fan_in' as 'fanIn' }), DLError, "kaimingUniform: mode must be 'fanIn' or 'fanOut', got 'fan_in'");
    throws(() => init.kaimingNormal(w(), { a: NaN }), DLError, /^kaimingNormal: a must be a finite number, got NaN$/);
    throws(() => init.kaimingNormal(w(), { nonlinearity: 'gelu' as 'relu' }), DLError, /^calculateGain: unknown nonlinearity 'gelu'/);
    expect(init.uniform(zeros([0, 4]), -1, 1).shape).toEqual([0, 4]); // a zero-element tensor is left as it is
  });

  it('accuracy names both devices; EMA checks its decay', () => {
    throws(() => correctCount(zeros([4, 3]), int([4]).to('cpu-b')), DeviceError, 'accuracy: expected logits and target on one device, got logits [4,3] on cpu, target [4] on cpu-b');
    throws(() => new EMA(2), DLError, 'EMA: decay must be in [0, 1], got 2');
  });

  it('Normal needs loc and scale on one device; Categorical.logProb names itself for a category out of range', () => {
    throws(() => new Normal(zeros([2]), ones([2], { device: 'cpu-b' })), DeviceError, 'Normal: expected loc and scale on one device, got loc [2] on cpu, scale [2] on cpu-b');
    throws(() => new Categorical({ logits: zeros([3]) }).logProb(tensor(new Int32Array([1, 5]))), IndexError, /^Categorical.logProb: categories must be in \[0, 3\); gather: index 5/);
  });

  it('transforms check their arguments when made', () => {
    throws(() => normalize([0.5], [0]), DLError, 'normalize: std must be nonzero finite numbers, got [0]');
    throws(() => normalize([NaN], [1]), DLError, /^normalize: mean must be finite numbers, got \[NaN\]$/);
    throws(() => randomHorizontalFlip(2), DLError, 'randomHorizontalFlip: p must be in [0, 1], got 2');
    throws(() => randomCrop(0), ShapeError, 'randomCrop: size must be positive integers, got 0');
    throws(() => randomCrop([4, 2.5]), ShapeError, /^randomCrop: size .*\[4,2.5\]$/);
    throws(() => randomCrop(2, { padding: -1 }), DLError, 'randomCrop: padding must be a non-negative integer, got -1');
  });
});
