import { describe, expect, it } from 'vitest';
import { AIMessage, HumanMessage, type BaseMessage } from '../messages/index.js';
import { FakeListChatModel } from '../models/fake.js';
import { StringOutputParser } from '../parsers/index.js';
import { ChatPromptTemplate, MessagesPlaceholder } from '../prompts/index.js';
import { RunnableLambda } from '../runnables/index.js';
import { InMemoryChatMessageHistory } from './history.js';
import { RunnableWithMessageHistory } from './with-history.js';

const kinds = (ms: BaseMessage[]) => ms.map((m) => `${m.getType()}:${m.content}`);

describe('RunnableWithMessageHistory', () => {
  it('keeps one history per session, with input and history keys', async () => {
    const model = new FakeListChatModel({ responses: ['Aye.', 'The whale.', 'Hello.'] });
    const prompt = ChatPromptTemplate.fromMessages([['system', 'Be brief.'], new MessagesPlaceholder('history'), ['human', '{question}']]);
    const stores = new Map<string, InMemoryChatMessageHistory>();
    const chat = new RunnableWithMessageHistory({
      runnable: prompt.pipe(model),
      getMessageHistory: (id) => stores.get(id) ?? stores.set(id, new InMemoryChatMessageHistory()).get(id)!,
      inputMessagesKey: 'question',
      historyMessagesKey: 'history',
    });
    await chat.invoke({ question: 'Captain?' }, { configurable: { sessionId: 'a' } });
    await chat.invoke({ question: 'Hunting?' }, { configurable: { sessionId: 'a' } });
    await chat.invoke({ question: 'Hi' }, { configurable: { sessionId: 'b' } });
    expect(kinds(model.calls[1].messages)).toEqual(['system:Be brief.', 'human:Captain?', 'ai:Aye.', 'human:Hunting?']);
    expect(kinds(await stores.get('a')!.getMessages())).toEqual(['human:Captain?', 'ai:Aye.', 'human:Hunting?', 'ai:The whale.']);
    expect(kinds(await stores.get('b')!.getMessages())).toEqual(['human:Hi', 'ai:Hello.']);
    await expect(chat.invoke({ question: 'x' })).rejects.toThrow(/config\.configurable\.sessionId/);
    await expect(chat.invoke({ q: 'x' } as never, { configurable: { sessionId: 'a' } })).rejects.toThrow(/with the key "question"/);
  });

  it('messages in, a string out; streaming saves the joined answer', async () => {
    const history = new InMemoryChatMessageHistory([new HumanMessage('earlier'), new AIMessage('yes')]);
    const model = new FakeListChatModel({ responses: ['streamed answer'] });
    const chat = new RunnableWithMessageHistory({ runnable: model.pipe(new StringOutputParser()), getMessageHistory: () => history });
    const pieces: string[] = [];
    for await (const p of chat.stream('now', { configurable: { sessionId: 's' } })) pieces.push(p);
    expect(pieces.join('')).toBe('streamed answer');
    expect(pieces.length).toBeGreaterThan(1);
    expect(kinds(model.calls[0].messages)).toEqual(['human:earlier', 'ai:yes', 'human:now']);
    expect(kinds(await history.getMessages())).toEqual(['human:earlier', 'ai:yes', 'human:now', 'ai:streamed answer']);
    const bad = new RunnableWithMessageHistory({ runnable: RunnableLambda.from(() => 42), getMessageHistory: () => history });
    await expect(bad.invoke('x', { configurable: { sessionId: 's' } })).rejects.toThrow(/the output must be a string, a message or a list of messages, got number/);
  });
});
