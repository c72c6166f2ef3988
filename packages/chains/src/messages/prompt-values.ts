/** What a prompt template produces: text for an LLM, messages for a chat model, either on demand. */
import { HumanMessage, type BaseMessage } from './base.js';
import { getBufferString } from './convert.js';

/** A formatted prompt; models take it as text or as messages. */
export abstract class BasePromptValue {
  abstract toString(): string;
  abstract toChatMessages(): BaseMessage[];
}

/** A text prompt (from PromptTemplate); as messages it is one human message. */
export class StringPromptValue extends BasePromptValue {
  constructor(readonly value: string) {
    super();
  }
  override toString(): string {
    return this.value;
  }
  toChatMessages(): BaseMessage[] {
    return [new HumanMessage(this.value)];
  }
}

/** A chat prompt (from ChatPromptTemplate); as text it is a transcript. */
export class ChatPromptValue extends BasePromptValue {
  constructor(readonly messages: BaseMessage[]) {
    super();
  }
  override toString(): string {
    return getBufferString(this.messages);
  }
  toChatMessages(): BaseMessage[] {
    return this.messages;
  }
}
