/**
 * POST /v1/chat/completions and POST /v1/completions: prompt -> token ids -> choices decoded by
 * the engine -> one JSON answer, or server-sent events (`data: {chunk}` ... `data: [DONE]`).
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ChainsError, ConstraintError, JsonAutomaton, JsonDecoder, SchemaError, compileJsonSchema } from '@dl/chains';
import { CHAT_STOPS, renderChat, toolCallSchema } from './chat-template.js';
import { Choice, type Constraint } from './choice.js';
import type { Engine } from './engine.js';
import { HttpError, badParam } from './errors.js';
import type { ServedModel, TextModel } from './models.js';
import { parseChatRequest, parseCompletionRequest, type ChatRequest, type SamplingParams } from './params.js';

export interface ServerContext {
  models: ReadonlyMap<string, ServedModel>;
  engine: Engine;
  /** max_tokens when a request gives none, and the most a request may ask for */
  maxTokens: number;
  maxTokensLimit: number;
}

const id = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

/** The model a request names, as a text model (404 when unknown, 400 when it only embeds). */
export function textModel(ctx: ServerContext, name: string): TextModel {
  const m = ctx.models.get(name);
  if (!m) throw new HttpError(404, `The model '${name}' does not exist (served: ${[...ctx.models.keys()].join(', ')})`, { param: 'model', code: 'model_not_found' });
  if (m.kind !== 'text') throw badParam('model', `The model '${name}' is an embedding model; use POST /v1/embeddings`, 'model_not_supported');
  return m;
}

/** Token ids of a prompt, checked against the vocabulary and the context (400s). */
function encodePrompt(m: TextModel, text: string, param: string): number[] {
  let ids: number[];
  try {
    ids = m.tokenizer.encode(text);
  } catch (e) {
    throw badParam(param, `the prompt cannot be tokenized for '${m.name}': ${(e as Error).message}`, 'invalid_prompt');
  }
  return checkIds(m, ids, param);
}

function checkIds(m: TextModel, ids: number[], param: string): number[] {
  if (!ids.length) {
    if (!m.eos.length) throw badParam(param, `the prompt is empty, and '${m.name}' has no end-of-text token to start from`, 'invalid_prompt');
    ids = [m.eos[0]];
  }
  const { blockSize, vocabSize } = m.model.config;
  if (ids.length > blockSize) {
    throw badParam(param, `This model's maximum context length is ${blockSize} tokens. However, your prompt resulted in ${ids.length} tokens. Please reduce the length of the prompt.`, 'context_length_exceeded');
  }
  const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= Math.min(vocabSize, m.tokenizer.vocabSize));
  if (bad !== undefined) throw badParam(param, `token id ${bad} is outside the vocabulary of '${m.name}' [0, ${m.tokenizer.vocabSize})`, 'invalid_prompt');
  return ids;
}

function maxTokens(ctx: ServerContext, p: SamplingParams, param: string): number {
  if (p.maxTokens === null) return ctx.maxTokens;
  if (p.maxTokens > ctx.maxTokensLimit) throw badParam(param, `${param} is ${p.maxTokens}; this server allows at most ${ctx.maxTokensLimit} (--max-tokens-limit)`);
  return p.maxTokens;
}

/** A JSON decoder for a schema; a schema it cannot enforce or a vocabulary that cannot write it is a 400. */
function jsonDecoder(m: TextModel, schema: Record<string, unknown>, max: number, param: string): JsonDecoder {
  try {
    return new JsonDecoder(new JsonAutomaton(compileJsonSchema(schema)), m.vocabulary(), { maxTokens: max, eos: m.eos });
  } catch (e) {
    if (e instanceof SchemaError) throw badParam(param, e.message, 'invalid_schema');
    if (e instanceof ConstraintError) throw badParam(param, `model '${m.name}' cannot write this JSON: ${e.message}`, 'unsupported_model');
    throw e;
  }
}

function chatConstraint(m: TextModel, req: ChatRequest, max: number): () => Constraint {
  const rf = req.responseFormat;
  if (rf.type !== 'text') {
    const schema = rf.type === 'json_object' ? { type: 'object' } : rf.schema;
    const param = rf.type === 'json_object' ? 'response_format' : 'response_format.json_schema.schema';
    jsonDecoder(m, schema, max, param); // the 400s now, before any streaming starts
    return () => ({ kind: 'json', decoder: jsonDecoder(m, schema, max, param) });
  }
  if (req.toolChoice === 'none' || !req.tools.length) return () => ({ kind: 'none' });
  const tc = req.toolChoice;
  const tools = typeof tc === 'object' ? req.tools.filter((t) => t.name === tc.name) : req.tools;
  const schema = toolCallSchema(tools);
  jsonDecoder(m, schema, max, 'tools');
  return () => ({ kind: 'tool', decoder: jsonDecoder(m, schema, max, 'tools'), auto: tc === 'auto' });
}

/** Server-sent events on `res` (headers on first use). */
class EventStream {
  constructor(readonly res: ServerResponse) {}
  send(data: unknown): void {
    if (!this.res.headersSent) this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }
  end(): void {
    this.send('[DONE]');
    this.res.end();
  }
}

