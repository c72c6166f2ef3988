/**
 * ChatOpenAICompatible: a chat model served by any `/v1/chat/completions` server (OpenAI, vLLM,
 * llama.cpp, Ollama, LM Studio, `dl serve`), with streaming over server-sent events, tool calls,
 * response_format, timeouts and retries.
 */
import { APIError, ChainsError } from '../errors.js';
import { AIMessage, AIMessageChunk, ToolMessage, type BaseMessage, type InvalidToolCall, type ToolCall, type ToolCallChunk, type UsageMetadata } from '../messages/index.js';
import type { RunContext } from '../runnables/index.js';
import { BaseChatModel, type ChatCallOptions, type ToolChoice } from './base.js';
import { OpenAIClient, type OpenAIClientOptions } from './http.js';
import { readServerSentEvents } from './sse.js';

export interface ChatOpenAICompatibleFields extends OpenAIClientOptions {
  /** the model name the server knows */
  model: string;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** false: true makes invoke stream too, so callbacks see each token */
  streaming?: boolean;
  /** true: ask for token usage at the end of streams (stream_options.include_usage) */
  streamUsage?: boolean;
  /** more fields for the request body, as the server names them */
  modelKwargs?: Record<string, unknown>;
}

/** A message in OpenAI's chat format. */
export interface OpenAIMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  name?: string;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

/** A message in OpenAI's chat format. */
export function messageToOpenAI(m: BaseMessage, i = 0): OpenAIMessage {
  const name = m.name ? { name: m.name } : {};
  switch (m.getType()) {
    case 'system':
      return { role: 'system', content: m.content, ...name };
    case 'human':
      return { role: 'user', content: m.content, ...name };
    case 'tool':
      return { role: 'tool', content: m.content, tool_call_id: (m as ToolMessage).toolCallId };
    case 'ai': {
      const calls = (m as AIMessage).toolCalls ?? [];
      return {
        role: 'assistant',
        content: m.content,
        ...name,
        ...(calls.length ? { tool_calls: calls.map((c, j) => ({ id: c.id ?? `call_${i}_${j}`, type: 'function' as const, function: { name: c.name, arguments: JSON.stringify(c.args) } })) } : {}),
      };
    }
  }
}

function toolChoiceToOpenAI(choice: ToolChoice | undefined): unknown {
  if (choice === undefined || choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  return { type: 'function', function: { name: choice } };
}

interface OpenAIToolCall {
  id?: string;
  index?: number;
  type?: string;
  function?: { name?: string; arguments?: string };
}

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

interface Completion {
  id?: string;
  model?: string;
  system_fingerprint?: string;
  choices?: { index?: number; message?: { content?: string | null; tool_calls?: OpenAIToolCall[]; refusal?: string | null }; delta?: { content?: string | null; tool_calls?: OpenAIToolCall[]; refusal?: string | null }; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
  error?: { message: string; type?: string; code?: string | number | null; param?: string | null };
}

function usage(u: OpenAIUsage | null | undefined): UsageMetadata | undefined {
  if (!u) return undefined;
  const inputTokens = u.prompt_tokens ?? 0;
  const outputTokens = u.completion_tokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: u.total_tokens ?? inputTokens + outputTokens };
}

function metadata(c: Completion, finishReason?: string | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.id) out.id = c.id;
  if (c.model) out.model = c.model;
  if (c.system_fingerprint) out.systemFingerprint = c.system_fingerprint;
  if (finishReason) out.finishReason = finishReason;
  return out;
}

/**
 * A chat model behind an OpenAI-compatible HTTP API. Options given per call (or with bind) win over
 * the constructor's. Failed requests retry on 408, 429, 5xx, timeouts and connection failures
 * (Retry-After honoured); errors are APIError (status, OpenAI's error body), TimeoutError,
 * AbortError or ConnectionError.
 *
 *   const model = new ChatOpenAICompatible({ baseURL: 'http://localhost:8000/v1', model: 'gpt-char', temperature: 0 });
 *   const msg = await model.invoke('Call me Ishmael.');
 *   for await (const chunk of model.stream('Call me')) process.stdout.write(chunk.content);
 */
export class ChatOpenAICompatible extends BaseChatModel<ChatCallOptions> {
  readonly model: string;
  readonly client: OpenAIClient;
  readonly fields: Readonly<ChatOpenAICompatibleFields>;

  constructor(fields: ChatOpenAICompatibleFields) {
    super();
    if (!fields?.model) throw new ChainsError('ChatOpenAICompatible', 'model is required (the model name the server knows)');
    this.fields = { ...fields };
    this.model = fields.model;
    this.client = new OpenAIClient(fields);
  }

