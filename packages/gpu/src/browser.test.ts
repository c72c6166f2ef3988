import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { expectClose, hasChromium } from './test-utils.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** @dl/tensor and @dl/gpu as one browser script exposing `globalThis.dl`. */
async function bundle(): Promise<string> {
  const out = await build({
    stdin: {
      contents: "export * from '@dl/tensor'; export { createWebGPUBackend } from './index.ts';",
      resolveDir: here('.'),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    globalName: 'dl',
    platform: 'browser',
    target: 'es2022',
    write: false,
    alias: { '@dl/tensor': here('../../tensor/src/index.ts') },
    // the CPU backend's worker pool is Node-only and loads lazily
    external: ['node:*'],
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

// Headless Debian Chromium gives WebGPU through SwiftShader; navigator.gpu needs a secure
// context, so the page is served at http://localhost by request interception.
describe.skipIf(!hasChromium)('webgpu in a browser page (chromium)', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('runs matmul and softmax like the cpu backend', async () => {
    const script = await bundle();
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route('http://localhost/**', (route) => {
      const url = route.request().url();
      if (url.endsWith('/dl.js')) return route.fulfill({ contentType: 'text/javascript', body: script });
      return route.fulfill({ contentType: 'text/html', body: '<!doctype html><script src="/dl.js"></script>' });
    });
    await page.goto('http://localhost/');
    expect(errors).toEqual([]);
    const r = await page.evaluate(async () => {
      const dl = (globalThis as unknown as { dl: typeof import('@dl/tensor') & typeof import('./index.js') }).dl;
      const gpu = await dl.createWebGPUBackend();
      dl.registerBackend(gpu);
      dl.manualSeed(5);
      const a = dl.randn([33, 70]);
      const b = dl.randn([70, 45]);
      const run = (d: string) => a.to(d).matmul(b.to(d)).softmax(1);
      return {
        adapter: gpu.adapter,
        gpu: Array.from(await run('webgpu').data()),
        cpu: Array.from(await run('cpu').data()),
        uniform: (dl.manualSeed(8), Array.from(await dl.rand([9], { device: 'webgpu' }).data())),
        uniformCpu: (dl.manualSeed(8), Array.from(await dl.rand([9]).data())),
      };
    });
    expect(r.gpu.length).toBe(33 * 45);
    expectClose(r.gpu, r.cpu, 1e-4, 1e-6, 'matmul+softmax');
    expect(r.uniform).toEqual(r.uniformCpu);
    expect(r.adapter.vendor.length + r.adapter.architecture.length).toBeGreaterThan(0);
  });
});
