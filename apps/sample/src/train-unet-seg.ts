import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '@dl/autograd';
import { Adam, CosineWithWarmup, EMA, crossEntropy, fit, loadCheckpoint, readSafetensorsHeader, saveCheckpoint } from '@dl/layers';
import { arange, generator, manualSeed, scope, softmax, tensor, type GeneratorState, type Tensor } from '@dl/tensor';
import { UNet, type UNetConfig } from '@dl/unet';
import { loadMnist } from './mnist.js';
import { lossCurvePng, segmentationPng } from './plots.js';
import { ProgressBar, duration } from './progress.js';
import { SCENE, SCENE_CLASSES, addConfusion, iou, makeScenes, testSceneGenerator, trainSceneGenerator, type Scenes } from './scenes.js';
import type { MnistSplit } from './mnist.js';

export interface SegOptions {
  epochs: number;
  /** new training scenes drawn each epoch */
  scenes: number;
  /** fixed test scenes */
  testScenes: number;
  batchSize: number;
  lr: number;
  /** channels of the U-Net's first level */
  width: number;
  /** cross-entropy weight of background pixels (digit pixels weigh 1) */
  bgWeight: number;
  /** weight of the soft Dice loss added to the cross-entropy (0 = none) */
  dice: number;
  device: string;
  out: string;
  resume: boolean;
  seed: number;
  /** only this many training scenes per epoch and test scenes (quick checks, tests) */
  limit?: number;
}

/** Defaults that reach a test mIoU >= 0.80 on a 2-core CPU (see apps/sample/README.md). */
export const SEG_DEFAULTS: SegOptions = { epochs: 8, scenes: 2000, testScenes: 500, batchSize: 16, lr: 4e-3, width: 8, bgWeight: 0.1, dice: 1, device: 'cpu', out: 'runs/unet-seg', resume: false, seed: 0 };

/**
 * The task's U-Net: four levels (64, 32, 16 and 8 pixels) of 1, 2, 4 and 8 times `width`
 * channels, one ResBlock per level down, DDPM's strided-conv downsampling and nearest + conv
 * upsampling, GroupNorm (4 groups) and SiLU, 11 output classes.
 */
export function segConfig(width: number): UNetConfig {
  return { inChannels: 1, outChannels: SCENE_CLASSES, baseChannels: width, channelMults: [1, 2, 4, 8], numResBlocks: 1, norm: 'group', normGroups: 4, activation: 'silu' };
}

/**
 * Soft Dice loss averaged over the classes: 1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1) per
 * class over the batch, p the softmax of logits [B, C, H, W] and t the one-hot masks [B, H, W].
 * Every class counts equally, however few its pixels, as in the mean IoU.
 */
export function diceLoss(logits: Tensor, masks: Tensor): Tensor {
  const C = logits.shape[1];
  const p = softmax(logits, 1); // (B, C, H, W)
  const t = masks.unsqueeze(1).eq(arange(0, C, 1, { dtype: 'int32', device: masks.device }).reshape([1, C, 1, 1])).cast(p.dtype); // (B, C, H, W)
  const inter = p.mul(t).sum([0, 2, 3]); // (C)
  const total = p.sum([0, 2, 3]).add(t.sum([0, 2, 3])); // (C)
  return inter.mul(2).add(1).div(total.add(1)).neg().add(1).mean();
}

/** Batches of scenes as [images [B, 1, 64, 64], masks [B, 64, 64] int32]. */
function batch(s: Scenes, from: number, to: number): [Tensor, Tensor] {
  const a = SCENE * SCENE;
  return [tensor(s.images.subarray(from * a, to * a), { shape: [to - from, 1, SCENE, SCENE] }), tensor(s.masks.subarray(from * a, to * a), { shape: [to - from, SCENE, SCENE], dtype: 'int32' })];
}

