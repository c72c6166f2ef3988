export { BasePromptTemplate, type BasePromptTemplateInput, type InputValues, type PartialValue } from './base.js';
export { PromptTemplate, type PromptTemplateInput } from './prompt.js';
export {
  ChatPromptTemplate,
  MessagesPlaceholder,
  HumanMessagePromptTemplate,
  SystemMessagePromptTemplate,
  AIMessagePromptTemplate,
  type MessagePromptPart,
  type ChatPromptMessageLike,
  type ChatPromptTemplateInput,
} from './chat.js';
export { FewShotPromptTemplate, FewShotChatMessagePromptTemplate, type Example, type ExampleSelector, type FewShotPromptTemplateInput, type FewShotChatMessagePromptTemplateInput } from './few-shot.js';
export { renderTemplate, templateVariables, stringifyValue, type TemplateFormat } from './template.js';
