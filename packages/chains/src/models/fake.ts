/** FakeListChatModel: scripted answers, for testing chains without a model. */
import { AIMessage, AIMessageChunk, type BaseMessage } from '../messages/index.js';
import type { RunContext } from '../runnables/index.js';
import { sleep } from '../runnables/index.js';
import { BaseChatModel, type ChatCallOptions } from './base.js';

/**
 * A chat model that answers with its `responses` in turn (cycling), streaming each a character at a
 * time; an AIMessage response may carry tool calls (streamed as one last chunk). It records what
 * it was called with in `calls`.
 *
 *   const model = new FakeListChatModel({ responses: ['Call me Ishmael.', new AIMessage({ content: '', toolCalls: [...] })] });
 *   await model.invoke('hi'); // AIMessageChunk 'Call me Ishmael.'
 */
export class FakeListChatModel extends BaseChatModel<ChatCallOptions> {
  readonly responses: (string | AIMessage)[];
  /** ms to wait before each streamed chunk */
  readonly sleepMs: number;
  readonly calls: { messages: BaseMessage[]; options: ChatCallOptions }[] = [];
  #next = 0;

  constructor({ responses, sleepMs = 0 }: { responses: (string | AIMessage)[]; sleepMs?: number }) {
    super();
    this.responses = responses;
    this.sleepMs = sleepMs;
  }

  #take(messages: BaseMessage[], options: ChatCallOptions): AIMessage {
    this.calls.push({ messages, options });
    const r = this.responses[this.#next++ % this.responses.length];
    return typeof r === 'string' ? new AIMessage(r) : r;
  }

  protected override async _generate(messages: BaseMessage[], options: ChatCallOptions, _run: RunContext): Promise<AIMessageChunk> {
    const r = this.#take(messages, options);
    if (this.sleepMs) await sleep(this.sleepMs, options.signal);
    return new AIMessageChunk({ content: r.content, toolCalls: r.toolCalls, responseMetadata: { finishReason: r.toolCalls.length ? 'tool_calls' : 'stop' } });
  }

  protected override async *_streamChunks(messages: BaseMessage[], options: ChatCallOptions, _run: RunContext): AsyncGenerator<AIMessageChunk> {
    const r = this.#take(messages, options);
    for (const c of r.content) {
      if (this.sleepMs) await sleep(this.sleepMs, options.signal);
      yield new AIMessageChunk(c);
    }
    if (r.toolCalls.length) yield new AIMessageChunk({ content: '', toolCallChunks: r.toolCalls.map((t, index) => ({ index, id: t.id, name: t.name, args: JSON.stringify(t.args) })) });
  }
}
