/**
 * A U-Net (Ronneberger et al. 2015) with the residual blocks, attention and timestep / class
 * conditioning of the DDPM denoiser (Ho et al. 2020), laid out and named like diffusers'
 * UNet2DModel, so one class serves segmentation and diffusion:
 *
 *   conv_in -> down_blocks (ResBlocks [+ attention], then a 2x downsampling, per level)
 *           -> mid_block (ResBlock [+ attention] ResBlock)
 *           -> up_blocks (numResBlocks + 1 ResBlocks per level, each fed the matching skip)
 *           -> conv_norm_out -> activation -> conv_out
 *
 * Every ResBlock and downsampling output on the way down is kept as a skip and concatenated
 * (channels) onto the input of one ResBlock on the way up, as in DDPM.
 */
import { BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, Embedding, GroupNorm, Linear, MaxPool2d, Module, Upsample as Resize } from '@dl/layers';
import { DLError, DTypeError, DeviceError, ShapeError, Tensor, arange, cat, fmt, full, isFloat, matmul, scope, softmax } from '@dl/tensor';

export type NormKind = 'batch' | 'group';
export type ActivationKind = 'silu' | 'relu';

export interface UNetConfig {
  /** channels of the input images (default 1) */
  inChannels?: number;
  /** channels of the output: classes for segmentation, inChannels for a noise predictor (default inChannels) */
  outChannels?: number;
  /** channels of the first level (default 32) */
  baseChannels?: number;
  /** one level per entry, with baseChannels * mult channels; a 2x downsampling between levels (default [1, 2, 4]) */
  channelMults?: number[];
  /** ResBlocks per level on the way down; the way up has one more per level (default 2) */
  numResBlocks?: number;
  /** normalisation in every ResBlock and before conv_out (default 'group') */
  norm?: NormKind;
  /** groups of every GroupNorm, attention blocks' included; must divide their channels (default 8) */
  normGroups?: number;
  /** nonlinearity of the blocks and the time MLP (default 'silu') */
  activation?: ActivationKind;
  /** 'conv': 3x3 conv with stride 2 (DDPM); 'maxpool': 2x2 max pooling (the 2015 U-Net) (default 'conv') */
  downsample?: 'conv' | 'maxpool';
  /** 'nearest': nearest 2x then a 3x3 conv (DDPM); 'transpose': 2x2 transposed conv, stride 2 (the 2015 U-Net) (default 'nearest') */
  upsample?: 'nearest' | 'transpose';
  /** self-attention after each ResBlock of the levels whose feature maps have this size (default []); needs sampleSize */
  attentionResolutions?: number[];
  /** side of the input images that attentionResolutions refers to (level i works at sampleSize / 2^i) */
  sampleSize?: number | null;
  /** heads of every attention block (default 1, as DDPM) */
  attentionHeads?: number;
  /** self-attention between the two ResBlocks of the mid block (default false) */
  midAttention?: boolean;
  /** condition on a timestep: sinusoidal embedding -> Linear-act-Linear, added in every ResBlock (default false) */
  timeEmbedding?: boolean;
  /** width of the time/class embedding (default 4 * baseChannels) */
  timeEmbedDim?: number;
  /** condition on a class label: an Embedding of numClasses + 1 rows, the last the "no class" row (default 0 = none) */
  numClasses?: number;
  /** dropout in every ResBlock, before its second conv (default 0) */
  dropout?: number;
  device?: string;
}

/** A config with every default filled in. */
export type ResolvedUNetConfig = Required<Omit<UNetConfig, 'sampleSize' | 'device'>> & { sampleSize: number | null };

