import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint } from '@dl/layers';
import { manualSeed } from '@dl/tensor';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';
import { MnistCnn } from './model.js';

describe('dl CLI', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints help and rejects unknown models, commands and bad numbers', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['--help'])).toBe(0);
    expect(String(out.mock.calls[0][0])).toMatch(/dl train mnist-cnn/);
    await expect(main(['train', 'resnet'])).rejects.toThrow("unknown model 'resnet'");
    await expect(main(['train', 'mnist-cnn', '--epochs', '1.5'])).rejects.toThrow('--epochs must be a positive integer');
    await expect(main(['train', 'mnist-cnn', '--device', 'tpu'])).rejects.toThrow('--device must be cpu or webgpu');
    await expect(main(['fly', 'mnist-cnn'])).rejects.toThrow("unknown command 'fly'");
    await expect(main(['train', 'mnist-cnn', '--shift=1.5'])).rejects.toThrow('--shift must be an integer from 0 to 8');
    await expect(main(['eval', 'mnist-cnn'])).rejects.toThrow('dl eval mnist-cnn needs --checkpoint');
    await expect(main(['sample', 'mnist-cnn'])).rejects.toThrow("mnist-cnn has no 'sample' command");
    await expect(main(['train', 'mnist-cnn', '--bogus'])).rejects.toThrow("Unknown option '--bogus'");
  });

  it('dl eval mnist-cnn --checkpoint prints the test accuracy as its last line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-cli-'));
    try {
      manualSeed(0);
      const ckpt = join(dir, 'c.safetensors');
      await saveCheckpoint(ckpt, { model: new MnistCnn(), step: 0, extra: { epoch: 0 } });
      const lines: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true));
      expect(await main(['eval', 'mnist-cnn', '--checkpoint', ckpt])).toBe(0);
      const last = lines.join('').trim().split('\n').pop()!;
      expect(last).toMatch(/^test accuracy: 0\.\d{4}$/);
      expect(Number(last.split(': ')[1])).toBeLessThan(0.5); // an untrained model guesses
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
