/**
 * Chat messages: what chat models take and return. `HumanMessage`, `SystemMessage`, `AIMessage`
 * (with tool calls and token usage), `ToolMessage` (a tool's result), and `AIMessageChunk`, the
 * pieces of a streamed answer, which concatenate.
 */
import { parsePartialJson } from '../utils/json.js';

export type MessageType = 'human' | 'ai' | 'system' | 'tool';

export interface BaseMessageFields {
  content: string;
  /** the speaker's name (OpenAI's `name`) */
  name?: string;
  id?: string;
  /** provider fields kept as they came */
  additionalKwargs?: Record<string, unknown>;
}

/** A tool call a model asked for: the tool's name and its parsed arguments. */
export interface ToolCall {
  id?: string;
  name: string;
  args: Record<string, unknown>;
  type?: 'tool_call';
}

/** A tool call whose arguments did not parse as a JSON object; `error` says why. */
export interface InvalidToolCall {
  id?: string;
  name?: string;
  args?: string;
  error: string;
}

/** A piece of a streamed tool call: `args` is a piece of the JSON text; `index` joins the pieces. */
export interface ToolCallChunk {
  id?: string;
  name?: string;
  args?: string;
  index?: number;
}

/** Token counts of one model call. */
export interface UsageMetadata {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** Base class of the messages. */
export abstract class BaseMessage {
  content: string;
  name?: string;
  id?: string;
  additionalKwargs: Record<string, unknown>;

  constructor(fields: string | BaseMessageFields) {
    const f = typeof fields === 'string' ? { content: fields } : fields;
    this.content = f.content ?? '';
    this.name = f.name;
    this.id = f.id;
    this.additionalKwargs = f.additionalKwargs ?? {};
  }

  abstract getType(): MessageType;

  /** The content as text. */
  get text(): string {
    return this.content;
  }

  /** Plain data (type, content and the fields of this kind of message), for storage. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { type: this.getType(), content: this.content };
    for (const [k, v] of Object.entries(this)) if (k !== 'content' && v !== undefined && !(k === 'additionalKwargs' && !Object.keys(v as object).length)) out[k] = v;
    return out;
  }
}

/**
 * What the user says.
 *
 *   new HumanMessage('Who is Ahab?');
 */
export class HumanMessage extends BaseMessage {
  getType(): MessageType {
    return 'human';
  }
}

/**
 * Instructions for the model.
 *
 *   new SystemMessage('Answer in one sentence.');
 */
export class SystemMessage extends BaseMessage {
  getType(): MessageType {
    return 'system';
  }
}

export interface AIMessageFields extends BaseMessageFields {
  toolCalls?: ToolCall[];
  invalidToolCalls?: InvalidToolCall[];
  usageMetadata?: UsageMetadata;
  /** the provider's facts about the response: model, finish reason, ... */
  responseMetadata?: Record<string, unknown>;
}

/**
 * What the model says: text, and tool calls it asks for.
 *
 *   new AIMessage({ content: '', toolCalls: [{ id: 'call_1', name: 'add', args: { a: 1, b: 2 } }] });
 */
export class AIMessage extends BaseMessage {
  toolCalls: ToolCall[];
  invalidToolCalls: InvalidToolCall[];
  usageMetadata?: UsageMetadata;
  responseMetadata: Record<string, unknown>;

  constructor(fields: string | AIMessageFields) {
    super(fields);
    const f: AIMessageFields = typeof fields === 'string' ? { content: fields } : fields;
    this.toolCalls = (f.toolCalls ?? []).map((c) => ({ ...c, type: 'tool_call' }));
    this.invalidToolCalls = f.invalidToolCalls ?? [];
    this.usageMetadata = f.usageMetadata;
    this.responseMetadata = f.responseMetadata ?? {};
  }

