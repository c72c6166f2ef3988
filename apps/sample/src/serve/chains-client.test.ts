// @dl/chains' ChatOpenAICompatible against dl serve: invoke, stream, structured output and tool
// calls by constrained decoding, errors, and a prompt | model | parser chain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APIError, ChatOpenAICompatible, PromptTemplate, StringOutputParser, s, tool } from '@dl/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeModels, loadServedModel, type ServedModel } from './models.js';
import { startServer, type DlServer } from './server.js';
import { makeCharCheckpoint } from './test-models.js';

let dir: string;
let model: ServedModel;
let srv: DlServer;
const chat = (fields: Partial<ConstructorParameters<typeof ChatOpenAICompatible>[0]> = {}) => new ChatOpenAICompatible({ baseURL: `${srv.url}/v1`, apiKey: 'unused', model: 'char', maxTokens: 16, seed: 5, maxRetries: 0, ...fields });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-serve-chains-'));
  await makeCharCheckpoint(join(dir, 'char.safetensors'));
  model = await loadServedModel('char', join(dir, 'char.safetensors'), 'cpu');
  srv = await startServer({ models: [model], port: 0, maxBody: 1 << 16, maxConcurrency: 4, maxQueue: 8, maxBatch: 4, maxTokens: 16, maxTokensLimit: 200 });
});

afterAll(async () => {
  await srv?.close(0);
  if (model) disposeModels([model]);
  rmSync(dir, { recursive: true, force: true });
});

describe('ChatOpenAICompatible of @dl/chains against dl serve', () => {
  it('invoke and stream give the same reply for one seed; usage comes back', async () => {
    const m = chat();
    const msg = await m.invoke('Call me Ishmael.');
    expect(typeof msg.content).toBe('string');
    let streamed = '';
    for await (const chunk of await m.stream('Call me Ishmael.')) streamed += chunk.content;
    expect(streamed).toBe(msg.content);
    expect(msg.usageMetadata?.outputTokens).toBeGreaterThan(0);
  });

  it('prompt | model | parser', async () => {
    const chain = PromptTemplate.fromTemplate('Tell me about {topic}.').pipe(chat()).pipe(new StringOutputParser());
    expect(typeof (await chain.invoke({ topic: 'whales' }))).toBe('string');
  });

  it('withStructuredOutput: the server constrains decoding, so a random model gives a valid object', async () => {
    const Sailor = s.object({ name: s.string({ maxLength: 10 }), age: s.integer(), rank: s.enum(['captain', 'mate']) });
    const out = await chat({ maxTokens: 80 }).withStructuredOutput(Sailor, { name: 'sailor' }).invoke('Who is Ahab?');
    expect(typeof out.name).toBe('string');
    expect(Number.isInteger(out.age)).toBe(true);
    expect(['captain', 'mate']).toContain(out.rank);
  });

  it('bindTools with a named tool choice: a tool call with arguments of its schema', async () => {
    const weather = tool(async ({ city }: { city: string }) => `fog in ${city}`, { name: 'get_weather', description: 'Weather in a city', schema: s.object({ city: s.string({ maxLength: 12 }) }) });
    const msg = await chat({ maxTokens: 60 }).bindTools([weather], { toolChoice: 'get_weather' }).invoke('Weather in Nantucket?');
    expect(msg.toolCalls).toHaveLength(1);
    expect(msg.toolCalls[0].name).toBe('get_weather');
    expect(typeof msg.toolCalls[0].args.city).toBe('string');
  });

  it("the server's errors arrive as APIError with OpenAI's body", async () => {
    const err = await chat({ model: 'missing' }).invoke('hi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(404);
    expect((err as APIError).error?.code).toBe('model_not_found');
  });
});
