/**
 * The HTTP side of `dl serve` (node:http, no framework): routing, the API key, body size limit,
 * JSON parsing, OpenAI-shaped errors, client disconnects and graceful shutdown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { memory } from '@dl/tensor';
import { embeddings, listModels, modelInfo } from './embeddings.js';
import { Engine, type EngineOptions } from './engine.js';
import { HttpError } from './errors.js';
import { chatCompletions, completions, type ServerContext } from './generate.js';
import type { ServedModel } from './models.js';

export interface ServeOptions extends EngineOptions {
  models: readonly ServedModel[];
  /** 127.0.0.1 */
  host?: string;
  /** 0 picks a free port */
  port?: number;
  /** when set, every request needs `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  /** largest request body in bytes */
  maxBody: number;
  /** max_tokens when a request gives none */
  maxTokens: number;
  /** the most max_tokens a request may ask for */
  maxTokensLimit: number;
  /** one line per request (method, path, status, ms) */
  log?: (line: string) => void;
}

/** A running server. */
export interface DlServer {
  /** http://host:port */
  url: string;
  port: number;
  engine: Engine;
  server: Server;
  /**
   * Stops accepting connections, refuses queued requests (503), lets running generations finish
   * for `graceMs`, then stops the rest (their streams end), and resolves when all is closed.
   */
  close(graceMs?: number): Promise<void>;
}

type Handler = (ctx: ServerContext, body: unknown, res: ServerResponse, signal: AbortSignal) => Promise<unknown> | unknown;

const POST: Record<string, Handler> = {
  '/v1/chat/completions': chatCompletions,
  '/v1/completions': completions,
  '/v1/embeddings': (ctx, body) => embeddings(ctx, body),
};

/**
 * Starts an OpenAI-compatible server over `models`.
 *
 *   const srv = await startServer({ models: [await loadServedModel('gpt', 'runs/gpt-char', 'cpu')], port: 8000, maxBody: 1 << 20, maxConcurrency: 32, maxQueue: 64, maxBatch: 16, maxTokens: 256, maxTokensLimit: 4096 });
 *   // curl http://127.0.0.1:8000/v1/models
 *   await srv.close();
 */
