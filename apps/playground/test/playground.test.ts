import { BertForMaskedLM, BertTokenizer, trainWordPiece } from '@dl/bert';
import { manualSeed } from '@dl/tensor';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../../../packages/tensor/src/testing/chromium.js';
import { buildAndServe, root } from './serve.js';

const hasChromium = existsSync(CHROMIUM);
const requireWebGPU = process.env.DL_REQUIRE_WEBGPU === '1';
// CI installs Chromium (scripts/install-chromium.sh): there the test must run, never skip quietly
if (!hasChromium && (requireWebGPU || process.env.CI)) throw new Error(`${CHROMIUM} not found and ${requireWebGPU ? 'DL_REQUIRE_WEBGPU=1' : 'CI is set'}; run scripts/install-chromium.sh`);
if (!hasChromium) console.log(`${CHROMIUM} not found: skipping the playground browser test (set DL_REQUIRE_WEBGPU=1 to fail instead)`);

// test-output/ is git-ignored; README.md shows a committed set copied to screenshots/
const shots = process.env.DL_PLAYGROUND_SCREENSHOTS ?? `${root}test-output/screenshots/`;

/** The values of a section's LineChart (the canvas's data-series). */
async function series(page: Page, id: string): Promise<Record<string, number[]>> {
  return JSON.parse((await page.getAttribute(`#${id}`, 'data-series')) ?? '{}') as Record<string, number[]>;
}

/** Waits until the element's data-done counter reaches `n`, failing early on a shown error. */
async function waitDone(page: Page, id: string, n: number, timeout = 90_000): Promise<void> {
  await page.waitForFunction(
    ([id, n]) => {
      const el = document.getElementById(id as string)!;
      if (el.classList.contains('error')) throw new Error(el.textContent ?? 'error');
      return Number(el.dataset.done ?? 0) >= (n as number);
    },
    [id, n] as const,
    { timeout },
  );
}

