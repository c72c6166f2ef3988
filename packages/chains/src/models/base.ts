/**
 * The model interfaces: BaseChatModel (messages in, an AI message out) and BaseLLM (text in, text
 * out). Every provider and adapter implements one of them, so chains do not care which model
 * answers.
 */
import { ChainsError, InputError, OutputParserError } from '../errors.js';
import { AIMessageChunk, BasePromptValue, coerceMessageLike, getBufferString, type AIMessage, type BaseMessage, type BaseMessageLike } from '../messages/index.js';
import { StructuredOutputParser } from '../parsers/index.js';
import { Runnable, RunnableLambda, RunnableSequence, type RunContext, type RunnableConfig, type RunType } from '../runnables/index.js';
import { toSchema, type SchemaLike } from '../schema/schema.js';
import type { JSONSchema } from '../schema/json-schema.js';

/** What a model takes: a prompt value (from a template), a string, or a list of message-likes. */
export type BaseLanguageModelInput = BasePromptValue | string | readonly BaseMessageLike[];

/** A tool in OpenAI's function-calling format. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters: JSONSchema; strict?: boolean };
}

/** Anything with a name, a description and an argument schema (a StructuredTool, or a plain object). */
export interface ToolLike {
  name: string;
  description?: string;
  schema: SchemaLike;
}

/** 'auto' (the model decides), 'none', 'required' (some tool), or the name of the tool to call. */
export type ToolChoice = 'auto' | 'none' | 'required' | (string & {});

/** OpenAI's response_format: plain text, any JSON object, or JSON that fits a schema. */
export type ResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; json_schema: { name: string; description?: string; schema: JSONSchema; strict?: boolean } };

/** Per-call options of chat models (also fixed with `bind`). */
export interface ChatCallOptions extends RunnableConfig {
  /** stop generating at any of these strings (not included in the answer) */
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  seed?: number;
}

/**
 * A tool in OpenAI's format.
 *
 *   convertToOpenAITool({ name: 'add', description: 'a + b', schema: s.object({ a: s.number(), b: s.number() }) });
 */
export function convertToOpenAITool(tool: ToolLike | ToolDefinition, strict?: boolean): ToolDefinition {
  if ('type' in tool && tool.type === 'function' && 'function' in tool) return tool;
  const t = tool as ToolLike;
  if (typeof t.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(t.name)) throw new InputError('convertToOpenAITool', `a tool name must be 1-64 letters, digits, _ or -, got ${JSON.stringify(t.name)}`);
  return { type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: toSchema(t.schema).toJSONSchema(), ...(strict !== undefined ? { strict } : {}) } };
}

/** The messages of a model input. */
export function inputToMessages(input: BaseLanguageModelInput, op: string): BaseMessage[] {
  if (input instanceof BasePromptValue) return input.toChatMessages();
  if (typeof input === 'string') return [coerceMessageLike(input, op)];
  if (Array.isArray(input)) return input.map((m) => coerceMessageLike(m, op));
  throw new InputError(op, `a model takes a string, a list of messages or a prompt value, got ${input === null ? 'null' : typeof input}`);
}

export interface StructuredOutputOptions {
  /** 'extract': the schema's name (what the model sees) */
  name?: string;
  description?: string;
  /**
   * 'jsonSchema' (response_format json_schema, the default), 'jsonMode' (response_format
   * json_object; the schema goes in no request, so say it in the prompt), or 'functionCalling'
   * (a forced call of a tool whose arguments are the schema)
   */
  method?: 'jsonSchema' | 'jsonMode' | 'functionCalling';
  /** true: return { raw, parsed, parsingError } instead of throwing on output that does not fit */
  includeRaw?: boolean;
  /** OpenAI's strict flag for json_schema and tools */
  strict?: boolean;
}

/** withStructuredOutput's output with includeRaw. */
export interface StructuredOutputWithRaw<T> {
  raw: AIMessage;
  parsed: T | null;
  parsingError?: Error;
}

