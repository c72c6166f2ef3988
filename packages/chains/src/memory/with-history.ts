/** RunnableWithMessageHistory: a chain that remembers the conversation of each session. */
import { InputError } from '../errors.js';
import { AIMessage, AIMessageChunk, BaseMessage, coerceMessageLike, type BaseMessageLike } from '../messages/index.js';
import { Runnable, concat, type RunContext, type RunnableConfig } from '../runnables/index.js';
import type { BaseChatMessageHistory } from './history.js';

export interface RunnableWithMessageHistoryFields<I, O> {
  runnable: Runnable<I, O>;
  /** the history of a session (config.configurable.sessionId) */
  getMessageHistory: (sessionId: string) => BaseChatMessageHistory | Promise<BaseChatMessageHistory>;
  /** the input key holding the new message(s); unset: the input itself is the message(s) */
  inputMessagesKey?: string;
  /** the input key the history goes in; unset: the history is put before the input messages */
  historyMessagesKey?: string;
  /** the output key holding the answer; unset: the output itself (a message or a string) */
  outputMessagesKey?: string;
}

function toMessages(x: unknown, what: string): BaseMessage[] {
  if (typeof x === 'string' || x instanceof BaseMessage) return [coerceMessageLike(x as BaseMessageLike)];
  if (Array.isArray(x)) return x.map((m) => coerceMessageLike(m as BaseMessageLike, 'RunnableWithMessageHistory'));
  throw new InputError('RunnableWithMessageHistory', `${what} must be a string, a message or a list of messages, got ${x === null ? 'null' : typeof x}`);
}

/**
 * Wraps a chain so each call sees the session's earlier messages and adds its input and answer to
 * them. The session is `config.configurable.sessionId`.
 *
 *   const prompt = ChatPromptTemplate.fromMessages([['system', 'Be brief.'], new MessagesPlaceholder('history'), ['human', '{question}']]);
 *   const histories = new Map<string, InMemoryChatMessageHistory>();
 *   const chat = new RunnableWithMessageHistory({
 *     runnable: prompt.pipe(model),
 *     getMessageHistory: (id) => histories.get(id) ?? histories.set(id, new InMemoryChatMessageHistory()).get(id)!,
 *     inputMessagesKey: 'question',
 *     historyMessagesKey: 'history',
 *   });
 *   await chat.invoke({ question: 'Who is Ahab?' }, { configurable: { sessionId: 'u1' } });
 */
export class RunnableWithMessageHistory<I, O> extends Runnable<I, O> {
  constructor(readonly fields: RunnableWithMessageHistoryFields<I, O>) {
    super();
  }

  async #prepare(input: I, config: RunnableConfig): Promise<{ history: BaseChatMessageHistory; newMessages: BaseMessage[]; inner: unknown }> {
    const sessionId = config.configurable?.sessionId;
    if (typeof sessionId !== 'string' || !sessionId) throw new InputError('RunnableWithMessageHistory', 'call it with config.configurable.sessionId (a non-empty string) naming the conversation', 'sessionId');
    const history = await this.fields.getMessageHistory(sessionId);
    const past = await history.getMessages();
    const { inputMessagesKey: ik, historyMessagesKey: hk } = this.fields;
    if (ik !== undefined && (typeof input !== 'object' || input === null || !(ik in input))) throw new InputError('RunnableWithMessageHistory', `the input must be an object with the key "${ik}" (inputMessagesKey)`, ik);
    const newMessages = toMessages(ik !== undefined ? (input as Record<string, unknown>)[ik] : input, ik !== undefined ? `input.${ik}` : 'the input');
    let inner: unknown;
    if (hk !== undefined) inner = { ...(typeof input === 'object' && input !== null ? input : {}), [hk]: past };
    else if (ik !== undefined) throw new InputError('RunnableWithMessageHistory', 'with inputMessagesKey, say where the history goes with historyMessagesKey');
    else inner = [...past, ...newMessages];
    return { history, newMessages, inner };
  }

  async #save(history: BaseChatMessageHistory, newMessages: BaseMessage[], output: unknown): Promise<void> {
    const ok = this.fields.outputMessagesKey;
    const out = ok !== undefined ? (output as Record<string, unknown>)?.[ok] : output;
    const answer = out instanceof AIMessageChunk ? new AIMessage({ content: out.content, toolCalls: out.toolCalls, usageMetadata: out.usageMetadata, responseMetadata: out.responseMetadata, id: out.id }) : out;
    await history.addMessages([...newMessages, ...(typeof answer === 'string' ? [new AIMessage(answer)] : toMessages(answer, ok !== undefined ? `output.${ok}` : 'the output'))]);
  }

  protected override async _invoke(input: I, config: RunnableConfig, _run: RunContext): Promise<O> {
    const { history, newMessages, inner } = await this.#prepare(input, config);
    const output = await this.fields.runnable.invoke(inner as I, config);
    await this.#save(history, newMessages, output);
    return output;
  }

  protected override async *_streamIterator(input: I, config: RunnableConfig, _run: RunContext): AsyncGenerator<O> {
    const { history, newMessages, inner } = await this.#prepare(input, config);
    let output: O | undefined;
    const cumulative = this.fields.runnable.cumulativeChunks;
    for await (const chunk of this.fields.runnable.stream(inner as I, config)) {
      output = output === undefined || cumulative ? chunk : concat<O>(output, chunk);
      yield chunk;
    }
    await this.#save(history, newMessages, output);
  }
}
