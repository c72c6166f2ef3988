import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, launchChromium } from '../../tensor/src/testing/chromium.js';
import { expectClose, hasChromium } from './test-utils.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** @dl/tensor and @dl/gpu as one browser script exposing `globalThis.dl`. */
function bundle(): Promise<string> {
  return bundleForBrowser(
    "export * from '@dl/tensor'; export { runConformance } from '@dl/tensor/testing'; export { createWebGPUBackend } from './index.ts';",
    here('.'),
    { '@dl/tensor/testing': here('../../tensor/src/testing/index.ts'), '@dl/tensor/internal': here('../../tensor/src/internal.ts'), '@dl/tensor': here('../../tensor/src/index.ts') },
  );
}

// Headless Debian Chromium gives WebGPU through SwiftShader; navigator.gpu needs a secure
// context, so the page is served at http://localhost by request interception.
describe.skipIf(!hasChromium)('webgpu in a browser page (chromium)', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('runs matmul and softmax like the cpu backend, and passes the conformance suite', async () => {
    const script = await bundle();
    browser = await launchChromium(['--enable-unsafe-webgpu']);
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
      // everything made here is disposed: the suite below counts live tensors
      const read = async (f: () => InstanceType<typeof dl.Tensor>): Promise<number[]> => {
        const t = dl.scope(f);
        const v = Array.from(await t.data());
        t.dispose();
        return v;
      };
      const run = (d: string) => a.to(d).matmul(b.to(d)).softmax(1);
      const r = {
        adapter: gpu.adapter,
        gpu: await read(() => run('webgpu')),
        cpu: await read(() => run('cpu')),
        uniform: (dl.manualSeed(8), await read(() => dl.rand([9], { device: 'webgpu' }))),
        uniformCpu: (dl.manualSeed(8), await read(() => dl.rand([9]))),
        // a custom op (defineOp): its own WGSL program, explicit bindings and a uniform struct
        geluGrad: await read(() => dl.geluGrad([a.to('webgpu'), a.to('webgpu').exp()], { approximate: 'tanh' })),
        geluGradCpu: await read(() => dl.geluGrad([a, a.exp()], { approximate: 'tanh' })),
      };
      a.dispose();
      b.dispose();
      return r;
    });
    expect(r.gpu.length).toBe(33 * 45);
    expectClose(r.gpu, r.cpu, 1e-4, 1e-6, 'matmul+softmax');
    expect(r.uniform).toEqual(r.uniformCpu);
    expectClose(r.geluGrad, r.geluGradCpu, 1e-4, 1e-5, 'geluGrad');
    expect(r.adapter.vendor.length + r.adapter.architecture.length).toBeGreaterThan(0);

    // the whole @dl/tensor conformance suite on the browser's WebGPU (SwiftShader), through a
    // minimal describe/it/expect
    const suite = await page.evaluate(async () => {
      const dl = (globalThis as unknown as { dl: typeof import('@dl/tensor') & typeof import('@dl/tensor/testing') }).dl;
      const cases: [string, () => Promise<void>][] = [];
      const prefix: string[] = [];
      const fail = (msg: string | undefined, detail: string): never => {
        throw new Error(`${msg ?? ''} ${detail}`);
      };
      dl.runConformance(
        {
          describe: (name, fn) => {
            prefix.push(name);
            fn();
            prefix.pop();
          },
          it: (name, fn) => void cases.push([[...prefix, name].join(' > '), fn]),
          expect: (v, msg) => ({
            toBe: (w) => void (Object.is(v, w) || fail(msg, `${String(v)} !== ${String(w)}`)),
            toEqual: (w) => void (JSON.stringify(v) === JSON.stringify(w) || fail(msg, `${JSON.stringify(v)} != ${JSON.stringify(w)}`)),
            toBeNull: () => void (v === null || fail(msg, String(v))),
            toBeLessThanOrEqual: (w) => void ((v as number) <= (w as number) || fail(msg, `${String(v)} > ${String(w)}`)),
          }),
        },
        { device: 'webgpu' },
      );
      const failures: string[] = [];
      for (const [name, fn] of cases) {
        try {
          await fn();
        } catch (e) {
          failures.push(`${name}: ${(e as Error).message}`);
        }
      }
      return { count: cases.length, failures };
    });
    expect(suite.count).toBeGreaterThan(100);
    expect(suite.failures).toEqual([]);
  });
});
