/**
 * Checkpoints shared with the `dl` CLI: a file of `dl train <task>` (safetensors in @dl/layers'
 * checkpoint format: `model.*` tensors, the config in the `extra` metadata) loads into its
 * section, and a model trained here downloads in the same format, so `dl eval`, `dl generate` and
 * `dl sample` read it. A plain state dict of the MNIST CNN (PyTorch's names) loads too.
 */
import { DiffusionTrainer } from '@dl/diffusion';
import { Discriminator, GANTrainer, Generator as GANGenerator } from '@dl/gan';
import { Adam, ModuleDict, parseSafetensors, readSafetensorsHeader, serializeCheckpoint, type CheckpointContents, type Module } from '@dl/layers';
import { MambaLM, type MambaConfig } from '@dl/mamba';
import { Generator, scope, type Tensor } from '@dl/tensor';
import { CharTokenizer, GPT, type GPTConfig } from '@dl/transformer';
import { UNet, type UNetConfig } from '@dl/unet';
import { VAE, type VAEConfig } from '@dl/vae';
import type { Device } from '../protocol.js';
import { pickDevice } from './devices.js';
import { ddpmOf, genModel, setGenModel, type GenKind } from './generative.js';
import { charModel, setCharModel, type LMKind } from './lm.js';
import { MnistCnn, mnistTrainee, setMnistModel } from './mnist.js';
import { register } from './registry.js';

export type ModelKind = 'mnist' | LMKind | GenKind;
export const MODEL_NAMES: Record<ModelKind, string> = { mnist: 'MNIST CNN', gpt: 'char GPT', mamba: 'char Mamba', ddpm: 'diffusion U-Net', vae: 'VAE', gan: 'GAN' };

interface Loaded {
  kind: ModelKind;
  description: string;
  step: number;
}

/** What a file holds: the section it loads into, told by its tensor names. */
function kindOf(names: Set<string>): ModelKind | null {
  if (names.has('model.features.0.weight') && names.has('model.classifier.3.weight')) return 'mnist';
  if (names.has('model.transformer.wte.weight')) return 'gpt';
  if (names.has('model.backbone.embedding.weight')) return 'mamba';
  if (names.has('model.model.conv_in.weight') && names.has('model.ema.conv_in.weight')) return 'ddpm';
  if ([...names].some((n) => n.startsWith('model.netG.')) && [...names].some((n) => n.startsWith('model.netD.'))) return 'gan';
  if ([...names].some((n) => n.startsWith('model.encoder.')) && [...names].some((n) => n.startsWith('model.decoder.'))) return 'vae';
  return null;
}

/**
 * Loads a checkpoint's `model.*` tensors into `model` and frees every parsed tensor (the
 * optimizer state of a `dl train` checkpoint too: the page trains on with a fresh optimizer);
 * returns the checkpoint's step.
 */