  /** The request body for these messages and call options. */
  requestBody(messages: BaseMessage[], options: ChatCallOptions, stream: boolean): Record<string, unknown> {
    const f = this.fields;
    const body: Record<string, unknown> = {
      model: this.model,
      messages: messages.map(messageToOpenAI),
      temperature: options.temperature ?? f.temperature,
      max_tokens: options.maxTokens ?? f.maxTokens,
      top_p: options.topP ?? f.topP,
      stop: options.stop ?? f.stop,
      seed: options.seed ?? f.seed,
      frequency_penalty: f.frequencyPenalty,
      presence_penalty: f.presencePenalty,
      tools: options.tools?.length ? options.tools : undefined,
      tool_choice: options.tools?.length ? toolChoiceToOpenAI(options.toolChoice) : undefined,
      response_format: options.responseFormat,
      ...f.modelKwargs,
    };
    if (stream) {
      body.stream = true;
      if (f.streamUsage ?? true) body.stream_options = { include_usage: true };
    }
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    return body;
  }

  protected override async _generate(messages: BaseMessage[], options: ChatCallOptions, run: RunContext): Promise<AIMessageChunk> {
    if (this.fields.streaming) {
      let whole: AIMessageChunk | undefined;
      for await (const chunk of this._streamChunks(messages, options, run)) {
        if (chunk.content) await run.emit('onLLMNewToken', chunk.content);
        whole = whole ? whole.concat(chunk) : chunk;
      }
      return whole ?? new AIMessageChunk('');
    }
    const op = `${this.getName()}.invoke`;
    const c = await this.client.json<Completion>(op, 'POST', '/chat/completions', this.requestBody(messages, options, false), options.signal);
    const choice = c.choices?.[0];
    if (!choice?.message) throw new ChainsError(op, `the response has no choices[0].message: ${JSON.stringify(c).slice(0, 200)}`);
    const toolCalls: ToolCall[] = [];
    const invalidToolCalls: InvalidToolCall[] = [];
    for (const tc of choice.message.tool_calls ?? []) {
      const name = tc.function?.name ?? '';
      const args = tc.function?.arguments ?? '';
      try {
        const parsed = args.trim() ? JSON.parse(args) : {};
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the arguments are not a JSON object');
        toolCalls.push({ id: tc.id, name, args: parsed });
      } catch (e) {
        invalidToolCalls.push({ id: tc.id, name, args, error: (e as Error).message });
      }
    }
    return new AIMessageChunk({
      content: choice.message.content ?? '',
      toolCalls,
      invalidToolCalls,
      usageMetadata: usage(c.usage),
      responseMetadata: metadata(c, choice.finish_reason),
      id: c.id,
      additionalKwargs: choice.message.refusal ? { refusal: choice.message.refusal } : {},
    });
  }

  protected override async *_streamChunks(messages: BaseMessage[], options: ChatCallOptions, _run: RunContext): AsyncGenerator<AIMessageChunk> {
    const op = `${this.getName()}.stream`;
    const r = await this.client.request(op, 'POST', '/chat/completions', this.requestBody(messages, options, true), options.signal);
    const type = r.response.headers.get('content-type') ?? '';
    try {
      if (!type.includes('text/event-stream')) {
        // a server that ignores `stream` answers with one JSON completion
        const c = JSON.parse(await r.response.text()) as Completion;
        yield* this.#chunksOf(c, op, false);
        return;
      }
      if (!r.response.body) throw new ChainsError(op, 'the streamed response has no body');
      for await (const ev of readServerSentEvents(r.response.body, r.touch)) {
        if (ev.data === '[DONE]') break;
        let c: Completion;
        try {
          c = JSON.parse(ev.data) as Completion;
        } catch {
          throw new ChainsError(op, `a server-sent event is not JSON: ${JSON.stringify(ev.data.slice(0, 200))}`);
        }
        yield* this.#chunksOf(c, op, true);
      }
    } catch (e) {
      throw r.explain(e);
    } finally {
      r.done();
    }
  }

  *#chunksOf(c: Completion, op: string, delta: boolean): Generator<AIMessageChunk> {
    if (c.error) throw new APIError(op, typeof c.error.code === 'number' ? c.error.code : 500, c.error, `${this.client.baseURL}/chat/completions`);
    const choice = c.choices?.[0];
    const u = usage(c.usage);
    if (!choice) {
      if (u) yield new AIMessageChunk({ content: '', usageMetadata: u, responseMetadata: metadata(c) });
      return;
    }
    const d = (delta ? choice.delta : choice.message) ?? {};
    const toolCallChunks: ToolCallChunk[] = (d.tool_calls ?? []).map((tc, i) => ({ index: tc.index ?? i, id: tc.id, name: tc.function?.name, args: tc.function?.arguments ?? '' }));
    yield new AIMessageChunk({ content: d.content ?? '', toolCallChunks, usageMetadata: u, responseMetadata: metadata(c, choice.finish_reason), id: c.id });
  }

  /**
   * The models the server offers (GET /models).
   *
   *   (await model.listModels()).map((m) => m.id); // ['gpt-char', 'bert-mini']
   */
  async listModels(options: { signal?: AbortSignal } = {}): Promise<{ id: string; object?: string; owned_by?: string; created?: number }[]> {
    const r = await this.client.json<{ data?: { id: string }[] }>(`${this.getName()}.listModels`, 'GET', '/models', undefined, options.signal);
    return r.data ?? [];
  }
}
