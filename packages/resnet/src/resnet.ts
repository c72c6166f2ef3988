/**
 * Residual networks, layer for layer as torchvision 0.14's `torchvision/models/resnet.py` (ResNet
 * v1.5: the stride of a Bottleneck sits on its 3x3 conv). Parameter and buffer names are
 * torchvision's (`layer2.0.downsample.1.running_var`, `fc.weight`), so a state dict saved from
 * either side loads into the other with `strict: true`.
 *
 * References:
 * 1) "Deep Residual Learning for Image Recognition", He et al. 2015, https://arxiv.org/abs/1512.03385
 * 2) torchvision's implementation, which this file follows line for line
 */
import { DLError, ShapeError, fmt, type Tensor } from '@dl/tensor';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, GroupNorm, Identity, Linear, MaxPool2d, Module, ReLU, Sequential, init, type Layer } from '@dl/layers';

/** Makes the normalisation layer for `numFeatures` channels (torchvision's `norm_layer`). */
export type NormLayer = (numFeatures: number) => Module & Layer;

const batchNorm: NormLayer = (c) => new BatchNorm2d(c);

/**
 * 3x3 convolution with padding (= dilation) and no bias.
 *
 *   conv3x3(64, 128, 2).forward(x); // (N, 128, H/2, W/2) for x (N, 64, H, W)
 */
export function conv3x3(inPlanes: number, outPlanes: number, stride = 1, groups = 1, dilation = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: dilation, groups, dilation, bias: false });
}

/**
 * 1x1 convolution with no bias (channel projection; a downsample's first layer).
 *
 *   conv1x1(64, 256).forward(x); // (N, 256, H, W)
 */
export function conv1x1(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

/** Settings of one residual block (torchvision's block arguments after `planes`). */
export interface BlockOptions {
  /** 1; 2 halves H and W (on conv1 of a BasicBlock, on conv2 of a Bottleneck) */
  stride?: number;
  /** null: the input is added unchanged; give one when the block changes channels or stride */
  downsample?: (Module & Layer) | null;
  /** 1; groups of the 3x3 conv (Bottleneck only; ResNeXt uses 32) */
  groups?: number;
  /** 64; channels per group of the 3x3 conv, per 64 planes (Bottleneck only; wide ResNets use 128) */
  baseWidth?: number;
  /** 1; dilation of the 3x3 conv (Bottleneck only) */
  dilation?: number;
  /** BatchNorm2d */
  normLayer?: NormLayer;
}

/** A residual block class as ResNet builds them: `new block(inPlanes, planes, options)`, output channels `planes * expansion`. */
export interface BlockClass {
  new (inPlanes: number, planes: number, options?: BlockOptions): Module & Layer;
  readonly expansion: number;
  readonly name: string;
}

/** out + identity, after checking the two agree (a block that changes shape needs a downsample). */
function addShortcut(block: Module, out: Tensor, identity: Tensor): Tensor {
  if (out.ndim !== identity.ndim || out.shape.some((d, i) => d !== identity.shape[i])) {
    throw new ShapeError(
      block.label(),
      `the residual branch gives ${fmt(out.shape)} but the shortcut gives ${fmt(identity.shape)}; a block that changes channels or stride needs a downsample`,
    );
  }
  return out.add(identity);
}

/**
 * Two 3x3 convs with batch norm and a shortcut (ResNet-18/34): x (N, inPlanes, H, W) ->
 * (N, planes, H/stride, W/stride).
 *
 *   const block = new BasicBlock(64, 128, { stride: 2, downsample: new Sequential(conv1x1(64, 128, 2), new BatchNorm2d(128)) });
 *   block.forward(x); // (N, 128, H/2, W/2)
 */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: Module & Layer;
  relu: ReLU;
  conv2: Conv2d;
  bn2: Module & Layer;
  downsample: (Module & Layer) | null;
  readonly stride: number;

  constructor(inPlanes: number, planes: number, { stride = 1, downsample = null, groups = 1, baseWidth = 64, dilation = 1, normLayer = batchNorm }: BlockOptions = {}) {
    super();
    if (groups !== 1 || baseWidth !== 64) throw new DLError('BasicBlock', `supports only groups=1 and baseWidth=64, got groups=${groups}, baseWidth=${baseWidth} (as torchvision)`);
    if (dilation > 1) throw new DLError('BasicBlock', `dilation > 1 is not supported, got ${dilation} (as torchvision; use Bottleneck)`);
    // both conv1 and the downsample reduce the input when stride != 1
    this.conv1 = conv3x3(inPlanes, planes, stride);
    this.bn1 = normLayer(planes);
    this.relu = new ReLU();
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = normLayer(planes);
    this.downsample = downsample;
    this.stride = stride;
  }

  forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x))); // (N, planes, H/s, W/s)
    out = this.bn2.forward(this.conv2.forward(out)); // (N, planes, H/s, W/s)
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(addShortcut(this, out, identity));
  }
}

