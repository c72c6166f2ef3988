export {
  BaseMessage,
  HumanMessage,
  SystemMessage,
  AIMessage,
  AIMessageChunk,
  ToolMessage,
  type MessageType,
  type BaseMessageFields,
  type AIMessageFields,
  type AIMessageChunkFields,
  type ToolMessageFields,
  type ToolCall,
  type InvalidToolCall,
  type ToolCallChunk,
  type UsageMetadata,
} from './base.js';
export { coerceMessageLike, messageFromRole, getBufferString, messageFromJSON, type BaseMessageLike, type MessageRole } from './convert.js';
export { BasePromptValue, StringPromptValue, ChatPromptValue } from './prompt-values.js';
