import { describe, expect, it } from 'vitest';
import { CHAT_STOPS, renderChat, toolCallSchema } from './chat-template.js';
import { StopMatcher } from './stop.js';

describe('StopMatcher', () => {
  it('holds back what may begin a stop sequence, cuts at the first one met, and gives back what was held when none came', () => {
    const m = new StopMatcher(['\nUser:', 'END']);
    expect(m.push('Aye\nUs')).toEqual({ text: 'Aye', stopped: false });
    expect(m.push('ed it')).toEqual({ text: '\nUsed it', stopped: false });
    expect(m.push(' E')).toEqual({ text: ' ', stopped: false });
    expect(m.push('NDless')).toEqual({ text: '', stopped: true });
    expect(m.push('more')).toEqual({ text: '', stopped: true });
    const n = new StopMatcher(['\nUser:']);
    expect(n.push('so\nU')).toEqual({ text: 'so', stopped: false });
    expect(n.flush()).toBe('\nU');
    const o = new StopMatcher(['ab', 'b']);
    expect(o.push('xab')).toEqual({ text: 'x', stopped: true }); // the earliest stop wins
  });
});

describe('chat template', () => {
  it('tags each message with its role and leaves an open Assistant line; tools after the system lines', () => {
    const tools = [{ name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: {}, unit: {} } } }];
    expect(renderChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], tools)).toBe('System: Be brief.\nTools: get_weather(city, unit) - Weather in a city\nUser: Hi\nAssistant:');
    const call = { id: 'c1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Nantucket"}' } };
    expect(renderChat([{ role: 'user', content: 'Weather?' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', content: 'fog', tool_call_id: 'c1' }])).toBe(
      'User: Weather?\nAssistant: {"name":"get_weather","arguments":{"city":"Nantucket"}}\nTool: fog\nAssistant:',
    );
    expect(CHAT_STOPS).toContain('\nUser:');
    expect(toolCallSchema(tools)).toEqual({ type: 'object', properties: { name: { const: 'get_weather' }, arguments: tools[0].parameters }, required: ['name', 'arguments'] });
  });
});
