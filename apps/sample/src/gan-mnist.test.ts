import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors } from '@dl/layers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';
import { runCli } from './test-helpers.js';
import { GAN_MNIST_DEFAULTS, ganMnistNets } from './train-gan.js';

const samplesOf = (dir: string) => parseSafetensors(new Uint8Array(readFileSync(join(dir, 'samples.safetensors'))));

describe('dl train gan-mnist', () => {
  afterEach(() => vi.restoreAllMocks());

  it("the default nets are the reference DCGAN at width 32 (G 234,176, D 36,544 parameters; 533,888 and 138,624 at width 64) with PyTorch examples/dcgan's names", () => {
    const { netG, netD } = ganMnistNets(GAN_MNIST_DEFAULTS);
    expect([netG.numParameters(), netD.numParameters()]).toEqual([234_176, 36_544]);
    const full = ganMnistNets({ ...GAN_MNIST_DEFAULTS, width: 64 });
    expect([full.netG.numParameters(), full.netD.numParameters()]).toEqual([533_888, 138_624]);
    expect(netG.main.at(0).constructor.name).toBe('ConvTranspose2d');
    expect(Object.keys(netD.stateDict())).toContain('main.3.running_var');
  });

  it('trains a few steps, writes grids, checkpoint and samples; a resumed run ends where an uninterrupted one does; sample rebuilds the net', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-gan-mnist-'));
    const whole = mkdtempSync(join(tmpdir(), 'dl-gan-mnist-'));
    try {
      // 96 images at batch 32: 3 steps an epoch, so step 4 resumes in the middle of epoch 2
      const args = ['train', 'gan-mnist', '--limit', '96', '--width', '4', '--latent-dim', '8', '--batch-size', '32', '--samples', '30', '--grid-every', '2'];
      const first = await runCli([...args, '--steps', '4', '--out', dir]);
      expect(first.some((l) => l.startsWith('model: DCGAN, G 3,736 + D 984 parameters, z 8; Adam lr 0.0002 (0.5, 0.999), nonSaturating loss, batch 32, 4 steps'))).toBe(true);
      expect(first.some((l) => l.startsWith('step 3/4 (epoch 1): lossD '))).toBe(true);
      expect(first.some((l) => l.startsWith('classes: 0: '))).toBe(true);
      expect(first.at(-1)).toMatch(/^fid: \d+\.\d{2}$/);
      for (const f of ['checkpoint.safetensors', 'grid-00002.png', 'grid-00004.png', 'samples-latest.png', 'samples.png', 'samples.safetensors']) expect(existsSync(join(dir, f)), f).toBe(true);
      const s = samplesOf(dir).tensors.images;
      expect(s.shape).toEqual([30, 1, 28, 28]);
      expect(s.dataSync().every((v) => v >= 0 && v <= 1)).toBe(true);

      const resumed = await runCli([...args, '--steps', '7', '--out', dir, '--resume']);
      expect(resumed).toContain(`resumed from ${join(dir, 'checkpoint.safetensors')} at step 4`);
      expect(resumed.some((l) => l.startsWith('step 3/'))).toBe(false);
      await runCli([...args, '--steps', '7', '--out', whole]);
      expect(Array.from(samplesOf(dir).tensors.images.dataSync())).toEqual(Array.from(samplesOf(whole).tensors.images.dataSync()));

      // sample: width and latent size come from the checkpoint, not the defaults (the quick scorer cached in dir is reused)
      const sampled = await runCli(['sample', 'gan-mnist', '--checkpoint', join(dir, 'checkpoint.safetensors'), '--samples', '12', '--out', dir, '--limit', '96']);
      expect(sampled).toContain(`loaded ${join(dir, 'checkpoint.safetensors')} (step 7)`);
      expect(sampled.at(-1)).toMatch(/^fid: \d+\.\d{2}$/);
      expect(samplesOf(dir).tensors.images.shape).toEqual([12, 1, 28, 28]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(whole, { recursive: true, force: true });
    }
  }, 600_000);

  it('--conditional: samples carry their requested labels, 0..9 in turn, and the score reports the agreement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-gan-mnist-'));
    try {
      const lines = await runCli(['train', 'gan-mnist', '--conditional', '--limit', '64', '--width', '4', '--latent-dim', '8', '--batch-size', '32', '--steps', '2', '--samples', '20', '--out', dir]);
      expect(lines.some((l) => l.startsWith('model: DCGAN (class-conditional'))).toBe(true);
      expect(lines.some((l) => l.startsWith('requested class: '))).toBe(true);
      expect(Array.from(samplesOf(dir).tensors.labels.dataSync())).toEqual(Array.from({ length: 20 }, (_, i) => i % 10));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('refuses an unknown loss', async () => {
    await expect(main(['train', 'gan-mnist', '--loss', 'wgan'])).rejects.toThrow('--loss must be one of nonSaturating, hinge, minimax');
  });
});