/**
 * The DDPM sinusoidal embedding of timesteps t [N] (float or int32): [N, dim] holding
 * sin(t f_k) for k < dim/2, then cos(t f_k), with f_k = maxPeriod^(-k / (dim/2 - 1)).
 *
 *   timestepEmbedding(tensor([0, 10, 999]), 32); // [3, 32]
 */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  if (!Number.isInteger(dim) || dim < 4 || dim % 2) throw new ShapeError('timestepEmbedding', `dim must be an even integer >= 4, got ${dim}`);
  if (t.ndim !== 1) throw new ShapeError('timestepEmbedding', `t must be [N], got ${fmt(t.shape)}`);
  if (t.dtype === 'bool') throw new DTypeError('timestepEmbedding', `t must be float or int32, got bool ${fmt(t.shape)}`);
  const half = dim / 2;
  const freqs = arange(0, half, 1, { device: t.device }).mul(-Math.log(maxPeriod) / (half - 1)).exp(); // (half)
  const args = t.float().unsqueeze(1).mul(freqs.unsqueeze(0)); // (N, half)
  return cat([args.sin(), args.cos()], 1); // (N, dim)
}

function act(x: Tensor, kind: ActivationKind): Tensor {
  return kind === 'silu' ? x.silu() : x.relu();
}

/** act(norm(x)); GroupNorm then SiLU runs as one fused op where it can. */
function normAct(norm: BatchNorm2d | GroupNorm, x: Tensor, kind: ActivationKind): Tensor {
  return norm instanceof GroupNorm && kind === 'silu' ? norm.forwardSilu(x) : act(norm.forward(x), kind);
}

function makeNorm(kind: NormKind, groups: number, channels: number, device?: string): BatchNorm2d | GroupNorm {
  return kind === 'batch' ? new BatchNorm2d(channels, { device }) : new GroupNorm(groups, channels, { device });
}

/** The two-layer MLP on the sinusoidal embedding (diffusers' TimestepEmbedding: linear_1, act, linear_2). */
export class TimestepEmbedding extends Module {
  linear1: Linear;
  linear2: Linear;
  constructor(
    inDim: number,
    readonly outDim: number,
    readonly activation: ActivationKind = 'silu',
    device?: string,
  ) {
    super();
    this.linear1 = new Linear(inDim, outDim, { device });
    this.linear2 = new Linear(outDim, outDim, { device });
  }
  protected override entries(): Iterable<[string, unknown]> {
    return [['linear_1', this.linear1], ['linear_2', this.linear2]];
  }
  forward(x: Tensor): Tensor {
    return this.linear2.forward(act(this.linear1.forward(x), this.activation)); // (N, outDim)
  }
}

export interface ResBlockOptions {
  /** width of the conditioning vector added after conv1 (null: none) */
  embDim?: number | null;
  norm?: NormKind;
  normGroups?: number;
  activation?: ActivationKind;
  dropout?: number;
  device?: string;
}

/**
 * Pre-activation residual block: norm-act-conv3x3 [+ Linear(act(emb)) per channel] -norm-act-
 * dropout-conv3x3, plus the input (through a 1x1 conv_shortcut when the channels change).
 * Names: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut.
 *
 *   const block = new ResBlock(32, 64, { embDim: 128 });
 *   block.forward(x, emb); // x [N, 32, H, W], emb [N, 128] -> [N, 64, H, W]
 */
