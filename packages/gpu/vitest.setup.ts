import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { CHROMIUM } from '../tensor/src/testing/chromium.js';
import './src/test-context.js';

// Dawn and Mesa load in a child process first, so a machine without an adapter gets one clear line
const PROBE = `
const spec = process.env.DL_WEBGPU_MODULE || 'webgpu';
try {
  const m = await import(spec.startsWith('/') ? 'file://' + spec : spec);
  const a = await m.create([]).requestAdapter();
  console.log(a ? 'adapter: ' + [a.info.vendor, a.info.architecture, a.info.description].join(' / ') : 'requestAdapter() returned null (no Vulkan driver? see scripts/install-webgpu.sh)');
} catch (e) {
  console.log('could not load Dawn from ' + spec + ': ' + String(e.message).split('\\n')[0]);
}
process.exit(0);
`;


export default function setup(project: TestProject): void {
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'xdg-'));
  const required = process.env.DL_REQUIRE_WEBGPU === '1';
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], { encoding: 'utf8', timeout: 60_000 });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  const ok = r.status === 0 && line.startsWith('adapter:');
  if (!ok) {
    const why = line || (r.stderr ?? '').trim().split('\n').pop() || `probe exited with ${r.status}`;
    if (required) throw new Error(`WebGPU adapter not found and DL_REQUIRE_WEBGPU=1: ${why}`);
    console.log(`WebGPU adapter not found (${why}): skipping @dl/gpu tests (set DL_REQUIRE_WEBGPU=1 to fail instead)`);
  }
  const chromium = existsSync(CHROMIUM);
  if (!chromium) {
    if (required) throw new Error(`${CHROMIUM} not found and DL_REQUIRE_WEBGPU=1; run scripts/install-chromium.sh`);
    if (ok) console.log(`${CHROMIUM} not found: skipping the @dl/gpu browser test`);
  }
  project.provide('webgpu', ok);
  project.provide('chromium', chromium);
}
