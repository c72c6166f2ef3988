import { backward, noGrad } from '@dl/autograd';
import { DLError, DTypeError, DeviceError, IndexError, ShapeError, addDispatchListener, full, manualSeed, memory, randn, scope, tensor, type Tensor } from '@dl/tensor';
import { Module } from '@dl/layers';
import { describe, expect, it } from 'vitest';
import { AttentionBlock, Downsample2D, ResBlock, UNet, Upsample2D, timestepEmbedding, type UNetConfig } from './index.js';

const SEG: UNetConfig = { inChannels: 1, outChannels: 5, baseChannels: 4, channelMults: [1, 2, 2], numResBlocks: 1, norm: 'batch', normGroups: 2, activation: 'relu', downsample: 'maxpool', upsample: 'transpose' };
const DIFF: UNetConfig = { inChannels: 2, baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, normGroups: 4, timeEmbedding: true, numClasses: 3, attentionResolutions: [4], sampleSize: 8, attentionHeads: 2, midAttention: true, dropout: 0.1 };

describe('UNet shapes', () => {
  it.each([
    ['segmentation (batch norm, max pool, transposed conv)', SEG, [2, 1, 8, 12], [2, 5, 8, 12]],
    ['diffusion (time + class, attention at 4x4)', DIFF, [3, 2, 8, 8], [3, 2, 8, 8]],
    ['one level (no downsampling), any size', { baseChannels: 4, channelMults: [1], normGroups: 2 }, [1, 1, 5, 7], [1, 1, 5, 7]],
    ['four levels, two blocks each, nearest upsampling', { inChannels: 3, outChannels: 2, baseChannels: 4, channelMults: [1, 2, 2, 4], numResBlocks: 2, normGroups: 4 }, [1, 3, 16, 8], [1, 2, 16, 8]],
  ] as [string, UNetConfig, number[], number[]][])('%s', (_, config, inShape, outShape) => {
    manualSeed(0);
    const m = new UNet(config);
    const cond = config.timeEmbedding ? [tensor(Array.from({ length: inShape[0] }, (_, i) => 10 * i)), tensor(Array.from({ length: inShape[0] }, (_, i) => i), { dtype: 'int32' })] : [];
    expect(m.forward(randn(inShape), ...(cond as [Tensor, Tensor])).shape).toEqual(outShape);
  });

  it('the blocks keep or halve/double the spatial size', () => {
    const x = randn([2, 4, 8, 8]);
    expect(new ResBlock(4, 6, { normGroups: 2 }).forward(x).shape).toEqual([2, 6, 8, 8]);
    expect(new AttentionBlock(4, { heads: 2, normGroups: 2 }).forward(x).shape).toEqual([2, 4, 8, 8]);
    expect(new Downsample2D(4).forward(x).shape).toEqual([2, 4, 4, 4]);
    expect(new Downsample2D(4, 'maxpool').forward(x).shape).toEqual([2, 4, 4, 4]);
    expect(new Upsample2D(4).forward(x).shape).toEqual([2, 4, 16, 16]);
    expect(new Upsample2D(4, 'transpose').forward(x).shape).toEqual([2, 4, 16, 16]);
  });
});

