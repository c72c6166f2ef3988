import { describe, expect, it } from 'vitest';
import { ChainsError, ToolError } from '../errors.js';
import { AIMessage, ToolMessage, type BaseMessage } from '../messages/index.js';
import { FakeListChatModel } from '../models/fake.js';
import { ChatPromptTemplate, MessagesPlaceholder } from '../prompts/index.js';
import type { CallbackHandler } from '../runnables/index.js';
import { s } from '../schema/schema.js';
import { AgentExecutor, createToolCallingAgent } from './agent.js';
import { tool } from './tool.js';

const add = tool(({ a, b }: { a: number; b: number }) => a + b, { name: 'add', description: 'adds a and b', schema: s.object({ a: s.number(), b: s.number() }) });
const mul = tool(({ a, b }: { a: number; b: number }) => a * b, { name: 'multiply', description: 'multiplies a and b', schema: s.object({ a: s.number(), b: s.number() }) });
const call = (name: string, args: Record<string, unknown>, id: string) => ({ id, name, args });
const prompt = ChatPromptTemplate.fromMessages([['system', 'You do arithmetic with tools.'], ['human', '{input}'], new MessagesPlaceholder('agent_scratchpad')]);

describe('tool', () => {
  it('runs on arguments or a tool call; bad arguments throw ToolError naming the field', async () => {
    expect(await add.invoke({ a: 1, b: 2 })).toBe(3);
    const msg = (await add.invoke({ ...call('add', { a: 1, b: 2 }, 'c1'), type: 'tool_call' })) as ToolMessage;
    expect(msg).toBeInstanceOf(ToolMessage);
    expect([msg.content, msg.toolCallId, msg.artifact]).toEqual(['3', 'c1', 3]);
    const err = await add.invoke({ a: 1, b: 'two' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message).toBe('tool "add": the arguments do not fit the schema: $.b: expected number, got string "two"');
    expect(() => tool(() => 1, { name: 'bad name', description: '', schema: s.object({}) })).toThrow(/1-64 letters/);
  });

  it('reports to the tool callbacks', async () => {
    const seen: string[] = [];
    const cb: CallbackHandler = { onToolStart: (r, input) => void seen.push(`start ${r.name} ${JSON.stringify(input)}`), onToolEnd: (r, out) => void seen.push(`end ${r.name} ${out}`) };
    await mul.invoke({ a: 2, b: 3 }, { callbacks: [cb] });
    expect(seen).toEqual(['start multiply {"a":2,"b":3}', 'end multiply 6']);
  });
});

describe('AgentExecutor', () => {
  it('calls tools until the model answers, showing it each result', async () => {
    const model = new FakeListChatModel({
      responses: [
        new AIMessage({ content: '', toolCalls: [call('add', { a: 4, b: 5 }, 'c1')] }),
        new AIMessage({ content: '', toolCalls: [call('multiply', { a: 3, b: 9 }, 'c2'), call('add', { a: 0, b: 0 }, 'c3')] }),
        'The answer is 27.',
      ],
    });
    const agent = createToolCallingAgent({ llm: model, tools: [add, mul], prompt });
    const out = await new AgentExecutor({ agent, tools: [add, mul], returnIntermediateSteps: true }).invoke({ input: 'What is 3 * (4 + 5)?' });
    expect(out.output).toBe('The answer is 27.');
    expect(out.intermediateSteps!.map((s) => [s.action.name, s.observation])).toEqual([
      ['add', '9'],
      ['multiply', '27'],
      ['add', '0'],
    ]);
    // the last call saw: system, human, then each AI tool call followed by its results
    const last = model.calls[2].messages;
    expect(last.map((m: BaseMessage) => m.getType())).toEqual(['system', 'human', 'ai', 'tool', 'ai', 'tool', 'tool']);
    expect((last[5] as ToolMessage).toolCallId).toBe('c2');
    // the tools were bound for the model
    expect(model.calls[0].options.tools?.map((t) => t.function.name)).toEqual(['add', 'multiply']);
  });

  it('tells the model about unknown tools and bad arguments instead of failing', async () => {
    const model = new FakeListChatModel({
      responses: [new AIMessage({ content: '', toolCalls: [call('divide', { a: 1 }, 'c1'), call('add', { a: 1 }, 'c2')] }), 'gave up'],
    });
    const out = await new AgentExecutor({ agent: createToolCallingAgent({ llm: model, tools: [add], prompt }), tools: [add], returnIntermediateSteps: true }).invoke({ input: 'x' });
    expect(out.intermediateSteps!.map((s) => s.observation)).toEqual(['Error: divide is not a valid tool, try one of [add].', 'Error: tool "add": the arguments do not fit the schema: $.b: required field missing']);
  });

  it('stops at maxIterations: a fixed output, or an error', async () => {
    const loop = () => new FakeListChatModel({ responses: [new AIMessage({ content: '', toolCalls: [call('add', { a: 1, b: 1 }, 'c')] })] });
    const m1 = loop();
    const out = await new AgentExecutor({ agent: createToolCallingAgent({ llm: m1, tools: [add], prompt }), tools: [add], maxIterations: 3 }).invoke({ input: 'x' });
    expect(out.output).toBe('Agent stopped due to max iterations.');
    expect(m1.calls).toHaveLength(3);
    const strict = new AgentExecutor({ agent: createToolCallingAgent({ llm: loop(), tools: [add], prompt }), tools: [add], maxIterations: 2, earlyStoppingMethod: 'error' });
    await expect(strict.invoke({ input: 'x' })).rejects.toThrow(new ChainsError('AgentExecutor', 'no final answer after maxIterations (2) model calls; the last asked for add'));
  });

  it('needs the agent_scratchpad placeholder', () => {
    expect(() => createToolCallingAgent({ llm: new FakeListChatModel({ responses: ['x'] }), tools: [add], prompt: ChatPromptTemplate.fromTemplate('{input}') })).toThrow(/MessagesPlaceholder\('agent_scratchpad'\)/);
  });
});
