import { afterEach, describe, expect, it } from 'vitest';
import { APIError, AbortError, OutputParserError, TimeoutError } from '../errors.js';
import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from '../messages/index.js';
import { StringOutputParser } from '../parsers/index.js';
import { ChatPromptTemplate } from '../prompts/index.js';
import type { CallbackHandler } from '../runnables/index.js';
import { s } from '../schema/schema.js';
import { ConnectionError } from './http.js';
import { ChatOpenAICompatible } from './openai.js';
import { completion, delta, sendJSON, sendSSE, startTestServer, type Handler, type TestServer } from './test-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(handler: Handler): Promise<TestServer> {
  server = await startTestServer(handler);
  return server;
}

const fast = { retryBackoff: { initialMs: 5, factor: 2, jitter: false } };
const addTool = { name: 'add', description: 'adds two numbers', schema: s.object({ a: s.number(), b: s.number() }) };

describe('ChatOpenAICompatible over HTTP', () => {
  it('sends messages and options as OpenAI does, and reads the answer with usage and tool calls', async () => {
    const srv = await serve((_req, res) =>
      sendJSON(res, 200, completion('', { tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'add', arguments: '{"a": 2, "b": 3}' } }], finish_reason: 'tool_calls' })),
    );
    const model = new ChatOpenAICompatible({ baseURL: srv.baseURL, apiKey: 'sk-test', model: 'gpt-char', temperature: 0.5, maxTokens: 20, seed: 7 });
    const msg = await model.bindTools([addTool], { toolChoice: 'add' }).invoke(
      [new SystemMessage('Use tools.'), new HumanMessage('2+3?'), new AIMessage({ content: '', toolCalls: [{ id: 'call_1', name: 'add', args: { a: 1, b: 1 } }] }), new ToolMessage({ content: '2', toolCallId: 'call_1' })],
      { stop: ['\n'], topP: 0.9 },
    );
    const req = srv.requests[0];
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(req.body).toEqual({
      model: 'gpt-char',
      messages: [
        { role: 'system', content: 'Use tools.' },
        { role: 'user', content: '2+3?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":1}' } }] },
        { role: 'tool', content: '2', tool_call_id: 'call_1' },
      ],
      temperature: 0.5,
      max_tokens: 20,
      top_p: 0.9,
      stop: ['\n'],
      seed: 7,
      tools: [{ type: 'function', function: { name: 'add', description: 'adds two numbers', parameters: addTool.schema.toJSONSchema() } }],
      tool_choice: { type: 'function', function: { name: 'add' } },
    });
    expect(msg).toBeInstanceOf(AIMessage);
    expect(msg.toolCalls).toEqual([{ id: 'call_9', name: 'add', args: { a: 2, b: 3 }, type: 'tool_call' }]);
    expect(msg.usageMetadata).toEqual({ inputTokens: 5, outputTokens: 2, totalTokens: 7 });
    expect(msg.responseMetadata.finishReason).toBe('tool_calls');
  });

  it('streams server-sent events: text, tool-call deltas, usage; tokens reach callbacks', async () => {
    const srv = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // events split across writes at awkward places, with a comment and CRLF line ends
      const events = [
        delta('Call'),
        delta(' me'),
        delta(null, { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'add', arguments: '' } }] }),
        delta(null, { tool_calls: [{ index: 0, function: { arguments: '{"a": 1,' } }] }),
        delta(null, { tool_calls: [{ index: 0, function: { arguments: ' "b": 2}' } }], finish_reason: 'tool_calls' }),
        { id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 } },
      ];
      const text = `: keep-alive\r\n\r\n${events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join('')}data: [DONE]\r\n\r\n`;
      for (let i = 0; i < text.length; i += 17) {
        res.write(text.slice(i, i + 17));
        await new Promise((r) => setTimeout(r, 1));
      }
      res.end();
    });
    const model = new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm' });
    const tokens: string[] = [];
    const cb: CallbackHandler = { onLLMNewToken: (_run, t) => void tokens.push(t) };
    const chunks: AIMessageChunk[] = [];
    for await (const c of model.stream('hi', { callbacks: [cb] })) chunks.push(c);
    expect(srv.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(tokens).toEqual(['Call', ' me']);
    const whole = chunks.reduce((a, b) => a.concat(b));
    expect(whole.content).toBe('Call me');
    expect(whole.toolCalls).toEqual([{ id: 'call_1', name: 'add', args: { a: 1, b: 2 }, type: 'tool_call' }]);
    expect(whole.usageMetadata).toEqual({ inputTokens: 4, outputTokens: 6, totalTokens: 10 });
    expect(whole.responseMetadata.finishReason).toBe('tool_calls');
  });

  it('a chain of prompt | model | parser streams the text', async () => {
    const srv = await serve((_req, res) => sendSSE(res, [delta('Ish'), delta('mael')]));
    const chain = ChatPromptTemplate.fromTemplate('Name the narrator of {book}').pipe(new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm' })).pipe(new StringOutputParser());
    const out: string[] = [];
    for await (const piece of chain.stream({ book: 'Moby-Dick' })) out.push(piece);
    expect(out).toEqual(['Ish', 'mael']);
    expect((srv.requests[0].body!.messages as unknown[])[0]).toEqual({ role: 'user', content: 'Name the narrator of Moby-Dick' });
  });

  it('streaming: true makes invoke stream, so callbacks see tokens', async () => {
    const srv = await serve((_req, res) => sendSSE(res, [delta('a'), delta('b')]));
    const tokens: string[] = [];
    const msg = await new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm', streaming: true, streamUsage: false }).invoke('x', { callbacks: [{ onLLMNewToken: (_r, t) => void tokens.push(t) }] });
    expect(msg.content).toBe('ab');
    expect(tokens).toEqual(['a', 'b']);
    expect(srv.requests[0].body!.stream_options).toBeUndefined();
  });

  it('retries a 429, waiting as Retry-After says (seconds)', async () => {
    const srv = await serve((_req, res, n) => (n === 0 ? sendJSON(res, 429, { error: { message: 'slow down', type: 'rate_limit_error' } }, { 'retry-after': '1' }) : sendJSON(res, 200, completion('ok'))));
    const t0 = Date.now();
    const msg = await new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm', ...fast }).invoke('x');
    expect(msg.content).toBe('ok');
    expect(srv.requests).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('retries a 500 and a connection reset, then succeeds', async () => {
    const srv = await serve((_req, res, n) => {
      if (n === 0) return sendJSON(res, 500, { error: { message: 'boom' } });
      if (n === 1) return void res.socket?.destroy();
      sendJSON(res, 200, completion('fine'));
    });
    expect((await new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm', maxRetries: 2, ...fast }).invoke('x')).content).toBe('fine');
    expect(srv.requests).toHaveLength(3);
  });

  it('gives up after maxRetries with an APIError carrying status, body and attempts', async () => {
    const srv = await serve((_req, res) => sendJSON(res, 503, { error: { message: 'overloaded', type: 'server_error', code: 'busy' } }));
    const err = (await new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm', maxRetries: 2, ...fast }).invoke('x').catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(503);
    expect(err.error).toEqual({ message: 'overloaded', type: 'server_error', code: 'busy' });
    expect(err.attempts).toBe(3);
    expect(err.message).toBe(`ChatOpenAICompatible.invoke: ${srv.baseURL}/chat/completions answered 503: overloaded (server_error) after 3 attempts`);
    expect(srv.requests).toHaveLength(3);
  });

  it('does not retry a 400 or 404', async () => {
    const srv = await serve((_req, res) => sendJSON(res, 404, { error: { message: 'The model `nope` does not exist', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } }));
    const err = (await new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'nope', ...fast }).invoke('x').catch((e: unknown) => e)) as APIError;
    expect(err.status).toBe(404);
    expect(err.error?.param).toBe('model');
    expect(srv.requests).toHaveLength(1);
  });

  it('times out (and retries the timeout)', async () => {
    const srv = await serve(() => {
      // never answers
    });
    const t0 = Date.now();
    const err = await new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm', timeout: 100, maxRetries: 1, ...fast }).invoke('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).message).toBe('ChatOpenAICompatible.invoke: timed out after 100 ms');
    expect(srv.requests).toHaveLength(2);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a stream that stalls past the timeout between events fails with TimeoutError', async () => {
    const srv = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(delta('a'))}\n\n`);
      // then nothing
    });
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm', timeout: 150, maxRetries: 0 }).stream('x')) got.push(c.content);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['a']);
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('aborts a request and a stream at once; the server sees the connection close', async () => {
    const srv = await serve(async (req, res) => {
      if (req.body?.stream) await sendSSE(res, Array.from({ length: 50 }, () => delta('x')), 40);
    });
    const model = new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm', ...fast });
    const t0 = Date.now();
    await expect(model.invoke('x', { signal: AbortSignal.timeout(80) })).rejects.toBeInstanceOf(AbortError);
    expect(Date.now() - t0).toBeLessThan(2000);

    const ac = new AbortController();
    let n = 0;
    const err = await (async () => {
      for await (const _ of model.stream('x', { signal: ac.signal })) if (++n === 2) ac.abort(new Error('user pressed ctrl-c'));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).message).toMatch(/aborted: user pressed ctrl-c/);
    expect(n).toBe(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.closedEarly).toBe(2);
    expect(srv.requests).toHaveLength(2); // an abort is never retried
  });

  it('an error event inside a stream is an APIError', async () => {
    const srv = await serve((_req, res) => sendSSE(res, [delta('a'), { error: { message: 'the model crashed', type: 'server_error' } }]));
    const err = await (async () => {
      for await (const _ of new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm' }).stream('x'));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toMatch(/the model crashed/);
  });

  it('a refused connection is a ConnectionError after the retries', async () => {
    const srv = await serve(() => {});
    const { baseURL } = srv;
    await srv.close();
    server = undefined;
    const err = await new ChatOpenAICompatible({ baseURL, model: 'm', maxRetries: 1, ...fast }).invoke('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/could not reach http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
  });

  it('withStructuredOutput: response_format json_schema, validated; function calling; includeRaw', async () => {
    const Person = s.object({ name: s.string(), age: s.integer() });
    const srv = await serve((req, res) => {
      if (req.body?.tools) return sendJSON(res, 200, completion(null, { tool_calls: [{ id: 'c', type: 'function', function: { name: 'person', arguments: '{"name":"Ahab","age":58}' } }] }));
      const rf = req.body?.response_format as { type: string };
      sendJSON(res, 200, completion(rf.type === 'json_schema' ? '{"name": "Ahab", "age": 58}' : '{"name": "Ahab", "age": "old"}'));
    });
    const model = new ChatOpenAICompatible({ baseURL: srv.baseURL, model: 'm' });
    expect(await model.withStructuredOutput(Person, { name: 'person' }).invoke('Ahab is 58')).toEqual({ name: 'Ahab', age: 58 });
    expect(srv.requests[0].body!.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'person', schema: Person.toJSONSchema() } });
    expect(await model.withStructuredOutput(Person, { name: 'person', method: 'functionCalling' }).invoke('x')).toEqual({ name: 'Ahab', age: 58 });
    expect(srv.requests[1].body!.tool_choice).toEqual({ type: 'function', function: { name: 'person' } });
    await expect(model.withStructuredOutput(Person, { method: 'jsonMode' }).invoke('x')).rejects.toThrow('$.age: expected integer, got string "old"');
    const raw = await model.withStructuredOutput(Person, { method: 'jsonMode', includeRaw: true }).invoke('x');
    expect(raw.parsed).toBeNull();
    expect(raw.parsingError).toBeInstanceOf(OutputParserError);
    expect(raw.raw.content).toBe('{"name": "Ahab", "age": "old"}');
  });

  it('lists models', async () => {
    const srv = await serve((_req, res) => sendJSON(res, 200, { object: 'list', data: [{ id: 'gpt-char', object: 'model' }] }));
    expect(await new ChatOpenAICompatible({ baseURL: `${srv.baseURL}/`, model: 'm' }).listModels()).toEqual([{ id: 'gpt-char', object: 'model' }]);
    expect(srv.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
  });
});
