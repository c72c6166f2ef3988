/**
 * Request bodies of the OpenAI API, checked: every wrong type or value is a 400 naming the
 * parameter, as OpenAI answers it. What is not supported (logprobs, ...) is a 400 too, never
 * ignored.
 */
import type { ChatMessage, ToolSpec } from './chat-template.js';
import { badParam } from './errors.js';

type Body = Record<string, unknown>;

export interface SamplingParams {
  model: string;
  /** null: the server's default */
  maxTokens: number | null;
  temperature: number;
  topP: number;
  n: number;
  stop: string[];
  seed: number | null;
  stream: boolean;
  includeUsage: boolean;
  /** token id -> bias added to its logit */
  logitBias: Map<number, number>;
  presencePenalty: number;
  frequencyPenalty: number;
}

export type ResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name: string; schema: Record<string, unknown> };
export type ToolChoice = 'none' | 'auto' | 'required' | { name: string };

export interface ChatRequest extends SamplingParams {
  messages: ChatMessage[];
  responseFormat: ResponseFormat;
  tools: ToolSpec[];
  toolChoice: ToolChoice;
}

export interface CompletionRequest extends SamplingParams {
  /** each prompt as text or token ids */
  prompts: (string | number[])[];
  echo: boolean;
}

export interface EmbeddingRequest {
  model: string;
  inputs: string[];
  encoding: 'float' | 'base64';
  dimensions: number | null;
}

/** Accepted and without effect here (billing, storage, tracing fields of OpenAI's API). */
const IGNORED = ['user', 'metadata', 'store', 'service_tier', 'parallel_tool_calls'];
const SAMPLING = ['model', 'max_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'stream_options', 'logit_bias', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs'];

function object(v: unknown, what: string): Body {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badParam(what, `${what === '' ? 'the request body' : what} must be a JSON object, got ${kind(v)}`, 'invalid_type');
  return v as Body;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function only(body: Body, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k) && !IGNORED.includes(k)) throw badParam(k, `Unrecognized request argument supplied: ${k}`, 'unknown_parameter');
  }
}

function str(body: Body, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw badParam(key, `${key} must be a non-empty string, got ${kind(v)}`, v === undefined ? 'missing_required_parameter' : 'invalid_type');
  return v;
}

function num(body: Body, key: string, fallback: number, lo: number, hi: number, { integer = false, loOpen = false } = {}): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badParam(key, `${key} must be a number, got ${kind(v)}`, 'invalid_type');
  if (integer && !Number.isInteger(v)) throw badParam(key, `${key} must be an integer, got ${v}`, 'invalid_type');
  if (v < lo || v > hi || (loOpen && v === lo)) throw badParam(key, `${key} must be ${loOpen ? `> ${lo}` : `>= ${lo}`} and <= ${hi}, got ${v}`);
  return v;
}

function bool(body: Body, key: string): boolean {
  const v = body[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badParam(key, `${key} must be a boolean, got ${kind(v)}`, 'invalid_type');
  return v;
}

function sampling(body: Body, maxTokensKey: 'max_tokens' | 'max_completion_tokens'): SamplingParams {
  const model = str(body, 'model');
  const maxRaw = body[maxTokensKey] ?? body.max_tokens;
  let maxTokens: number | null = null;
  if (maxRaw !== undefined && maxRaw !== null) {
    if (typeof maxRaw !== 'number' || !Number.isInteger(maxRaw)) throw badParam(maxTokensKey, `${maxTokensKey} must be an integer, got ${kind(maxRaw)} ${JSON.stringify(maxRaw)}`, 'invalid_type');
    if (maxRaw < 1) throw badParam(maxTokensKey, `${maxTokensKey} must be at least 1, got ${maxRaw}`);
    maxTokens = maxRaw;
  }
  const stop = body.stop;
  let stops: string[] = [];
  if (typeof stop === 'string') stops = [stop];
  else if (Array.isArray(stop)) {
    if (stop.length > 4 || stop.some((s) => typeof s !== 'string' || s === '')) throw badParam('stop', 'stop must be a string or an array of up to 4 non-empty strings');
    stops = stop as string[];
  } else if (stop !== undefined && stop !== null) throw badParam('stop', `stop must be a string or an array of strings, got ${kind(stop)}`, 'invalid_type');
  const so = body.stream_options;
  if (so !== undefined && so !== null) only(object(so, 'stream_options'), ['include_usage']);
  if (body.logprobs === true || (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false)) throw badParam('logprobs', 'logprobs are not supported by this server', 'unsupported_parameter');
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) throw badParam('top_logprobs', 'top_logprobs are not supported by this server', 'unsupported_parameter');
  const logitBias = new Map<number, number>();
  if (body.logit_bias !== undefined && body.logit_bias !== null) {
    for (const [k, v] of Object.entries(object(body.logit_bias, 'logit_bias'))) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0) throw badParam('logit_bias', `logit_bias keys must be token ids, got ${JSON.stringify(k)}`);
      if (typeof v !== 'number' || !(v >= -100 && v <= 100)) throw badParam('logit_bias', `logit_bias values must be numbers in [-100, 100], got ${JSON.stringify(v)} for ${k}`);
      logitBias.set(id, v);
    }
  }
  const seed = body.seed === undefined || body.seed === null ? null : num(body, 'seed', 0, -(2 ** 53), 2 ** 53, { integer: true });
  return {
    model,
    maxTokens,
    temperature: num(body, 'temperature', 1, 0, 2),
    topP: num(body, 'top_p', 1, 0, 1, { loOpen: true }),
    n: num(body, 'n', 1, 1, 16, { integer: true }),
    stop: stops,
    seed,
    stream: bool(body, 'stream'),
    includeUsage: so !== undefined && so !== null ? (object(so, 'stream_options').include_usage === true) : false,
    logitBias,
    presencePenalty: num(body, 'presence_penalty', 0, -2, 2),
    frequencyPenalty: num(body, 'frequency_penalty', 0, -2, 2),
  };
}

