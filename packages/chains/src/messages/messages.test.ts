import { describe, expect, it } from 'vitest';
import { concat } from '../runnables/index.js';
import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage, coerceMessageLike, getBufferString, messageFromJSON } from './index.js';

describe('messages', () => {
  it('chunks concatenate text, usage and streamed tool-call pieces by index', () => {
    const pieces = [
      new AIMessageChunk({ content: '', toolCallChunks: [{ index: 0, id: 'call_1', name: 'add', args: '' }] }),
      new AIMessageChunk({ content: '', toolCallChunks: [{ index: 0, args: '{"a": 1, ' }] }),
      new AIMessageChunk({ content: '', toolCallChunks: [{ index: 1, id: 'call_2', name: 'neg', args: '{"x"' }] }),
      new AIMessageChunk({ content: '', toolCallChunks: [{ index: 0, args: '"b": 2}' }] }),
      new AIMessageChunk({ content: '', toolCallChunks: [{ index: 1, args: ': 5}' }], usageMetadata: { inputTokens: 3, outputTokens: 4, totalTokens: 7 } }),
    ];
    const whole = pieces.reduce((a, b) => a.concat(b));
    expect(whole.toolCalls).toEqual([
      { id: 'call_1', name: 'add', args: { a: 1, b: 2 }, type: 'tool_call' },
      { id: 'call_2', name: 'neg', args: { x: 5 }, type: 'tool_call' },
    ]);
    expect(whole.usageMetadata).toEqual({ inputTokens: 3, outputTokens: 4, totalTokens: 7 });
    // mid-stream the arguments so far parse as a partial object
    expect(pieces.slice(0, 2).reduce((a, b) => a.concat(b)).toolCalls[0].args).toEqual({ a: 1 });
    expect(concat(new AIMessageChunk('Call me '), new AIMessageChunk('Ishmael')).content).toBe('Call me Ishmael');
  });

  it('a tool call whose arguments are not an object is invalid, saying why', () => {
    const m = new AIMessageChunk({ content: '', toolCallChunks: [{ index: 0, id: 'c', name: 'f', args: '[1]' }] });
    expect(m.toolCalls).toEqual([]);
    expect(m.invalidToolCalls[0]).toMatchObject({ name: 'f', error: 'the arguments are not a JSON object' });
  });

  it('coerces strings, [role, text] pairs and OpenAI dicts; names a bad role', () => {
    expect(coerceMessageLike('hi')).toBeInstanceOf(HumanMessage);
    expect(coerceMessageLike(['system', 'be brief'])).toBeInstanceOf(SystemMessage);
    expect(coerceMessageLike({ role: 'assistant', content: 'ok' })).toBeInstanceOf(AIMessage);
    expect((coerceMessageLike({ role: 'tool', content: '3', tool_call_id: 'c1' }) as ToolMessage).toolCallId).toBe('c1');
    expect(() => coerceMessageLike(['wizard' as never, 'x'])).toThrow(/unknown message role "wizard"/);
    expect(() => coerceMessageLike({ role: 'tool', content: '3' })).toThrow(/tool_call_id/);
  });

  it('transcripts and JSON round trips', () => {
    const msgs = [new SystemMessage('be brief'), new HumanMessage('hi'), new AIMessage({ content: 'hello', toolCalls: [{ id: 'c', name: 'f', args: {} }] })];
    expect(getBufferString(msgs)).toBe('System: be brief\nHuman: hi\nAI: hello');
    const back = msgs.map((m) => messageFromJSON(JSON.parse(JSON.stringify(m))));
    expect(back.map((m) => m.getType())).toEqual(['system', 'human', 'ai']);
    expect((back[2] as AIMessage).toolCalls[0].name).toBe('f');
  });
});
