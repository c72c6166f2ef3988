import type { Device, DeviceInfo, TrainEvent } from '../protocol.js';
import { LineChart } from '../ui/chart.js';
import type { WorkerClient } from '../ui/client.js';
import { DigitPad } from '../ui/digit-pad.js';
import { $, deviceOptions, reportError } from '../ui/dom.js';

interface RunResult {
  steps: number;
  stepsPerSec: number;
  loss: number;
  device: Device;
  /** test digits scored before and after the run */
  scored: number;
  before: { accuracy: number; loss: number } | null;
  after: { accuracy: number; loss: number } | null;
}

/** MNIST: train the CNN with a loss curve, then draw a digit and watch the class probabilities. */
export function mnistSection(client: WorkerClient, info: DeviceInfo): { loaded(description: string): Promise<void> } {
  const device = $<HTMLSelectElement>('mnist-device');
  deviceOptions(device, info.webgpu);
  const [trainBtn, stopBtn, resetBtn] = [$<HTMLButtonElement>('mnist-train'), $<HTMLButtonElement>('mnist-stop'), $<HTMLButtonElement>('mnist-reset')];
  const status = $('mnist-status');
  const chart = new LineChart($<HTMLCanvasElement>('mnist-chart'), [{ label: 'loss', color: '#d9480f' }], 'training loss');
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  let trained = false;
  let fresh = true;

  const probs = $<HTMLOListElement>('mnist-probs');
  const meters = Array.from({ length: 10 }, (_, d) => {
    const li = document.createElement('li');
    const m = document.createElement('meter');
    m.min = 0;
    m.max = 1;
    m.id = `mnist-p${d}`;
    const label = document.createElement('label');
    label.htmlFor = m.id;
    label.textContent = String(d);
    const pct = document.createElement('span');
    li.append(label, m, pct);
    probs.append(li);
    return [m, pct] as const;
  });
  const prediction = $('mnist-prediction');
  const pad = new DigitPad($<HTMLCanvasElement>('mnist-pad'));
  let inFlight = false;
  let again = false;
  /** what was predicted last (the drawing, or a test digit's exact pixels) */
  let shown: Float32Array | null = null;

  async function predict(pixels: Float32Array | null = pad.pixels()): Promise<void> {
    if (!trained) return;
    if (!pixels) {
      prediction.textContent = 'Draw a digit in the box.';
      return;
    }
    shown = pixels;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const p = await client.call<number[]>('mnist.predict', pixels);
      const best = p.indexOf(Math.max(...p));
      p.forEach((v, d) => {
        meters[d][0].value = v;
        meters[d][1].textContent = `${(100 * v).toFixed(1)}%`;
      });
      prediction.textContent = `Prediction: ${best} (${(100 * p[best]).toFixed(1)}%)`;
      prediction.dataset.digit = String(best);
    } catch (e) {
      reportError(prediction, e);
    } finally {
      inFlight = false;
    }
    if (again) {
      again = false;
      void predict(shown);
    }
  }
  pad.onChange = () => void predict();

  $('mnist-clear').addEventListener('click', () => pad.clear());
  let sample = 0;
  $('mnist-sample').addEventListener('click', async () => {
    const d = await client.call<{ pixels: Float32Array; label: number }>('mnist.testDigit', sample++);
    pad.show(d.pixels);
    $('mnist-sample-label').textContent = `test digit labelled ${d.label}`;
    await predict(d.pixels);
  });

  resetBtn.addEventListener('click', () => {
    fresh = true;
    chart.clear();
    status.textContent = 'A new model will be made at the next Train.';
  });
  device.addEventListener('change', () => resetBtn.click());

  trainBtn.addEventListener('click', async () => {
    trainBtn.disabled = true;
    stopBtn.disabled = false;
    status.classList.remove('error');
    status.textContent = 'Loading the digits and starting…';
    try {
      const r = await client.call<RunResult>(
        'mnist.train',
        { steps: num('mnist-steps'), batch: num('mnist-batch'), lr: num('mnist-lr'), evalDigits: num('mnist-eval'), device: device.value, reset: fresh },
        (e: TrainEvent) => {
          chart.push('loss', e.loss);
          status.textContent = `step ${e.step}: loss ${e.loss.toFixed(4)}, batch accuracy ${(100 * e.batchAccuracy).toFixed(0)}%, ${e.stepsPerSec.toFixed(2)} steps/s`;
        },
      );
      fresh = false;
      trained = true;
      const test = r.before && r.after ? `; on ${r.scored} test digits, loss ${r.before.loss.toFixed(3)} → ${r.after.loss.toFixed(3)}, accuracy ${(100 * r.before.accuracy).toFixed(1)}% → ${(100 * r.after.accuracy).toFixed(1)}%` : '';
      status.textContent = `${r.steps} steps on ${r.device}: training loss ${r.loss.toFixed(4)}, ${r.stepsPerSec.toFixed(2)} steps/s${test}`;
      if (r.before && r.after) [status.dataset.testLossBefore, status.dataset.testLoss] = [String(r.before.loss), String(r.after.loss)];
      status.dataset.stepsPerSec = String(r.stepsPerSec);
      status.dataset.done = String(Number(status.dataset.done ?? 0) + 1);
      await predict();
    } catch (e) {
      reportError(status, e);
    } finally {
      trainBtn.disabled = false;
      stopBtn.disabled = true;
    }
  });
  stopBtn.addEventListener('click', () => void client.call('stop', 'mnist'));
  return {
    async loaded(description: string) {
      trained = true;
      fresh = false;
      chart.clear();
      status.classList.remove('error');
      status.textContent = `Loaded: ${description}. Draw a digit, or train on from here.`;
      await predict(shown ?? pad.pixels());
    },
  };
}
