// dl serve against the official openai client: a real server on a free localhost port, over tiny
// random models made here (a gpt-char checkpoint, a GPT-2 folder with byte-level BPE, a BERT folder).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import OpenAI from 'openai';
import { memory } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeModels, loadServedModel, type ServedModel } from './models.js';
import { startServer, type DlServer, type ServeOptions } from './server.js';
import { makeBertFolder, makeBpeFolder, makeCharCheckpoint } from './test-models.js';

let dir: string;
let models: ServedModel[];
let srv: DlServer;
let client: OpenAI;
let tensorsBefore: number;

const LIMITS = { maxBody: 64 * 1024, maxConcurrency: 8, maxQueue: 16, maxBatch: 8, batchWindowMs: 50, maxTokens: 24, maxTokensLimit: 400 };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Live tensors once the garbage of model loading (parsed safetensors) has been collected and finalized. */
async function settledTensors(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return memory().tensors;
}

async function serve(extra: Partial<ServeOptions> = {}): Promise<DlServer> {
  return startServer({ models, port: 0, ...LIMITS, ...extra });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-serve-'));
  await makeCharCheckpoint(join(dir, 'char', 'checkpoint.safetensors'));
  await makeBpeFolder(join(dir, 'bpe'));
  await makeBertFolder(join(dir, 'bert'));
  models = [await loadServedModel('char', join(dir, 'char'), 'cpu'), await loadServedModel('bpe', join(dir, 'bpe'), 'cpu'), await loadServedModel('bert', join(dir, 'bert'), 'cpu')];
  tensorsBefore = await settledTensors();
  srv = await serve();
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await srv?.close(0);
  if (models) disposeModels(models);
  rmSync(dir, { recursive: true, force: true });
});

/** The status and OpenAI error body of a raw request. */
async function raw(path: string, init: RequestInit & { json?: unknown } = {}, base = srv.url): Promise<{ status: number; body: { error: { message: string; type: string; param: string | null; code: string | null } } }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: init.json !== undefined ? JSON.stringify(init.json) : init.body, ...init });
  return { status: res.status, body: (await res.json()) as never };
}

