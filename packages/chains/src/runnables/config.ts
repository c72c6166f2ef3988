/**
 * Per-call configuration and tracing callbacks. A config travels down a chain: each runnable
 * reports its run to the handlers and hands its children a config whose `parentRunId` is its own
 * run, so handlers see the tree of runs.
 */
/** What a run is, for handlers: prompts and parsers report through the chain handlers. */
export type RunType = 'chain' | 'prompt' | 'parser' | 'llm' | 'tool' | 'retriever';

/** One run of one runnable, as handlers see it. */
export interface RunInfo {
  runId: string;
  parentRunId?: string;
  name: string;
  runType: RunType;
  tags: readonly string[];
  metadata: Readonly<Record<string, unknown>>;
  /** Date.now() at the start */
  startTime: number;
}

type Maybe = void | Promise<void>;

/**
 * Tracing hooks; every one is optional. Chain hooks fire for chains, prompts and parsers; LLM hooks
 * for chat models and LLMs; tool and retriever hooks for those. A hook that throws is reported
 * with console.warn and ignored, unless the handler sets `raiseError`.
 *
 *   const log: CallbackHandler = { onLLMNewToken: (run, token) => process.stdout.write(token) };
 *   await chain.invoke(input, { callbacks: [log] });
 */
export interface CallbackHandler {
  /** true: an error thrown by a hook fails the run */
  raiseError?: boolean;
  onChainStart?(run: RunInfo, input: unknown): Maybe;
  /** `input` is the run's whole input (for transform runs it is known only at the end) */
  onChainEnd?(run: RunInfo, output: unknown, extra: { input: unknown }): Maybe;
  onChainError?(run: RunInfo, error: unknown): Maybe;
  /** `input`: the messages of a chat model, the prompt of an LLM */
  onLLMStart?(run: RunInfo, input: unknown): Maybe;
  onLLMNewToken?(run: RunInfo, token: string): Maybe;
  onLLMEnd?(run: RunInfo, output: unknown): Maybe;
  onLLMError?(run: RunInfo, error: unknown): Maybe;
  onToolStart?(run: RunInfo, input: unknown): Maybe;
  onToolEnd?(run: RunInfo, output: unknown): Maybe;
  onToolError?(run: RunInfo, error: unknown): Maybe;
  onRetrieverStart?(run: RunInfo, query: string): Maybe;
  onRetrieverEnd?(run: RunInfo, documents: unknown): Maybe;
  onRetrieverError?(run: RunInfo, error: unknown): Maybe;
  /** withRetry: `attempt` (1-based) failed with `error` and another follows */
  onRetry?(run: RunInfo, error: unknown, attempt: number): Maybe;
}

/**
 * Options of one call, accepted by every runnable's invoke / batch / stream (a chat model's call
 * options extend it).
 *
 *   await chain.invoke(input, { signal: AbortSignal.timeout(5000), tags: ['eval'], callbacks: [tracer] });
 */
export interface RunnableConfig {
  /** aborts the call: it rejects with AbortError as soon as the signal fires */
  signal?: AbortSignal;
  callbacks?: readonly CallbackHandler[];
  /** passed to every nested run */
  tags?: readonly string[];
  /** passed to every nested run */
  metadata?: Record<string, unknown>;
  /** batch, and RunnableParallel's branches: how many calls run at once (default: all) */
  maxConcurrency?: number;
  /** this run's name for handlers (not passed to nested runs) */
  runName?: string;
  /** this run's id (not passed to nested runs); a random UUID by default */
  runId?: string;
  /** set by composite runnables for their children; callers leave it unset */
  parentRunId?: string;
  /** values for configurable runnables, e.g. RunnableWithMessageHistory's `sessionId` */
  configurable?: Record<string, unknown>;
}

/** Joins configs left to right: tags, callbacks and metadata accumulate, other fields are replaced. */
export function mergeConfigs<C extends RunnableConfig>(...configs: (Partial<C> | undefined)[]): Partial<C> {
  const out: Partial<C> = {};
  for (const c of configs) {
    if (!c) continue;
    for (const [k, v] of Object.entries(c) as [keyof C & string, unknown][]) {
      if (v === undefined) continue;
      if (k === 'tags') out.tags = [...new Set([...(out.tags ?? []), ...(v as string[])])];
      else if (k === 'callbacks') out.callbacks = [...(out.callbacks ?? []), ...(v as CallbackHandler[])];
      else if (k === 'metadata') out.metadata = { ...out.metadata, ...(v as Record<string, unknown>) };
      else if (k === 'configurable') out.configurable = { ...out.configurable, ...(v as Record<string, unknown>) };
      else (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

type HookName = Exclude<keyof CallbackHandler, 'raiseError'>;

/**
 * The handle of one run: reports its events to the config's handlers and makes the config of its
 * children.
 */
export class RunContext {
  readonly info: RunInfo;
  readonly #handlers: readonly CallbackHandler[];

  constructor(name: string, runType: RunType, config: RunnableConfig) {
    this.#handlers = config.callbacks ?? [];
    this.info = {
      runId: config.runId ?? globalThis.crypto.randomUUID(),
      parentRunId: config.parentRunId,
      name: config.runName ?? name,
      runType,
      tags: config.tags ?? [],
      metadata: config.metadata ?? {},
      startTime: Date.now(),
    };
  }

  /** Calls `hook` of every handler with this run and `args`. */
  async emit(hook: HookName, ...args: unknown[]): Promise<void> {
    for (const h of this.#handlers) {
      const fn = h[hook] as ((run: RunInfo, ...rest: unknown[]) => Maybe) | undefined;
      if (!fn) continue;
      try {
        await fn.call(h, this.info, ...args);
      } catch (e) {
        if (h.raiseError) throw e;
        console.warn(`@dl/chains: callback ${hook} of run ${this.info.name} threw`, e);
      }
    }
  }

  /** Reports the start with the hook of the run's type (onChainStart, onLLMStart, ...). */
  start(input: unknown): Promise<void> {
    const t = this.info.runType;
    if (t === 'llm') return this.emit('onLLMStart', input);
    if (t === 'tool') return this.emit('onToolStart', input);
    if (t === 'retriever') return this.emit('onRetrieverStart', input);
    return this.emit('onChainStart', input);
  }

  /** Reports the end; chain-type runs also get their whole input. */
  end(output: unknown, input: unknown): Promise<void> {
    const t = this.info.runType;
    if (t === 'llm') return this.emit('onLLMEnd', output);
    if (t === 'tool') return this.emit('onToolEnd', output);
    if (t === 'retriever') return this.emit('onRetrieverEnd', output);
    return this.emit('onChainEnd', output, { input });
  }

  /** Reports a failure. */
  error(error: unknown): Promise<void> {
    const t = this.info.runType;
    if (t === 'llm') return this.emit('onLLMError', error);
    if (t === 'tool') return this.emit('onToolError', error);
    if (t === 'retriever') return this.emit('onRetrieverError', error);
    return this.emit('onChainError', error);
  }

  /** The config for a nested call: this run is its parent; runName and runId are not inherited. */
  child<C extends RunnableConfig>(config: C, extraTags: readonly string[] = []): C {
    const { runName: _n, runId: _i, ...rest } = config;
    return { ...rest, parentRunId: this.info.runId, tags: extraTags.length ? [...(config.tags ?? []), ...extraTags] : config.tags } as C;
  }
}
