/** Chat history: the messages of a conversation, kept between calls. */
import { AIMessage, HumanMessage, type BaseMessage } from '../messages/index.js';

/** Where a conversation's messages are kept (memory, a file, a database). */
export interface BaseChatMessageHistory {
  getMessages(): Promise<BaseMessage[]>;
  addMessages(messages: readonly BaseMessage[]): Promise<void>;
  clear(): Promise<void>;
}

/**
 * A conversation's messages in memory.
 *
 *   const history = new InMemoryChatMessageHistory();
 *   await history.addUserMessage('hi');
 *   await history.addAIMessage('hello');
 *   await history.getMessages(); // [HumanMessage, AIMessage]
 */
export class InMemoryChatMessageHistory implements BaseChatMessageHistory {
  #messages: BaseMessage[];

  constructor(messages: readonly BaseMessage[] = []) {
    this.#messages = [...messages];
  }

  async getMessages(): Promise<BaseMessage[]> {
    return [...this.#messages];
  }

  async addMessage(message: BaseMessage): Promise<void> {
    this.#messages.push(message);
  }

  async addMessages(messages: readonly BaseMessage[]): Promise<void> {
    this.#messages.push(...messages);
  }

  async addUserMessage(text: string): Promise<void> {
    this.#messages.push(new HumanMessage(text));
  }

  async addAIMessage(text: string): Promise<void> {
    this.#messages.push(new AIMessage(text));
  }

  async clear(): Promise<void> {
    this.#messages = [];
  }
}

/** LangChain's other name for InMemoryChatMessageHistory. */
export const ChatMessageHistory = InMemoryChatMessageHistory;
