/**
 * The MNIST CNN's training step (Adam, batch 64 by default, the same shuffled digits) timed in
 * headless Chromium through the page (the model Worker, wasm kernels on DL_NUM_THREADS threads,
 * default 2) and in Node.js on the same sources, kernels and threads, with the page's own
 * step function (src/worker/train-loop.ts). Prints steps/s; asserts nothing about time.
 *
 *   pnpm --filter @dl/playground measure                  # CPU: browser vs Node
 *   DL_MEASURE_WEBGPU=1 pnpm --filter @dl/playground measure   # also the page on WebGPU
 */
import { Adam, crossEntropy, seededPermutation } from '@dl/layers';
import { initThreads, manualSeed, setCpuKernels, tensor } from '@dl/tensor';
import { it } from 'vitest';
import { launchChromium } from '../../../packages/tensor/src/testing/chromium.js';
import { mnistBin } from '../datasets.js';
import { MnistCnn } from '../src/worker/mnist.js';
import { optimizerStep, readScalar } from '../src/worker/train-loop.js';
import { buildAndServe } from '../test/serve.js';

const BATCH = Number(process.env.DL_MEASURE_BATCH ?? 64);
const WARMUP = 5;
const STEPS = Number(process.env.DL_MEASURE_STEPS ?? 30);
const THREADS = Number(process.env.DL_NUM_THREADS ?? 2);

async function nodeStepsPerSec(): Promise<number> {
  setCpuKernels('wasm');
  await initThreads(THREADS);
  const bin = mnistBin();
  const nTrain = new DataView(bin.buffer).getUint32(0, true);
  const n = nTrain + new DataView(bin.buffer).getUint32(4, true);
  manualSeed(0);
  const model = new MnistCnn();
  const t = { model, optimizer: new Adam(model.parameters(), { lr: 2e-3 }), device: 'cpu', step: 0 };
  const order = seededPermutation(nTrain, 0, 0);
  let cursor = 0;
  const step = async (): Promise<number> => {
    const x = new Float32Array(BATCH * 784);
    const y = new Int32Array(BATCH);
    for (let i = 0; i < BATCH; i++, cursor++) {
      const k = order[cursor % nTrain];
      for (let j = 0; j < 784; j++) x[i * 784 + j] = bin[8 + n + k * 784 + j] / 255;
      y[i] = bin[8 + k];
    }
    const [loss, correct] = optimizerStep(t, () => {
      const logits = model.forward(tensor(x, { shape: [BATCH, 1, 28, 28] }));
      const target = tensor(y, { dtype: 'int32' });
      return [crossEntropy(logits, target), logits.argmax(-1).eq(target).sum()];
    });
    await readScalar(correct);
    return readScalar(loss);
  };
  for (let i = 0; i < WARMUP; i++) await step();
  let busy = 0;
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await step();
    busy += performance.now() - t0;
  }
  return (1000 * STEPS) / busy;
}

async function browserStepsPerSec(device: 'cpu' | 'webgpu', steps: number): Promise<{ stepsPerSec: number; badge: string }> {
  const { url, server } = await buildAndServe();
  const browser = await launchChromium(['--enable-unsafe-webgpu']);
  try {
    const page = await browser.newPage();
    await page.goto(`${url}?threads=${THREADS}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await page.selectOption('#mnist-device', device);
    await page.fill('#mnist-batch', String(BATCH));
    await page.fill('#mnist-eval', '0');
    let done = 0;
    for (const n of [device === 'webgpu' ? 2 : WARMUP, steps]) {
      await page.fill('#mnist-steps', String(n));
      await page.click('#mnist-train');
      done++;
      await page.waitForFunction((d) => Number(document.getElementById('mnist-status')!.dataset.done ?? 0) >= d, done, { timeout: 600_000 });
    }
    return { stepsPerSec: Number(await page.getAttribute('#mnist-status', 'data-steps-per-sec')), badge: (await page.textContent('#device-badge')) ?? '' };
  } finally {
    await browser.close();
    await server.close();
  }
}

it('MNIST CNN training steps/s: headless Chromium (the page) vs Node.js', async () => {
  const browser = await browserStepsPerSec('cpu', STEPS);
  const node = await nodeStepsPerSec();
  const lines = [
    `MNIST CNN, Adam, batch ${BATCH}, ${STEPS} steps after ${WARMUP} warm-up steps, wasm kernels on ${THREADS} threads:`,
    `  headless Chromium, the page's Worker: ${browser.stepsPerSec.toFixed(2)} steps/s (${(1000 / browser.stepsPerSec).toFixed(0)} ms/step)`,
    `  Node.js ${process.version}, same sources and step: ${node.toFixed(2)} steps/s (${(1000 / node).toFixed(0)} ms/step)`,
  ];
  if (process.env.DL_MEASURE_WEBGPU === '1') {
    const gpu = await browserStepsPerSec('webgpu', 3);
    lines.push(`  headless Chromium on WebGPU (${gpu.badge}), 3 steps after 2: ${gpu.stepsPerSec.toFixed(3)} steps/s`);
  }
  console.log(lines.join('\n'));
});