export class ResBlock extends Module {
  norm1: BatchNorm2d | GroupNorm;
  conv1: Conv2d;
  timeEmbProj: Linear | null;
  norm2: BatchNorm2d | GroupNorm;
  dropout: Dropout;
  conv2: Conv2d;
  convShortcut: Conv2d | null;
  readonly activation: ActivationKind;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    { embDim = null, norm = 'group', normGroups = 8, activation = 'silu', dropout = 0, device }: ResBlockOptions = {},
  ) {
    super();
    this.activation = activation;
    this.norm1 = makeNorm(norm, normGroups, inChannels, device);
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { padding: 1, device });
    this.timeEmbProj = embDim === null ? null : new Linear(embDim, outChannels, { device });
    this.norm2 = makeNorm(norm, normGroups, outChannels, device);
    this.dropout = new Dropout(dropout);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1, device });
    this.convShortcut = inChannels === outChannels ? null : new Conv2d(inChannels, outChannels, 1, { device });
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [
      ['norm1', this.norm1],
      ['conv1', this.conv1],
      ['time_emb_proj', this.timeEmbProj],
      ['norm2', this.norm2],
      ['dropout', this.dropout],
      ['conv2', this.conv2],
      ['conv_shortcut', this.convShortcut],
    ];
  }

  /** The intermediates are freed on return (autograd keeps what backward needs). */
  forward(x: Tensor, emb: Tensor | null = null): Tensor {
    this.checkInput(x, [null, this.inChannels, null, null], ['N', 'C', 'H', 'W']);
    if (this.timeEmbProj && !emb) throw new DLError(this.label(), `this block adds a conditioning vector [N,${this.timeEmbProj.inFeatures}]; forward got none (input ${fmt(x.shape)})`);
    if (!this.timeEmbProj && emb) throw new DLError(this.label(), `got a conditioning vector ${fmt(emb.shape)}, but this block was built without embDim`);
    return scope(() => {
      let h = this.conv1.forward(normAct(this.norm1, x, this.activation)); // (N, out, H, W)
      if (this.timeEmbProj) {
        const [N, C] = h.shape;
        h = h.add(this.timeEmbProj.forward(act(emb!, this.activation)).reshape([N, C, 1, 1])); // (N, out, H, W)
      }
      h = this.conv2.forward(this.dropout.forward(normAct(this.norm2, h, this.activation))); // (N, out, H, W)
      return (this.convShortcut ? this.convShortcut.forward(x) : x).add(h);
    });
  }
}

/**
 * Residual self-attention over the pixels of a feature map (DDPM): GroupNorm, q/k/v projections
 * of each pixel's channels, softmax(q k^T / sqrt(d)) v per head, an output projection, plus the
 * input. Names: group_norm, to_q, to_k, to_v, to_out.0 (diffusers' Attention).
 *
 *   new AttentionBlock(64).forward(x); // x [N, 64, 8, 8] -> [N, 64, 8, 8]
 */
export class AttentionBlock extends Module {
  groupNorm: GroupNorm;
  toQ: Linear;
  toK: Linear;
  toV: Linear;
  toOut: [Linear];
  readonly headDim: number;

  constructor(
    readonly channels: number,
    { heads = 1, normGroups = 8, device }: { heads?: number; normGroups?: number; device?: string } = {},
  ) {
    super();
    if (!Number.isInteger(heads) || heads < 1 || channels % heads) throw new ShapeError('AttentionBlock', `heads (${heads}) must be a positive integer dividing channels (${channels})`);
    this.headDim = channels / heads;
    this.groupNorm = new GroupNorm(normGroups, channels, { device });
    this.toQ = new Linear(channels, channels, { device });
    this.toK = new Linear(channels, channels, { device });
    this.toV = new Linear(channels, channels, { device });
    this.toOut = [new Linear(channels, channels, { device })];
  }

  get heads(): number {
    return this.channels / this.headDim;
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['group_norm', this.groupNorm], ['to_q', this.toQ], ['to_k', this.toK], ['to_v', this.toV], ['to_out', this.toOut]];
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x, [null, this.channels, null, null], ['N', 'C', 'H', 'W']);
    const [N, C, H, W] = x.shape;
    const L = H * W;
    const nh = this.heads;
    const hd = this.headDim;
    const h = this.groupNorm.forward(x).reshape([N, C, L]).transpose(1, 2); // (N, L, C)
    const split = (t: Tensor): Tensor => t.reshape([N, L, nh, hd]).transpose(1, 2); // (N, nh, L, hd)
    const q = split(this.toQ.forward(h)).mul(1 / Math.sqrt(hd));
    const k = split(this.toK.forward(h));
    const v = split(this.toV.forward(h));
    const attn = softmax(matmul(q, k.transpose(2, 3)), -1); // (N, nh, L, L)
    const o = matmul(attn, v).transpose(1, 2).reshape([N, L, C]); // (N, L, C)
    const out = this.toOut[0].forward(o).transpose(1, 2).reshape([N, C, H, W]); // (N, C, H, W)
    return x.add(out);
  }
}

