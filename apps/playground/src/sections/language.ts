import type { DeviceInfo, TrainEvent } from '../protocol.js';
import { LineChart } from '../ui/chart.js';
import type { WorkerClient } from '../ui/client.js';
import { $, deviceOptions, reportError } from '../ui/dom.js';

const NAMES = { gpt: 'GPT', mamba: 'Mamba' } as const;
type Kind = keyof typeof NAMES;

/** Language: the char GPT and the Mamba trained side by side on Moby-Dick; streamed generation. */
export function languageSection(client: WorkerClient, info: DeviceInfo): { loaded(kind: Kind | 'bert', description: string): void } {
  const device = $<HTMLSelectElement>('lm-device');
  deviceOptions(device, info.webgpu);
  const chart = new LineChart($<HTMLCanvasElement>('lm-chart'), [{ label: 'GPT', color: '#1864ab' }, { label: 'Mamba', color: '#e8590c' }], 'training loss (nats/char)');
  const [trainBtn, stopBtn, resetBtn] = [$<HTMLButtonElement>('lm-train'), $<HTMLButtonElement>('lm-stop'), $<HTMLButtonElement>('lm-reset')];
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  const fresh: Record<Kind, boolean> = { gpt: true, mamba: true };
  const done = $('lm-gpt-status').parentElement!;

  resetBtn.addEventListener('click', () => {
    fresh.gpt = fresh.mamba = true;
    chart.clear();
    for (const k of ['gpt', 'mamba'] as const) $(`lm-${k}-status`).textContent = `${NAMES[k]}: a new model at the next Train.`;
  });
  device.addEventListener('change', () => resetBtn.click());

  async function train(kind: Kind): Promise<void> {
    const status = $(`lm-${kind}-status`);
    status.classList.remove('error');
    status.textContent = `${NAMES[kind]}: loading Moby-Dick and starting…`;
    try {
      const r = await client.call<{ steps: number; loss: number; tokensPerSec: number; stepsPerSec: number; parameters: number; device: string }>(
        'lm.train',
        { kind, steps: num('lm-steps'), batch: num('lm-batch'), block: num('lm-block'), lr: num('lm-lr'), device: device.value, reset: fresh[kind] },
        (e: TrainEvent) => {
          chart.push(NAMES[kind], e.loss);
          status.textContent = `${NAMES[kind]}: step ${e.step}, loss ${e.loss.toFixed(3)}, ${Math.round(e.tokensPerSec).toLocaleString('en-US')} tokens/s`;
        },
      );
      fresh[kind] = false;
      status.textContent = `${NAMES[kind]} (${r.parameters.toLocaleString('en-US')} parameters): ${r.steps} steps on ${r.device}, loss ${r.loss.toFixed(3)}, ${Math.round(r.tokensPerSec).toLocaleString('en-US')} tokens/s (${r.stepsPerSec.toFixed(2)} steps/s)`;
      status.dataset.tokensPerSec = String(r.tokensPerSec);
    } catch (e) {
      reportError(status, e);
    }
  }

  trainBtn.addEventListener('click', async () => {
    trainBtn.disabled = true;
    stopBtn.disabled = false;
    const kinds = (['gpt', 'mamba'] as const).filter((k) => $<HTMLInputElement>(`lm-use-${k}`).checked);
    await Promise.all(kinds.map(train));
    trainBtn.disabled = false;
    stopBtn.disabled = true;
    done.dataset.done = String(Number(done.dataset.done ?? 0) + 1);
  });
  stopBtn.addEventListener('click', () => {
    void client.call('stop', 'lm.gpt');
    void client.call('stop', 'lm.mamba');
  });

  const out = $('gen-output');
  const genStatus = $('gen-status');
  const go = $<HTMLButtonElement>('gen-go');
  let seed = 0;
  go.addEventListener('click', async () => {
    go.disabled = true;
    genStatus.classList.remove('error');
    const kind = $<HTMLSelectElement>('gen-model').value as Kind;
    const prompt = $<HTMLInputElement>('gen-prompt').value;
    out.textContent = prompt;
    genStatus.textContent = `${NAMES[kind]} is writing…`;
    try {
      const r = await client.call<{ tokensPerSec: number }>(
        'lm.generate',
        { kind, prompt, maxNewTokens: num('gen-length'), temperature: num('gen-temperature'), topK: num('gen-topk'), seed: seed++ },
        (piece: string) => void (out.textContent += piece),
      );
      genStatus.textContent = `${NAMES[kind]}: ${num('gen-length')} characters at ${r.tokensPerSec.toFixed(1)} tokens/s`;
      genStatus.dataset.done = String(Number(genStatus.dataset.done ?? 0) + 1);
    } catch (e) {
      reportError(genStatus, e);
    } finally {
      go.disabled = false;
    }
  });
  const bert = bertPanel(client, device, num);
  return {
    loaded(kind: Kind | 'bert', description: string) {
      if (kind === 'bert') return bert.loaded(description);
      fresh[kind] = false;
      const status = $(`lm-${kind}-status`);
      status.classList.remove('error');
      status.textContent = `${NAMES[kind]}: loaded ${description}. Generate, or train on from here.`;
    },
  };
}