function expectError(r: Awaited<ReturnType<typeof raw>>, status: number, param: string | null, code?: string): void {
  expect(r.status).toBe(status);
  expect(Object.keys(r.body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(r.body.error.message.length).toBeGreaterThan(10);
  expect(r.body.error.param).toBe(param);
  if (code) expect(r.body.error.code).toBe(code);
}

describe('dl serve with the openai client', () => {
  it('lists the models', async () => {
    const list = [];
    for await (const m of client.models.list()) list.push(m);
    expect(list.map((m) => m.id)).toEqual(['char', 'bpe', 'bert']);
    expect(list[0]).toMatchObject({ object: 'model', owned_by: 'dl' });
    expect((await client.models.retrieve('bpe')).id).toBe('bpe');
  });

  it('chat: a reply with usage; the same seed gives the same reply, streamed or not', async () => {
    const messages = [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'Where is the whale?' }];
    const a = await client.chat.completions.create({ model: 'char', messages, max_tokens: 12, seed: 7, stop: 'zzzz' });
    expect(a.object).toBe('chat.completion');
    expect(a.choices).toHaveLength(1);
    expect(a.choices[0].message.role).toBe('assistant');
    expect(typeof a.choices[0].message.content).toBe('string');
    expect(['length', 'stop']).toContain(a.choices[0].finish_reason);
    // the prompt is the role-tagged template, one token per character
    const prompt = 'System: You are terse.\nUser: Where is the whale?\nAssistant:';
    expect(a.usage).toMatchObject({ prompt_tokens: prompt.length, total_tokens: prompt.length + a.usage!.completion_tokens });
    expect(a.usage!.completion_tokens).toBeLessThanOrEqual(12);
    const b = await client.chat.completions.create({ model: 'char', messages, max_tokens: 12, seed: 7, stop: 'zzzz' });
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);

    const stream = await client.chat.completions.create({ model: 'char', messages, max_tokens: 12, seed: 7, stop: 'zzzz', stream: true, stream_options: { include_usage: true } });
    let text = '';
    const finishes: (string | null)[] = [];
    let usage;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finishes.push(c.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(a.choices[0].message.content);
    expect(finishes.at(-1)).toBe(a.choices[0].finish_reason);
    expect(usage).toEqual(a.usage);
  });

  it('chat: stop sequences end the reply before them; n gives n choices', async () => {
    const base = { model: 'char', messages: [{ role: 'user' as const, content: 'hello' }], max_tokens: 30, temperature: 0 };
    const full = (await client.chat.completions.create(base)).choices[0].message.content!;
    const stop = full.slice(5, 8);
    expect(stop.length).toBe(3);
    const cut = await client.chat.completions.create({ ...base, stop: [stop] });
    expect(cut.choices[0].message.content).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.choices[0].finish_reason).toBe('stop');
    const many = await client.chat.completions.create({ ...base, temperature: 1, n: 3, seed: 1 });
    expect(many.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(many.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
  });

  it('completions: text and token-id prompts, n, echo, streaming; BPE decodes across tokens', async () => {
    const a = await client.completions.create({ model: 'char', prompt: ['The whale', 'Ahab'], n: 2, max_tokens: 6, seed: 3, echo: true });
    expect(a.object).toBe('text_completion');
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(a.choices[0].text.startsWith('The whale')).toBe(true);
    expect(a.choices[3].text.startsWith('Ahab')).toBe(true);
    expect(a.usage).toMatchObject({ prompt_tokens: 'The whale'.length + 'Ahab'.length });
    const ids = await client.completions.create({ model: 'char', prompt: [40, 41, 42], max_tokens: 4 });
    expect(ids.usage!.prompt_tokens).toBe(3);
    const b = await client.completions.create({ model: 'bpe', prompt: 'Hello world', max_tokens: 8, seed: 5 });
    const s = await client.completions.create({ model: 'bpe', prompt: 'Hello world', max_tokens: 8, seed: 5, stream: true });
    let text = '';
    for await (const chunk of s) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(b.choices[0].text);
    expect(b.usage!.completion_tokens).toBeLessThanOrEqual(8);
  });

  it('embeddings from the BERT folder: unit vectors, float and base64 alike, equal texts equal', async () => {
    const input = ['the whale is a mammal', 'call me ishmael', 'the whale is a mammal'];
    const b64 = await client.embeddings.create({ model: 'bert', input }); // the client asks for base64 and decodes it
    const flt = await client.embeddings.create({ model: 'bert', input, encoding_format: 'float' });
    expect(b64.data).toHaveLength(3);
    for (const [i, d] of flt.data.entries()) {
      expect(d.index).toBe(i);
      expect(d.embedding).toHaveLength(16);
      expect(Math.hypot(...d.embedding)).toBeCloseTo(1, 5);
      d.embedding.forEach((x, j) => expect(b64.data[i].embedding[j]).toBeCloseTo(x, 6));
    }
    expect(flt.data[2].embedding).toEqual(flt.data[0].embedding);
    expect(flt.data[1].embedding).not.toEqual(flt.data[0].embedding);
    expect(flt.usage.prompt_tokens).toBeGreaterThan(6);
    expectError(await raw('/v1/embeddings', { json: { model: 'bert', input: 'x', dimensions: 8 } }), 400, 'dimensions');
    expectError(await raw('/v1/embeddings', { json: { model: 'char', input: 'x' } }), 400, 'model', 'model_not_supported');
  });

  it('json_schema: a tiny random model writes valid JSON of the schema (char and BPE tokenizers, streamed too)', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' }, mood: { enum: ['calm', 'stormy'] }, tags: { type: 'array', items: { type: 'string', maxLength: 5 }, maxItems: 3 } },
      required: ['name', 'age', 'mood'],
    };
    for (const model of ['char', 'bpe']) {
      for (const seed of [1, 2, 3]) {
        const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Describe the captain.' }], max_tokens: 120, seed, response_format: { type: 'json_schema', json_schema: { name: 'captain', schema } } });
        const text = r.choices[0].message.content!;
        const v = JSON.parse(text) as { name: string; age: number; mood: string; tags?: string[] };
        expect(typeof v.name, text).toBe('string');
        expect(Number.isInteger(v.age), text).toBe(true);
        expect(['calm', 'stormy']).toContain(v.mood);
        expect(r.choices[0].finish_reason).toBe('stop');
      }
    }
    const stream = await client.chat.completions.create({ model: 'char', messages: [{ role: 'user', content: 'json please' }], max_tokens: 60, seed: 4, stream: true, response_format: { type: 'json_object' } });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(JSON.parse(text)).toBeTypeOf('object');
    // a tight max_tokens still closes the object in time
    const tight = await client.chat.completions.create({ model: 'char', messages: [{ role: 'user', content: 'x' }], max_tokens: 10, seed: 9, response_format: { type: 'json_object' } });
    expect(JSON.parse(tight.choices[0].message.content!)).toBeTypeOf('object');
  });

  it('tool calls: required and named tool_choice give a call with arguments of the tool schema, streamed too', async () => {
    const tools = [
      { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 10 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'] } } },
      { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 6 } }, required: ['zone'] } } },
    ];
    const messages = [{ role: 'user' as const, content: 'Weather in Nantucket?' }];
    const r = await client.chat.completions.create({ model: 'char', messages, tools, tool_choice: 'required', max_tokens: 120, seed: 2 });
    const call = r.choices[0].message.tool_calls![0] as { id: string; type: string; function: { name: string; arguments: string } };
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.content).toBeNull();
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call-/);
    expect(['get_weather', 'get_time']).toContain(call.function.name);
    const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
    if (call.function.name === 'get_weather') expect(['c', 'f']).toContain(args.unit);
    else expect(typeof args.zone).toBe('string');

    const named = await client.chat.completions.create({ model: 'bpe', messages, tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: 80, seed: 3, stream: true });
    const calls: { function?: { name?: string; arguments?: string } }[] = [];
    let finish: string | null = null;
    for await (const chunk of named) {
      calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(calls[0].function!.name).toBe('get_time');
    expect(typeof (JSON.parse(calls[0].function!.arguments!) as { zone: unknown }).zone).toBe('string');

    // a tool result goes back into the conversation
    const after = await client.chat.completions.create({
      model: 'char',
      messages: [...messages, { role: 'assistant', content: null, tool_calls: [call as never] }, { role: 'tool', tool_call_id: call.id, content: 'Foggy, 12 C' }],
      tools,
      tool_choice: 'none',
      max_tokens: 5,
    });
    expect(typeof after.choices[0].message.content).toBe('string');
  });

  it('errors: status codes and OpenAI error bodies for bad requests', async () => {
    expectError(await raw('/v1/chat/completions', { body: '{"model": "char", "messages": [' }), 400, null, 'invalid_json');
    expectError(await raw('/v1/chat/completions', { json: { model: 'char', messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' } }), 400, 'temperature', 'invalid_type');
    expectError(await raw('/v1/chat/completions', { json: { model: 'char', messages: 'hi' } }), 400, 'messages', 'invalid_type');
    expectError(await raw('/v1/chat/completions', { json: { model: 'char', messages: [{ role: 'wizard', content: 'hi' }] } }), 400, 'messages.0.role');
    expectError(await raw('/v1/chat/completions', { json: { model: 'char', messages: [{ role: 'user', content: 'hi' }], max_tokens: -5 } }), 400, 'max_tokens');
    expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'hi', max_tokens: 401 } }), 400, 'max_tokens');
    expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'x'.repeat(257) } }), 400, 'prompt', 'context_length_exceeded');
    expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'caf\u00e9' } }), 400, 'prompt', 'invalid_prompt');
    expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'hi', frobnicate: 1 } }), 400, 'frobnicate', 'unknown_parameter');
    expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'hi', logprobs: 2 } }), 400, 'logprobs', 'unsupported_parameter');
    expectError(await raw('/v1/chat/completions', { json: { model: 'char', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'string', pattern: 'a+' } } } } }), 400, 'response_format.json_schema.schema', 'invalid_schema');
    expectError(await raw('/v1/chat/completions', { json: { model: 'nope', messages: [{ role: 'user', content: 'x' }] } }), 404, 'model', 'model_not_found');
    expectError(await raw('/v1/nothing', { json: {} }), 404, null, 'unknown_url');
    expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'x'.repeat(70_000) } }), 413, null, 'request_too_large');
    // the openai client raises typed errors with the status
    await expect(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.completions.create({ model: 'char', prompt: 'hi', max_tokens: -1 })).rejects.toMatchObject({ status: 400, param: 'max_tokens' });
  });

  it('an API key: 401 without it or with a wrong one, answers with it', async () => {
    const keyed = await serve({ apiKey: 'sekret' });
    try {
      const wrong = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'guess', maxRetries: 0 });
      await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'hi' } }, keyed.url), 401, null, 'invalid_api_key');
      const right = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
      expect((await right.models.list()).data).toHaveLength(3);
    } finally {
      await keyed.close(0);
    }
  });

  it('concurrent requests of one prompt length share forward passes, and batching leaves each reply as it was alone', async () => {
    const ask = (seed: number) => client.completions.create({ model: 'char', prompt: 'The sea', max_tokens: 10, seed });
    const alone = await ask(11);
    const before = srv.engine.getStats();
    const together = await Promise.all([11, 12, 13, 14, 15, 16].map(ask));
    const after = srv.engine.getStats();
    const passes = after.passes - before.passes;
    const rows = after.rowSteps - before.rowSteps;
    expect(rows).toBe(6 * 10);
    expect(passes).toBeLessThan(rows / 2); // about 10 passes of 6 rows, not 60 of one
    expect(together[0].choices[0].text).toBe(alone.choices[0].text);
  });

  it('a full queue answers 429; a client that leaves mid-stream stops its generation; no tensor is left behind', async () => {
    const base = await settledTensors();
    const small = await serve({ maxConcurrency: 1, maxQueue: 0 });
    try {
      const ac = new AbortController();
      const res = await fetch(`${small.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'char', prompt: 'x', max_tokens: 400, stream: true }), signal: ac.signal });
      const reader = res.body!.getReader();
      await reader.read(); // the first chunk: it is decoding
      expectError(await raw('/v1/completions', { json: { model: 'char', prompt: 'y', max_tokens: 2 } }, small.url), 429, null, 'queue_full');
      ac.abort();
      for (let i = 0; i < 200 && small.engine.getStats().running > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(small.engine.getStats().running).toBe(0);
      expect(small.engine.getStats().rowSteps).toBeLessThan(400); // it stopped early
      const ok = await fetch(`${small.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'char', prompt: 'y', max_tokens: 2 }) });
      expect(ok.status).toBe(200);
    } finally {
      await small.close(0);
    }
    // read before any collection: a tensor not disposed (a KV cache, logits) would still count
    expect(memory().tensors).toBe(base);
  });

  it('shuts down gracefully: running requests finish, new ones are refused', async () => {
    const s = await serve();
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const running = c.completions.create({ model: 'char', prompt: 'Ahab', max_tokens: 30 });
    while (s.engine.getStats().running === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = s.close(30_000);
    await expect(fetch(`${s.url}/v1/models`)).rejects.toThrow();
    const r = await running;
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage!.completion_tokens).toBe(30);
    await closed;
  });

  it('every request above disposed what it made (KV caches, logits, embeddings)', () => {
    expect(memory().tensors).toBe(tensorsBefore);
  });
});
