import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM, bundleForBrowser, launchChromium } from '../../testing/chromium.js';

const hasChromium = existsSync(CHROMIUM);
// CI installs Chromium (scripts/install-chromium.sh) and must not skip this quietly
if (!hasChromium && process.env.CI) throw new Error(`${CHROMIUM} not found in CI; run scripts/install-chromium.sh`);
if (!hasChromium) console.log(`${CHROMIUM} not found: skipping the wasm-threads browser test`);

type Dl = typeof import('../../index.js');

/**
 * Runs in the page and in a Worker: a GEMM past the threading threshold, a batched one, and a conv2d
 * on the wasm kernels, each next to the 'js' reference; returns the worst relative error.
 */
async function probe(dl: Dl, threads: number): Promise<{ threads: number; worst: number; warnings: string[] }> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.map(String).join(' '));
  try {
    dl.setCpuKernels('wasm');
    await dl.initThreads(threads);
    dl.manualSeed(3);
    const a = dl.randn([300, 200]);
    const b = dl.randn([200, 260]);
    const x = dl.randn([4, 8, 20, 20]);
    const w = dl.randn([16, 8, 3, 3]);
    const q = dl.randn([6, 64, 48]);
    const k = dl.randn([6, 48, 64]);
    const work = (): InstanceType<Dl['Tensor']>[] => [a.matmul(b), dl.conv2d(x, w, { padding: 1 }), q.matmul(k)];
    const fast = work().map((t) => t.dataSync());
    dl.setCpuKernels('js');
    const ref = work().map((t) => t.dataSync());
    let worst = 0;
    fast.forEach((f, i) => f.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ref[i][j]) / (1 + Math.abs(ref[i][j]))))));
    return { threads: dl.getNumThreads(), worst, warnings };
  } finally {
    console.warn = warn;
  }
}

describe.skipIf(!hasChromium)('wasm kernels and worker threads in a browser (chromium)', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('run on two threads in a cross-origin isolated Worker, and on one (with a warning) on the main thread', async () => {
    // @dl/tensor as one script defining `dl`
    const script = await bundleForBrowser("export * from './index.ts';", fileURLToPath(new URL('../..', import.meta.url)));
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // SharedArrayBuffer needs a cross-origin isolated page: these two headers
    const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    await page.route('http://localhost/**', (route) => route.fulfill({ contentType: 'text/html', headers: isolated, body: '<!doctype html><title>dl</title>' }));
    await page.goto('http://localhost/');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    const probeSource = `(${probe.toString()})`;
    // in a Worker (a Blob of the bundle and the probe): Atomics.wait is allowed, so threads run
    const inWorker = await page.evaluate(
      ([script, probeSource]) =>
        new Promise<unknown>((resolve, reject) => {
          const src = `${script}\nself.onmessage = async () => { try { self.postMessage({ ok: await ${probeSource}(dl, 2) }); } catch (e) { self.postMessage({ error: String(e && e.stack || e) }); } };`;
          const worker = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
          worker.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.ok));
          worker.onerror = (e) => reject(new Error(e.message));
          worker.postMessage('go');
        }),
      [script, probeSource] as const,
    );
    expect(inWorker).toMatchObject({ threads: 2, warnings: [] });
    expect((inWorker as { worst: number }).worst).toBeLessThan(1e-4);

    // on the page's main thread Atomics.wait throws: one thread, one warning saying why
    await page.addScriptTag({ content: script });
    const onMain = (await page.evaluate(`${probeSource}(dl, 2)`)) as { threads: number; worst: number; warnings: string[] };
    expect(onMain.threads).toBe(1);
    expect(onMain.warnings.join('\n')).toMatch(/main thread/);
    expect(onMain.worst).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
  }, 120_000);
});
