/** `dl serve`: the command line of the OpenAI-compatible server. */
import { parseArgs } from 'node:util';
import { setupDevice, type DeviceName } from '../device.js';
import { disposeModels, loadServedModel, parseModelSpec, type ServedModel } from './models.js';
import { startServer, type DlServer } from './server.js';

/** Options of `dl serve`, as `dl --help` lists them. */
export const SERVE_OPTIONS = {
  model: { type: 'string', multiple: true, help: 'NAME=PATH, repeatable: a gpt-char checkpoint (or run folder), a GPT-2 folder, or a BERT folder (embeddings)' },
  port: { type: 'string', help: 'port to listen on (0: any free port)', default: '8000' },
  host: { type: 'string', help: 'address to listen on', default: '127.0.0.1' },
  'api-key': { type: 'string', help: 'require Authorization: Bearer KEY (default $DL_API_KEY, else none)' },
  'max-body': { type: 'string', help: 'largest request body in bytes (413 beyond)', default: String(1 << 20) },
  'max-concurrency': { type: 'string', help: 'sequences decoding at once, over all requests', default: '32' },
  'max-queue': { type: 'string', help: 'requests waiting beyond those (429 beyond)', default: '64' },
  'max-batch': { type: 'string', help: 'sequences in one forward pass', default: '16' },
  'batch-window': { type: 'string', help: 'ms a request waits for others of its prompt length to share its batch', default: '5' },
  'max-tokens': { type: 'string', help: 'max_tokens when a request gives none', default: '256' },
  'max-tokens-limit': { type: 'string', help: 'the most max_tokens a request may ask for', default: '4096' },
  'shutdown-grace': { type: 'string', help: 'seconds running requests get to finish on SIGINT/SIGTERM', default: '10' },
  device: { type: 'string', help: 'cpu or webgpu', default: 'cpu' },
  quiet: { type: 'boolean', help: 'no line per request' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const;

/** `--name` as an integer >= lo. */
export function intOption(v: string | undefined, name: string, fallback: number, lo = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo) throw new Error(`--${name} must be an integer >= ${lo}, got '${v}'`);
  return n;
}

/** Help lines for an option table. */
export function optionHelp(options: Record<string, { type: string; help: string; default?: string }>): string[] {
  return Object.entries(options).map(([name, o]) => `    --${name}${o.type === 'string' ? ' X' : ''}`.padEnd(28) + o.help + (o.default !== undefined ? ` (default ${o.default})` : ''));
}

/**
 * Runs `dl serve [options]` until SIGINT or SIGTERM: loads the models, serves them, and on the
 * signal stops accepting, lets running requests finish (--shutdown-grace), frees the models
 * and resolves. A second signal exits at once.
 *
 *   await serveCommand(['--model', 'gpt=runs/gpt-char', '--port', '8000'], console.log);
 */
export async function serveCommand(argv: string[], log: (line: string) => void, onListening?: (srv: DlServer) => void): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: SERVE_OPTIONS, allowPositionals: false });
  if (v.help) {
    log(['usage: dl serve --model NAME=PATH [--model NAME=PATH ...] [options]', '', ...optionHelp(SERVE_OPTIONS)].join('\n'));
    return 0;
  }
  const specs = (v.model ?? []).map(parseModelSpec);
  if (!specs.length) throw new Error('dl serve needs at least one --model NAME=PATH (see dl serve --help)');
  const device = (v.device ?? 'cpu') as DeviceName;
  if (device !== 'cpu' && device !== 'webgpu') throw new Error(`--device must be cpu or webgpu, got '${device}'`);
  log(`device: ${await setupDevice(device)}`);
  const models: ServedModel[] = [];
  for (const { name, path } of specs) {
    const m = await loadServedModel(name, path, device);
    models.push(m);
    log(`model ${name}: ${m.kind === 'text' ? `GPT, ${m.model.getNumParams().toLocaleString('en-US')} parameters, context ${m.model.config.blockSize}, vocabulary ${m.tokenizer.vocabSize}` : `BERT embeddings, ${m.model.config.hiddenSize} dimensions`} (${path})`);
  }
  const grace = intOption(v['shutdown-grace'], 'shutdown-grace', 10, 0) * 1000;
  const srv = await startServer({
    models,
    host: v.host ?? '127.0.0.1',
    port: intOption(v.port, 'port', 8000, 0),
    apiKey: v['api-key'] ?? process.env.DL_API_KEY ?? undefined,
    maxBody: intOption(v['max-body'], 'max-body', 1 << 20),
    maxConcurrency: intOption(v['max-concurrency'], 'max-concurrency', 32),
    maxQueue: intOption(v['max-queue'], 'max-queue', 64, 0),
    maxBatch: intOption(v['max-batch'], 'max-batch', 16),
    batchWindowMs: intOption(v['batch-window'], 'batch-window', 5, 0),
    maxTokens: intOption(v['max-tokens'], 'max-tokens', 256),
    maxTokensLimit: intOption(v['max-tokens-limit'], 'max-tokens-limit', 4096),
    log: v.quiet ? undefined : log,
  });
  log(`listening on ${srv.url} (OpenAI API under /v1; GET /health)`);
  onListening?.(srv);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143); // a second signal: now
      stopping = true;
      log(`${signal}: no new requests; finishing the running ones (up to ${grace / 1000} s)`);
      srv.close(grace).then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  disposeModels(models);
  log('server closed');
  return 0;
}