/**
 * Halves H and W: a 3x3 conv with stride 2 (`conv`, DDPM) or 2x2 max pooling (no parameters).
 *
 *   new Downsample2D(32).forward(x); // [N, 32, 64, 64] -> [N, 32, 32, 32]
 */
export class Downsample2D extends Module {
  conv: Conv2d | null;
  pool: MaxPool2d | null;
  constructor(
    readonly channels: number,
    readonly mode: 'conv' | 'maxpool' = 'conv',
    device?: string,
  ) {
    super();
    this.conv = mode === 'conv' ? new Conv2d(channels, channels, 3, { stride: 2, padding: 1, device }) : null;
    this.pool = mode === 'maxpool' ? new MaxPool2d(2) : null;
  }
  forward(x: Tensor): Tensor {
    return this.conv ? this.conv.forward(x) : this.pool!.forward(x); // (N, C, H/2, W/2)
  }
}

/**
 * Doubles H and W: nearest-neighbour 2x then a 3x3 conv (DDPM), or a 2x2 transposed conv with
 * stride 2 (the 2015 U-Net); either is named `conv`.
 *
 *   new Upsample2D(32, 'transpose').forward(x); // [N, 32, 16, 16] -> [N, 32, 32, 32]
 */
export class Upsample2D extends Module {
  resize: Resize | null;
  conv: Conv2d | ConvTranspose2d;
  constructor(
    readonly channels: number,
    readonly mode: 'nearest' | 'transpose' = 'nearest',
    device?: string,
  ) {
    super();
    this.resize = mode === 'nearest' ? new Resize({ scaleFactor: 2, mode: 'nearest' }) : null;
    this.conv = mode === 'nearest' ? new Conv2d(channels, channels, 3, { padding: 1, device }) : new ConvTranspose2d(channels, channels, 2, { stride: 2, device });
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(this.resize ? this.resize.forward(x) : x); // (N, C, 2H, 2W)
  }
}

/** One level on the way down: ResBlocks (each followed by attention where asked), then a downsampling unless last. */
export class DownBlock extends Module {
  constructor(
    readonly resnets: ResBlock[],
    readonly attentions: AttentionBlock[],
    readonly downsamplers: Downsample2D[],
  ) {
    super();
  }
  /** Runs the level, pushing every ResBlock (or attention) output and the downsampled map onto `skips`. */
  forward(h: Tensor, emb: Tensor | null, skips: Tensor[]): Tensor {
    this.resnets.forEach((r, j) => {
      h = r.forward(h, emb);
      if (this.attentions.length) h = this.attentions[j].forward(h);
      skips.push(h);
    });
    for (const d of this.downsamplers) skips.push((h = d.forward(h)));
    return h;
  }
}

/** The bottleneck: ResBlock, optional attention, ResBlock. */
export class MidBlock extends Module {
  constructor(
    readonly resnets: [ResBlock, ResBlock],
    readonly attentions: AttentionBlock[],
  ) {
    super();
  }
  forward(h: Tensor, emb: Tensor | null): Tensor {
    h = this.resnets[0].forward(h, emb);
    for (const a of this.attentions) h = a.forward(h);
    return this.resnets[1].forward(h, emb);
  }
}

/** One level on the way up: each ResBlock takes [h, the last skip] concatenated; then a 2x upsampling unless last. */
export class UpBlock extends Module {
  constructor(
    readonly resnets: ResBlock[],
    readonly attentions: AttentionBlock[],
    readonly upsamplers: Upsample2D[],
  ) {
    super();
  }
  /** Runs the level, popping one skip per ResBlock off `skips`. */
  forward(h: Tensor, emb: Tensor | null, skips: Tensor[]): Tensor {
    this.resnets.forEach((r, j) => {
      const skip = skips.pop()!;
      h = scope(() => r.forward(cat([h, skip], 1), emb)); // (N, C + C_skip, H, W) -> (N, C_out, H, W)
      if (this.attentions.length) h = this.attentions[j].forward(h);
    });
    for (const u of this.upsamplers) h = u.forward(h);
    return h;
  }
}

