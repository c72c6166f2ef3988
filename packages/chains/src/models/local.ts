/**
 * LocalLLM and LocalChatModel: any causal language model of this project (a @dl/transformer GPT,
 * a @dl/mamba model) with its tokenizer as a chain component. They are typed against the small
 * structural interfaces below, so this package imports no model package.
 */
import { JsonDecoder, TokenVocabulary } from '../constrained/index.js';
import { AbortError, ChainsError, InputError } from '../errors.js';
import { AIMessageChunk, getBufferString, type BaseMessage } from '../messages/index.js';
import type { RunContext } from '../runnables/index.js';
import type { JSONSchema } from '../schema/json-schema.js';
import { BaseChatModel, BaseLLM, type ChatCallOptions, type LLMCallOptions } from './base.js';

/** What the adapters need of a tokenizer (@dl/transformer's CharTokenizer and BPETokenizer fit). */
export interface LocalTokenizer {
  encode(text: string): number[];
  decode(ids: Iterable<number>): string;
  /** decodes ids one at a time (a piece may be '' until a character is whole) */
  streamDecoder?(): { push(id: number): string; flush(): string };
  /** the number of ids: needed for responseFormat (constrained decoding) */
  readonly vocabSize?: number;
  /** a token's raw bytes (byte-level BPE), used by constrained decoding when present */
  decodeBytes?(ids: Iterable<number>): Uint8Array;
  /** special tokens (text -> id): never part of constrained JSON */
  readonly specialTokens?: ReadonlyMap<string, number>;
}

/** Generation options the adapters pass to the model (@dl/transformer's GenerateOptions). */
export interface LocalGenerateOptions {
  maxNewTokens: number;
  temperature?: number;
  topK?: number | null;
  topP?: number;
  /** token ids that end generation */
  stop?: number[];
  seed?: number;
  /**
   * edits a row's next-token logits in place before sampling (@dl/transformer's option of that
   * name); set only for constrained decoding, which needs `stream`
   */
  logitsProcessor?: (logits: Float32Array | Float64Array, ids: readonly number[], row: number) => void;
}

/** A tensor's host read-out, as much as the adapters use. */
export interface TensorLike {
  readonly shape: readonly number[];
  data(): Promise<ArrayLike<number>>;
}

/**
 * What the adapters need of a model (@dl/transformer's GPT fits): `stream`, yielding each step's
 * tokens (one per row), or else `generate`, giving the rows with the new tokens appended.
 */
export interface LocalCausalLM {
  stream?(idx: number[][], opts: LocalGenerateOptions): AsyncIterable<number[]>;
  generate?(idx: number[][], opts: LocalGenerateOptions): Promise<TensorLike | number[][]>;
  /** the context length, when the model has one (GPT's config.blockSize) */
  readonly config?: { readonly blockSize?: number };
}

export interface LocalModelFields {
  model: LocalCausalLM;
  tokenizer: LocalTokenizer;
  /** 256: the most tokens one answer may have */
  maxNewTokens?: number;
  /** 1: 0 is greedy */
  temperature?: number;
  topK?: number | null;
  topP?: number;
  /** a seed for sampling (each call then gives the same answer) */
  seed?: number;
  /** strings that end the answer (not included) */
  stop?: string[];
  /** token ids that end the answer (an end-of-text token) */
  stopTokenIds?: number[];
  /** 'left' (default): a prompt longer than the context keeps its last tokens; 'error' throws InputError */
  truncate?: 'left' | 'error';
}

interface Generation {
  text: string;
  promptTokens: number;
  newTokens: number;
  finishReason: 'stop' | 'length';
}

/** The length of the longest end of `text` that starts one of `stops` (held back while streaming). */
function heldBack(text: string, stops: readonly string[]): number {
  let most = 0;
  for (const s of stops) for (let n = Math.min(s.length - 1, text.length); n > most; n--) if (text.endsWith(s.slice(0, n))) most = n;
  return most;
}

/** Constrained decoding of one JSON value: its schema and the tokenizer's vocabulary. */
interface JsonConstraint {
  schema: JSONSchema | boolean;
  vocabulary: () => TokenVocabulary;
}

/**
 * Runs the model on `prompt` and yields the text as it is made, cut at the first stop string;
 * `info` is filled in at the end. With `json`, the logits are masked so the text is one JSON
 * value of the schema (closed within maxTokens), generation ends when it is whole, and stop
 * strings do not cut it.
 */
