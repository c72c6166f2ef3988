// Shared by the tests: the committed PyTorch fixture (../fixtures/small.safetensors, made by
// ../fixtures/gen_fixtures.py from the transcription in ../fixtures/dcgan_torch.py), the nets of
// each case, the tensor comparisons of @dl/tensor/testing. Not exported from the package.
import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
export { assertCloseAsync, maxAbs } from '@dl/tensor/testing';
import { Discriminator, Generator, type DiscriminatorConfig, type GeneratorConfig } from './dcgan.js';
import type { GANLoss } from './losses.js';

let small: ReturnType<typeof parseSafetensors> | null = null;

function file(): ReturnType<typeof parseSafetensors> {
  small ??= parseSafetensors(new Uint8Array(readFileSync(new URL('../fixtures/small.safetensors', import.meta.url))));
  return small;
}

/** The cases of gen_fixtures.py's CASES, by name. */
export const CASE_NAMES = ['uncond28', 'proj28', 'chan32', 'uncond16'] as const;

/** One case: its settings (from the metadata), single tensors by name, and groups (`G`, `gradD`, ...) by prefix. */
export function fixtureCase(name: string): {
  G: Partial<GeneratorConfig>;
  D: Partial<DiscriminatorConfig>;
  loss: GANLoss;
  t(key: string): Tensor;
  group(prefix: string): Record<string, Tensor>;
} {
  const { tensors, metadata } = file();
  const meta = JSON.parse(metadata[name]) as { G: Partial<GeneratorConfig>; D: Partial<DiscriminatorConfig>; loss: GANLoss };
  return {
    ...meta,
    t: (key) => {
      const v = tensors[`${name}.${key}`];
      if (!v) throw new Error(`fixture ${name}.${key} is missing`);
      return v;
    },
    group: (prefix) => {
      const out: Record<string, Tensor> = {};
      const pre = `${name}.${prefix}.`;
      for (const [k, v] of Object.entries(tensors)) if (k.startsWith(pre)) out[k.slice(pre.length)] = v;
      return out;
    },
  };
}

/** The case's nets, loaded strictly with its initial PyTorch state dicts. */
export function fixtureNets(c: ReturnType<typeof fixtureCase>): { netG: Generator; netD: Discriminator } {
  const netG = new Generator(c.G);
  const netD = new Discriminator(c.D);
  netG.loadStateDict(c.group('G'), { strict: true });
  netD.loadStateDict(c.group('D'), { strict: true });
  return { netG, netD };
}
