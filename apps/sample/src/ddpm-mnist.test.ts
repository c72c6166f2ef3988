import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors } from '@dl/layers';
import { UNet } from '@dl/unet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';
import { runCli as run } from './test-helpers.js';
import { DDPM_MNIST_DEFAULTS, ddpmUNetConfig } from './train-ddpm.js';

const samplesOf = (dir: string) => parseSafetensors(new Uint8Array(readFileSync(join(dir, 'samples.safetensors'))));

describe('dl train ddpm-mnist', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the default U-Net has 16-32-32 channels, time and class embeddings and diffusers-style names', () => {
    const unet = new UNet(ddpmUNetConfig(DDPM_MNIST_DEFAULTS));
    expect(unet.numParameters()).toBe(263_729);
    expect(Object.keys(unet.stateDict())).toContain('class_embedding.weight');
    expect(unet.config.numClasses).toBe(10);
  });

  it('trains a few steps, writes checkpoint, loss curve and labelled samples with a sampling progress line; a resumed run ends where an uninterrupted one does; sample rebuilds the net', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-ddpm-mnist-'));
    const whole = mkdtempSync(join(tmpdir(), 'dl-ddpm-mnist-'));
    try {
      // 96 images at batch 32: 3 steps an epoch, so step 4 resumes in the middle of epoch 2
      const args = ['train', 'ddpm-mnist', '--limit', '96', '--base', '8', '--mults', '1,2', '--batch-size', '32', '--samples', '20', '--sample-steps', '3'];
      const err: string[] = [];
      const first = await run([...args, '--steps', '4', '--out', dir], err);
      expect(first.some((l) => /^model: U-Net 8-16 channels, 1 res block\(s\) a level, time \+ class embedding, [\d,]+ parameters; DDPM T=1000 linear betas, epsilon, label dropout 0.1; Adam lr 0.002, batch 32, EMA 0.995, 4 steps/.test(l))).toBe(true);
      expect(first.some((l) => l.startsWith('step 3/4 (epoch 1): loss '))).toBe(true);
      expect(first.some((l) => l.startsWith('sampled 20 images (DDIM 3 steps, guidance 2, EMA weights)'))).toBe(true);
      expect(first.some((l) => l.startsWith('requested class: '))).toBe(true);
      expect(first.at(-1)).toMatch(/^fid: \d+\.\d{2}$/);
      expect(err.join('')).toMatch(/sampling \[#+\] 20\/20 images/);
      for (const f of ['checkpoint.safetensors', 'loss.png', 'samples.png', 'samples.safetensors']) expect(existsSync(join(dir, f)), f).toBe(true);
      const s = samplesOf(dir).tensors;
      expect(s.images.shape).toEqual([20, 1, 28, 28]);
      expect(s.images.dataSync().every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Array.from(s.labels.dataSync())).toEqual(Array.from({ length: 20 }, (_, i) => i % 10));

      const resumed = await run([...args, '--steps', '7', '--out', dir, '--resume']);
      expect(resumed).toContain(`resumed from ${join(dir, 'checkpoint.safetensors')} at step 4`);
      expect(resumed.some((l) => l.startsWith('step 3/'))).toBe(false);
      await run([...args, '--steps', '7', '--out', whole]);
      expect(Array.from(samplesOf(dir).tensors.images.dataSync())).toEqual(Array.from(samplesOf(whole).tensors.images.dataSync()));

      // sample: the U-Net comes from the checkpoint, not the defaults; --steps are DDIM steps here
      const sampled = await run(['sample', 'ddpm-mnist', '--checkpoint', join(dir, 'checkpoint.safetensors'), '--steps', '2', '--guidance', '1.5', '--samples', '12', '--out', dir, '--limit', '96']);
      expect(sampled).toContain(`loaded ${join(dir, 'checkpoint.safetensors')} (step 7; EMA weights)`);
      expect(sampled.some((l) => l.startsWith('sampled 12 images (DDIM 2 steps, guidance 1.5, EMA weights)'))).toBe(true);
      expect(sampled.at(-1)).toMatch(/^fid: \d+\.\d{2}$/);
      expect(samplesOf(dir).tensors.images.shape).toEqual([12, 1, 28, 28]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(whole, { recursive: true, force: true });
    }
  }, 900_000);

  it('refuses bad settings', async () => {
    await expect(main(['train', 'ddpm-mnist', '--schedule', 'sigmoid'])).rejects.toThrow("--schedule must be linear or cosine, got 'sigmoid'");
    await expect(main(['train', 'ddpm-mnist', '--mults', '1,x'])).rejects.toThrow('--mults must be comma-separated positive numbers');
    await expect(main(['sample', 'ddpm-mnist'])).rejects.toThrow('dl sample ddpm-mnist needs --checkpoint');
  });
});