/**
 * 1x1 reduce, 3x3 (strided, grouped, dilated), 1x1 expand, each with batch norm, and a shortcut
 * (ResNet-50/101/152): x (N, inPlanes, H, W) -> (N, 4 * planes, H/stride, W/stride). The inner
 * width is planes * baseWidth / 64 * groups.
 *
 *   new Bottleneck(256, 64).forward(x); // (N, 256, H, W) for x (N, 256, H, W)
 */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: Module & Layer;
  conv2: Conv2d;
  bn2: Module & Layer;
  conv3: Conv2d;
  bn3: Module & Layer;
  relu: ReLU;
  downsample: (Module & Layer) | null;
  readonly stride: number;

  constructor(inPlanes: number, planes: number, { stride = 1, downsample = null, groups = 1, baseWidth = 64, dilation = 1, normLayer = batchNorm }: BlockOptions = {}) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    // both conv2 and the downsample reduce the input when stride != 1
    this.conv1 = conv1x1(inPlanes, width);
    this.bn1 = normLayer(width);
    this.conv2 = conv3x3(width, width, stride, groups, dilation);
    this.bn2 = normLayer(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = normLayer(planes * Bottleneck.expansion);
    this.relu = new ReLU();
    this.downsample = downsample;
    this.stride = stride;
  }

  forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x))); // (N, width, H, W)
    out = this.relu.forward(this.bn2.forward(this.conv2.forward(out))); // (N, width, H/s, W/s)
    out = this.bn3.forward(this.conv3.forward(out)); // (N, 4 * planes, H/s, W/s)
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(addShortcut(this, out, identity));
  }
}

/** Options of `ResNet` and the `resnet18`...`resnet152` factories; every default is torchvision's. */
export interface ResNetOptions {
  /** 1000; outputs of the final Linear layer `fc` */
  numClasses?: number;
  /** 3; channels of the input images (1 for MNIST); only conv1's weight changes */
  inChannels?: number;
  /** false; start the last norm layer of each residual branch at weight 0, so every block starts as the identity (+0.2-0.3% on ImageNet, https://arxiv.org/abs/1706.02677) */
  zeroInitResidual?: boolean;
  /** 1; groups of each Bottleneck's 3x3 conv (ResNeXt-50 32x4d: 32) */
  groups?: number;
  /** 64; channels per group of each Bottleneck's 3x3 conv (ResNeXt-50 32x4d: 4, Wide ResNet-50-2: 128) */
  widthPerGroup?: number;
  /** [false, false, false]; dilate layer2, layer3, layer4 instead of striding them (Bottleneck only: output stride 16 or 8 for segmentation) */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
  /** BatchNorm2d; e.g. `(c) => new GroupNorm(32, c)` */
  normLayer?: NormLayer;
  /** false; a stem for 28x28 / 32x32 images: conv1 is 3x3 with stride 1, and maxpool is the identity (the usual CIFAR change; the state dict keeps torchvision's names) */
  smallInput?: boolean;
  /** [64, 128, 256, 512]; planes of layer1..layer4 (conv1 has widths[0] channels); smaller widths give a small ResNet of the same layout */
  widths?: [number, number, number, number];
}