/** BERT: masked-LM pretraining on the section's device, then the top 5 tokens at each [MASK]. */
function bertPanel(client: WorkerClient, device: HTMLSelectElement, num: (id: string) => number): { loaded(description: string): void } {
  const chart = new LineChart($<HTMLCanvasElement>('bert-chart'), [{ label: 'loss', color: '#087f5b' }], 'masked-LM loss');
  const status = $('bert-status');
  const [train, stop, fill] = [$<HTMLButtonElement>('bert-train'), $<HTMLButtonElement>('bert-stop'), $<HTMLButtonElement>('bert-fill')];
  let fresh = true;
  device.addEventListener('change', () => {
    fresh = true;
    chart.clear();
  });
  train.addEventListener('click', async () => {
    train.disabled = true;
    stop.disabled = false;
    status.classList.remove('error');
    status.textContent = 'Training the WordPiece vocabulary on Moby-Dick…';
    if (fresh) chart.clear();
    try {
      const r = await client.call<{ steps: number; loss: number; stepsPerSec: number; device: string; parameters: number; vocabSize: number }>(
        'bert.train',
        { steps: num('bert-steps'), batch: num('bert-batch'), lr: 1e-3, device: device.value, reset: fresh },
        (e: TrainEvent) => {
          chart.push('loss', e.loss);
          status.textContent = `step ${e.step}: loss ${e.loss.toFixed(3)}, ${e.stepsPerSec.toFixed(2)} steps/s`;
        },
      );
      fresh = false;
      status.textContent = `BERT (${r.parameters.toLocaleString('en-US')} parameters, ${r.vocabSize.toLocaleString('en-US')} tokens): ${r.steps} steps on ${r.device}, loss ${r.loss.toFixed(3)}, ${r.stepsPerSec.toFixed(2)} steps/s`;
      status.dataset.done = String(Number(status.dataset.done ?? 0) + 1);
    } catch (e) {
      reportError(status, e);
    } finally {
      train.disabled = false;
      stop.disabled = true;
    }
  });
  stop.addEventListener('click', () => void client.call('stop', 'bert'));
  const out = $<HTMLOListElement>('bert-out');
  fill.addEventListener('click', async () => {
    fill.disabled = true;
    try {
      const masks = await client.call<{ token: string; prob: number }[][]>('bert.fill', $<HTMLInputElement>('bert-text').value);
      out.innerHTML = '';
      masks.forEach((top, k) => {
        const li = document.createElement('li');
        li.append(`[MASK] ${k + 1}: `);
        for (const { token, prob } of top) {
          const c = document.createElement('code');
          c.textContent = `${token} ${(100 * prob).toFixed(1)}%`;
          li.append(c);
        }
        out.append(li);
      });
      out.dataset.done = String(Number(out.dataset.done ?? 0) + 1);
    } catch (e) {
      reportError(status, e);
    } finally {
      fill.disabled = false;
    }
  });
  return {
    loaded(description: string) {
      fresh = false;
      chart.clear();
      status.classList.remove('error');
      status.textContent = `Loaded ${description}. Fill in a [MASK], or train on from here.`;
    },
  };
}