describe.skipIf(!hasChromium)('the playground in headless Chromium', () => {
  let browser: Browser | undefined;
  let server: PreviewServer | undefined;
  let page: Page;
  let url: string;
  const errors: string[] = [];
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    ({ url, server } = await buildAndServe());
    browser = await launchChromium(['--enable-unsafe-webgpu']);
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    mkdirSync(shots, { recursive: true });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    console.log(`playground figures: ${JSON.stringify(figures)}`);
  });

  it('is cross-origin isolated and shows the device badge and the memory readout', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const badge = page.locator('#device-badge');
    if (requireWebGPU) expect(await badge.getAttribute('data-webgpu')).toBe('true');
    expect(await badge.textContent()).toMatch(/^(WebGPU: .+|CPU, \d+ threads?)/);
    // the Worker's wasm kernels run on more than one thread in an isolated page
    expect(Number(await badge.getAttribute('data-threads'))).toBeGreaterThan(1);
    await page.waitForFunction(() => document.getElementById('memory')!.dataset.tensors !== undefined);
    expect(await page.textContent('#memory')).toMatch(/^Live tensors: \d+/);
    expect(errors).toEqual([]);
  });

  for (const device of ['webgpu', 'cpu'] as const) {
    it(`trains the MNIST CNN a few steps on ${device} and the loss falls`, async () => {
      const webgpu = (await page.getAttribute('#device-badge', 'data-webgpu')) === 'true';
      if (device === 'webgpu' && !webgpu) {
        expect(requireWebGPU, 'no WebGPU in this Chromium').toBe(false);
        return;
      }
      const done = Number((await page.getAttribute('#mnist-status', 'data-done')) ?? 0);
      await page.selectOption('#mnist-device', device); // a new model on that device
      // SwiftShader runs WebGPU on the CPU (seconds a step): fewer, smaller steps there
      const [steps, batch, lr] = device === 'webgpu' ? [3, 16, 0.002] : [8, 32, 0.002];
      await page.fill('#mnist-steps', String(steps));
      await page.fill('#mnist-batch', String(batch));
      await page.fill('#mnist-lr', String(lr));
      await page.fill('#mnist-eval', '100');
      await page.click('#mnist-train');
      await waitDone(page, 'mnist-status', done + 1);
      const { loss } = await series(page, 'mnist-chart');
      expect(loss.length).toBe(steps);
      // the loss on 100 fixed test digits (spread over the classes) falls; so does the training loss over 8 steps (a new
      // batch each step: over 3 steps of 16 it is too noisy to compare its ends)
      if (device === 'cpu') expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
      const before = Number(await page.getAttribute('#mnist-status', 'data-test-loss-before'));
      expect(Number(await page.getAttribute('#mnist-status', 'data-test-loss'))).toBeLessThan(before);
      figures[`mnist ${device} steps/s (batch ${batch})`] = Number(await page.getAttribute('#mnist-status', 'data-steps-per-sec'));
      expect(errors).toEqual([]);
    });
  }

  it('predicts a digit drawn with mouse events, and predicting leaks no tensor', async () => {
    /** The readout's live tensors once a fresh report (every 500 ms) came in. */
    const liveTensors = async (): Promise<number> => {
      await page.waitForTimeout(1200);
      return Number(await page.getAttribute('#memory', 'data-tensors'));
    };
    const live = await liveTensors();
    await page.click('#mnist-clear');
    await page.locator('#mnist-pad').scrollIntoViewIfNeeded();
    const box = (await page.locator('#mnist-pad').boundingBox())!;
    // a "7": the bar, then the stroke down to the left
    const at = (x: number, y: number): [number, number] => [box.x + x * box.width, box.y + y * box.height];
    await page.mouse.move(...at(0.25, 0.22));
    await page.mouse.down();
    for (const [x, y] of [[0.5, 0.22], [0.75, 0.22], [0.6, 0.5], [0.45, 0.8]]) await page.mouse.move(...at(x, y), { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction(() => /^Prediction: \d \(/.test(document.getElementById('mnist-prediction')!.textContent ?? ''));
    const probs = await page.$$eval('#mnist-probs meter', (ms) => ms.map((m) => (m as HTMLMeterElement).value));
    expect(probs).toHaveLength(10);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    for (let i = 0; i < 3; i++) await page.click('#mnist-sample');
    await page.waitForFunction(() => /^test digit labelled \d$/.test(document.getElementById('mnist-sample-label')!.textContent ?? ''));
    expect(await liveTensors()).toBe(live);
    await page.locator('#mnist').screenshot({ path: `${shots}mnist.png` });
    expect(errors).toEqual([]);
  });

  it('trains the char GPT and the Mamba side by side, and streams text from each', async () => {
    await page.selectOption('#lm-device', 'cpu');
    await page.fill('#lm-steps', '4');
    await page.fill('#lm-batch', '4');
    await page.fill('#lm-block', '32');
    await page.fill('#lm-lr', '0.005');
    await page.click('#lm-train');
    await page.waitForFunction(() => document.querySelector('#language .cols')!.getAttribute('data-done') === '1', null, { timeout: 90_000 });
    for (const k of ['gpt', 'mamba']) expect(await page.getAttribute(`#lm-${k}-status`, 'class')).not.toMatch(/error/);
    const { GPT, Mamba } = await series(page, 'lm-chart');
    expect(GPT).toHaveLength(4);
    expect(Mamba).toHaveLength(4);
    expect(GPT[3]).toBeLessThan(GPT[0]);
    expect(Mamba[3]).toBeLessThan(Mamba[0]);
    figures['gpt cpu tokens/s (batch 4 x 32)'] = Number(await page.getAttribute('#lm-gpt-status', 'data-tokens-per-sec'));
    figures['mamba cpu tokens/s (batch 4 x 32)'] = Number(await page.getAttribute('#lm-mamba-status', 'data-tokens-per-sec'));

    for (const [i, kind] of (['gpt', 'mamba'] as const).entries()) {
      await page.selectOption('#gen-model', kind);
      await page.fill('#gen-length', '30');
      // counts the updates of the output: streamed text arrives a character at a time
      await page.evaluate(() => {
        const w = window as unknown as { updates: number };
        w.updates = 0;
        new MutationObserver(() => void w.updates++).observe(document.getElementById('gen-output')!, { childList: true, characterData: true, subtree: true });
      });
      await page.click('#gen-go');
      await page.waitForFunction((n) => document.getElementById('gen-status')!.dataset.done === String(n), i + 1, { timeout: 60_000 });
      const text = (await page.textContent('#gen-output'))!;
      const prompt = await page.inputValue('#gen-prompt');
      expect(text.startsWith(prompt)).toBe(true);
      expect([...text].length).toBe([...prompt].length + 30);
      expect(await page.evaluate(() => (window as unknown as { updates: number }).updates)).toBeGreaterThan(20);
    }
    // BERT: two steps of masked-LM pretraining, then five candidates for the [MASK]
    await page.fill('#bert-steps', '2');
    await page.fill('#bert-batch', '4');
    await page.click('#bert-train');
    await waitDone(page, 'bert-status', 1, 60_000);
    expect((await series(page, 'bert-chart')).loss).toHaveLength(2);
    await page.click('#bert-fill');
    await page.waitForFunction(() => document.getElementById('bert-out')!.dataset.done === '1');
    expect(await page.$$eval('#bert-out li code', (cs) => cs.length)).toBe(5);
    await page.locator('#language').screenshot({ path: `${shots}language.png` });
    expect(errors).toEqual([]);
  });

  it('steps CartPole by hand, trains PPO a little with its return curve, and plays an episode', async () => {
    await page.locator('#rl').scrollIntoViewIfNeeded();
    for (let i = 0; i < 3; i++) await page.click('#rl-right');
    await page.waitForFunction(() => JSON.parse(document.getElementById('rl-cart')!.dataset.frame!).t === 3);
    const pushed = JSON.parse((await page.getAttribute('#rl-cart', 'data-frame'))!) as { x: number; theta: number; episodeReturn: number; done: boolean };
    expect(pushed).toMatchObject({ episodeReturn: 3, done: false });
    expect(Math.abs(pushed.theta)).toBeLessThan(0.21); // within CartPole's 12 degrees
    expect(await page.textContent('#rl-cart-status')).toMatch(/^Step 3: x -?\d\.\d{3} m, pole -?\d+\.\d degrees\.$/);
    // the keyboard way: the focused cart takes the arrow keys
    await page.focus('#rl-cart');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => JSON.parse(document.getElementById('rl-cart')!.dataset.frame!).t === 4);
    await page.fill('#rl-steps', '1024');
    await page.click('#rl-train');
    await waitDone(page, 'rl-status', 1, 60_000);
    const { 'mean return': returns } = await series(page, 'rl-chart');
    expect(returns.length).toBeGreaterThanOrEqual(3);
    for (const r of returns) expect(r).toBeGreaterThan(0);
    figures['ppo cartpole env steps/s'] = Number(await page.getAttribute('#rl-status', 'data-steps-per-sec'));
    await page.click('#rl-play');
    await page.waitForFunction(() => /^The agent's episode: return \d+/.test(document.getElementById('rl-cart-status')!.textContent ?? ''), null, { timeout: 30_000 });
    await page.locator('#rl').screenshot({ path: `${shots}rl.png` });
    expect(errors).toEqual([]);
  });

  it('trains the diffusion U-Net, the VAE and the GAN a step or two, samples step by step, drags the latent point', async () => {
    await page.selectOption('#gen-device', 'cpu');
    await page.fill('#gen-steps', '2');
    await page.fill('#gen-batch', '8');
    for (const kind of ['ddpm', 'vae', 'gan']) {
      await page.click(`#${kind}-train`);
      await waitDone(page, `${kind}-train-status`, 1, 60_000);
      const s = await series(page, `${kind}-chart`);
      for (const v of Object.values(s)) {
        expect(v).toHaveLength(2);
        for (const x of v) expect(Number.isFinite(x)).toBe(true);
      }
    }
    // DDIM, 4 steps: one picture per step
    await page.fill('#ddpm-steps', '4');
    await page.click('#ddpm-sample');
    await waitDone(page, 'ddpm-status', 1, 60_000);
    expect(await page.getAttribute('#ddpm-status', 'data-step')).toBe('4');
    expect(await page.getAttribute('#ddpm-xt', 'data-digest')).not.toBeNull();
    // the VAE's decoded image follows the dragged point
    await page.waitForFunction(() => document.getElementById('vae-out')!.dataset.digest !== undefined);
    const first = await page.getAttribute('#vae-out', 'data-digest');
    const box = (await page.locator('#vae-map').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.95, box.y + box.height * 0.05, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction((d) => document.getElementById('vae-out')!.dataset.digest !== d, first);
    expect(await page.textContent('#vae-z')).toMatch(/^z = \(2\.\d\d, 2\.\d\d\)$/);
    await page.waitForFunction(() => document.getElementById('gan-grid')!.dataset.digest !== undefined);
    await page.locator('#generative').screenshot({ path: `${shots}generative.png` });
    expect(errors).toEqual([]);
  });

  it('downloads models as dl checkpoints and loads them back by file input and by drag-and-drop', async () => {
    const out = `${root}test-output/`;
    const save = async (kind: string): Promise<string> => {
      await page.selectOption('#ckpt-model', kind);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ckpt-download')]);
      const path = `${out}${download.suggestedFilename()}`;
      await download.saveAs(path);
      return path;
    };
    /** The safetensors header: 8 bytes of length, then JSON. */
    const header = (path: string): Record<string, { shape?: number[] } & Record<string, unknown>> => {
      const b = readFileSync(path);
      return JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString('utf8'));
    };
    const mnistFile = await save('mnist');
    expect(mnistFile.endsWith('mnist-cnn.safetensors')).toBe(true);
    const h = header(mnistFile);
    expect((h.__metadata__ as unknown as Record<string, string>).format).toBe('dl-checkpoint/1');
    expect(h['model.features.0.weight'].shape).toEqual([16, 1, 3, 3]);
    expect(h['model.classifier.3.weight'].shape).toEqual([10, 128]);

    // loading the same weights back gives the same probabilities for the drawing on the pad
    const probs = (): Promise<number[]> => page.$$eval('#mnist-probs meter', (ms) => ms.map((m) => (m as HTMLMeterElement).value));
    const before = await probs();
    await page.selectOption('#ckpt-device', 'cpu');
    await page.setInputFiles('#ckpt-file', mnistFile);
    await waitDone(page, 'ckpt-status', 1);
    expect(await page.getAttribute('#ckpt-status', 'data-kind')).toBe('mnist');
    await page.waitForFunction(() => /^Loaded: MNIST CNN/.test(document.getElementById('mnist-status')!.textContent ?? ''));
    const after = await probs();
    after.forEach((p, i) => expect(p).toBeCloseTo(before[i], 5));
    // loading again replaces the model: the live tensors stay as many
    const live = async (): Promise<number> => {
      await page.waitForTimeout(1200);
      return Number(await page.getAttribute('#memory', 'data-tensors'));
    };
    const once = await live();
    await page.setInputFiles('#ckpt-file', mnistFile);
    await waitDone(page, 'ckpt-status', 2);
    expect(await live()).toBe(once);

    // drag-and-drop: the GPT's checkpoint dropped on the page
    const gptFile = await save('gpt');
    expect(header(gptFile)['model.transformer.wte.weight']).toBeDefined();
    await page.evaluate(
      ([b64, name]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
        document.getElementById('mnist')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [readFileSync(gptFile).toString('base64'), 'gpt-char.safetensors'] as const,
    );
    await waitDone(page, 'ckpt-status', 3);
    expect(await page.getAttribute('#ckpt-status', 'data-kind')).toBe('gpt');
    expect(await page.textContent('#lm-gpt-status')).toMatch(/^GPT: loaded char GPT, [\d,]+ parameters, 89 characters/);

    // a Hugging Face BERT folder (what dl train bert-mlm writes), made here small, chosen as 4 files
    const dir = `${out}bert-hf/`;
    manualSeed(0);
    const tok = new BertTokenizer(trainWordPiece('call me ishmael. some years ago, never mind how long precisely, having little or no money in my purse', 120));
    await new BertForMaskedLM({ vocabSize: tok.vocabSize, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 32 }).savePretrained(dir);
    await tok.savePretrained(dir);
    await page.setInputFiles('#ckpt-file', ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json'].map((f) => `${dir}${f}`));
    await waitDone(page, 'ckpt-status', 4);
    expect(await page.getAttribute('#ckpt-status', 'data-kind')).toBe('bert');
    expect(await page.textContent('#bert-status')).toMatch(/^Loaded BERT \(1 layers, width 32, [\d,]+ parameters, [\d,]+ tokens\)/);
    await page.fill('#bert-text', 'call me [MASK].');
    await page.click('#bert-fill');
    await page.waitForFunction(() => document.getElementById('bert-out')!.dataset.done === '2');
    expect(await page.$$eval('#bert-out li code', (cs) => cs.length)).toBe(5);
    await page.locator('#checkpoints').screenshot({ path: `${shots}checkpoints.png` });
    expect(errors).toEqual([]);
  });

  it('fits a phone-width screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${shots}phone.png` });
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${shots}page-top.png` });
    expect(errors).toEqual([]);
  });
});