async function* generateText(op: string, f: LocalModelFields, prompt: string, o: LLMCallOptions, info: Partial<Generation>, json?: JsonConstraint): AsyncGenerator<string> {
  const { model, tokenizer } = f;
  if (!model || (typeof model.stream !== 'function' && typeof model.generate !== 'function')) throw new ChainsError(op, 'model must have stream(idx, opts) or generate(idx, opts), as @dl/transformer GPT does');
  let ids = tokenizer.encode(prompt);
  if (ids.length === 0) throw new InputError(op, 'the prompt encodes to no tokens; the model needs at least one');
  const block = model.config?.blockSize;
  if (block && ids.length > block) {
    if (f.truncate === 'error') throw new InputError(op, `the prompt is ${ids.length} tokens, past the model's context of ${block}`);
    ids = ids.slice(ids.length - block);
  }
  const maxNewTokens = o.maxTokens ?? f.maxNewTokens ?? 256;
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) throw new InputError(op, `maxTokens must be an integer >= 0, got ${maxNewTokens}`);
  const stops = json ? [] : [...(o.stop ?? f.stop ?? [])].filter((s) => s !== '');
  const opts: LocalGenerateOptions = {
    maxNewTokens,
    temperature: o.temperature ?? f.temperature,
    topK: f.topK,
    topP: o.topP ?? f.topP,
    seed: o.seed ?? f.seed,
    ...(f.stopTokenIds?.length ? { stop: [...f.stopTokenIds] } : {}),
  };
  for (const k of Object.keys(opts) as (keyof LocalGenerateOptions)[]) if (opts[k] === undefined) delete opts[k];
  let constraint: JsonDecoder | undefined;
  if (json) {
    if (typeof model.stream !== 'function') throw new ChainsError(op, 'responseFormat needs a model with stream(idx, opts) that takes a logitsProcessor, as @dl/transformer GPT does');
    constraint = new JsonDecoder(json.schema, json.vocabulary(), { maxTokens: maxNewTokens, eos: f.stopTokenIds });
    opts.logitsProcessor = (logits) => constraint!.mask(logits); // the stream loop below pushes each picked token before the next call
  }
  const stopIds = new Set(f.stopTokenIds ?? []);
  info.promptTokens = ids.length;
  info.newTokens = 0;
  info.finishReason = 'length';
  let text = '';
  let emitted = 0;
  const decoder = tokenizer.streamDecoder?.();
  const generated: number[] = [];
  /** adds a piece; true once a stop string has been reached */
  const add = (piece: string): boolean => {
    text += piece;
    let cut = -1;
    for (const s of stops) {
      const at = text.indexOf(s, Math.max(0, emitted - s.length + 1));
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      text = text.slice(0, cut);
      info.finishReason = 'stop';
      return true;
    }
    return false;
  };
  const flushable = (final: boolean) => {
    const upTo = final ? text.length : text.length - heldBack(text, stops);
    const out = upTo > emitted ? text.slice(emitted, upTo) : '';
    emitted = Math.max(emitted, upTo);
    return out;
  };
  if (typeof model.stream === 'function') {
    for await (const step of model.stream([ids], opts)) {
      if (o.signal?.aborted) throw new AbortError(op, o.signal.reason); // leaving the loop ends the model's generation
      const id = step[0];
      info.newTokens++;
      if (stopIds.has(id)) {
        info.finishReason = 'stop';
        break;
      }
      constraint?.push(id);
      generated.push(id);
      const stopped = add(decoder ? decoder.push(id) : tokenizer.decode(generated).slice(text.length));
      const out = flushable(stopped);
      if (out) yield out;
      if (stopped) return;
      if (constraint?.done) {
        info.finishReason = 'stop';
        break;
      }
    }
  } else {
    const out = await model.generate!([ids], opts);
    const row = Array.isArray(out) ? out[0] : Array.from(await out.data()).slice(0, out.shape[1]);
    const fresh = row.slice(ids.length);
    const end = fresh.findIndex((t) => stopIds.has(t));
    info.newTokens = fresh.length;
    if (end >= 0) info.finishReason = 'stop';
    if (add(tokenizer.decode(end >= 0 ? fresh.slice(0, end) : fresh))) {
      const piece = flushable(true);
      if (piece) yield piece;
      return;
    }
  }
  if (decoder && add(decoder.flush())) info.finishReason = 'stop';
  const rest = flushable(true);
  if (rest) yield rest;
}

/**
 * A local causal LM as a text LLM: the prompt's continuation, streamed token by token, cut at the
 * first stop string.
 *
 *   const tok = CharTokenizer.fromText(text);
 *   const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 128 }); // trained, or loaded
 *   const llm = new LocalLLM({ model: gpt, tokenizer: tok, maxNewTokens: 100, temperature: 0.8, stop: ['\n\n'] });
 *   for await (const piece of llm.stream('ROMEO:')) process.stdout.write(piece);
 */
