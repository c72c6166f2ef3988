/**
 * How `dl serve` turns chat messages into a prompt for a model trained here (a character GPT or a
 * GPT-2 folder), which know no chat format of their own: one line per message tagged with its
 * role, the tools (if any) as one `Tools:` line after the first system lines, and an open `Assistant:` line
 * for the reply. The reply ends at the next role tag (CHAT_STOPS), a stop sequence, an end token
 * or max_tokens.
 *
 *   System: You are a sailor.
 *   User: Where is the whale?
 *   Assistant: Thar she blows!
 *   User: Which way?
 *   Assistant:
 */

/** A message as OpenAI's chat API takes it (content parts are joined text). */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ToolSpec {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

const TAGS: Record<ChatMessage['role'], string> = { system: 'System', developer: 'System', user: 'User', assistant: 'Assistant', tool: 'Tool' };

/** Where a reply ends: the model starting the next message. */
export const CHAT_STOPS: readonly string[] = ['\nUser:', '\nSystem:', '\nAssistant:', '\nTool:'];

/**
 * The prompt of a conversation: `Role: content` lines (a tool result as `Tool: content`, an
 * assistant's tool call as the JSON `{"name":...,"arguments":...}` it would write), then
 * `Assistant:`. With tools, a `Tools: name(param, ...) - description; ...` line comes after
 * the leading system messages.
 *
 *   renderChat([{ role: 'user', content: 'hi' }]); // 'User: hi\nAssistant:'
 */
export function renderChat(messages: readonly ChatMessage[], tools: readonly ToolSpec[] = []): string {
  const lines: string[] = [];
  let toolsAt = messages.findIndex((m) => m.role !== 'system' && m.role !== 'developer');
  if (toolsAt < 0) toolsAt = messages.length;
  messages.forEach((m, i) => {
    if (i === toolsAt && tools.length) lines.push(toolsLine(tools));
    lines.push(`${TAGS[m.role]}: ${messageText(m)}`);
  });
  if (toolsAt === messages.length && tools.length) lines.push(toolsLine(tools));
  lines.push('Assistant:');
  return lines.join('\n');
}

/** `Tools: get_weather(city, unit) - Weather in a city; get_time(zone)`: short, for small contexts (the schema itself is enforced by decoding). */
function toolsLine(tools: readonly ToolSpec[]): string {
  const params = (t: ToolSpec) => Object.keys((t.parameters.properties as Record<string, unknown> | undefined) ?? {}).join(', ');
  return `Tools: ${tools.map((t) => `${t.name}(${params(t)})${t.description ? ` - ${t.description}` : ''}`).join('; ')}`;
}

function messageText(m: ChatMessage): string {
  const calls = (m.tool_calls ?? []).map((c) => `{"name":${JSON.stringify(c.function.name)},"arguments":${c.function.arguments || '{}'}}`);
  return [m.content ?? '', ...calls].filter((s) => s !== '').join(' ');
}

/** The JSON schema a tool call is decoded against: `{"name": one of the tools, "arguments": its parameters}`. */
export function toolCallSchema(tools: readonly ToolSpec[]): Record<string, unknown> {
  const one = (t: ToolSpec) => ({ type: 'object', properties: { name: { const: t.name }, arguments: t.parameters }, required: ['name', 'arguments'] });
  return tools.length === 1 ? one(tools[0]) : { anyOf: tools.map(one) };
}