const DEFAULTS: Omit<ResolvedUNetConfig, 'outChannels' | 'timeEmbedDim'> = {
  inChannels: 1,
  baseChannels: 32,
  channelMults: [1, 2, 4],
  numResBlocks: 2,
  norm: 'group',
  normGroups: 8,
  activation: 'silu',
  downsample: 'conv',
  upsample: 'nearest',
  attentionResolutions: [],
  sampleSize: null,
  attentionHeads: 1,
  midAttention: false,
  timeEmbedding: false,
  numClasses: 0,
  dropout: 0,
};

/** Fills in defaults and refuses settings that cannot build (DLError / ShapeError naming the field). */
function resolve(c: UNetConfig): ResolvedUNetConfig {
  const r = { ...DEFAULTS, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) } as ResolvedUNetConfig & { device?: string };
  const positive = (name: keyof UNetConfig, v: unknown): void => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new ShapeError('UNet', `${name} must be a positive integer, got ${JSON.stringify(v)}`);
  };
  for (const k of ['inChannels', 'baseChannels', 'numResBlocks', 'normGroups', 'attentionHeads'] as const) positive(k, r[k]);
  r.outChannels ??= r.inChannels;
  positive('outChannels', r.outChannels);
  if (!Array.isArray(r.channelMults) || !r.channelMults.length) throw new ShapeError('UNet', `channelMults must be a non-empty array of positive integers, got ${JSON.stringify(r.channelMults)}`);
  r.channelMults.forEach((m, i) => {
    // any multiplier giving a whole number of channels: 1.5 * 32 = 48
    if (!(typeof m === 'number' && m > 0 && Number.isInteger(m * r.baseChannels))) {
      throw new ShapeError('UNet', `channelMults[${i}] (${JSON.stringify(m)}) times baseChannels (${r.baseChannels}) must be a positive integer`);
    }
  });
  const choice = (name: keyof UNetConfig, v: unknown, options: string[]): void => {
    if (!options.includes(v as string)) throw new DLError('UNet', `${name} must be ${options.map((o) => `'${o}'`).join(' or ')}, got ${JSON.stringify(v)}`);
  };
  choice('norm', r.norm, ['batch', 'group']);
  choice('activation', r.activation, ['silu', 'relu']);
  choice('downsample', r.downsample, ['conv', 'maxpool']);
  choice('upsample', r.upsample, ['nearest', 'transpose']);
  if (!Number.isInteger(r.numClasses) || r.numClasses < 0) throw new ShapeError('UNet', `numClasses must be a non-negative integer (0 = no class embedding), got ${JSON.stringify(r.numClasses)}`);
  if (!(typeof r.dropout === 'number' && r.dropout >= 0 && r.dropout <= 1)) throw new DLError('UNet', `dropout must be in [0, 1], got ${JSON.stringify(r.dropout)}`);
  r.timeEmbedDim ??= 4 * r.baseChannels;
  positive('timeEmbedDim', r.timeEmbedDim);
  if (r.timeEmbedding && (r.baseChannels < 4 || r.baseChannels % 2)) throw new ShapeError('UNet', `the sinusoidal timestep embedding is baseChannels wide and needs an even width >= 4, got baseChannels ${r.baseChannels}`);
  if (!Array.isArray(r.attentionResolutions)) throw new DLError('UNet', `attentionResolutions must be an array of feature-map sizes, got ${JSON.stringify(r.attentionResolutions)}`);
  if (r.attentionResolutions.length) {
    if (r.sampleSize === null) throw new DLError('UNet', `attentionResolutions ${JSON.stringify(r.attentionResolutions)} needs sampleSize (the input side the resolutions refer to)`);
    positive('sampleSize', r.sampleSize);
    const sizes = r.channelMults.map((_, i) => r.sampleSize! / 2 ** i);
    for (const res of r.attentionResolutions) {
      if (!sizes.includes(res)) throw new ShapeError('UNet', `attentionResolutions: no level works at ${res}x${res}; with sampleSize ${r.sampleSize} the levels work at ${sizes.join(', ')}`);
    }
  }
  for (const k of ['timeEmbedding', 'midAttention'] as const) {
    if (typeof r[k] !== 'boolean') throw new DLError('UNet', `${k} must be true or false, got ${JSON.stringify(r[k])}`);
  }
  const { device: _, ...rest } = r;
  return rest;
}