/**
 * A residual network: conv1, bn1, relu, maxpool (the stem, /4), layer1..layer4 (residual blocks;
 * layer2..4 halve H and W), global average pool and `fc`. x (N, inChannels, H, W) -> logits
 * (N, numClasses).
 *
 *   const model = new ResNet(BasicBlock, [2, 2, 2, 2], { numClasses: 10 }); // = resnet18({ numClasses: 10 })
 *   model.eval().forward(randn([1, 3, 224, 224])); // (1, 10)
 */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1: Module & Layer;
  relu: ReLU;
  maxpool: MaxPool2d | Identity;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;

  constructor(
    readonly block: BlockClass,
    readonly layers: readonly [number, number, number, number],
    {
      numClasses = 1000,
      inChannels = 3,
      zeroInitResidual = false,
      groups = 1,
      widthPerGroup = 64,
      replaceStrideWithDilation = [false, false, false],
      normLayer = batchNorm,
      smallInput = false,
      widths = [64, 128, 256, 512],
    }: ResNetOptions = {},
  ) {
    super();
    if (!Array.isArray(layers) || layers.length !== 4 || !layers.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new DLError('ResNet', `layers must be 4 block counts >= 1 (layer1..layer4), got ${JSON.stringify(layers)}`);
    }
    if (!Array.isArray(replaceStrideWithDilation) || replaceStrideWithDilation.length !== 3) {
      throw new DLError('ResNet', `replaceStrideWithDilation must have 3 entries (layer2..layer4), got ${JSON.stringify(replaceStrideWithDilation)}`);
    }
    if (!Array.isArray(widths) || widths.length !== 4 || !widths.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new DLError('ResNet', `widths must be 4 positive integers (planes of layer1..layer4), got ${JSON.stringify(widths)}`);
    }

    let inPlanes = widths[0];
    let dilation = 1;
    // torchvision's _make_layer: the first block takes the stride (and a downsample when the shape
    // changes), the rest keep the shape
    const makeLayer = (planes: number, blocks: number, stride = 1, dilate = false): Sequential => {
      const previousDilation = dilation;
      if (dilate) {
        dilation *= stride;
        stride = 1;
      }
      const out = planes * block.expansion;
      const downsample = stride !== 1 || inPlanes !== out ? new Sequential(conv1x1(inPlanes, out, stride), normLayer(out)) : null;
      const seq = [new block(inPlanes, planes, { stride, downsample, groups, baseWidth: widthPerGroup, dilation: previousDilation, normLayer })];
      inPlanes = out;
      for (let i = 1; i < blocks; i++) seq.push(new block(inPlanes, planes, { groups, baseWidth: widthPerGroup, dilation, normLayer }));
      return new Sequential(...seq);
    };

    this.conv1 = smallInput
      ? new Conv2d(inChannels, inPlanes, 3, { stride: 1, padding: 1, bias: false })
      : new Conv2d(inChannels, inPlanes, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = normLayer(inPlanes);
    this.relu = new ReLU();
    this.maxpool = smallInput ? new Identity() : new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = makeLayer(widths[0], layers[0]);
    this.layer2 = makeLayer(widths[1], layers[1], 2, replaceStrideWithDilation[0]);
    this.layer3 = makeLayer(widths[2], layers[2], 2, replaceStrideWithDilation[1]);
    this.layer4 = makeLayer(widths[3], layers[3], 2, replaceStrideWithDilation[2]);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.fc = new Linear(widths[3] * block.expansion, numClasses);

    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d || m instanceof GroupNorm) {
        if (m.weight) init.ones(m.weight);
        if (m.bias) init.zeros(m.bias);
      }
    }
    // each residual branch starts at zero, so each block starts as the identity
    if (zeroInitResidual) {
      for (const m of this.modules()) {
        const last = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : null;
        const weight = (last as { weight?: Tensor | null } | null)?.weight;
        if (weight) init.zeros(weight);
      }
    }
  }

  forward(x: Tensor): Tensor {
    x = this.relu.forward(this.bn1.forward(this.conv1.forward(x))); // (N, w0, H/2, W/2); smallInput: (N, w0, H, W)
    x = this.maxpool.forward(x); // (N, w0, H/4, W/4); smallInput: unchanged
    x = this.layer1.forward(x); // (N, w0 * e, H/4, W/4), e = block.expansion
    x = this.layer2.forward(x); // (N, w1 * e, H/8, W/8)
    x = this.layer3.forward(x); // (N, w2 * e, H/16, W/16)
    x = this.layer4.forward(x); // (N, w3 * e, H/32, W/32)
    x = this.avgpool.forward(x).flatten(1); // (N, w3 * e)
    return this.fc.forward(x); // (N, numClasses)
  }

  protected override extraRepr(): string {
    return `${this.block.name}, layers=${JSON.stringify(this.layers)}`;
  }
}

/**
 * ResNet-18 (11.7M parameters at 1000 classes): BasicBlocks [2, 2, 2, 2].
 *
 *   const model = resnet18({ numClasses: 10, inChannels: 1, smallInput: true }); // for 28x28 digits
 */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], options);
}

/**
 * ResNet-34 (21.8M parameters): BasicBlocks [3, 4, 6, 3].
 *
 *   const model = resnet34({ numClasses: 100 });
 */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], options);
}

/**
 * ResNet-50 (25.6M parameters): Bottlenecks [3, 4, 6, 3].
 *
 *   const model = resnet50();
 *   model.loadStateDict((await loadSafetensors('resnet50.safetensors')).tensors); // torchvision's names
 */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], options);
}

/**
 * ResNet-101 (44.5M parameters): Bottlenecks [3, 4, 23, 3].
 *
 *   const model = resnet101({ replaceStrideWithDilation: [false, true, true] }); // output stride 8
 */
export function resnet101(options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], options);
}

/**
 * ResNet-152 (60.2M parameters): Bottlenecks [3, 8, 36, 3].
 *
 *   const model = resnet152({ numClasses: 10 });
 */
export function resnet152(options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 8, 36, 3], options);
}