describe('UNet parameters', () => {
  it('are named like diffusers UNet2DModel (a stable, documented layout)', () => {
    const m = new UNet({ baseChannels: 4, channelMults: [1, 2], numResBlocks: 1, normGroups: 2, timeEmbedding: true, numClasses: 2, attentionResolutions: [4], sampleSize: 8, midAttention: true });
    const groups = [...new Set(Object.keys(m.stateDict()).map((k) => k.replace(/\.(weight|bias)$/, '')))];
    expect(groups).toEqual([
      'conv_in',
      'time_embedding.linear_1',
      'time_embedding.linear_2',
      'class_embedding',
      ...['norm1', 'conv1', 'time_emb_proj', 'norm2', 'conv2'].map((k) => `down_blocks.0.resnets.0.${k}`),
      'down_blocks.0.downsamplers.0.conv',
      // attention at 4x4: level 1 of an 8x8 input
      ...['norm1', 'conv1', 'time_emb_proj', 'norm2', 'conv2', 'conv_shortcut'].map((k) => `down_blocks.1.resnets.0.${k}`),
      ...['group_norm', 'to_q', 'to_k', 'to_v', 'to_out.0'].map((k) => `down_blocks.1.attentions.0.${k}`),
      ...[0, 1].flatMap((i) => ['norm1', 'conv1', 'time_emb_proj', 'norm2', 'conv2'].map((k) => `mid_block.resnets.${i}.${k}`)),
      ...['group_norm', 'to_q', 'to_k', 'to_v', 'to_out.0'].map((k) => `mid_block.attentions.0.${k}`),
      ...[0, 1].flatMap((i) => ['norm1', 'conv1', 'time_emb_proj', 'norm2', 'conv2', 'conv_shortcut'].map((k) => `up_blocks.0.resnets.${i}.${k}`)),
      ...[0, 1].flatMap((i) => ['group_norm', 'to_q', 'to_k', 'to_v', 'to_out.0'].map((k) => `up_blocks.0.attentions.${i}.${k}`)),
      'up_blocks.0.upsamplers.0.conv',
      ...[0, 1].flatMap((i) => ['norm1', 'conv1', 'time_emb_proj', 'norm2', 'conv2', 'conv_shortcut'].map((k) => `up_blocks.1.resnets.${i}.${k}`)),
      'conv_norm_out',
      'conv_out',
    ]);
    // the skips' channels: up_blocks.0 takes [8 + 8] then [8 + 4] (the downsampled level-0 map)
    expect(m.stateDict()['up_blocks.0.resnets.0.conv1.weight'].shape).toEqual([8, 16, 3, 3]);
    expect(m.stateDict()['up_blocks.0.resnets.1.conv1.weight'].shape).toEqual([8, 12, 3, 3]);
    expect(m.stateDict()['class_embedding.weight'].shape).toEqual([3, 16]); // numClasses + 1 rows
  });

  it('the DDPM-sized denoiser config has 0.54M parameters', () => {
    const m = new UNet({ baseChannels: 32, channelMults: [1, 1, 1.5], numResBlocks: 1, timeEmbedding: true, numClasses: 10 });
    expect(m.numParameters()).toBe(536_113);
  });

  it.each([
    ['segmentation', SEG, [2, 1, 8, 8]],
    ['diffusion', { ...DIFF, dropout: 0 }, [2, 2, 8, 8]],
  ] as [string, UNetConfig, number[]][])('every parameter of the %s config gets a non-zero gradient', (_, config, shape) => {
    manualSeed(1);
    const m = new UNet(config);
    const args = config.timeEmbedding ? [tensor([5, 700]), tensor([0, config.numClasses!], { dtype: 'int32' })] : [];
    const out = m.forward(randn(shape), ...(args as [Tensor, Tensor]));
    backward(out.mul(randn(out.shape)).sum());
    for (const [name, p] of m.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      // class_embedding: only the rows of the labels used (0 and the null class) get a gradient
      const g = name === 'class_embedding.weight' ? p.grad!.narrow(0, 1, 1) : p.grad!;
      const any = Array.from(g.dataSync()).some((v) => v !== 0);
      expect(any, name).toBe(name !== 'class_embedding.weight');
    }
  });

  it('leaving y out uses the null class (numClasses); a 0-d t or a number is every image\'s step', () => {
    manualSeed(2);
    const m = new UNet({ ...DIFF, dropout: 0 }).eval();
    const x = randn([2, 2, 8, 8]);
    const ref = m.forward(x, tensor([7, 7]), tensor([3, 3], { dtype: 'int32' })).dataSync();
    expect(m.nullClass).toBe(3);
    expect(Array.from(m.forward(x, tensor([7, 7])).dataSync())).toEqual(Array.from(ref));
    expect(Array.from(m.forward(x, 7).dataSync())).toEqual(Array.from(ref));
    expect(Array.from(m.forward(x, tensor(7), tensor([3, 3], { dtype: 'int32' })).dataSync())).toEqual(Array.from(ref));
    expect(Array.from(m.forward(x, tensor([7, 7], { dtype: 'int32' })).dataSync())).toEqual(Array.from(ref));
  });

  it('timestepEmbedding is the DDPM sinusoid: sin then cos of t * 10000^(-k / (dim/2 - 1))', () => {
    const e = timestepEmbedding(tensor([0, 3, 250]), 8).dataSync();
    for (const [i, t] of [0, 3, 250].entries()) {
      for (let k = 0; k < 4; k++) {
        const a = t * Math.exp((-Math.log(10000) * k) / 3);
        expect(e[i * 8 + k]).toBeCloseTo(Math.sin(a), 4);
        expect(e[i * 8 + 4 + k]).toBeCloseTo(Math.cos(a), 4);
      }
    }
  });

  it('dropout acts in training mode only', () => {
    manualSeed(3);
    const m = new UNet({ ...SEG, dropout: 0.5 });
    const x = randn([2, 1, 8, 8]);
    m.eval();
    expect(Array.from(m.forward(x).dataSync())).toEqual(Array.from(m.forward(x).dataSync()));
    m.train();
    expect(Array.from(m.forward(x).dataSync())).not.toEqual(Array.from(m.forward(x).dataSync()));
  });
});