/** Builds a block, naming it (`up_blocks.1.resnets.0`) in any error its layers raise (a GroupNorm's groups not dividing its channels). */
function build<M>(path: string, make: () => M): M {
  try {
    return make();
  } catch (e) {
    if (e instanceof DLError) throw new ShapeError('UNet', `${path}: ${e.message}`);
    throw e;
  }
}

/**
 * A U-Net for segmentation (logits per pixel) or diffusion (noise prediction, conditioned on a
 * timestep and a class). x [N, inChannels, H, W] -> [N, outChannels, H, W]; H and W must be
 * divisible by 2^(levels - 1).
 *
 *   // the 2015 U-Net's recipe: batch norm, ReLU, max pooling, transposed convs
 *   const seg = new UNet({ inChannels: 1, outChannels: 11, baseChannels: 16, channelMults: [1, 2, 4],
 *     numResBlocks: 1, norm: 'batch', activation: 'relu', downsample: 'maxpool', upsample: 'transpose' });
 *   seg.forward(x); // [N, 11, 64, 64] logits for x [N, 1, 64, 64]
 *
 *   // a class-conditional DDPM denoiser for 28x28 digits
 *   const eps = new UNet({ baseChannels: 32, channelMults: [1, 2, 2], numResBlocks: 1,
 *     timeEmbedding: true, numClasses: 10, attentionResolutions: [7], sampleSize: 28 });
 *   eps.forward(xt, t, y); // t [N] timesteps, y [N] int32 labels (10 = no class, for guidance)
 */
export class UNet extends Module {
  readonly config: ResolvedUNetConfig;
  convIn: Conv2d;
  timeEmbedding: TimestepEmbedding | null;
  classEmbedding: Embedding | null;
  downBlocks: DownBlock[];
  midBlock: MidBlock;
  upBlocks: UpBlock[];
  convNormOut: BatchNorm2d | GroupNorm;
  convOut: Conv2d;

