/**
 * @dl/chains: LangChain-style composition for LLMs. Runnables (invoke / batch / stream / pipe),
 * prompts, chat models behind one interface (any OpenAI-compatible server, or a local model given
 * structurally), output parsers, tools and a tool-calling agent, chat memory, documents, text
 * splitters, embeddings, an in-memory vector store and retrieval chains. The core imports no model
 * package.
 */
export { ChainsError, InputError, ValidationError, OutputParserError, APIError, TimeoutError, AbortError, ToolError, type OpenAIErrorBody } from './errors.js';
export {
  Runnable,
  RunnableBinding,
  RunnableRetry,
  RunnableWithFallbacks,
  RunnableLambda,
  RunnableParallel,
  RunnableMap,
  RunnableSequence,
  RunnablePassthrough,
  RunnableAssign,
  RunnableBranch,
  RunContext,
  coerceToRunnable,
  collectStream,
  mergeConfigs,
  backoffDelay,
  concat,
  type RunnableFunc,
  type RunnableMapLike,
  type RunnableLike,
  type BatchOptions,
  type RetryOptions,
  type BackoffOptions,
  type FallbackOptions,
  type RunnableConfig,
  type CallbackHandler,
  type RunInfo,
  type RunType,
} from './runnables/index.js';