/** The error `f` throws (failing when it throws none). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('UNet memory', () => {
  it('a forward without gradients frees each block\'s intermediates as it goes and leaves only its output', () => {
    // (sampling runs the U-Net under noGrad inside one scope per step; before the blocks freed
    // their intermediates, a batch of 100 at 28x28 held 583 MB at once, past the CPU array pool)
    manualSeed(0);
    const m = new UNet({ inChannels: 1, baseChannels: 8, channelMults: [1, 2, 2], numResBlocks: 1, normGroups: 4, timeEmbedding: true, numClasses: 10 });
    const [N, H] = [4, 16];
    const act = N * 8 * H * H * 4; // bytes of one first-level activation
    noGrad(() =>
      scope(() => {
        const x = randn([N, 1, H, H]);
        const t = full([N], 10, { dtype: 'int32' });
        const base = memory().bytes;
        let peak = 0;
        const off = addDispatchListener(() => void (peak = Math.max(peak, memory().bytes - base)));
        const out = m.forward(x, t, full([N], 3, { dtype: 'int32' }));
        off();
        expect(memory().bytes - base).toBe(N * H * H * 4 + N * 4); // the output and the labels made after base
        // measured: 41 activations with the block scopes, 116 when every intermediate lived to the end
        expect(peak).toBeLessThan(60 * act);
      }),
    );
  });
});

describe('UNet bad input', () => {
  const seg = new UNet(SEG);
  const diff = new UNet(DIFF);

  it('a wrong channel count or a size the U-Net cannot halve names the module path and the shapes', () => {
    let e = thrown(() => seg.forward(randn([2, 3, 8, 8])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('UNet: expected input [N,1,H,W], got [2,3,8,8]');
    e = thrown(() => seg.forward(randn([2, 1, 8, 6])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('UNet: input height 8 and width 6 must be divisible by 4 (2 downsamplings for channelMults [1,2,2]), got input [2,1,8,6]');
    // inside a bigger model the message starts with the U-Net's path there
    class Wrapper extends Module {
      denoiser = new UNet(SEG);
      forward(x: Tensor): Tensor {
        return this.denoiser.forward(x);
      }
    }
    e = thrown(() => new Wrapper().forward(randn([1, 1, 6, 8])));
    expect(e.message).toMatch(/^denoiser \(UNet\): input height 6 and width 8 must be divisible by 4 .* got input \[1,1,6,8\]$/);
    // a block called on its own names itself
    const rb = new ResBlock(4, 8, { normGroups: 2 });
    e = thrown(() => rb.forward(randn([1, 3, 4, 4])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('ResBlock: expected input [N,4,H,W], got [1,3,4,4]');
    expect(thrown(() => seg.forward(randn([2, 1, 8]))).message).toBe('UNet: expected input [N,1,H,W], got [2,1,8]');
    expect(thrown(() => seg.forward(tensor([[[[1]]]], { dtype: 'int32' })))).toBeInstanceOf(DTypeError);
  });

  it('timesteps: missing, unexpected, wrong shape, dtype or device', () => {
    const x = randn([2, 2, 8, 8]);
    let e = thrown(() => diff.forward(x));
    expect(e).toBeInstanceOf(DLError);
    expect(e.message).toBe('UNet: this U-Net has a timestep embedding: forward(x, t) needs t (a number or [2] timesteps; input [2,2,8,8])');
    e = thrown(() => diff.forward(x, tensor([1, 2, 3])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('UNet: t must be [] or [2] (one timestep per image), got [3] (input [2,2,8,8])');
    expect(thrown(() => diff.forward(x, tensor([[1, 2]])))).toBeInstanceOf(ShapeError);
    e = thrown(() => diff.forward(x, tensor([true, false])));
    expect(e).toBeInstanceOf(DTypeError);
    expect(e.message).toBe('UNet: t must be float or int32 timesteps, got bool [2] (input [2,2,8,8])');
    expect(thrown(() => diff.forward(x, NaN)).message).toBe('UNet: t must be a finite number, got NaN');
    e = thrown(() => seg.forward(randn([1, 1, 8, 8]), tensor([1])));
    expect(e).toBeInstanceOf(DLError);
    expect(e.message).toBe('UNet: got timesteps t [1], but this U-Net has no timestep embedding (config.timeEmbedding is false)');
  });

  it('class labels: without a class embedding, wrong dtype, shape or range', () => {
    const x = randn([2, 2, 8, 8]);
    const t = tensor([1, 2]);
    let e = thrown(() => seg.forward(randn([1, 1, 8, 8]), undefined, tensor([1], { dtype: 'int32' })));
    expect(e).toBeInstanceOf(DLError);
    expect(e.message).toBe('UNet: got class labels y [1], but this U-Net has no class embedding (config.numClasses is 0)');
    e = thrown(() => diff.forward(x, t, tensor([1, 2])));
    expect(e).toBeInstanceOf(DTypeError);
    expect(e.message).toBe('UNet: class labels y must be int32, got float32 [2]');
    e = thrown(() => diff.forward(x, t, tensor([1], { dtype: 'int32' })));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('UNet: class labels y must be [2] (one per image), got [1] (input [2,2,8,8])');
    e = thrown(() => diff.forward(x, t, tensor([1, 4], { dtype: 'int32' })));
    expect(e).toBeInstanceOf(IndexError);
    expect(e.message).toMatch(/^class_embedding \(Embedding\): indices must be in \[0, 4\)/);
  });

  it('configs that cannot build name the field or the block', () => {
    expect(thrown(() => new UNet({ baseChannels: 0 })).message).toBe('UNet: baseChannels must be a positive integer, got 0');
    expect(thrown(() => new UNet({ channelMults: [] })).message).toBe('UNet: channelMults must be a non-empty array of positive integers, got []');
    expect(thrown(() => new UNet({ baseChannels: 8, channelMults: [1, 1.3] })).message).toBe('UNet: channelMults[1] (1.3) times baseChannels (8) must be a positive integer');
    expect(thrown(() => new UNet({ norm: 'layer' as 'batch' })).message).toBe(`UNet: norm must be 'batch' or 'group', got "layer"`);
    expect(thrown(() => new UNet({ attentionResolutions: [8] })).message).toBe('UNet: attentionResolutions [8] needs sampleSize (the input side the resolutions refer to)');
    expect(thrown(() => new UNet({ attentionResolutions: [6], sampleSize: 32 })).message).toBe('UNet: attentionResolutions: no level works at 6x6; with sampleSize 32 the levels work at 32, 16, 8');
    expect(thrown(() => new UNet({ timeEmbedding: true, baseChannels: 3, normGroups: 1 })).message).toMatch(/needs an even width >= 4, got baseChannels 3/);
    const e = thrown(() => new UNet({ baseChannels: 4, channelMults: [1, 2], numResBlocks: 1, normGroups: 8 }));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('UNet: down_blocks.0.resnets.0: GroupNorm: numChannels (4) must be divisible by numGroups (8)');
    expect(thrown(() => new UNet({ dropout: 2 })).message).toBe('UNet: dropout must be in [0, 1], got 2');
  });

  it('a device mismatch of t or y is a DeviceError naming both devices', () => {
    // a tensor that claims another device: the check fires before any kernel runs
    const t = tensor([1, 2]);
    Object.defineProperty(t, 'device', { value: 'webgpu' });
    const e = thrown(() => diff.forward(randn([2, 2, 8, 8]), t));
    expect(e).toBeInstanceOf(DeviceError);
    expect(e.message).toMatch(/^UNet: t \[2\] is on webgpu but the input \[2,2,8,8\] is on cpu/);
  });
});