/** POST /v1/chat/completions */
export function parseChatRequest(raw: unknown): ChatRequest {
  const body = object(raw, '');
  only(body, [...SAMPLING, 'max_completion_tokens', 'messages', 'response_format', 'tools', 'tool_choice']);
  const params = sampling(body, body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens');
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw badParam('messages', `messages must be a non-empty array, got ${kind(body.messages)}`, body.messages === undefined ? 'missing_required_parameter' : 'invalid_type');
  const messages = body.messages.map((m, i) => message(m, i));
  const tools = parseTools(body.tools);
  const toolChoice = parseToolChoice(body.tool_choice, tools);
  const responseFormat = parseResponseFormat(body.response_format);
  if (responseFormat.type !== 'text' && tools.length && toolChoice !== 'none') throw badParam('response_format', 'response_format json_object / json_schema with tools is not supported: pass tool_choice "none" or leave out one of them');
  return { ...params, messages, tools, toolChoice, responseFormat };
}

function message(raw: unknown, i: number): ChatMessage {
  const p = `messages.${i}`;
  const m = object(raw, p);
  const role = m.role;
  if (role !== 'system' && role !== 'developer' && role !== 'user' && role !== 'assistant' && role !== 'tool') {
    throw badParam(`${p}.role`, `${p}.role must be one of system, developer, user, assistant, tool; got ${JSON.stringify(role)}`);
  }
  let content: string | null;
  if (typeof m.content === 'string') content = m.content;
  else if (Array.isArray(m.content)) {
    content = m.content
      .map((part, j) => {
        const o = object(part, `${p}.content.${j}`);
        if (o.type !== 'text' || typeof o.text !== 'string') throw badParam(`${p}.content.${j}`, `only text content parts are supported, got type ${JSON.stringify(o.type)}`);
        return o.text;
      })
      .join('');
  } else if ((m.content === null || m.content === undefined) && role === 'assistant') content = null;
  else throw badParam(`${p}.content`, `${p}.content must be a string or an array of text parts, got ${kind(m.content)}`, 'invalid_type');
  const out: ChatMessage = { role, content };
  if (role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null) {
    if (!Array.isArray(m.tool_calls)) throw badParam(`${p}.tool_calls`, 'tool_calls must be an array', 'invalid_type');
    out.tool_calls = m.tool_calls.map((c, j) => {
      const call = object(c, `${p}.tool_calls.${j}`);
      const fn = object(call.function, `${p}.tool_calls.${j}.function`);
      if (typeof fn.name !== 'string' || typeof fn.arguments !== 'string') throw badParam(`${p}.tool_calls.${j}.function`, 'a tool call needs a string name and string arguments', 'invalid_type');
      return { id: String(call.id ?? ''), type: 'function' as const, function: { name: fn.name, arguments: fn.arguments } };
    });
  }
  if (role === 'tool') out.tool_call_id = typeof m.tool_call_id === 'string' ? m.tool_call_id : undefined;
  return out;
}

function parseTools(raw: unknown): ToolSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badParam('tools', `tools must be an array, got ${kind(raw)}`, 'invalid_type');
  return raw.map((t, i) => {
    const tool = object(t, `tools.${i}`);
    if (tool.type !== 'function') throw badParam(`tools.${i}.type`, `only function tools are supported, got ${JSON.stringify(tool.type)}`);
    const fn = object(tool.function, `tools.${i}.function`);
    if (typeof fn.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(fn.name)) throw badParam(`tools.${i}.function.name`, `a tool name must be 1-64 letters, digits, _ or -, got ${JSON.stringify(fn.name)}`);
    const parameters = fn.parameters === undefined ? { type: 'object', properties: {} } : object(fn.parameters, `tools.${i}.function.parameters`);
    return { name: fn.name, description: typeof fn.description === 'string' ? fn.description : undefined, parameters };
  });
}

