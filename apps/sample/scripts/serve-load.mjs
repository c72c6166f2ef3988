#!/usr/bin/env node
// Load and bad-input test of `dl serve`: starts the built CLI (node dist/cli.js serve) on a free
// port, or uses --base-url, then fires malformed JSON, wrong types, a negative max_tokens, an
// over-long prompt, an oversized body, an unknown model, a client that disconnects mid-stream and
// rounds of N concurrent requests; reports requests/s, p50/p99 latency and the server's memory
// (RSS, heap, live tensors from GET /health) before and after, then stops the server with SIGTERM
// while a request is running and checks that request still completes.
//
//   pnpm --filter @dl/sample build
//   node apps/sample/scripts/serve-load.mjs --model gpt=apps/sample/runs/gpt-char [--concurrency 50] [--rounds 2] [--max-tokens 32]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({
  options: {
    model: { type: 'string' },
    'base-url': { type: 'string' },
    'api-key': { type: 'string' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    'max-tokens': { type: 'string', default: '32' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const N = Number(v.concurrency);
const ROUNDS = Number(v.rounds);
const MAX_TOKENS = Number(v['max-tokens']);
const headers = { 'content-type': 'application/json', ...(v['api-key'] ? { authorization: `Bearer ${v['api-key']}` } : {}) };

let server = null;
let base = v['base-url']?.replace(/\/v1\/?$/, '');
let modelName;
if (!base) {
  const spec = v.model ?? (existsSync(join(here, '..', 'runs', 'gpt-char', 'checkpoint.safetensors')) ? `gpt-char=${join(here, '..', 'runs', 'gpt-char')}` : null);
  if (!spec) throw new Error('give --model NAME=PATH (a gpt-char checkpoint or GPT-2 folder) or --base-url URL');
  modelName = spec.split('=')[0];
  const cli = join(here, '..', 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: pnpm --filter @dl/sample build first`);
  server = spawn(process.execPath, ['--expose-gc', cli, 'serve', '--model', spec, '--port', '0', '--quiet', '--max-concurrency', '64', '--max-queue', '128', '--max-tokens-limit', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`dl serve exited with ${code} before listening:\n${out}`)));
  });
}

const url = (p) => `${base}${p}`;
const post = (path, body, init = {}) => fetch(url(path), { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
// ?gc: counted after a collection (with --expose-gc), so the loading's garbage does not count
const health = async () => (await (await fetch(url('/health?gc'), { headers })).json()).memory;
const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
modelName ??= (await (await fetch(url('/v1/models'), { headers })).json()).data[0].id;
const chatBody = (content, extra = {}) => ({ model: modelName, messages: [{ role: 'user', content }], max_tokens: MAX_TOKENS, ...extra });

// warm-up (first-use allocations), then the memory to compare with
await (await post('/v1/chat/completions', chatBody('Call me Ishmael.'))).json();
const before = await health();

// ---- bad input: each must get its status and OpenAI's error shape
const cases = [
  ['malformed JSON', () => post('/v1/chat/completions', '{"model": "x", "messages": ['), 400],
  ['body not an object', () => post('/v1/chat/completions', '[1,2]'), 400],
  ['wrong type: temperature "hot"', () => post('/v1/chat/completions', chatBody('hi', { temperature: 'hot' })), 400],
  ['wrong type: messages a string', () => post('/v1/chat/completions', { model: modelName, messages: 'hi' }), 400],
  ['wrong type: max_tokens "5"', () => post('/v1/completions', { model: modelName, prompt: 'hi', max_tokens: '5' }), 400],
  ['negative max_tokens', () => post('/v1/chat/completions', chatBody('hi', { max_tokens: -5 })), 400],
  ['prompt past the context', () => post('/v1/completions', { model: modelName, prompt: 'whale '.repeat(2000) }), 400],
  ['oversized body (2 MiB)', () => post('/v1/completions', { model: modelName, prompt: 'x'.repeat(2 << 20) }), 413],
  ['unknown model', () => post('/v1/chat/completions', { ...chatBody('hi'), model: 'no-such-model' }), 404],
  ['unknown route', () => post('/v1/nothing', {}), 404],
];
const bad = [];
for (const [name, send, status] of cases) {
  const res = await send();
  const body = await res.json().catch(() => null);
  const shaped = body?.error && ['message', 'type', 'param', 'code'].every((k) => k in body.error);
  bad.push({ name, status: res.status, ok: res.status === status && shaped, message: body?.error?.message?.slice(0, 70) });
}

// ---- a client that disconnects mid-stream: its generation must stop
const ac = new AbortController();
const res = await post('/v1/chat/completions', chatBody('Tell me a long story.', { max_tokens: 1000, stream: true }), { signal: ac.signal });
const reader = res.body.getReader();
await reader.read();
await reader.read();
const tAbort = performance.now();
ac.abort();
let stoppedMs = null;
for (let i = 0; i < 500; i++) {
  const h = await (await fetch(url('/health'), { headers })).json();
  if (h.engine.running === 0) {
    stoppedMs = performance.now() - tAbort;
    break;
  }
  await new Promise((r) => setTimeout(r, 10));
}

// ---- rounds of N concurrent requests (a fifth streamed)
const prompts = ['Call me Ishmael.', 'Where is the white whale?', 'The sea was calm that morning.', 'Ahab stood on the deck.', 'Queequeg sharpened his harpoon.'];
const rounds = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  const lat = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const s0 = performance.now();
      const stream = i % 5 === 4;
      const res = await post('/v1/chat/completions', chatBody(prompts[i % prompts.length], { seed: i, stream }));
      if (res.status !== 200) throw new Error(`request ${i} answered ${res.status}: ${await res.text()}`);
      const text = await res.text();
      if (stream ? !text.trimEnd().endsWith('data: [DONE]') : !JSON.parse(text).choices) throw new Error(`request ${i}: a bad answer ${text.slice(0, 200)}`);
      return performance.now() - s0;
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)];
  const m = await health();
  rounds.push({ round: r + 1, requests: N, 'req/s': (N / wall).toFixed(2), 'p50 ms': q(0.5).toFixed(0), 'p99 ms': q(0.99).toFixed(0), 'wall s': wall.toFixed(2), RSS: mb(m.rss), heap: mb(m.heapUsed), tensors: m.tensors });
}
const after = await health();
const stats = (await (await fetch(url('/health'), { headers })).json()).engine;
const stillUp = (await fetch(url('/v1/models'), { headers })).status === 200;

console.log(`dl serve load test against ${base} (model ${modelName}, max_tokens ${MAX_TOKENS})`);
console.log('\nbad input:');
console.table(bad);
console.log(`\nmid-stream disconnect: generation stopped ${stoppedMs === null ? 'NOT within 5 s' : `${stoppedMs.toFixed(0)} ms after the client left`}`);
console.log(`\n${N} concurrent requests x ${ROUNDS} rounds:`);
console.table(rounds);
console.log(`forward passes ${stats.passes}, sequence-steps ${stats.rowSteps} (mean batch ${(stats.rowSteps / stats.passes).toFixed(2)} rows)`);
console.log('\nserver memory (GET /health)   before        after');
console.log(`  RSS                          ${mb(before.rss).padEnd(14)}${mb(after.rss)}`);
console.log(`  heap used                    ${mb(before.heapUsed).padEnd(14)}${mb(after.heapUsed)}`);
console.log(`  array buffers                ${mb(before.arrayBuffers).padEnd(14)}${mb(after.arrayBuffers)}`);
console.log(`  live tensors                 ${String(before.tensors).padEnd(14)}${after.tensors}`);
console.log(`  tensor bytes                 ${mb(before.tensorBytes).padEnd(14)}${mb(after.tensorBytes)}`);
console.log(`\nserver up after all that: ${stillUp}`);

let failed = bad.some((b) => !b.ok) || stoppedMs === null || !stillUp || after.tensors !== before.tensors;
if (server) {
  // graceful shutdown: SIGTERM while a request runs; it must still complete, then the process exits 0
  const running = post('/v1/chat/completions', chatBody('One more question.', { max_tokens: MAX_TOKENS }));
  while ((await (await fetch(url('/health'), { headers })).json()).engine.running === 0) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  server.kill('SIGTERM');
  const answer = await running;
  const finish = (await answer.json()).choices?.[0]?.finish_reason;
  const code = await new Promise((r) => server.once('exit', r));
  console.log(`SIGTERM with a request running: it finished (${answer.status}, finish_reason ${finish}); the server exited ${code} after ${(performance.now() - t0).toFixed(0)} ms`);
  failed ||= answer.status !== 200 || code !== 0;
}
console.log(failed ? '\nFAILED' : '\nall checks passed');
process.exit(failed ? 1 : 0);
