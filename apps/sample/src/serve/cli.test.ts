// dl --help, dl chat (piped stdin, a local checkpoint or a server by base URL) and dl serve's arguments.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-helpers.js';
import { TASKS } from '../tasks/index.js';
import { chatCommand } from './chat.js';
import { serveCommand } from './command.js';
import { disposeModels, loadServedModel, parseModelSpec } from './models.js';
import { startServer } from './server.js';
import { makeCharCheckpoint } from './test-models.js';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-chat-'));
  await makeCharCheckpoint(join(dir, 'run', 'checkpoint.safetensors'), { blockSize: 64 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs dl chat on `lines` as piped stdin; returns stdout and the notes it wrote to stderr. */
async function chat(args: string[], lines: string[]): Promise<{ out: string; notes: string[] }> {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const notes: string[] = [];
  expect(await chatCommand(args, Readable.from(lines.map((l) => `${l}\n`)), sink, (n) => notes.push(n))).toBe(0);
  return { out, notes };
}

describe('dl CLI: serve and chat', () => {
  it('dl --help lists every task, serve and chat', async () => {
    const help = (await runCli(['--help'])).join('\n');
    for (const t of TASKS) for (const c of Object.keys(t.commands)) expect(help).toContain(`dl ${c} ${t.name}`);
    expect(help).toContain('dl serve --model NAME=PATH');
    expect(help).toContain('--max-concurrency');
    expect(help).toContain('dl chat --model NAME --checkpoint PATH | --base-url URL --model NAME');
  });

  it('dl chat with a local checkpoint streams one reply per line of piped stdin, and drops old turns past the context', async () => {
    const { out, notes } = await chat(['--model', 'tiny', '--checkpoint', join(dir, 'run'), '--max-tokens', '8', '--seed', '1'], ['Hello there', 'Where is the whale?', 'And Ahab?']);
    const replies = out.split('\n').slice(0, -1);
    expect(replies).toHaveLength(3);
    // a 64-character context: the third turn no longer fits with the first two
    expect(notes.some((n) => n.includes('dropped the oldest message'))).toBe(true);
    // same seed, same first reply
    const again = await chat(['--model', 'tiny', '--checkpoint', join(dir, 'run'), '--max-tokens', '8', '--seed', '1'], ['Hello there']);
    expect(again.out.split('\n')[0]).toBe(replies[0]);
  });

  it('dl chat --base-url talks to any OpenAI-compatible server, and says what went wrong', async () => {
    const model = await loadServedModel('tiny', join(dir, 'run'), 'cpu');
    const srv = await startServer({ models: [model], port: 0, maxBody: 1 << 16, maxConcurrency: 2, maxQueue: 2, maxBatch: 2, maxTokens: 8, maxTokensLimit: 64, apiKey: 'k' });
    try {
      const { out } = await chat(['--base-url', `${srv.url}/v1`, '--model', 'tiny', '--api-key', 'k', '--max-tokens', '5', '--temperature', '0'], ['Hi']);
      expect(out.split('\n')).toHaveLength(2);
      const bad = await chat(['--base-url', `${srv.url}/v1`, '--model', 'nope', '--api-key', 'k'], ['Hi']);
      expect(bad.notes.join('\n')).toMatch(/404 The model 'nope' does not exist/);
      const key = await chat(['--base-url', `${srv.url}/v1`, '--model', 'tiny', '--api-key', 'wrong'], ['Hi']);
      expect(key.notes.join('\n')).toMatch(/401 Incorrect API key/);
    } finally {
      await srv.close(0);
      disposeModels([model]);
    }
  });

  it('refuses bad arguments with a message naming them', async () => {
    await expect(chatCommand(['--model', 'x'], Readable.from([]), new Writable(), () => {})).rejects.toThrow('either --checkpoint PATH (a local model) or --base-url URL');
    await expect(serveCommand([], () => {})).rejects.toThrow('at least one --model NAME=PATH');
    await expect(serveCommand(['--model', `m=${join(dir, 'missing')}`], () => {})).rejects.toThrow('no such file or folder');
    await expect(serveCommand(['--model', `m=${join(dir, 'run')}`, '--port=-1'], () => {})).rejects.toThrow("--port must be an integer >= 0, got '-1'");
    expect(parseModelSpec('runs/gpt-char/checkpoint.safetensors')).toEqual({ name: 'gpt-char', path: 'runs/gpt-char/checkpoint.safetensors' });
    expect(parseModelSpec('models/bert/')).toEqual({ name: 'bert', path: 'models/bert/' });
    expect(parseModelSpec('gpt=runs/gpt-char')).toEqual({ name: 'gpt', path: 'runs/gpt-char' });
    expect(() => parseModelSpec('=x')).toThrow('the name before');
  });
});
