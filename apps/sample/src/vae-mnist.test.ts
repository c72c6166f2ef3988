import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors } from '@dl/layers';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSamples } from './eval/samples.js';
import { main } from './main.js';
import { runCli } from './test-helpers.js';
import { normalQuantile, vaeConfig, VAE_MNIST_DEFAULTS } from './train-vae.js';
import { VAE } from '@dl/vae';

const dir = mkdtempSync(join(tmpdir(), 'dl-vae-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// every run shares one quick scoring classifier (trained on first use beside this path)
const clf = ['--classifier', join(dir, 'clf', 'checkpoint.safetensors')];

/** The model tensors of a checkpoint, as arrays. */
function weights(file: string): Record<string, number[]> {
  const { tensors } = parseSafetensors(new Uint8Array(readFileSync(file)));
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

describe('dl train vae-mnist', () => {
  it('the default model is the 112,649-parameter conv VAE (16-32, latent 20)', () => {
    expect(new VAE(vaeConfig(VAE_MNIST_DEFAULTS)).numParameters()).toBe(112_649);
    expect(new VAE(vaeConfig({ ...VAE_MNIST_DEFAULTS, arch: 'mlp' })).numParameters()).toBe(652_824);
  });

  it('--limit: trains, writes the checkpoint, pictures and samples, scores them; last line is the test negative ELBO', async () => {
    const out = join(dir, 'quick');
    const lines = await runCli(['train', 'vae-mnist', '--limit', '256', '--epochs', '2', '--samples', '300', '--out', out, ...clf]);
    expect(lines.at(-1)).toMatch(/^test negative elbo: \d+\.\d\d$/);
    // 784 pixels of an untrained decoder cost about 784 log 2 = 543 nats; two short epochs learn something
    const nelbo = Number(lines.at(-1)!.split(': ')[1]);
    expect(nelbo).toBeLessThan(500);
    expect(lines.filter((l) => /^epoch \d\/2: train loss .* test negative ELBO .* \(reconstruction .* \+ KL .*\)/.test(l)).length).toBe(2);
    expect(lines.some((l) => /^fid: \d+\.\d\d$/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('mean classifier confidence: '))).toBe(true);
    for (const f of ['checkpoint.safetensors', 'loss.png', 'reconstructions.png', 'samples.png', 'samples.safetensors']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(existsSync(join(out, 'latent-grid.png'))).toBe(false);
    const s = loadSamples(join(out, 'samples.safetensors'));
    expect(s.length).toBe(300);
    expect(s.labels).toBeUndefined();
    // eval and sample rebuild the model from the checkpoint's config
    const ev = await runCli(['eval', 'vae-mnist', '--checkpoint', join(out, 'checkpoint.safetensors'), '--limit', '256']);
    expect(ev.at(-1)).toMatch(/^test negative elbo: \d+\.\d\d$/);
    const sa = await runCli(['sample', 'vae-mnist', '--checkpoint', join(out, 'checkpoint.safetensors'), '--out', join(dir, 'sampled'), '--samples', '50', '--limit', '256', ...clf]);
    expect(sa.at(-1)).toMatch(/^fid: \d+\.\d\d$/);
    expect(loadSamples(join(dir, 'sampled', 'samples.safetensors')).length).toBe(50);
  });

  it('--latent 2 writes latent-grid.png; --arch mlp trains the examples/vae MLP', async () => {
    const out = join(dir, 'z2');
    const lines = await runCli(['train', 'vae-mnist', '--limit', '128', '--epochs', '1', '--latent', '2', '--arch', 'mlp', '--samples', '20', '--out', out, ...clf]);
    expect(lines.some((l) => l.includes('VAE (MLP 784-400, latent 2, Bernoulli decoder), 631,188 parameters'))).toBe(true);
    expect(existsSync(join(out, 'latent-grid.png'))).toBe(true);
  });

  it('--resume: one epoch, then a second after a restart, ends with the weights of a two-epoch run', async () => {
    // a constant learning rate: the cosine schedule of a 1-epoch run differs from a 2-epoch run's
    const args = ['train', 'vae-mnist', '--limit', '192', '--samples', '20', '--no-cosine', ...clf];
    await runCli([...args, '--epochs', '2', '--out', join(dir, 'straight')]);
    await runCli([...args, '--epochs', '1', '--out', join(dir, 'resumed')]);
    const lines = await runCli([...args, '--epochs', '2', '--resume', '--out', join(dir, 'resumed')]);
    expect(lines).toContain(`resumed from ${join(dir, 'resumed', 'checkpoint.safetensors')} after epoch 1`);
    const a = weights(join(dir, 'straight', 'checkpoint.safetensors'));
    const b = weights(join(dir, 'resumed', 'checkpoint.safetensors'));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) expect(b[k], k).toEqual(a[k]);
  });

  it('refuses bad options', async () => {
    await expect(main(['train', 'vae-mnist', '--arch', 'rnn'])).rejects.toThrow("--arch must be mlp or conv, got 'rnn'");
    await expect(main(['train', 'vae-mnist', '--latent', '0'])).rejects.toThrow('--latent must be a positive integer');
    await expect(main(['eval', 'vae-mnist'])).rejects.toThrow('dl eval vae-mnist needs --checkpoint');
  });

  it('normalQuantile inverts the normal CDF', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.644854, 6);
    expect(normalQuantile(1e-4)).toBeCloseTo(-3.719016, 5);
    expect(() => normalQuantile(1)).toThrow('normalQuantile: p must be in (0, 1), got 1');
  });
});