export class LocalLLM extends BaseLLM<LLMCallOptions> {
  constructor(readonly fields: LocalModelFields) {
    super();
  }

  protected override async _call(prompt: string, options: LLMCallOptions, run: RunContext): Promise<string> {
    let text = '';
    for await (const piece of this._streamText(prompt, options, run)) text += piece;
    return text;
  }

  protected override _streamText(prompt: string, options: LLMCallOptions, _run: RunContext): AsyncGenerator<string> {
    return generateText(`${this.getName()}.invoke`, this.fields, prompt, options, {});
  }
}

export interface LocalChatModelFields extends LocalModelFields {
  /**
   * The prompt text for a conversation. Default: the transcript ("System: ...", "Human: ...",
   * "AI: ...", one per line) then "AI:", with stop strings "\nHuman:" and "\nSystem:".
   */
  formatMessages?: (messages: BaseMessage[]) => string;
}

/** The default chat prompt: a transcript ending in the AI's turn. */
export function transcriptPrompt(messages: BaseMessage[]): string {
  return `${getBufferString(messages)}\nAI:`;
}

/**
 * A local causal LM as a chat model: the conversation becomes a prompt (see `formatMessages`) and
 * the continuation is the AI message, streamed as chunks with token usage. `responseFormat`
 * json_object / json_schema (and so `withStructuredOutput`) is honoured by constrained decoding:
 * the logits are masked so the answer is JSON of the schema. Tools are refused; to get tool calls
 * from a local model, serve it with `dl serve` and use ChatOpenAICompatible.
 *
 *   const chat = new LocalChatModel({ model: gpt, tokenizer: tok, temperature: 0.7, maxNewTokens: 200 });
 *   const msg = await chat.invoke([new HumanMessage('Who is there?')]);
 *   const who = await chat.withStructuredOutput(s.object({ name: s.string() })).invoke('Who?'); // { name: ... }
 */
export class LocalChatModel extends BaseChatModel<ChatCallOptions> {
  #vocabulary?: TokenVocabulary;

  constructor(readonly fields: LocalChatModelFields) {
    super();
  }

  /** The JSON constraint a call's responseFormat asks for (none for text). */
  #constraint(options: ChatCallOptions, op: string): JsonConstraint | undefined {
    if (options.tools?.length) throw new ChainsError(op, 'a local model cannot be made to call tools; serve it with `dl serve` (constrained tool calls) and use ChatOpenAICompatible');
    const format = options.responseFormat;
    if (!format || format.type === 'text') return undefined;
    const { tokenizer } = this.fields;
    const vocabSize = tokenizer.vocabSize;
    if (!Number.isInteger(vocabSize)) throw new ChainsError(op, `responseFormat ${format.type} needs the tokenizer's vocabSize (constrained decoding masks every token)`);
    const vocabulary = () => (this.#vocabulary ??= TokenVocabulary.fromTokenizer({ vocabSize: vocabSize!, decode: (ids) => tokenizer.decode(ids), decodeBytes: tokenizer.decodeBytes && ((ids) => tokenizer.decodeBytes!(ids)), specialTokens: tokenizer.specialTokens }));
    return { schema: format.type === 'json_object' ? { type: 'object' } : format.json_schema.schema, vocabulary };
  }

  protected override async _generate(messages: BaseMessage[], options: ChatCallOptions, run: RunContext): Promise<AIMessageChunk> {
    let whole: AIMessageChunk | undefined;
    for await (const c of this._streamChunks(messages, options, run)) whole = whole ? whole.concat(c) : c;
    return whole!;
  }

  protected override async *_streamChunks(messages: BaseMessage[], options: ChatCallOptions, _run: RunContext): AsyncGenerator<AIMessageChunk> {
    const op = `${this.getName()}.invoke`;
    const json = this.#constraint(options, op);
    const format = this.fields.formatMessages ?? transcriptPrompt;
    const fields = this.fields.formatMessages || this.fields.stop ? this.fields : { ...this.fields, stop: ['\nHuman:', '\nSystem:'] };
    const info: Partial<Generation> = {};
    for await (const piece of generateText(op, fields, format(messages), options, info, json)) yield new AIMessageChunk(piece);
    const { promptTokens = 0, newTokens = 0, finishReason } = info;
    yield new AIMessageChunk({ content: '', usageMetadata: { inputTokens: promptTokens, outputTokens: newTokens, totalTokens: promptTokens + newTokens }, responseMetadata: { finishReason } });
  }
}