/**
 * A chat model: messages in, an AIMessageChunk (an AIMessage that also concatenates) out. invoke
 * takes a string, a list of message-likes or a prompt value; stream yields the answer's chunks.
 * Subclasses implement `_generate`, and `_streamChunks` when they can stream.
 *
 *   const answer = await model.invoke([new SystemMessage('Be brief.'), new HumanMessage('Who is Ahab?')]);
 *   for await (const chunk of model.stream('Tell me a story')) process.stdout.write(chunk.content);
 */
export abstract class BaseChatModel<C extends ChatCallOptions = ChatCallOptions> extends Runnable<BaseLanguageModelInput, AIMessageChunk, C> {
  protected override runType: RunType = 'llm';

  /** One whole answer. */
  protected abstract _generate(messages: BaseMessage[], options: C, run: RunContext): Promise<AIMessageChunk>;

  /** The answer in chunks; by default one chunk, the whole answer. */
  protected async *_streamChunks(messages: BaseMessage[], options: C, run: RunContext): AsyncGenerator<AIMessageChunk> {
    yield await this._generate(messages, options, run);
  }

  protected override traceInput(input: BaseLanguageModelInput): unknown {
    try {
      return inputToMessages(input, this.getName());
    } catch {
      return input;
    }
  }

  protected override _invoke(input: BaseLanguageModelInput, options: C, run: RunContext): Promise<AIMessageChunk> {
    return this._generate(inputToMessages(input, `${this.getName()}.invoke`), options, run);
  }

  protected override async *_streamIterator(input: BaseLanguageModelInput, options: C, run: RunContext): AsyncGenerator<AIMessageChunk> {
    for await (const chunk of this._streamChunks(inputToMessages(input, `${this.getName()}.stream`), options, run)) {
      if (chunk.content) await run.emit('onLLMNewToken', chunk.content);
      yield chunk;
    }
  }

  /**
   * This model with tools it may call; its answers carry `toolCalls`.
   *
   *   const withTools = model.bindTools([addTool], { toolChoice: 'auto' });
   *   const msg = await withTools.invoke('What is 2 + 3?'); // msg.toolCalls[0].args -> { a: 2, b: 3 }
   */
  bindTools(tools: readonly (ToolLike | ToolDefinition)[], { toolChoice, strict }: { toolChoice?: ToolChoice; strict?: boolean } = {}): Runnable<BaseLanguageModelInput, AIMessageChunk, C> {
    return this.bind({ tools: tools.map((t) => convertToOpenAITool(t, strict)), ...(toolChoice ? { toolChoice } : {}) } as Partial<C>);
  }