function restoreModel(bytes: Uint8Array, model: Module): number {
  const { tensors, metadata } = parseSafetensors(bytes);
  try {
    const sd = new Map<string, Tensor>();
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) sd.set(k.slice(6), t);
    model.loadStateDict(sd);
    return Number(metadata.step ?? 0);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

function load(bytes: Uint8Array, device: Device): Loaded {
  const header = readSafetensorsHeader(bytes);
  const names = new Set(header.entries.keys());
  // a plain state dict of the MNIST CNN (torch's save_file(model.state_dict()) or a stripped checkpoint)
  if (header.metadata.format === undefined && names.has('features.0.weight') && names.has('classifier.3.weight')) {
    const model = new MnistCnn();
    const { tensors } = parseSafetensors(bytes);
    model.loadStateDict(tensors);
    for (const t of Object.values(tensors)) t.dispose();
    setMnistModel(model, device, 0);
    return { kind: 'mnist', description: 'MNIST CNN (a plain state dict)', step: 0 };
  }
  const kind = kindOf(names);
  if (!kind) throw new Error(`not a checkpoint of a model of this page: its tensors are ${[...names].slice(0, 6).join(', ')}${names.size > 6 ? ', ...' : ''}`);
  const extra = JSON.parse(header.metadata.extra ?? '{}') as Record<string, unknown>;
  const restore = ({ model }: { model: Module }): number => restoreModel(bytes, model);
  if (kind === 'mnist') {
    const model = new MnistCnn();
    const step = restore({ model });
    setMnistModel(model, device, step);
    return { kind, description: `MNIST CNN, ${model.numParameters().toLocaleString('en-US')} parameters`, step };
  }
  if (kind === 'gpt' || kind === 'mamba') {
    const tok = extra.tokenizer as { chars: string } | undefined;
    if (!extra.config || !tok) throw new Error(`this ${MODEL_NAMES[kind]} checkpoint has no config or tokenizer in its metadata (dl train ${kind}-char writes both)`);
    const model = kind === 'gpt' ? new GPT(extra.config as Partial<GPTConfig>) : new MambaLM(extra.config as Partial<MambaConfig>);
    const step = restore({ model });
    setCharModel(kind, model, CharTokenizer.fromJSON(tok), device, step);
    return { kind, description: `${MODEL_NAMES[kind]}, ${model.numParameters().toLocaleString('en-US')} parameters, ${tok.chars.length} characters`, step };
  }
  if (kind === 'ddpm') {
    const config = extra.unet as UNetConfig;
    if (!config) throw new Error('this diffusion checkpoint has no U-Net config in its metadata (dl train ddpm-mnist writes it)');
    const unet = new UNet(config);
    const averaged = new UNet(config);
    const diffusion = ddpmOf(unet);
    // the EMA copies the model when built: build it first, then load both
    const trainer = new DiffusionTrainer(diffusion, { lr: Number(extra.lr ?? 2e-3), averaged, ema: { decay: Number(extra.ema ?? 0.995) }, seed: 0 });
    const step = restore({ model: new ModuleDict({ model: unet, ema: averaged }) });
    if (trainer.ema && typeof extra.emaStep === 'number') trainer.ema.optimizationStep = extra.emaStep;
    unet.to(device);
    averaged.to(device);
    setGenModel({ kind, unet, diffusion, trainer, device, step });
    return { kind, description: `diffusion U-Net, ${unet.numParameters().toLocaleString('en-US')} parameters (and its EMA)`, step };
  }
  if (kind === 'vae') {
    const config = extra.config as VAEConfig | undefined;
    if (!config) throw new Error('this VAE checkpoint has no config in its metadata (dl train vae-mnist writes it)');
    if (config.latentDim !== 2) throw new Error(`the page's latent map needs a 2-d latent (dl train vae-mnist --latent 2); this VAE has latentDim ${config.latentDim}`);
    const vae = new VAE(config);
    const step = restore({ model: vae });
    vae.to(device);
    setGenModel({ kind, vae, optimizer: new Adam(vae.parameters(), { lr: 2e-3 }), draws: new Generator(0), device, step });
    return { kind, description: `VAE (${config.arch}, 2-d latent), ${vae.numParameters().toLocaleString('en-US')} parameters`, step };
  }
  const s = extra as { latentDim?: number; width?: number; conditional?: boolean };
  if (s.conditional) throw new Error('the page samples an unconditional GAN; this checkpoint is class-conditional');
  const nets = { latentDim: s.latentDim ?? 64, width: s.width ?? 32, imageSize: 28, channels: 1, numClasses: 0 };
  const netG = new GANGenerator(nets);
  const netD = new Discriminator(nets);
  const step = restore({ model: new ModuleDict({ netG, netD }) });
  netG.to(device);
  netD.to(device);
  setGenModel({ kind: 'gan', netG, netD, trainer: new GANTrainer(netG, netD, { lr: 2e-4, betas: [0.5, 0.999], seed: 0 }), device, step });
  return { kind: 'gan', description: `DCGAN, G ${netG.numParameters().toLocaleString('en-US')} + D ${netD.numParameters().toLocaleString('en-US')} parameters`, step };
}

/** A model of the page as the CLI's checkpoint of the same task. */
function contents(kind: ModelKind): CheckpointContents {
  const none = (): never => {
    throw new Error(`no ${MODEL_NAMES[kind]} yet: train it (or load one) first`);
  };
  const source = 'apps/playground';
  if (kind === 'mnist') {
    const t = mnistTrainee();
    return { model: t.model, step: t.step, extra: { epoch: 0, source } };
  }
  if (kind === 'gpt' || kind === 'mamba') {
    const lm = charModel(kind) ?? none();
    return { model: lm.model, step: lm.step, extra: { config: lm.model.config, tokenizer: lm.tokenizer.toJSON(), losses: [], source } };
  }
  const m = genModel(kind) ?? none();
  if (m.kind === 'ddpm') {
    const averaged = m.trainer.ema?.averaged ?? m.unet;
    return {
      model: new ModuleDict({ model: m.unet, ema: averaged }),
      step: m.step,
      extra: { unet: m.unet.config, schedule: 'linear', prediction: 'epsilon', pUncond: 0.1, emaStep: m.trainer.ema?.optimizationStep ?? 0, ema: 0.995, lr: 2e-3, source },
    };
  }
  if (m.kind === 'vae') return { model: m.vae, step: m.step, extra: { epoch: 0, config: m.vae.config, source } };
  return { model: new ModuleDict({ netG: m.netG, netD: m.netD }), step: m.step, extra: { latentDim: m.netG.config.latentDim, width: m.netG.config.width, conditional: false, source } };
}

register({
  /** Loads a dropped file into its section; answers which model it was. */
  // in a scope: what the new models' init made before their parameters wrapped it is freed now
  'ckpt.load': async (a: { bytes: ArrayBuffer; device?: Device }) => scope(() => load(new Uint8Array(a.bytes), pickDevice(a.device))),
  /** The model of `kind` as safetensors bytes in the CLI's checkpoint format. */
  'ckpt.save': async (kind: ModelKind) => serializeCheckpoint(contents(kind)),
});
