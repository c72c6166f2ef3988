import type { DeviceInfo } from '../protocol.js';
import type { WorkerClient } from '../ui/client.js';
import { $, deviceOptions, reportError } from '../ui/dom.js';

export type ModelKind = 'mnist' | 'gpt' | 'mamba' | 'ddpm' | 'vae' | 'gan';
export type LoadedKind = ModelKind | 'bert';
const FILE: Record<ModelKind, string> = { mnist: 'mnist-cnn', gpt: 'gpt-char', mamba: 'mamba-char', ddpm: 'ddpm-mnist', vae: 'vae-mnist', gan: 'gan-mnist' };
const SECTION: Record<LoadedKind, string> = { bert: 'language', mnist: 'mnist', gpt: 'language', mamba: 'language', ddpm: 'generative', vae: 'generative', gan: 'generative' };

/**
 * Checkpoints: a dropped (or chosen) safetensors file loads into its section; a model downloads
 * as the `dl train` checkpoint of its task. `onLoaded` tells the section a model arrived.
 */
export function checkpointsSection(client: WorkerClient, info: DeviceInfo, onLoaded: (kind: LoadedKind, description: string) => Promise<void>): void {
  const status = $('ckpt-status');
  const device = $<HTMLSelectElement>('ckpt-device');
  deviceOptions(device, info.webgpu);
  const zone = $('drop-zone');

  /** One checkpoint file, or the files of a Hugging Face BERT folder (config.json, vocab.txt, model.safetensors). */
  async function loadFiles(files: File[]): Promise<void> {
    status.classList.remove('error');
    const names = files.map((f) => f.name).join(', ');
    status.textContent = `Loading ${names}…`;
    try {
      let r: { kind: LoadedKind; description: string; step: number };
      if (files.some((f) => f.name === 'vocab.txt') || files.some((f) => f.name === 'config.json')) {
        const buffers = await Promise.all(files.map((f) => f.arrayBuffer()));
        const loaded = await client.call<{ description: string }>('bert.loadFolder', { files: Object.fromEntries(files.map((f, i) => [f.name, buffers[i]])), device: device.value }, undefined, buffers);
        r = { kind: 'bert', description: loaded.description, step: 0 };
      } else {
        if (files.length !== 1) throw new Error(`one checkpoint at a time (or a BERT folder's config.json, vocab.txt and model.safetensors); got ${names}`);
        const bytes = await files[0].arrayBuffer();
        r = await client.call<{ kind: ModelKind; description: string; step: number }>('ckpt.load', { bytes, device: device.value }, undefined, [bytes]);
      }
      await onLoaded(r.kind, r.description);
      status.innerHTML = '';
      status.append(`${names}: ${r.description}${r.kind === 'bert' ? '' : ` at step ${r.step}`}, loaded into `);
      const a = document.createElement('a');
      a.href = `#${SECTION[r.kind]}`;
      a.textContent = `the ${SECTION[r.kind]} section`;
      status.append(a, '.');
      status.dataset.kind = r.kind;
      status.dataset.done = String(Number(status.dataset.done ?? 0) + 1);
    } catch (e) {
      reportError(status, e);
    }
  }

  $<HTMLInputElement>('ckpt-file').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    if (input.files?.length) void loadFiles([...input.files]).then(() => void (input.value = ''));
  });
  // the whole page takes a dropped file
  document.addEventListener('dragover', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (e) => {
    if (e.relatedTarget === null) document.body.classList.remove('dragging');
  });
  document.addEventListener('drop', (e) => {
    document.body.classList.remove('dragging');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (!files.length) return;
    e.preventDefault();
    void loadFiles(files);
  });

  const download = $<HTMLButtonElement>('ckpt-download');
  download.addEventListener('click', async () => {
    const kind = $<HTMLSelectElement>('ckpt-model').value as ModelKind;
    download.disabled = true;
    status.classList.remove('error');
    try {
      const bytes = await client.call<Uint8Array>('ckpt.save', kind);
      const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${FILE[kind]}.safetensors`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status.textContent = `Saved ${a.download} (${(bytes.byteLength / 1024).toFixed(0)} KiB), a dl train ${FILE[kind]} checkpoint.`;
    } catch (e) {
      reportError(status, e);
    } finally {
      download.disabled = false;
    }
  });
}
