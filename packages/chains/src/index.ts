/**
 * @dl/chains: LangChain-style composition for LLMs. Runnables (invoke / batch / stream / pipe),
 * prompts, chat models behind one interface (any OpenAI-compatible server, or a local model given
 * structurally), output parsers, tools and a tool-calling agent, chat memory, documents, text
 * splitters, embeddings, an in-memory vector store and retrieval chains. The core imports no model
 * package.
 */
export { ChainsError, InputError, ValidationError, OutputParserError, APIError, TimeoutError, AbortError, ToolError, type OpenAIErrorBody } from './errors.js';
export * from './constrained/index.js';
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
  isCumulativeStream,
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
export {
  BaseMessage,
  HumanMessage,
  SystemMessage,
  AIMessage,
  AIMessageChunk,
  ToolMessage,
  BasePromptValue,
  StringPromptValue,
  ChatPromptValue,
  coerceMessageLike,
  messageFromRole,
  messageFromJSON,
  getBufferString,
  type MessageType,
  type BaseMessageFields,
  type AIMessageFields,
  type AIMessageChunkFields,
  type ToolMessageFields,
  type ToolCall,
  type InvalidToolCall,
  type ToolCallChunk,
  type UsageMetadata,
  type BaseMessageLike,
  type MessageRole,
} from './messages/index.js';
export {
  BasePromptTemplate,
  PromptTemplate,
  ChatPromptTemplate,
  MessagesPlaceholder,
  HumanMessagePromptTemplate,
  SystemMessagePromptTemplate,
  AIMessagePromptTemplate,
  FewShotPromptTemplate,
  FewShotChatMessagePromptTemplate,
  renderTemplate,
  templateVariables,
  type BasePromptTemplateInput,
  type InputValues,
  type PartialValue,
  type PromptTemplateInput,
  type MessagePromptPart,
  type ChatPromptMessageLike,
  type ChatPromptTemplateInput,
  type Example,
  type ExampleSelector,
  type FewShotPromptTemplateInput,
  type FewShotChatMessagePromptTemplateInput,
  type TemplateFormat,
} from './prompts/index.js';
export { parsePartialJson, extractJsonText } from './utils/json.js';
export { Schema, s, toSchema, type Infer, type InferShape, type SchemaLike } from './schema/schema.js';
export { validateJSONSchema, type JSONSchema, type JSONSchemaType } from './schema/json-schema.js';
export {
  BaseOutputParser,
  BaseTransformOutputParser,
  BaseCumulativeTransformOutputParser,
  StringOutputParser,
  CommaSeparatedListOutputParser,
  JsonOutputParser,
  StructuredOutputParser,
  type ParserInput,
} from './parsers/index.js';
export {
  BaseChatModel,
  BaseLLM,
  ChatOpenAICompatible,
  OpenAIClient,
  ConnectionError,
  convertToOpenAITool,
  inputToMessages,
  inputToText,
  messageToOpenAI,
  readServerSentEvents,
  retryAfterMs,
  type BaseLanguageModelInput,
  type ChatCallOptions,
  type LLMCallOptions,
  type ToolDefinition,
  type ToolLike,
  type ToolChoice,
  type ResponseFormat,
  type StructuredOutputOptions,
  type StructuredOutputWithRaw,
  type ChatOpenAICompatibleFields,
  type OpenAIMessage,
  type OpenAIClientOptions,
  type OpenResponse,
  type ServerSentEvent,
  LocalLLM,
  LocalChatModel,
  FakeListChatModel,
  transcriptPrompt,
  type LocalCausalLM,
  type LocalTokenizer,
  type LocalGenerateOptions,
  type LocalModelFields,
  type LocalChatModelFields,
  type TensorLike,
} from './models/index.js';
export { StructuredTool, tool, isToolCall, type ToolFields } from './tools/tool.js';
export { AgentExecutor, createToolCallingAgent, type AgentExecutorFields, type AgentOutput, type AgentStep } from './tools/agent.js';
export { InMemoryChatMessageHistory, ChatMessageHistory, type BaseChatMessageHistory } from './memory/history.js';
export { RunnableWithMessageHistory, type RunnableWithMessageHistoryFields } from './memory/with-history.js';
export { Document, formatDocumentsAsString, type Metadata } from './documents/document.js';
export { TextSplitter, CharacterTextSplitter, RecursiveCharacterTextSplitter, type TextSplitterParams } from './documents/text-splitter.js';
export { cosineSimilarity, type Embeddings } from './embeddings/base.js';
export { OpenAICompatibleEmbeddings, type OpenAICompatibleEmbeddingsFields } from './embeddings/openai.js';
export { BertEmbeddings, type BertEmbeddingsFields, type BertLikeModel, type BertLikeTokenizer } from './embeddings/bert.js';
export { MemoryVectorStore, VectorStoreRetriever, type VectorStoreFilter, type VectorStoreRetrieverOptions, type MaxMarginalRelevanceOptions } from './vectorstores/memory.js';
export { BaseRetriever } from './vectorstores/retriever.js';
export { createStuffDocumentsChain, createRetrievalChain, type StuffDocumentsChainFields, type RetrievalChainOutput } from './chains/retrieval.js';