  getType(): MessageType {
    return 'ai';
  }
}

export interface AIMessageChunkFields extends AIMessageFields {
  toolCallChunks?: ToolCallChunk[];
}

/**
 * A piece of a streamed AIMessage. Pieces concatenate: text joins, tool-call pieces with the same
 * index join (and `toolCalls` is parsed from what has come so far), usage adds up.
 *
 *   let whole: AIMessageChunk | undefined;
 *   for await (const c of model.stream('hi')) whole = whole ? whole.concat(c) : c;
 */
export class AIMessageChunk extends AIMessage {
  toolCallChunks: ToolCallChunk[];

  constructor(fields: string | AIMessageChunkFields) {
    const f: AIMessageChunkFields = typeof fields === 'string' ? { content: fields } : fields;
    const chunks = f.toolCallChunks ?? [];
    super({ ...f, ...(chunks.length && !f.toolCalls ? parseToolCallChunks(chunks) : {}) });
    this.toolCallChunks = chunks;
  }

  concat(other: AIMessageChunk): AIMessageChunk {
    const byIndex = new Map<number, ToolCallChunk>();
    const merged: ToolCallChunk[] = [];
    for (const c of [...this.toolCallChunks, ...other.toolCallChunks]) {
      const prev = c.index !== undefined ? byIndex.get(c.index) : undefined;
      if (!prev) {
        const copy = { ...c };
        merged.push(copy);
        if (c.index !== undefined) byIndex.set(c.index, copy);
        continue;
      }
      prev.id = prev.id || c.id ? (prev.id ?? '') + (c.id ?? '') : undefined;
      prev.name = prev.name || c.name ? (prev.name ?? '') + (c.name ?? '') : undefined;
      prev.args = (prev.args ?? '') + (c.args ?? '');
    }
    const u1 = this.usageMetadata;
    const u2 = other.usageMetadata;
    return new AIMessageChunk({
      content: this.content + other.content,
      name: this.name ?? other.name,
      id: this.id ?? other.id,
      additionalKwargs: { ...this.additionalKwargs, ...other.additionalKwargs },
      toolCallChunks: merged,
      usageMetadata: u1 && u2 ? { inputTokens: u1.inputTokens + u2.inputTokens, outputTokens: u1.outputTokens + u2.outputTokens, totalTokens: u1.totalTokens + u2.totalTokens } : (u1 ?? u2),
      responseMetadata: { ...this.responseMetadata, ...other.responseMetadata },
    });
  }
}

/** Tool calls from joined chunks: arguments parsed as (possibly unfinished) JSON objects. */
function parseToolCallChunks(chunks: readonly ToolCallChunk[]): { toolCalls: ToolCall[]; invalidToolCalls: InvalidToolCall[] } {
  const toolCalls: ToolCall[] = [];
  const invalidToolCalls: InvalidToolCall[] = [];
  for (const c of chunks) {
    const args = c.args?.trim() ? parsePartialJson(c.args) : {};
    if (args && typeof args === 'object' && !Array.isArray(args) && c.name) toolCalls.push({ id: c.id, name: c.name, args: args as Record<string, unknown> });
    else invalidToolCalls.push({ id: c.id, name: c.name, args: c.args, error: c.name ? 'the arguments are not a JSON object' : 'the tool call has no name' });
  }
  return { toolCalls, invalidToolCalls };
}

export interface ToolMessageFields extends BaseMessageFields {
  /** the id of the tool call this answers */
  toolCallId: string;
  /** 'success' unless the tool failed */
  status?: 'success' | 'error';
  /** the tool's raw output, when content is its text form */
  artifact?: unknown;
}

/**
 * A tool's result, sent back to the model.
 *
 *   new ToolMessage({ content: '3', toolCallId: 'call_1' });
 */
export class ToolMessage extends BaseMessage {
  toolCallId: string;
  status: 'success' | 'error';
  artifact?: unknown;

  constructor(fields: ToolMessageFields) {
    super(fields);
    this.toolCallId = fields.toolCallId;
    this.status = fields.status ?? 'success';
    this.artifact = fields.artifact;
  }

  getType(): MessageType {
    return 'tool';
  }
}