function usage(promptTokens: number, choices: Choice[]) {
  const completion = choices.reduce((s, c) => s + c.completionTokens, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

/** Rethrows the first error a choice ended with (the engine failed), as a 500. */
function failed(choices: Choice[]): HttpError | null {
  const e = choices.find((c) => c.error)?.error;
  if (!e) return null;
  if (e instanceof HttpError) return e;
  return new HttpError(500, `generation failed: ${e instanceof ChainsError ? e.message : `${e.name}: ${e.message}`}`, { code: 'generation_failed' });
}

function toolCallOf(c: Choice) {
  return c.toolCall ? [{ id: id('call'), type: 'function' as const, function: c.toolCall }] : undefined;
}

/** POST /v1/chat/completions */
export async function chatCompletions(ctx: ServerContext, body: unknown, res: ServerResponse, signal: AbortSignal): Promise<unknown> {
  const req = parseChatRequest(body);
  const m = textModel(ctx, req.model);
  const max = maxTokens(ctx, req, 'max_tokens');
  const ids = encodePrompt(m, renderChat(req.messages, req.toolChoice === 'none' ? [] : req.tools), 'messages');
  const constraint = chatConstraint(m, req, max);
  const base = { id: id('chatcmpl'), created: now(), model: m.name, system_fingerprint: null };
  const stream = req.stream ? new EventStream(res) : null;
  const chunk = (c: Choice, delta: Record<string, unknown>, finish: string | null) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: c.index, delta, logprobs: null, finish_reason: finish }] });
  const choices = Array.from(
    { length: req.n },
    (_, index) =>
      new Choice({ index, prompt: ids, model: m, params: req, maxTokens: max, stops: [...req.stop, ...CHAT_STOPS], constraint: constraint(), trimLeadingSpace: true, signal, onText: stream ? (c, text) => stream.send(chunk(c, { content: text }, null)) : undefined }),
  );
  const done = ctx.engine.generate(m.model, [choices]); // throws now when it cannot queue them
  if (stream) for (const c of choices) stream.send(chunk(c, { role: 'assistant', content: '' }, null));
  await done;
  const error = failed(choices);
  if (stream) {
    if (error) stream.send(error.toBody());
    else {
      for (const c of choices) {
        const calls = toolCallOf(c);
        if (calls) stream.send(chunk(c, { tool_calls: calls.map((t, index) => ({ index, ...t })) }, null));
        stream.send(chunk(c, {}, c.finishReason));
      }
      if (req.includeUsage) stream.send({ ...base, object: 'chat.completion.chunk', choices: [], usage: usage(ids.length, choices) });
    }
    stream.end();
    return undefined;
  }
  if (error) throw error;
  return {
    ...base,
    object: 'chat.completion',
    choices: choices.map((c) => {
      const calls = toolCallOf(c);
      return { index: c.index, message: { role: 'assistant', content: calls ? null : c.text, refusal: null, ...(calls ? { tool_calls: calls } : {}) }, logprobs: null, finish_reason: c.finishReason };
    }),
    usage: usage(ids.length, choices),
  };
}

/** POST /v1/completions */
export async function completions(ctx: ServerContext, body: unknown, res: ServerResponse, signal: AbortSignal): Promise<unknown> {
  const req = parseCompletionRequest(body);
  const m = textModel(ctx, req.model);
  const max = maxTokens(ctx, req, 'max_tokens');
  const prompts = req.prompts.map((p) => (typeof p === 'string' ? encodePrompt(m, p, 'prompt') : checkIds(m, p, 'prompt')));
  const base = { id: id('cmpl'), created: now(), model: m.name, system_fingerprint: null };
  const stream = req.stream ? new EventStream(res) : null;
  const chunk = (c: Choice, text: string, finish: string | null) => ({ ...base, object: 'text_completion', choices: [{ index: c.index, text, logprobs: null, finish_reason: finish }] });
  const groups = prompts.map((ids, p) =>
    Array.from(
      { length: req.n },
      (_, j) =>
        new Choice({ index: p * req.n + j, prompt: ids, model: m, params: req, maxTokens: max, stops: req.stop, constraint: { kind: 'none' }, trimLeadingSpace: false, signal, onText: stream ? (c, text) => stream.send(chunk(c, text, null)) : undefined }),
    ),
  );
  const echo = (p: number) => (req.echo ? m.tokenizer.decode(prompts[p]) : '');
  const done = ctx.engine.generate(m.model, groups); // throws now when it cannot queue them
  if (stream && req.echo) groups.forEach((g, p) => g.forEach((c) => stream.send(chunk(c, echo(p), null))));
  await done;
  const choices = groups.flat();
  const promptTokens = prompts.reduce((s, p) => s + p.length, 0);
  const error = failed(choices);
  if (stream) {
    if (error) stream.send(error.toBody());
    else {
      for (const c of choices) stream.send(chunk(c, '', c.finishReason));
      if (req.includeUsage) stream.send({ ...base, object: 'text_completion', choices: [], usage: usage(promptTokens, choices) });
    }
    stream.end();
    return undefined;
  }
  if (error) throw error;
  return {
    ...base,
    object: 'text_completion',
    choices: choices.map((c) => ({ index: c.index, text: echo(Math.floor(c.index / req.n)) + c.text, logprobs: null, finish_reason: c.finishReason })),
    usage: usage(promptTokens, choices),
  };
}
