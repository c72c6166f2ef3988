/**
 * One completion choice being decoded: sampling (temperature, top_p, seed, logit_bias,
 * penalties), stop sequences, max_tokens, and constrained decoding (JSON, tool calls) by masking
 * the logits before each token is picked.
 */
import { JsonDecoder, type TokenVocabulary } from '@dl/chains';
import { fillUniform, Generator } from '@dl/tensor';
import { sampleLogits, type StreamDecoder } from '@dl/transformer';
import type { DecodeRow } from './engine.js';
import type { TextModel } from './models.js';
import type { SamplingParams } from './params.js';
import { StopMatcher } from './stop.js';

export type FinishReason = 'stop' | 'length' | 'tool_calls';

/** How the output is constrained: free text, one JSON value, or a tool call (`auto`: the model may answer in text instead). */
export type Constraint = { kind: 'none' } | { kind: 'json'; decoder: JsonDecoder } | { kind: 'tool'; decoder: JsonDecoder; auto: boolean };

export interface ChoiceOptions {
  index: number;
  prompt: readonly number[];
  model: TextModel;
  params: SamplingParams;
  maxTokens: number;
  /** stop sequences (the request's and the chat template's); not applied to constrained output */
  stops: readonly string[];
  constraint: Constraint;
  /** drop one space at the start of the reply (the chat template's 'Assistant:' is followed by one) */
  trimLeadingSpace: boolean;
  /** the client has gone */
  signal: AbortSignal;
  /** each new piece of text (streaming) */
  onText?: (choice: Choice, text: string) => void;
}

const LEFT_BRACE = 0x7b;

/**
 * A DecodeRow that builds one choice's text, finish reason and token count.
 *
 *   const c = new Choice({ index: 0, prompt: ids, model, params, maxTokens: 64, stops: [], constraint: { kind: 'none' }, trimLeadingSpace: false, signal });
 *   await engine.generate(model.model, [[c]]);
 *   c.text; c.finishReason;
 */
export class Choice implements DecodeRow {
  readonly prompt: readonly number[];
  text = '';
  finishReason: FinishReason | null = null;
  completionTokens = 0;
  /** the tool call written, when the reply is one: its name and its arguments as JSON text */
  toolCall: { name: string; arguments: string } | null = null;
  error: Error | null = null;
  readonly #o: ChoiceOptions;
  readonly #rng: Generator;
  readonly #decoder: StreamDecoder;
  readonly #stop: StopMatcher;
  readonly #counts = new Map<number, number>();
  #constraint: Constraint;
  /** the reply is a tool call (decided by its first token under tool_choice auto) */
  #calling: boolean;
  #started = false;
  #ended = false;
  readonly #vocabSize: number;
  readonly #u = new Float64Array(1);
  readonly finished: Promise<void>;
  #resolve!: () => void;

  constructor(o: ChoiceOptions) {
    this.#o = o;
    this.prompt = o.prompt;
    this.#rng = new Generator();
    if (o.params.seed === null) this.#rng.seed();
    else this.#rng.manualSeed(Math.abs(o.params.seed) + o.index * 1_000_003); // choice i of a seed differs from choice 0
    this.#decoder = o.model.tokenizer.streamDecoder();
    this.#stop = new StopMatcher(o.stops);
    this.#constraint = o.constraint;
    this.#calling = o.constraint.kind === 'tool' && !o.constraint.auto;
    this.#vocabSize = o.model.tokenizer.vocabSize;
    this.finished = new Promise((r) => (this.#resolve = r));
  }

  get index(): number {
    return this.#o.index;
  }

  get cancelled(): boolean {
    return this.#o.signal.aborted;
  }

  next(logits: Float32Array): number {
    const { params } = this.#o;
    for (let i = this.#vocabSize; i < logits.length; i++) logits[i] = -Infinity; // ids the tokenizer cannot decode (padded vocabularies)
    for (const [id, bias] of params.logitBias) if (id < logits.length) logits[id] += bias;
    if (params.presencePenalty || params.frequencyPenalty) {
      for (const [id, n] of this.#counts) logits[id] -= params.presencePenalty + params.frequencyPenalty * n;
    }
    this.#mask(logits);
    fillUniform(this.#u, this.#rng.key, this.#rng.takeCounters(1));
    return sampleLogits(logits, { temperature: params.temperature, topP: params.topP }, this.#u[0]);
  }

  #mask(logits: Float32Array): void {
    const c = this.#constraint;
    if (c.kind === 'none') return;
    if (c.kind === 'json' || this.#calling) return c.decoder.mask(logits);
    // tool_choice auto, first token: a token that starts with '{' must start a valid tool call; any other starts a text reply
    const allowed = c.decoder.allowed();
    const vocab: TokenVocabulary = c.decoder.vocab;
    for (let i = 0; i < logits.length; i++) {
      const b = vocab.bytes(i);
      if (b && b[0] === LEFT_BRACE && !allowed.has(i)) logits[i] = -Infinity;
    }
  }

  accept(token: number): boolean {
    this.completionTokens++;
    this.#counts.set(token, (this.#counts.get(token) ?? 0) + 1);
    const c = this.#constraint;
    if (c.kind === 'tool' && c.auto && !this.#calling) {
      // the first token decides: '{' begins a tool call, anything else a text reply
      const b = c.decoder.vocab.bytes(token);
      if (b && b[0] === LEFT_BRACE) this.#calling = true;
      else this.#constraint = { kind: 'none' };
    }
    if (this.#o.model.eos.includes(token) && (this.#constraint.kind === 'none' || this.#constraintDecoder()!.complete)) return this.#finish('stop');
    const dec = this.#constraintDecoder();
    if (dec) {
      dec.push(token);
      this.#emit(this.#decoder.push(token));
      if (dec.done) return this.#finish(this.#calling ? 'tool_calls' : 'stop');
    } else {
      const { text, stopped } = this.#stop.push(this.#decoder.push(token));
      this.#emit(text);
      if (stopped) return this.#finish('stop');
    }
    if (this.completionTokens >= this.#o.maxTokens) return this.#finish('length');
    return true;
  }

  #constraintDecoder(): JsonDecoder | null {
    const c = this.#constraint;
    return c.kind === 'json' || (c.kind === 'tool' && this.#calling) ? c.decoder : null;
  }

  #finish(reason: FinishReason): false {
    this.finishReason = reason;
    return false;
  }

  #emit(piece: string): void {
    if (!piece) return;
    if (!this.#started && this.#o.trimLeadingSpace && this.#constraintDecoder() === null) {
      piece = piece.replace(/^ /, '');
      if (!piece) return;
    }
    this.#started = true;
    this.text += piece;
    if (!this.#calling) this.#o.onText?.(this, piece);
  }

  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error) this.error = error;
    if (!error && !this.cancelled) {
      // what a stop sequence might have begun, and bytes of an unfinished character, are text after all
      const tail = this.#decoder.flush();
      const held = this.#constraintDecoder() ? tail : this.#stop.push(tail).text + this.#stop.flush();
      this.#emit(held);
      this.finishReason ??= 'length';
      if (this.#calling) this.#readToolCall();
    }
    this.#resolve();
  }

  #readToolCall(): void {
    try {
      const v = JSON.parse(this.text) as { name: string; arguments: unknown };
      this.toolCall = { name: v.name, arguments: JSON.stringify(v.arguments) };
      this.finishReason = 'tool_calls';
    } catch {
      // cut off by max_tokens before the call was whole: the text stays (a streaming client gets it now), finish_reason 'length'
      this.#calling = false;
      this.#o.onText?.(this, this.text);
    }
  }
}
