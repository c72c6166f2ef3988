/**
 * `dl chat`: a terminal chat that streams each reply as it is written, with a model trained here
 * (`--model NAME --checkpoint PATH`: served in-process on a free local port) or with any
 * OpenAI-compatible server (`--base-url URL --model NAME [--api-key KEY]`). Reads one message
 * per line from stdin (a terminal or a pipe) and ends at EOF.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { AIMessage, APIError, ChatOpenAICompatible, HumanMessage, SystemMessage, type BaseMessage } from '@dl/chains';
import { setupDevice, type DeviceName } from '../device.js';
import { intOption, optionHelp } from './command.js';
import { disposeModels, loadServedModel, type ServedModel } from './models.js';
import { startServer, type DlServer } from './server.js';

export const CHAT_OPTIONS = {
  model: { type: 'string', help: 'the model: a name for --checkpoint, or one the server at --base-url serves' },
  checkpoint: { type: 'string', help: 'a gpt-char checkpoint (or run folder) or GPT-2 folder to chat with locally' },
  'base-url': { type: 'string', help: 'an OpenAI-compatible API instead (http://host:port/v1)' },
  'api-key': { type: 'string', help: 'its key (default $OPENAI_API_KEY)' },
  system: { type: 'string', help: 'a system message to start with' },
  'max-tokens': { type: 'string', help: 'longest reply in tokens', default: '200' },
  temperature: { type: 'string', help: 'sampling temperature (0: greedy)', default: '0.8' },
  seed: { type: 'string', help: 'sampling seed (replies repeat)' },
  device: { type: 'string', help: 'cpu or webgpu (--checkpoint)', default: 'cpu' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const;

/**
 * Runs `dl chat`: reads lines from `input`, writes the streamed replies to `output`. When the
 * conversation outgrows the model's context, the oldest turns are dropped (a note on stderr).
 *
 *   await chatCommand(['--model', 'gpt-char', '--checkpoint', 'runs/gpt-char'], process.stdin, process.stdout, console.error);
 */
export async function chatCommand(argv: string[], input: Readable, output: Writable, note: (line: string) => void): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: CHAT_OPTIONS, allowPositionals: false });
  if (v.help) {
    output.write(['usage: dl chat --model NAME --checkpoint PATH | --base-url URL --model NAME [--api-key KEY]', '', ...optionHelp(CHAT_OPTIONS), ''].join('\n'));
    return 0;
  }
  if (!v.model) throw new Error('dl chat needs --model (see dl chat --help)');
  if (!v.checkpoint === !v['base-url']) throw new Error('dl chat needs either --checkpoint PATH (a local model) or --base-url URL (a server)');
  const temperature = Number(v.temperature ?? 0.8);
  if (!(temperature >= 0 && temperature <= 2)) throw new Error(`--temperature must be a number from 0 to 2, got '${v.temperature}'`);
  const fields = { model: v.model, maxTokens: intOption(v['max-tokens'], 'max-tokens', 200), temperature, seed: v.seed !== undefined ? intOption(v.seed, 'seed', 0, 0) : undefined, maxRetries: 0 };

  let server: DlServer | null = null;
  let local: ServedModel | null = null;
  let baseUrl = v['base-url'] ?? '';
  const apiKey = v['api-key'] ?? process.env.OPENAI_API_KEY;
  if (v.checkpoint) {
    const device = (v.device ?? 'cpu') as DeviceName;
    if (device !== 'cpu' && device !== 'webgpu') throw new Error(`--device must be cpu or webgpu, got '${device}'`);
    await setupDevice(device);
    const model = await loadServedModel(v.model, v.checkpoint, device);
    if (model.kind !== 'text') throw new Error(`${v.checkpoint} is an embedding model; dl chat needs a text model`);
    local = model;
    server = await startServer({ models: [model], port: 0, maxBody: 1 << 20, maxConcurrency: 1, maxQueue: 1, maxBatch: 1, maxTokens: 200, maxTokensLimit: 4096 });
    baseUrl = `${server.url}/v1`;
  }
  // @dl/chains' client: the same streaming, errors and retries as any chain pointed at a server
  const llm = new ChatOpenAICompatible({ ...fields, baseURL: baseUrl, apiKey: apiKey ?? 'unused' });
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const history: BaseMessage[] = v.system ? [new SystemMessage(v.system)] : [];
  const rl = createInterface({ input, terminal: false });
  try {
    if (interactive) output.write('> ');
    for await (const line of rl) {
      if (!line.trim()) {
        if (interactive) output.write('> ');
        continue;
      }
      history.push(new HumanMessage(line));
      const reply = await replyWithin(llm, history, (t) => output.write(t), note);
      output.write('\n');
      if (reply !== null) history.push(new AIMessage(reply));
      if (interactive) output.write('> ');
    }
  } finally {
    rl.close();
    await server?.close(0);
    if (local) disposeModels([local]);
  }
  return 0;
}

/** One streamed reply; drops the oldest turns while the server says the context is too long. Null when no reply came. */
async function replyWithin(llm: ChatOpenAICompatible, history: BaseMessage[], write: (t: string) => void, note: (line: string) => void): Promise<string | null> {
  for (;;) {
    let reply = '';
    try {
      for await (const chunk of await llm.stream(history)) {
        reply += chunk.content;
        write(chunk.content);
      }
      return reply;
    } catch (e) {
      const first = history.findIndex((m) => m.getType() !== 'system');
      if (e instanceof APIError && e.error?.code === 'context_length_exceeded' && first >= 0 && first < history.length - 1) {
        history.splice(first, 1);
        note("(dl chat: the conversation is past the model's context; dropped the oldest message)");
        continue;
      }
      note(`dl chat: ${e instanceof APIError ? `${e.status} ${e.error?.message ?? e.message}` : (e as Error).message}`);
      if (history.at(-1)?.getType() === 'human') history.pop();
      return null;
    }
  }
}