  /**
   * This model answering with values of a schema, parsed and checked (errors name the field).
   *
   *   const Person = s.object({ name: s.string(), age: s.integer() });
   *   const extract = model.withStructuredOutput(Person, { name: 'person' });
   *   await extract.invoke('Ahab is 58.'); // { name: 'Ahab', age: 58 }
   */
  withStructuredOutput<T>(schema: SchemaLike<T>, options?: StructuredOutputOptions & { includeRaw?: false }): Runnable<BaseLanguageModelInput, T>;
  withStructuredOutput<T>(schema: SchemaLike<T>, options: StructuredOutputOptions & { includeRaw: true }): Runnable<BaseLanguageModelInput, StructuredOutputWithRaw<T>>;
  withStructuredOutput<T>(schema: SchemaLike<T>, options: StructuredOutputOptions = {}): Runnable<BaseLanguageModelInput, T | StructuredOutputWithRaw<T>> {
    const { name = 'extract', description, method = 'jsonSchema', includeRaw = false, strict } = options;
    const sch = toSchema(schema);
    const op = `${this.getName()}.withStructuredOutput`;
    let model: Runnable<BaseLanguageModelInput, AIMessageChunk>;
    let parse: (msg: AIMessage) => Promise<T>;
    if (method === 'functionCalling') {
      model = this.bindTools([{ name, description, schema: sch }], { toolChoice: name, strict });
      parse = async (msg) => {
        const call = msg.toolCalls.find((c) => c.name === name);
        if (!call) throw new OutputParserError(op, `the model made no call of tool "${name}"${msg.content ? `; it said ${JSON.stringify(msg.content.slice(0, 120))}` : ''}`, msg.content);
        return new StructuredOutputParser(sch).parse(JSON.stringify(call.args));
      };
    } else if (method === 'jsonSchema' || method === 'jsonMode') {
      const responseFormat: ResponseFormat = method === 'jsonMode' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name, ...(description ? { description } : {}), schema: sch.toJSONSchema(), ...(strict !== undefined ? { strict } : {}) } };
      model = this.bind({ responseFormat } as Partial<C>);
      const parser = new StructuredOutputParser(sch);
      parse = (msg) => parser.parse(msg.content);
    } else {
      throw new ChainsError(op, `method must be 'jsonSchema', 'jsonMode' or 'functionCalling', got ${JSON.stringify(method)}`);
    }
    if (!includeRaw && method !== 'functionCalling') {
      // the parser streams: partial objects arrive as the model writes them
      return new RunnableSequence<BaseLanguageModelInput, T>([model, new StructuredOutputParser(sch)], 'StructuredOutput');
    }
    const parseStep = RunnableLambda.from(async (msg: AIMessage): Promise<T | StructuredOutputWithRaw<T>> => {
      if (!includeRaw) return parse(msg);
      try {
        return { raw: msg, parsed: await parse(msg) };
      } catch (e) {
        return { raw: msg, parsed: null, parsingError: e as Error };
      }
    }, 'StructuredOutputParser');
    return new RunnableSequence<BaseLanguageModelInput, T | StructuredOutputWithRaw<T>>([model, parseStep], 'StructuredOutput');
  }
}

/** Per-call options of text LLMs. */
export interface LLMCallOptions extends RunnableConfig {
  stop?: string[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  seed?: number;
}

/** The prompt text of a model input (messages become a transcript). */
export function inputToText(input: BaseLanguageModelInput, op: string): string {
  if (input instanceof BasePromptValue || typeof input === 'string') return input.toString();
  if (Array.isArray(input)) return getBufferString(input.map((m) => coerceMessageLike(m, op)));
  throw new InputError(op, `an LLM takes a string, a list of messages or a prompt value, got ${input === null ? 'null' : typeof input}`);
}

/**
 * A text-completion model: a prompt in, its continuation out (a string); stream yields pieces.
 * Subclasses implement `_call`, and `_streamText` when they can stream.
 *
 *   const text = await llm.invoke('Call me');
 */
export abstract class BaseLLM<C extends LLMCallOptions = LLMCallOptions> extends Runnable<BaseLanguageModelInput, string, C> {
  protected override runType: RunType = 'llm';

  protected abstract _call(prompt: string, options: C, run: RunContext): Promise<string>;

  protected async *_streamText(prompt: string, options: C, run: RunContext): AsyncGenerator<string> {
    yield await this._call(prompt, options, run);
  }

  protected override traceInput(input: BaseLanguageModelInput): unknown {
    try {
      return inputToText(input, this.getName());
    } catch {
      return input;
    }
  }

  protected override _invoke(input: BaseLanguageModelInput, options: C, run: RunContext): Promise<string> {
    return this._call(inputToText(input, `${this.getName()}.invoke`), options, run);
  }

  protected override async *_streamIterator(input: BaseLanguageModelInput, options: C, run: RunContext): AsyncGenerator<string> {
    for await (const piece of this._streamText(inputToText(input, `${this.getName()}.stream`), options, run)) {
      if (piece) await run.emit('onLLMNewToken', piece);
      yield piece;
    }
  }
}
