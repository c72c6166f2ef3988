import { backward } from '@dl/autograd';
import { BatchNorm2d, Conv2d, GroupNorm, Sequential, StateDictError } from '@dl/layers';
import { DLError, ShapeError, manualSeed, randn, zeros, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { BasicBlock, Bottleneck, ResNet, conv1x1, resnet101, resnet152, resnet18, resnet34, resnet50, type BlockClass, type ResNetOptions } from './index.js';
import { assertClose, maxAbs, smallCase } from './test-helpers.js';

/** The models of gen_fixtures.py's SMALL_CASES, built with @dl/resnet. */
const SMALL: Record<string, () => ResNet> = {
  basic: () => new ResNet(BasicBlock, [2, 2, 2, 2], { widths: [4, 8, 8, 16], numClasses: 10 }),
  bottleneck: () =>
    new ResNet(Bottleneck, [3, 4, 6, 3], { widths: [4, 4, 8, 8], numClasses: 7, groups: 2, widthPerGroup: 32, replaceStrideWithDilation: [false, false, true] }),
  small_input: () => new ResNet(BasicBlock, [1, 1, 1, 1], { widths: [4, 8, 8, 16], numClasses: 10, inChannels: 1, smallInput: true }),
};

/** A tiny-width model of each factory: same names and block counts, fast to build. */
const tiny: ResNetOptions = { widths: [1, 2, 2, 2], numClasses: 3 };

describe('torchvision layouts (fixtures from torchvision blocks, ../fixtures/gen_fixtures.py)', () => {
  for (const [name, make] of Object.entries(SMALL)) {
    it(`${name}: torchvision's state dict loads strictly and gives its eval logits`, () => {
      manualSeed(0);
      const model = make();
      model.loadStateDict(smallCase(name, 'param'), { strict: true });
      model.eval();
      assertClose(model.forward(smallCase(name, 'x')['']), smallCase(name, 'y')[''], `${name} eval logits`);
    });

    it(`${name}: in train mode the logits, every gradient and the running statistics match torchvision's`, () => {
      manualSeed(0);
      const model = make();
      model.loadStateDict(smallCase(name, 'param'));
      model.train();
      // batch statistics over few values (a 4-image batch at 3x3) and batch norm's backward, which
      // subtracts means: rounding errors scale with the largest value of a tensor, not each element
      const y = model.forward(smallCase(name, 'x')['']);
      const yt = smallCase(name, 'ytrain')[''];
      assertClose(y, yt, `${name} train logits`, { rtol: 1e-4, atol: 1e-4 * maxAbs(yt) });
      backward(y.mul(smallCase(name, 'r')['']).sum());
      const params = Object.fromEntries(model.namedParameters());
      const grads = smallCase(name, 'grad');
      expect(Object.keys(params).sort()).toEqual(Object.keys(grads).sort());
      for (const [k, g] of Object.entries(grads)) assertClose(params[k].grad!, g, `${name} grad of ${k}`, { rtol: 1e-4, atol: 2e-4 * maxAbs(g) });
      const buffers = Object.fromEntries([...model.namedBuffers()].map(([k, b]) => [k, b]));
      for (const [k, b] of Object.entries(smallCase(name, 'after'))) {
        if (k.endsWith('num_batches_tracked')) expect(buffers[k].item(), k).toBe(b.item());
        else assertClose(buffers[k], b, `${name} ${k} after one train forward`);
      }
    });
  }

  it('the factories have torchvision\'s block counts and names (resnet18...resnet152)', () => {
    // key counts and a deep key of torchvision's state dicts; tiny widths keep the build fast
    const cases: [(o: ResNetOptions) => ResNet, number, string][] = [
      [resnet18, 122, 'layer4.1.conv2.weight'],
      [resnet34, 218, 'layer3.5.bn2.running_var'],
      [resnet50, 320, 'layer3.5.conv3.weight'],
      [resnet101, 626, 'layer3.22.bn3.num_batches_tracked'],
      [resnet152, 932, 'layer3.35.bn3.running_mean'],
    ];
    for (const [make, count, key] of cases) {
      const sd = make(tiny).stateDict();
      expect(Object.keys(sd).length, make.name).toBe(count);
      expect(sd[key], `${make.name}: ${key}`).toBeDefined();
      // downsample only where a layer changes shape: layer1 of a Bottleneck net (64 -> 256), layer2..4 always
      const withDownsample = Object.keys(sd).filter((k) => k.endsWith('downsample.0.weight'));
      expect(withDownsample, make.name).toEqual(make === resnet18 || make === resnet34 ? ['layer2.0.downsample.0.weight', 'layer3.0.downsample.0.weight', 'layer4.0.downsample.0.weight'] : ['layer1.0.downsample.0.weight', 'layer2.0.downsample.0.weight', 'layer3.0.downsample.0.weight', 'layer4.0.downsample.0.weight']);
    }
  });
});

describe('initialisation', () => {
  it('convs are Kaiming normal (fan out, relu), norms start at weight 1 and bias 0, as torchvision', () => {
    manualSeed(1);
    const model = new ResNet(BasicBlock, [1, 1, 1, 1], { widths: [16, 32, 64, 128], numClasses: 10 });
    for (const [name, m] of model.namedModules()) {
      if (m instanceof Conv2d) {
        const w = m.weight.dataSync();
        const fanOut = m.weight.shape[0] * m.weight.shape[2] * m.weight.shape[3];
        const std = Math.sqrt(Array.from(w).reduce((s, v) => s + v * v, 0) / w.length);
        // std of the sample within 10% of sqrt(2 / fan_out) (every conv here has >= 2,000 weights)
        expect(Math.abs(std / Math.sqrt(2 / fanOut) - 1), `${name} weight std`).toBeLessThan(0.1);
      } else if (m instanceof BatchNorm2d) {
        expect(m.weight!.dataSync().every((v) => v === 1), `${name}.weight`).toBe(true);
        expect(m.bias!.dataSync().every((v) => v === 0), `${name}.bias`).toBe(true);
      }
    }
  });

  it('zeroInitResidual zeroes the last norm of every residual branch: each block starts as relu(x + shortcut)', () => {
    manualSeed(2);
    for (const block of [BasicBlock, Bottleneck] as BlockClass[]) {
      const model = new ResNet(block, [2, 1, 1, 1], { widths: [4, 4, 8, 8], numClasses: 3, zeroInitResidual: true });
      const last = block === BasicBlock ? 'bn2' : 'bn3';
      for (const [name, t] of Object.entries(model.stateDict())) {
        if (name.endsWith(`${last}.weight`)) expect(t.dataSync().every((v) => v === 0), name).toBe(true);
        else if (name.endsWith('bn1.weight') || name.endsWith('downsample.1.weight')) expect(t.dataSync().every((v) => v === 1), name).toBe(true);
      }
      // layer1.1 has no downsample: its output is relu(input), and its input (a block's output) is >= 0
      const h = model.layer1.at(0).forward(randn([2, 4, 5, 5]));
      assertClose(model.layer1.at(1).forward(h), h, `${block.name} layer1.1 at init`, { rtol: 0, atol: 0 });
    }
  });

  it('normLayer replaces every BatchNorm2d (GroupNorm here), as torchvision\'s norm_layer', () => {
    const model = resnet18({ ...tiny, widths: [4, 4, 8, 8], normLayer: (c) => new GroupNorm(2, c) });
    const norms = model.modules().filter((m) => m instanceof GroupNorm);
    expect(norms.length).toBe(1 + 8 * 2 + 3); // stem, two per block, three downsamples
    expect(model.modules().some((m) => m instanceof BatchNorm2d)).toBe(false);
    expect(model.forward(randn([2, 3, 32, 32])).shape).toEqual([2, 3]);
  });
});

describe('shapes and bad input', () => {
  it('the small-input stem keeps 28x28 at full resolution through layer1; the ImageNet stem divides by 4', () => {
    const small = new ResNet(BasicBlock, [1, 1, 1, 1], { widths: [4, 8, 8, 8], numClasses: 10, inChannels: 1, smallInput: true });
    expect(small.conv1.weight.shape).toEqual([4, 1, 3, 3]);
    const x = randn([2, 1, 28, 28]);
    expect(small.maxpool.forward(small.conv1.forward(x)).shape).toEqual([2, 4, 28, 28]);
    expect(small.forward(x).shape).toEqual([2, 10]);
    const big = resnet18(tiny);
    expect(big.maxpool.forward(big.conv1.forward(randn([1, 3, 32, 32]))).shape).toEqual([1, 1, 8, 8]);
  });

  it('a wrong channel count names the module path and the shapes', () => {
    const model = resnet18(tiny);
    expect(() => model.forward(zeros([1, 1, 32, 32]))).toThrow(ShapeError);
    expect(() => model.forward(zeros([1, 1, 32, 32]))).toThrow('conv1 (Conv2d): expected input [N,3,H,W], got [1,1,32,32]');
    // a hand-built stage whose first block changes channels without a downsample
    const stage = new Sequential(new BasicBlock(4, 4), new BasicBlock(4, 8));
    try {
      stage.forward(zeros([1, 4, 6, 6]));
      expect.fail('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ShapeError);
      expect((e as ShapeError).message).toBe('1 (BasicBlock): the residual branch gives [1,8,6,6] but the shortcut gives [1,4,6,6]; a block that changes channels or stride needs a downsample');
      expect((e as ShapeError).layer).toBe('1 (BasicBlock)');
    }
    // inside a model the path is the full one
    const model2 = resnet18(tiny);
    model2.layer3 = new Sequential(new BasicBlock(2, 2, { stride: 2 }));
    expect(() => model2.forward(zeros([1, 3, 64, 64]))).toThrow('layer3.0 (BasicBlock): the residual branch gives [1,2,4,4] but the shortcut gives [1,2,8,8]');
    const ok = new BasicBlock(4, 8, { stride: 2, downsample: new Sequential(conv1x1(4, 8, 2), new BatchNorm2d(8)) });
    expect(ok.forward(zeros([2, 4, 6, 6])).shape).toEqual([2, 8, 3, 3]);
  });

  it('an incompatible state dict names every missing, unexpected and mis-shaped key', () => {
    const sd18 = resnet18({ ...tiny, numClasses: 10 }).stateDict();
    const model = resnet34(tiny);
    let err: StateDictError | undefined;
    try {
      model.loadStateDict(sd18);
    } catch (e) {
      err = e as StateDictError;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const { missingKeys, unexpectedKeys, shapeMismatches } = err!.result;
    // resnet34 has 3, 4, 6, 3 blocks where resnet18 has 2 in each layer: 1 + 2 + 4 + 1 blocks of 12 tensors are missing
    expect(missingKeys.length).toBe(8 * 12);
    expect(missingKeys).toContain('layer3.5.bn2.num_batches_tracked');
    expect(unexpectedKeys).toEqual([]);
    expect(shapeMismatches).toEqual(['fc.weight: expected [3,2], got [10,2]', 'fc.bias: expected [3], got [10]']);
    expect(err!.message).toContain('missing keys: layer1.2.conv1.weight, layer1.2.bn1.weight');
    expect(err!.message).toContain('shape mismatches: fc.weight: expected [3,2], got [10,2]; fc.bias: expected [3], got [10]');
    // the other way round: resnet34's extra blocks are unexpected
    expect(() => resnet18(tiny).loadStateDict(resnet34(tiny).stateDict())).toThrow(/unexpected keys: layer1\.2\.conv1\.weight, .*layer4\.2\.bn2\.num_batches_tracked$/);
    // a Bottleneck dict into a BasicBlock model: every block differs
    const r = resnet18(tiny).loadStateDict(resnet50(tiny).stateDict(), { strict: false });
    expect(r.missingKeys).toEqual([]);
    expect(r.unexpectedKeys.filter((k) => k.endsWith('conv3.weight')).length).toBe(16);
    expect(r.shapeMismatches).toContain('layer1.0.conv1.weight: expected [1,1,3,3], got [1,1,1,1]');
  });

  it('refuses bad options as torchvision does', () => {
    expect(() => new ResNet(BasicBlock, [2, 2, 2] as unknown as [number, number, number, number])).toThrow('ResNet: layers must be 4 block counts >= 1 (layer1..layer4), got [2,2,2]');
    expect(() => resnet18({ replaceStrideWithDilation: [true, true] as unknown as [boolean, boolean, boolean] })).toThrow('replaceStrideWithDilation must have 3 entries');
    expect(() => resnet18({ groups: 32, widthPerGroup: 4 })).toThrow(DLError);
    expect(() => resnet18({ groups: 32, widthPerGroup: 4 })).toThrow('BasicBlock: supports only groups=1 and baseWidth=64, got groups=32, baseWidth=4');
    expect(() => resnet18({ ...tiny, replaceStrideWithDilation: [false, false, true] })).toThrow('BasicBlock: dilation > 1 is not supported, got 2');
    expect(() => resnet18({ widths: [64, 128, 0, 512] })).toThrow('widths must be 4 positive integers');
  });

  it('fine-tuning the last layer: a new fc trains while the frozen backbone keeps its weights', () => {
    manualSeed(3);
    const model = resnet18({ ...tiny, widths: [4, 4, 8, 8] });
    const before = model.conv1.weight.clone();
    model.requiresGrad_(false);
    model.fc = new (model.fc.constructor as new (i: number, o: number) => typeof model.fc)(8, 5);
    expect(model.parameters().filter((p) => p.requiresGrad).map((p) => p.shape)).toEqual([[5, 8], [5]]);
    const y: Tensor = model.eval().forward(randn([2, 3, 32, 32]));
    backward(y.square().sum());
    expect(model.fc.weight.grad).not.toBeNull();
    expect(model.conv1.weight.grad).toBeNull();
    assertClose(model.conv1.weight, before, 'frozen conv1', { rtol: 0, atol: 0 });
  });
});