  constructor(config: UNetConfig = {}) {
    super();
    const c = resolve(config);
    this.config = c;
    const device = config.device;
    const chans = c.channelMults.map((m) => m * c.baseChannels);
    const levels = chans.length;
    const conditioned = c.timeEmbedding || c.numClasses > 0;
    const embDim = conditioned ? c.timeEmbedDim : null;
    const res = (inC: number, outC: number, path: string): ResBlock =>
      build(path, () => new ResBlock(inC, outC, { embDim, norm: c.norm, normGroups: c.normGroups, activation: c.activation, dropout: c.dropout, device }));
    const attn = (C: number, path: string): AttentionBlock => build(path, () => new AttentionBlock(C, { heads: c.attentionHeads, normGroups: c.normGroups, device }));
    const attends = (level: number): boolean => c.sampleSize !== null && c.attentionResolutions.includes(c.sampleSize / 2 ** level);

    this.convIn = new Conv2d(c.inChannels, chans[0], 3, { padding: 1, device });
    this.timeEmbedding = c.timeEmbedding ? new TimestepEmbedding(c.baseChannels, c.timeEmbedDim, c.activation, device) : null;
    this.classEmbedding = c.numClasses > 0 ? new Embedding(c.numClasses + 1, c.timeEmbedDim, { device }) : null;

    // channels of every skip, in the order the way down pushes them
    const skipChans = [chans[0]];
    let ch = chans[0];
    this.downBlocks = chans.map((out, i) => {
      const resnets: ResBlock[] = [];
      const attentions: AttentionBlock[] = [];
      for (let j = 0; j < c.numResBlocks; j++) {
        resnets.push(res(ch, out, `down_blocks.${i}.resnets.${j}`));
        if (attends(i)) attentions.push(attn(out, `down_blocks.${i}.attentions.${j}`));
        ch = out;
        skipChans.push(ch);
      }
      const down = i < levels - 1 ? [new Downsample2D(ch, c.downsample, device)] : [];
      if (down.length) skipChans.push(ch);
      return new DownBlock(resnets, attentions, down);
    });

    this.midBlock = new MidBlock(
      [res(ch, ch, 'mid_block.resnets.0'), res(ch, ch, 'mid_block.resnets.1')],
      c.midAttention ? [attn(ch, 'mid_block.attentions.0')] : [],
    );

    this.upBlocks = [...chans.keys()].reverse().map((i, k) => {
      const out = chans[i];
      const resnets: ResBlock[] = [];
      const attentions: AttentionBlock[] = [];
      for (let j = 0; j <= c.numResBlocks; j++) {
        resnets.push(res(ch + skipChans.pop()!, out, `up_blocks.${k}.resnets.${j}`));
        if (attends(i)) attentions.push(attn(out, `up_blocks.${k}.attentions.${j}`));
        ch = out;
      }
      return new UpBlock(resnets, attentions, i > 0 ? [new Upsample2D(ch, c.upsample, device)] : []);
    });

    this.convNormOut = build('conv_norm_out', () => makeNorm(c.norm, c.normGroups, ch, device));
    this.convOut = new Conv2d(ch, c.outChannels, 3, { padding: 1, device });
  }

  /** The class index that means "no class" (classifier-free guidance): numClasses. */
  get nullClass(): number {
    return this.config.numClasses;
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [
      ['conv_in', this.convIn],
      ['time_embedding', this.timeEmbedding],
      ['class_embedding', this.classEmbedding],
      ['down_blocks', this.downBlocks],
      ['mid_block', this.midBlock],
      ['up_blocks', this.upBlocks],
      ['conv_norm_out', this.convNormOut],
      ['conv_out', this.convOut],
    ];
  }

  /**
   * x [N, inChannels, H, W] -> [N, outChannels, H, W]. With a time embedding, `t` is required:
   * a number, a 0-d tensor (the same step for every image) or [N] (float or int32). With a class
   * embedding, `y` is int32 [N] in [0, numClasses]; numClasses (or leaving y out) is "no class".
   */
  forward(x: Tensor, t?: Tensor | number, y?: Tensor): Tensor {
    this.#checkImage(x);
    // each block frees its intermediates as it returns, and this scope the skips and the
    // embedding: without grad (sampling) only a few activations are alive at a time, so the CPU
    // backend's array pool hands back recently freed, cache-warm storage instead of fresh pages
    return scope(() => {
      const emb = this.#conditioning(x, t, y); // (N, timeEmbedDim) or null
      let h = this.convIn.forward(x); // (N, C0, H, W)
      const skips = [h];
      for (const block of this.downBlocks) h = block.forward(h, emb, skips); // (N, C_last, H / 2^(L-1), W / 2^(L-1))
      h = this.midBlock.forward(h, emb);
      for (const block of this.upBlocks) h = block.forward(h, emb, skips); // (N, C0, H, W)
      return this.convOut.forward(normAct(this.convNormOut, h, this.config.activation)); // (N, outChannels, H, W)
    });
  }

