import type { DeviceInfo, TrainEvent } from '../protocol.js';
import { LineChart } from '../ui/chart.js';
import type { WorkerClient } from '../ui/client.js';
import { $, deviceOptions, reportError } from '../ui/dom.js';
import { drawDigits } from '../ui/images.js';

type Kind = 'ddpm' | 'vae' | 'gan';
const LR: Record<Kind, number> = { ddpm: 2e-3, vae: 2e-3, gan: 2e-4 };
const NAME: Record<Kind, string> = { ddpm: 'U-Net', vae: 'VAE', gan: 'GAN' };
/** The latent map spans [-R, R] on both axes. */
const R = 3;
const COLORS = ['#e03131', '#1971c2', '#2f9e44', '#f08c00', '#9c36b5', '#0c8599', '#e64980', '#5c940d', '#495057', '#d9480f'];

/** Generative: DDPM sampling step by step, the VAE's 2-d latent space, GAN samples. */
export function generativeSection(client: WorkerClient, info: DeviceInfo): { reload(kind: Kind, description?: string): Promise<void> } {
  const device = $<HTMLSelectElement>('gen-device');
  deviceOptions(device, info.webgpu);
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  const fresh: Record<Kind, boolean> = { ddpm: true, vae: true, gan: true };
  const charts: Record<Kind, LineChart> = {
    ddpm: new LineChart($<HTMLCanvasElement>('ddpm-chart'), [{ label: 'loss', color: '#5f3dc4' }], 'noise MSE'),
    vae: new LineChart($<HTMLCanvasElement>('vae-chart'), [{ label: 'loss', color: '#0b7285' }], 'negative ELBO (nats)'),
    gan: new LineChart($<HTMLCanvasElement>('gan-chart'), [{ label: 'G', color: '#c2255c' }, { label: 'D', color: '#364fc7' }], 'GAN losses'),
  };
  const stopBtn = $<HTMLButtonElement>('gen-stop');
  const running = new Set<Kind>();
  device.addEventListener('change', () => {
    for (const k of ['ddpm', 'vae', 'gan'] as const) {
      fresh[k] = true;
      charts[k].clear();
    }
  });
  stopBtn.addEventListener('click', () => {
    for (const k of running) void client.call('stop', `gen.${k}`);
  });

  async function train(kind: Kind): Promise<void> {
    const btn = $<HTMLButtonElement>(`${kind}-train`);
    const status = $(`${kind}-train-status`);
    btn.disabled = true;
    running.add(kind);
    stopBtn.disabled = false;
    status.classList.remove('error');
    status.textContent = 'Starting…';
    if (fresh[kind]) charts[kind].clear();
    try {
      const r = await client.call<{ steps: number; loss: number; stepsPerSec: number; device: string }>(
        'gen.train',
        { kind, steps: num('gen-steps'), batch: num('gen-batch'), lr: LR[kind], device: device.value, reset: fresh[kind] },
        (e: TrainEvent) => {
          if (kind === 'gan') {
            charts.gan.push('G', e.loss);
            charts.gan.push('D', e.lossD);
          } else charts[kind].push('loss', e.loss);
          status.textContent = `step ${e.step}: loss ${e.loss.toFixed(4)}${kind === 'gan' ? ` (D ${e.lossD.toFixed(4)})` : ''}, ${e.stepsPerSec.toFixed(2)} steps/s`;
        },
      );
      fresh[kind] = false;
      status.textContent = `${NAME[kind]}: ${r.steps} steps on ${r.device}, loss ${r.loss.toFixed(4)}, ${r.stepsPerSec.toFixed(2)} steps/s`;
      status.dataset.done = String(Number(status.dataset.done ?? 0) + 1);
      await reload(kind);
    } catch (e) {
      reportError(status, e);
    } finally {
      btn.disabled = false;
      running.delete(kind);
      stopBtn.disabled = running.size === 0;
    }
  }
  for (const k of ['ddpm', 'vae', 'gan'] as const) $(`${k}-train`).addEventListener('click', () => void train(k));

  // diffusion: one event per DDIM step with x_t and the guess of x_0
  const ddpmStatus = $('ddpm-status');
  let ddpmSeed = 0;
  $('ddpm-sample').addEventListener('click', async () => {
    const btn = $<HTMLButtonElement>('ddpm-sample');
    btn.disabled = true;
    ddpmStatus.classList.remove('error');
    const label = Number($<HTMLSelectElement>('ddpm-class').value);
    try {
      const r = await client.call<{ seconds: number }>(
        'ddpm.sample',
        { label, guidance: num('ddpm-guidance'), steps: num('ddpm-steps'), seed: ddpmSeed++, ema: $<HTMLInputElement>('ddpm-ema').checked },
        (e: { step: number; total: number; t: number; image: Float32Array; x0: Float32Array | null }) => {
          drawDigits($<HTMLCanvasElement>('ddpm-xt'), e.image);
          if (e.x0) drawDigits($<HTMLCanvasElement>('ddpm-x0'), e.x0);
          ddpmStatus.textContent = `DDIM step ${e.step}/${e.total} (t = ${e.t})`;
          ddpmStatus.dataset.step = String(e.step);
        },
      );
      ddpmStatus.textContent = `A ${label < 0 ? 'digit of no class' : `"${label}"`} in ${num('ddpm-steps')} DDIM steps, ${r.seconds.toFixed(1)} s`;
      ddpmStatus.dataset.done = String(Number(ddpmStatus.dataset.done ?? 0) + 1);
    } catch (e) {
      reportError(ddpmStatus, e);
    } finally {
      btn.disabled = false;
    }
  });

  // VAE: a point in [-R, R]^2 decoded as you drag it
  const map = $<HTMLCanvasElement>('vae-map');
  const zLabel = $('vae-z');
  let z: [number, number] = [0, 0];
  let cloud: { z: Float32Array; labels: Int32Array } | null = null;
  let vaeReady = false;
  let busy = false;
  let again = false;
  const drawMap = (): void => {
    const g = map.getContext('2d')!;
    const { width: w, height: h } = map;
    const px = (v: number, size: number): number => ((v + R) / (2 * R)) * size;
    g.clearRect(0, 0, w, h);
    g.strokeStyle = '#ced4da';
    g.beginPath();
    g.moveTo(w / 2, 0);
    g.lineTo(w / 2, h);
    g.moveTo(0, h / 2);
    g.lineTo(w, h / 2);
    g.stroke();
    if (cloud) {
      for (let i = 0; i < cloud.labels.length; i++) {
        g.fillStyle = COLORS[cloud.labels[i]];
        g.fillRect(px(cloud.z[2 * i], w) - 1.5, h - px(cloud.z[2 * i + 1], h) - 1.5, 3, 3);
      }
    }
    g.strokeStyle = '#000';
    g.lineWidth = 2;
    g.beginPath();
    g.arc(px(z[0], w), h - px(z[1], h), 7, 0, 2 * Math.PI);
    g.stroke();
  };
  const decode = async (): Promise<void> => {
    drawMap();
    zLabel.textContent = `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})`;
    map.setAttribute('aria-valuetext', zLabel.textContent);
    if (!vaeReady) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      drawDigits($<HTMLCanvasElement>('vae-out'), await client.call<Float32Array>('vae.decode', z));
    } catch (e) {
      reportError($('vae-train-status'), e);
    } finally {
      busy = false;
    }
    if (again) {
      again = false;
      void decode();
    }
  };
  const setFromPointer = (e: PointerEvent): void => {
    const r = map.getBoundingClientRect();
    const clamp = (v: number): number => Math.max(-R, Math.min(R, v));
    z = [clamp(((e.clientX - r.left) / r.width) * 2 * R - R), clamp(R - ((e.clientY - r.top) / r.height) * 2 * R)];
    void decode();
  };
  let dragging = false;
  map.addEventListener('pointerdown', (e) => {
    dragging = true;
    map.setPointerCapture(e.pointerId);
    setFromPointer(e);
  });
  map.addEventListener('pointermove', (e) => dragging && setFromPointer(e));
  map.addEventListener('pointerup', () => void (dragging = false));
  map.addEventListener('keydown', (e) => {
    const d: Record<string, [number, number]> = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, 0.1], ArrowDown: [0, -0.1] };
    if (!(e.key in d)) return;
    e.preventDefault();
    z = [Math.max(-R, Math.min(R, z[0] + d[e.key][0])), Math.max(-R, Math.min(R, z[1] + d[e.key][1]))];
    void decode();
  });
  drawMap();

  // GAN: a 4x4 grid of samples
  let ganSeed = 0;
  const ganSample = async (): Promise<void> => {
    try {
      drawDigits($<HTMLCanvasElement>('gan-grid'), await client.call<Float32Array>('gan.sample', { n: 16, seed: ganSeed++ }), 16, 4);
    } catch (e) {
      reportError($('gan-train-status'), e);
    }
  };
  $('gan-sample').addEventListener('click', () => void ganSample());

  /** Refreshes a model's pictures after training or a checkpoint load (`description`: what was loaded). */
  async function reload(kind: Kind, description?: string): Promise<void> {
    fresh[kind] = false;
    if (description) {
      charts[kind].clear();
      const status = $(`${kind}-train-status`);
      status.classList.remove('error');
      status.textContent = `Loaded ${description}.`;
    }
    if (kind === 'vae') {
      vaeReady = true;
      cloud = await client.call<{ z: Float32Array; labels: Int32Array }>('vae.embed', 500);
      await decode();
    } else if (kind === 'gan') await ganSample();
  }
  return { reload };
}