function parseToolChoice(raw: unknown, tools: ToolSpec[]): ToolChoice {
  if (raw === undefined || raw === null) return tools.length ? 'auto' : 'none';
  if (raw === 'none' || raw === 'auto' || raw === 'required') {
    if (raw !== 'none' && !tools.length) throw badParam('tool_choice', `tool_choice '${raw}' needs tools`);
    return raw;
  }
  const o = object(raw, 'tool_choice');
  const name = typeof o.function === 'object' && o.function !== null ? (o.function as Body).name : undefined;
  if (o.type !== 'function' || typeof name !== 'string') throw badParam('tool_choice', "tool_choice must be 'none', 'auto', 'required' or { type: 'function', function: { name } }");
  if (!tools.some((t) => t.name === name)) throw badParam('tool_choice', `tool_choice names '${name}', which is not in tools`);
  return { name };
}

function parseResponseFormat(raw: unknown): ResponseFormat {
  if (raw === undefined || raw === null) return { type: 'text' };
  const o = object(raw, 'response_format');
  if (o.type === 'text' || o.type === 'json_object') return { type: o.type };
  if (o.type === 'json_schema') {
    const js = object(o.json_schema, 'response_format.json_schema');
    const schema = js.schema === undefined ? {} : object(js.schema, 'response_format.json_schema.schema');
    return { type: 'json_schema', name: typeof js.name === 'string' ? js.name : 'response', schema };
  }
  throw badParam('response_format.type', `response_format.type must be text, json_object or json_schema, got ${JSON.stringify(o.type)}`);
}

/** POST /v1/completions */
export function parseCompletionRequest(raw: unknown): CompletionRequest {
  const body = object(raw, '');
  only(body, [...SAMPLING, 'prompt', 'echo', 'suffix', 'best_of']);
  const params = sampling(body, 'max_tokens');
  if (body.suffix !== undefined && body.suffix !== null) throw badParam('suffix', 'suffix is not supported by this server', 'unsupported_parameter');
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1) throw badParam('best_of', 'best_of is not supported by this server', 'unsupported_parameter');
  const p = body.prompt;
  let prompts: (string | number[])[];
  const ids = (a: unknown[]): a is number[] => a.length > 0 && a.every((x) => Number.isInteger(x));
  if (typeof p === 'string') prompts = [p];
  else if (Array.isArray(p) && p.length && p.every((x) => typeof x === 'string')) prompts = p as string[];
  else if (Array.isArray(p) && ids(p)) prompts = [p];
  else if (Array.isArray(p) && p.length && p.every((x) => Array.isArray(x) && ids(x))) prompts = p as number[][];
  else throw badParam('prompt', `prompt must be a string, an array of strings, an array of token ids or an array of such arrays, got ${kind(p)}`, p === undefined ? 'missing_required_parameter' : 'invalid_type');
  if (prompts.length * params.n > 64) throw badParam('prompt', `${prompts.length} prompts x n ${params.n} is more than 64 completions`);
  return { ...params, prompts, echo: bool(body, 'echo') };
}

/** POST /v1/embeddings */
export function parseEmbeddingRequest(raw: unknown): EmbeddingRequest {
  const body = object(raw, '');
  only(body, ['model', 'input', 'encoding_format', 'dimensions']);
  const model = str(body, 'model');
  const input = body.input;
  let inputs: string[];
  if (typeof input === 'string') inputs = [input];
  else if (Array.isArray(input) && input.length && input.every((x) => typeof x === 'string')) inputs = input as string[];
  else throw badParam('input', `input must be a string or a non-empty array of strings, got ${kind(input)}`, input === undefined ? 'missing_required_parameter' : 'invalid_type');
  if (inputs.length > 2048) throw badParam('input', `at most 2048 inputs per request, got ${inputs.length}`);
  if (inputs.some((s) => s === '')) throw badParam('input', 'inputs must not be empty strings');
  const enc = body.encoding_format ?? 'float';
  if (enc !== 'float' && enc !== 'base64') throw badParam('encoding_format', `encoding_format must be float or base64, got ${JSON.stringify(enc)}`);
  const dimensions = body.dimensions === undefined || body.dimensions === null ? null : num(body, 'dimensions', 1, 1, 1e6, { integer: true });
  return { model, inputs, encoding: enc, dimensions };
}