  #checkImage(x: Tensor): void {
    const c = this.config;
    this.checkInput(x, [null, c.inChannels, null, null], ['N', 'C', 'H', 'W']);
    if (!isFloat(x.dtype)) throw new DTypeError(this.label(), `expected a float input, got ${x.dtype} ${fmt(x.shape)}`);
    const f = 2 ** (c.channelMults.length - 1);
    const [, , H, W] = x.shape;
    if (H % f || W % f) {
      throw new ShapeError(
        this.label(),
        `input height ${H} and width ${W} must be divisible by ${f} (${c.channelMults.length - 1} downsamplings for channelMults ${JSON.stringify(c.channelMults)}), got input ${fmt(x.shape)}`,
      );
    }
  }

  /** The vector added in every ResBlock: time MLP(sinusoid(t)) + class embedding(y). */
  #conditioning(x: Tensor, t: Tensor | number | undefined, y: Tensor | undefined): Tensor | null {
    const c = this.config;
    const N = x.shape[0];
    const where = `input ${fmt(x.shape)}`;
    let emb: Tensor | null = null;
    if (this.timeEmbedding) {
      if (t === undefined) throw new DLError(this.label(), `this U-Net has a timestep embedding: forward(x, t) needs t (a number or [${N}] timesteps; ${where})`);
      let steps: Tensor;
      if (typeof t === 'number') {
        if (!Number.isFinite(t)) throw new DLError(this.label(), `t must be a finite number, got ${t}`);
        steps = full([N], t, { device: x.device });
      } else {
        if (!(t instanceof Tensor)) throw new DLError(this.label(), `t must be a number or a tensor, got ${typeof t}`);
        if (t.dtype === 'bool') throw new DTypeError(this.label(), `t must be float or int32 timesteps, got bool ${fmt(t.shape)} (${where})`);
        if (!(t.ndim === 0 || (t.ndim === 1 && t.shape[0] === N))) throw new ShapeError(this.label(), `t must be [] or [${N}] (one timestep per image), got ${fmt(t.shape)} (${where})`);
        if (t.device !== x.device) throw new DeviceError(this.label(), `t ${fmt(t.shape)} is on ${t.device} but the input ${fmt(x.shape)} is on ${x.device}`);
        steps = t.ndim === 0 ? t.reshape([1]).expand([N]) : t;
      }
      emb = this.timeEmbedding.forward(timestepEmbedding(steps, c.baseChannels)); // (N, timeEmbedDim)
    } else if (t !== undefined) {
      throw new DLError(this.label(), `got timesteps t${t instanceof Tensor ? ` ${fmt(t.shape)}` : ` = ${t}`}, but this U-Net has no timestep embedding (config.timeEmbedding is false)`);
    }
    if (this.classEmbedding) {
      let labels: Tensor;
      if (y === undefined) labels = full([N], this.nullClass, { dtype: 'int32', device: x.device });
      else {
        if (!(y instanceof Tensor)) throw new DLError(this.label(), `y must be an int32 tensor of class labels, got ${typeof y}`);
        if (y.dtype !== 'int32') throw new DTypeError(this.label(), `class labels y must be int32, got ${y.dtype} ${fmt(y.shape)}`);
        if (y.ndim !== 1 || y.shape[0] !== N) throw new ShapeError(this.label(), `class labels y must be [${N}] (one per image), got ${fmt(y.shape)} (${where})`);
        if (y.device !== x.device) throw new DeviceError(this.label(), `class labels y ${fmt(y.shape)} are on ${y.device} but the input ${fmt(x.shape)} is on ${x.device}`);
        labels = y;
      }
      const ce = this.classEmbedding.forward(labels); // (N, timeEmbedDim)
      emb = emb ? emb.add(ce) : ce;
    } else if (y !== undefined) {
      throw new DLError(this.label(), `got class labels y${y instanceof Tensor ? ` ${fmt(y.shape)}` : ''}, but this U-Net has no class embedding (config.numClasses is 0)`);
    }
    return emb;
  }

  protected override extraRepr(): string {
    const c = this.config;
    return `channels=${JSON.stringify(c.channelMults.map((m) => m * c.baseChannels))}, numResBlocks=${c.numResBlocks}, norm=${c.norm}, time=${c.timeEmbedding}, numClasses=${c.numClasses}`;
  }
}
