// `dl train unet-seg` end to end at a tiny size: the last line, the files, eval of the checkpoint,
// --resume, and the Dice loss.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '@dl/tensor';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';
import { runCli } from './test-helpers.js';
import { diceLoss } from './train-unet-seg.js';

const dir = mkdtempSync(join(tmpdir(), 'dl-unet-seg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dl train unet-seg', () => {
  afterEach(() => vi.restoreAllMocks());

  it('trains (--limit), writes checkpoint and pictures, prints test mIoU last; eval and --resume use the checkpoint', async () => {
    const out = join(dir, 'run');
    const common = ['--limit', '8', '--batch-size', '8', '--width', '4', '--out', out];
    const lines = await runCli(['train', 'unet-seg', ...common, '--epochs', '1']);
    const last = lines[lines.length - 1];
    expect(last).toMatch(/^test mIoU: \d\.\d{4}$/);
    expect(lines.some((l) => /^test IoU per class: bg \d\.\d{3}, 0 (\d\.\d{3}|NaN), 1 /.test(l))).toBe(true);
    for (const f of ['checkpoint.safetensors', 'loss.png', 'test-scenes.png']) expect(existsSync(join(out, f)), f).toBe(true);

    const evalLines = await runCli(['eval', 'unet-seg', '--checkpoint', join(out, 'checkpoint.safetensors'), '--test-scenes', '8']);
    expect(evalLines[evalLines.length - 1]).toBe(last); // the same 8 test scenes, the same weights

    const resumed = await runCli(['train', 'unet-seg', ...common, '--epochs', '2', '--resume']);
    expect(resumed).toContain(`resumed from ${join(out, 'checkpoint.safetensors')} after epoch 1`);
    expect(resumed.filter((l) => l.startsWith('epoch '))).toEqual([expect.stringMatching(/^epoch 2\/2: /)]);
  });

  it('refuses bad options', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await expect(main(['train', 'unet-seg', '--width', '0'])).rejects.toThrow('--width must be a positive integer');
    await expect(main(['train', 'unet-seg', '--dice=-1'])).rejects.toThrow('--dice must be a number from 0 to below 100');
    await expect(main(['eval', 'unet-seg'])).rejects.toThrow('dl eval unet-seg needs --checkpoint');
  });
});

describe('diceLoss', () => {
  it('is 0 for a confident exact prediction, near 1 for a confident wrong one, and averages the classes', () => {
    const masks = tensor([[[0, 1], [2, 2]]], { dtype: 'int32' }); // (1, 2, 2), 3 classes
    const exact = tensor([0, 1, 2, 2]).reshape([1, 2, 2]);
    const logits = (cls: typeof exact) => tensor([0, 1, 2]).reshape([1, 3, 1, 1]).eq(cls.unsqueeze(1)).float().mul(50); // (1, 3, 2, 2)
    expect(diceLoss(logits(exact), masks).item()).toBeCloseTo(0, 4);
    const wrong = tensor([1, 2, 0, 0]).reshape([1, 2, 2]);
    // every class: 0 overlap -> 1 - 1 / (count_p + count_t + 1)
    const expected = (1 - 1 / (2 + 1 + 1) + (1 - 1 / (1 + 1 + 1)) + (1 - 1 / (1 + 2 + 1))) / 3;
    expect(diceLoss(logits(wrong), masks).item()).toBeCloseTo(expected, 4);
  });
});
