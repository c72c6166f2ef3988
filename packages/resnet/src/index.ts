/**
 * @dl/resnet: ResNet-18/34/50/101/152 and their building blocks, with torchvision's layout and
 * parameter names, on @dl/layers.
 */
export {
  ResNet,
  BasicBlock,
  Bottleneck,
  conv3x3,
  conv1x1,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  type ResNetOptions,
  type BlockOptions,
  type BlockClass,
  type NormLayer,
} from './resnet.js';
