import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from './test-helpers.js';
import { resnetMnist } from './train-resnet.js';

describe('dl train resnet-mnist', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the default model is a 308,538-parameter ResNet with the small-input stem and torchvision names', () => {
    const m = resnetMnist(16, 1);
    expect(m.numParameters()).toBe(308_538);
    expect(m.conv1.weight.shape).toEqual([16, 1, 3, 3]);
    expect(Object.keys(m.stateDict())).toContain('layer4.0.downsample.1.running_var');
  });

  it('trains one epoch on a few images, checkpoints, resumes, evaluates, and prints the test accuracy last', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-resnet-mnist-'));
    try {
      const args = ['train', 'resnet-mnist', '--limit', '96', '--width', '4', '--batch-size', '32', '--out', dir];
      const first = await runCli([...args, '--epochs', '1']);
      expect(first.some((l) => l.startsWith('model: ResNet (BasicBlocks [1,1,1,1], widths 4-8-16-32, small-input stem), 19,830 parameters; Adam lr 0.002'))).toBe(true);
      expect(first.some((l) => l.startsWith('epoch 1/1: train loss'))).toBe(true);
      expect(first.at(-1)).toMatch(/^test accuracy: 0\.\d{4}$/);
      for (const f of ['checkpoint.safetensors', 'loss.png', 'test-digits.png']) expect(existsSync(join(dir, f)), f).toBe(true);

      const resumed = await runCli([...args, '--epochs', '2', '--resume']);
      expect(resumed).toContain(`resumed from ${join(dir, 'checkpoint.safetensors')} after epoch 1`);
      expect(resumed.some((l) => l.startsWith('epoch 1/2'))).toBe(false);
      const acc = resumed.at(-1)!;
      expect(acc).toMatch(/^test accuracy: 0\.\d{4}$/);

      // eval rebuilds the model from the checkpoint's width and blocks (not the defaults); the full 2,004 test images
      const evaluated = await runCli(['eval', 'resnet-mnist', '--checkpoint', join(dir, 'checkpoint.safetensors')]);
      expect(evaluated).toContain(`loaded ${join(dir, 'checkpoint.safetensors')} (epoch 2)`);
      expect(evaluated.at(-1)).toMatch(/^test accuracy: 0\.\d{4}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