/**
 * Fresh training scenes every epoch, from a generator keyed by (seed, epoch): fit() calls
 * setEpoch, so a resumed run sees the scenes an uninterrupted one would.
 */
class SceneLoader implements Iterable<[Tensor, Tensor]> {
  #epoch = 0;
  constructor(
    readonly digits: MnistSplit,
    readonly scenes: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {}
  get length(): number {
    return Math.ceil(this.scenes / this.batchSize);
  }
  setEpoch(epoch: number): void {
    this.#epoch = epoch;
  }
  *[Symbol.iterator](): Iterator<[Tensor, Tensor]> {
    const s = makeScenes(this.digits, this.scenes, trainSceneGenerator(this.seed, this.#epoch));
    for (let i = 0; i < s.length; i += this.batchSize) yield batch(s, i, Math.min(s.length, i + this.batchSize));
  }
}

/** Predicted class per pixel of every scene (eval mode, no grad, batches of 50). */
async function predict(model: UNet, s: Scenes, device: string): Promise<Int32Array> {
  const wasTraining = model.training;
  model.eval();
  const out = new Int32Array(s.masks.length);
  try {
    for (let i = 0; i < s.length; i += 50) {
      const [x, y] = batch(s, i, Math.min(s.length, i + 50));
      const pred = noGrad(() => scope(() => model.forward(x.to(device)).argmax(1))); // (B, 64, 64)
      out.set(await pred.data(), i * SCENE * SCENE);
      [x, y, pred].forEach((t) => t.dispose());
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

/** Per-class IoU (background, digits 0-9) and their mean over the test scenes. */
export async function sceneIoU(model: UNet, s: Scenes, device: string): Promise<{ perClass: number[]; mIoU: number; pred: Int32Array }> {
  const pred = await predict(model, s, device);
  const conf = new Float64Array(SCENE_CLASSES * SCENE_CLASSES);
  addConfusion(conf, s.masks, pred, SCENE_CLASSES);
  const perClass = iou(conf, SCENE_CLASSES);
  const present = perClass.filter((v) => !Number.isNaN(v));
  return { perClass, mIoU: present.reduce((a, b) => a + b, 0) / present.length, pred };
}

function describeIoU(perClass: number[]): string {
  return perClass.map((v, c) => `${c === 0 ? 'bg' : c - 1} ${v.toFixed(3)}`).join(', ');
}

/** `dl train unet-seg`: trains, checkpoints every epoch, writes PNGs, prints the test mIoU last. */
export async function trainUnetSeg(o: SegOptions, log: (s: string) => void): Promise<number> {
  const t0 = performance.now();
  const { train, test } = loadMnist();
  const nTrain = o.limit === undefined ? o.scenes : Math.min(o.scenes, o.limit);
  const nTest = o.limit === undefined ? o.testScenes : Math.min(o.testScenes, o.limit);
  const testScenes = makeScenes(test, nTest, testSceneGenerator());
  log(`data: ${nTrain} new training scenes per epoch from the ${train.length} training digits; ${nTest} fixed test scenes from the ${test.length} test digits (64x64, 2-4 digits, 11 pixel classes)`);

  manualSeed(o.seed);
  const config = segConfig(o.width);
  const model = new UNet(config).to(o.device);
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const loader = new SceneLoader(train, nTrain, o.batchSize, o.seed);
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint.safetensors');

  let startEpoch = 0;
  let losses: number[] = [];
  if (o.resume && existsSync(ckpt)) {
    const { extra } = await loadCheckpoint(ckpt, { model, optimizer });
    startEpoch = Number(extra.epoch) + 1;
    losses = (extra.losses as number[]) ?? [];
    generator.setState(extra.rng as GeneratorState);
    log(`resumed from ${ckpt} after epoch ${startEpoch}`);
  }
  log(
    `model: UNet (channels ${JSON.stringify(config.channelMults!.map((m) => m * o.width))}, GroupNorm, SiLU), ${model.numParameters().toLocaleString('en-US')} parameters; ` +
      `loss: per-pixel cross-entropy (background weight ${o.bgWeight})${o.dice ? ` + ${o.dice} x soft Dice` : ''}; Adam lr ${o.lr} with cosine decay, batch ${o.batchSize}, ${o.epochs} epochs, device ${o.device}`,
  );

  const weight = tensor([o.bgWeight, ...Array<number>(SCENE_CLASSES - 1).fill(1)], { device: o.device });
  const segLoss = (x: Tensor, y: Tensor): Tensor => {
    const logits = model.forward(x); // (B, 11, 64, 64)
    const ce = crossEntropy(logits, y, { weight });
    return o.dice ? ce.add(diceLoss(logits, y).mul(o.dice)) : ce;
  };
  const schedule = new CosineWithWarmup(optimizer, { warmupSteps: 0, totalSteps: o.epochs * loader.length });
  schedule.loadStateDict({ lastStep: startEpoch * loader.length });
  const bar = new ProgressBar();
  const ema = new EMA(0.95);
  let mIoU = NaN;
  let lastMsPerStep = NaN;
  await fit({
    model,
    optimizer,
    loader,
    epochs: o.epochs,
    startEpoch,
    loss: ([x, y]: Tensor[]) => segLoss(x.to(o.device), y.to(o.device)),
    afterStep: () => schedule.step(),
    onProgress: (p) => {
      losses.push(p.loss);
      lastMsPerStep = p.msPerStep;
      bar.update(p, ema.update(p.loss));
    },
    onEpochEnd: async (e) => {
      const r = await sceneIoU(model, testScenes, o.device);
      mIoU = r.mIoU;
      log(`epoch ${e.epoch + 1}/${o.epochs}: train loss ${e.loss.toFixed(4)}, test mIoU ${mIoU.toFixed(4)}, ${e.seconds.toFixed(1)} s (${lastMsPerStep.toFixed(0)} ms/step, batch ${o.batchSize})`);
      await saveCheckpoint(ckpt, { model, optimizer, step: (e.epoch + 1) * loader.length, extra: { epoch: e.epoch, losses, mIoU, config, width: o.width, rng: generator.getState() } });
      writeFileSync(join(o.out, 'loss.png'), lossCurvePng(losses, loader.length));
    },
  });

  const final = await sceneIoU(model, testScenes, o.device);
  mIoU = final.mIoU;
  log(`test IoU per class: ${describeIoU(final.perClass)}`);
  const shown = Math.min(6, testScenes.length);
  writeFileSync(join(o.out, 'test-scenes.png'), segmentationPng(testScenes.images, testScenes.masks, final.pred, shown, SCENE));
  log(`wrote ${ckpt}, ${join(o.out, 'loss.png')}, ${join(o.out, 'test-scenes.png')}`);
  log(`total time ${duration((performance.now() - t0) / 1000)}`);
  return mIoU;
}

/** `dl eval unet-seg --checkpoint FILE`: per-class IoU and mIoU of a saved model on the test scenes. */
export async function evalUnetSeg(checkpoint: string, device: string, log: (s: string) => void, testScenes = SEG_DEFAULTS.testScenes): Promise<number> {
  const extra = JSON.parse(readSafetensorsHeader(new Uint8Array(readFileSync(checkpoint))).metadata.extra ?? '{}') as { config?: UNetConfig; epoch?: number };
  if (!extra.config) throw new Error(`${checkpoint} is not a unet-seg checkpoint (no model config in its metadata)`);
  const model = new UNet(extra.config).to(device);
  await loadCheckpoint(checkpoint, { model });
  log(`loaded ${checkpoint} (epoch ${Number(extra.epoch) + 1})`);
  const r = await sceneIoU(model, makeScenes(loadMnist().test, testScenes, testSceneGenerator()), device);
  log(`test IoU per class: ${describeIoU(r.perClass)}`);
  return r.mIoU;
}
