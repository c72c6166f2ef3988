/** Message-like values (strings, [role, text] pairs, OpenAI dicts) to messages, and back to text. */
import { InputError } from '../errors.js';
import { AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage, type ToolCall } from './base.js';

/** A role as people write it: LangChain's names or OpenAI's. */
export type MessageRole = 'human' | 'user' | 'ai' | 'assistant' | 'system' | 'tool';

/** What message lists accept: a message, a string (a human message), a [role, text] pair, or an OpenAI-style dict. */
export type BaseMessageLike = BaseMessage | string | [MessageRole, string] | { role: MessageRole; content: string; name?: string; tool_call_id?: string; tool_calls?: ToolCall[] };

/** The message for a role. */
export function messageFromRole(role: string, content: string, extra: { name?: string; toolCallId?: string; toolCalls?: ToolCall[] } = {}, op = 'messageFromRole'): BaseMessage {
  switch (role) {
    case 'human':
    case 'user':
      return new HumanMessage({ content, name: extra.name });
    case 'ai':
    case 'assistant':
      return new AIMessage({ content, name: extra.name, toolCalls: extra.toolCalls });
    case 'system':
      return new SystemMessage({ content, name: extra.name });
    case 'tool':
      if (!extra.toolCallId) throw new InputError(op, 'a tool message needs the id of the tool call it answers (tool_call_id)');
      return new ToolMessage({ content, toolCallId: extra.toolCallId });
    default:
      throw new InputError(op, `unknown message role ${JSON.stringify(role)}: use human/user, ai/assistant, system or tool`);
  }
}

/**
 * A message from anything message-like.
 *
 *   coerceMessageLike(['system', 'Be brief.']); // SystemMessage
 *   coerceMessageLike({ role: 'user', content: 'hi' }); // HumanMessage
 */
export function coerceMessageLike(m: BaseMessageLike, op = 'coerceMessageLike'): BaseMessage {
  if (m instanceof BaseMessage) return m;
  if (typeof m === 'string') return new HumanMessage(m);
  if (Array.isArray(m) && m.length === 2 && typeof m[1] === 'string') return messageFromRole(m[0], m[1], {}, op);
  if (m && typeof m === 'object' && 'role' in m && typeof m.content === 'string') {
    return messageFromRole(m.role, m.content, { name: m.name, toolCallId: m.tool_call_id, toolCalls: m.tool_calls }, op);
  }
  throw new InputError(op, `not a message: ${JSON.stringify(m)?.slice(0, 80)}; give a message, a string, a [role, text] pair or { role, content }`);
}

/**
 * Messages as a transcript, one per line ("Human: ...", "AI: ...").
 *
 *   getBufferString([new HumanMessage('hi'), new AIMessage('hello')]); // 'Human: hi\nAI: hello'
 */
export function getBufferString(messages: readonly BaseMessage[], humanPrefix = 'Human', aiPrefix = 'AI'): string {
  const prefix: Record<string, string> = { human: humanPrefix, ai: aiPrefix, system: 'System', tool: 'Tool' };
  return messages.map((m) => `${prefix[m.getType()]}: ${m.content}`).join('\n');
}

/**
 * A message back from its `toJSON()`.
 *
 *   messageFromJSON(new AIMessage('hi').toJSON()); // AIMessage 'hi'
 */
export function messageFromJSON(json: Record<string, unknown>): BaseMessage {
  const { type, ...fields } = json as { type: string } & Record<string, unknown>;
  const f = fields as never;
  if (type === 'human') return new HumanMessage(f);
  if (type === 'system') return new SystemMessage(f);
  if (type === 'ai') return new AIMessage(f);
  if (type === 'tool') return new ToolMessage(f);
  throw new InputError('messageFromJSON', `unknown message type ${JSON.stringify(type)}`);
}
