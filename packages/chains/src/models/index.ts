export {
  BaseChatModel,
  BaseLLM,
  convertToOpenAITool,
  inputToMessages,
  inputToText,
  type BaseLanguageModelInput,
  type ChatCallOptions,
  type LLMCallOptions,
  type ToolDefinition,
  type ToolLike,
  type ToolChoice,
  type ResponseFormat,
  type StructuredOutputOptions,
  type StructuredOutputWithRaw,
} from './base.js';
export { ChatOpenAICompatible, messageToOpenAI, type ChatOpenAICompatibleFields, type OpenAIMessage } from './openai.js';
export { OpenAIClient, ConnectionError, retryAfterMs, type OpenAIClientOptions, type OpenResponse } from './http.js';
export { readServerSentEvents, type ServerSentEvent } from './sse.js';
export { LocalLLM, LocalChatModel, transcriptPrompt, type LocalCausalLM, type LocalTokenizer, type LocalGenerateOptions, type LocalModelFields, type LocalChatModelFields, type TensorLike } from './local.js';
export { FakeListChatModel } from './fake.js';
