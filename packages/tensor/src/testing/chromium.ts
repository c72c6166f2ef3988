/**
 * Test-only helpers for the browser tests of @dl packages (not part of the published `testing`
 * entry: they need esbuild and playwright-core). @dl/gpu's tests import this file by path.
 */
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (scripts/install-chromium.sh). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * `contents` (an ES module resolved from `resolveDir`, with `alias`es) bundled as one browser
 * script whose exports become the global `dl`.
 */
export async function bundleForBrowser(contents: string, resolveDir: string, alias: Record<string, string> = {}): Promise<string> {
  const out = await build({
    stdin: { contents, resolveDir, loader: 'ts' },
    bundle: true,
    format: 'iife',
    globalName: 'dl',
    platform: 'browser',
    target: 'es2022',
    write: false,
    alias,
    // the CPU backend's worker pool loads node:worker_threads lazily, only in Node
    external: ['node:*'],
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

/** Headless Chromium with the flags every test uses, plus `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', ...extraArgs, '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