export async function startServer(o: ServeOptions): Promise<DlServer> {
  const engine = new Engine({ maxConcurrency: o.maxConcurrency, maxQueue: o.maxQueue, maxBatch: o.maxBatch, batchWindowMs: o.batchWindowMs });
  const models = new Map(o.models.map((m) => [m.name, m]));
  if (models.size !== o.models.length) throw new Error(`two models share a name: ${o.models.map((m) => m.name).join(', ')}`);
  const ctx: ServerContext = { models, engine, maxTokens: o.maxTokens, maxTokensLimit: o.maxTokensLimit };
  const inFlight = new Set<AbortController>();
  let closing = false;

  const server = createServer((req, res) => {
    const t0 = performance.now();
    const abort = new AbortController();
    inFlight.add(abort);
    // the client went away before the answer was sent: stop its generation
    res.on('close', () => {
      inFlight.delete(abort);
      if (!res.writableFinished) abort.abort();
      o.log?.(`${req.method} ${req.url} ${res.statusCode}${res.writableFinished ? '' : ' (client gone)'} ${(performance.now() - t0).toFixed(0)} ms`);
    });
    handle(req, res, abort.signal).catch((e: unknown) => sendError(res, e));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors({ 'access-control-max-age': '600' })).end();
    if (closing) throw new HttpError(503, 'the server is shutting down', { code: 'server_shutting_down' });
    if (o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`) {
      await drain(req);
      throw new HttpError(401, req.headers.authorization ? 'Incorrect API key provided.' : "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.", { code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer' } });
    }
    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, listModels(ctx));
    if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      let name: string;
      try {
        name = decodeURIComponent(path.slice('/v1/models/'.length));
      } catch {
        throw new HttpError(400, `the model id in ${path} is not valid percent-encoding`, { param: 'model', code: 'invalid_value' });
      }
      const m = models.get(name);
      if (!m) throw new HttpError(404, `The model '${name}' does not exist`, { param: 'model', code: 'model_not_found' });
      return sendJson(res, 200, modelInfo(m));
    }
    if (req.method === 'GET' && path === '/health') return sendJson(res, 200, await health(engine, new URL(req.url ?? '/', 'http://x').searchParams.has('gc')));
    const handler = POST[path];
    if (!handler) {
      await drain(req);
      throw new HttpError(404, `Invalid URL (${req.method} ${path})`, { code: 'unknown_url' });
    }
    if (req.method !== 'POST') throw new HttpError(405, `${path} takes POST, not ${req.method}`, { code: 'method_not_allowed', headers: { allow: 'POST' } });
    const body = await readJson(req, o.maxBody);
    const out = await handler(ctx, body, res, signal);
    if (out !== undefined) sendJson(res, 200, out);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  let closed: Promise<void> | null = null;
  const close = (graceMs = 10_000) =>
    (closed ??= (async () => {
      closing = true;
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const timer = setTimeout(() => inFlight.forEach((a) => a.abort()), graceMs);
      await engine.close();
      clearTimeout(timer);
      server.closeAllConnections();
      await stopped;
    })());

  return { url, port, engine, server, close };
}

function cors(headers: Record<string, string> = {}): Record<string, string> {
  return { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'authorization, content-type', 'access-control-allow-methods': 'GET, POST, OPTIONS', ...headers };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, cors({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }));
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof HttpError ? e : new HttpError(500, `internal error: ${(e as Error)?.message ?? String(e)}`, { code: 'internal_error' });
  if (res.headersSent) {
    // a stream already under way: the error goes as its last event
    if (!res.writableEnded) res.end(`data: ${JSON.stringify(err.toBody())}\n\ndata: [DONE]\n\n`);
    return;
  }
  if (res.destroyed) return;
  sendJson(res, err.status, err.toBody(), err.headers);
}

/** Bodies past maxBody are read and dropped up to this size (so the client gets its 413), then the connection is cut. */
const DISCARD_LIMIT = 64 << 20;

/** Reads the body as JSON: 413 past `maxBody` bytes (by Content-Length or as it arrives), 400 when it does not parse. */
async function readJson(req: IncomingMessage, maxBody: number): Promise<unknown> {
  const tooLarge = (n: string) => new HttpError(413, `the request body (${n} bytes) is larger than this server takes (${maxBody} bytes, --max-body)`, { code: 'request_too_large', headers: { connection: 'close' } });
  const declared = Number(req.headers['content-length']);
  if (declared > maxBody) {
    if (declared <= DISCARD_LIMIT) await drain(req);
    throw tooLarge(String(declared));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > DISCARD_LIMIT) req.destroy();
    else if (size <= maxBody) chunks.push(c);
  }
  if (size > maxBody) throw tooLarge(String(size));
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `We could not parse the JSON body of your request. (${(e as Error).message})`, { code: 'invalid_json' });
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  req.resume();
  if (!req.readableEnded) await new Promise((r) => req.once('end', r).once('error', r).once('close', r));
}

/**
 * GET /health: the queue, the process memory and the live tensors (for leak checks). With `?gc`
 * and node --expose-gc, garbage is collected first, so tensors that were never disposed but are
 * unreachable (freed by the finalizer) no longer count.
 */
async function health(engine: Engine, collect: boolean): Promise<unknown> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect && gc) {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10)); // finalizers run after the collection
    }
  }
  const mem = process.memoryUsage();
  const t = memory();
  return { status: 'ok', engine: engine.getStats(), memory: { rss: mem.rss, heapUsed: mem.heapUsed, arrayBuffers: mem.arrayBuffers, tensors: t.tensors, tensorBytes: t.bytes } };
}
