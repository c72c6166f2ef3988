// Shared by the tests: the committed PyTorch fixture (../fixtures/small.safetensors, made by
// ../fixtures/make_fixtures.py from the transcription in ../fixtures/diffusion_torch.py) and the
// tiny U-Net it was made with. Not exported from the package.
import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dl/layers';
import type { Tensor } from '@dl/tensor';
import { UNet, type UNetConfig } from '@dl/unet';

let parsed: ReturnType<typeof parseSafetensors> | null = null;

function file(): ReturnType<typeof parseSafetensors> {
  parsed ??= parseSafetensors(new Uint8Array(readFileSync(new URL('../fixtures/small.safetensors', import.meta.url))));
  return parsed;
}

/** One fixture tensor by name. */
export function fx(name: string): Tensor {
  const t = file().tensors[name];
  if (!t) throw new Error(`fixture ${name} is missing`);
  return t;
}

/** A metadata entry, parsed. */
export function fxMeta<T>(name: string): T {
  return JSON.parse(file().metadata[name]) as T;
}

/** The fixture's tiny class-conditional U-Net (8x8 images, 3 classes), loaded strictly with PyTorch's weights. */
export function fixtureUNet(): UNet {
  const m = new UNet(fxMeta<UNetConfig>('unet'));
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(file().tensors)) if (k.startsWith('unet.param.')) sd[k.slice('unet.param.'.length)] = v;
  m.loadStateDict(sd, { strict: true });
  return m;
}
