/**
 * A real HTTP server on localhost for the client tests: each test scripts the answers, and the
 * server records every request it got (method, path, headers, JSON body) and connections that the
 * client closed early.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
}

export type Handler = (req: RecordedRequest, res: ServerResponse, n: number) => void | Promise<void>;

export interface TestServer {
  baseURL: string;
  requests: RecordedRequest[];
  /** requests whose client went away before the response ended */
  closedEarly: number;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 at a free port; `handler` answers request number n (0-based). */
export async function startTestServer(handler: Handler): Promise<TestServer> {
  const state = { requests: [] as RecordedRequest[], closedEarly: 0 };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined };
      const n = state.requests.push(rec) - 1;
      res.on('close', () => {
        if (!res.writableFinished) state.closedEarly++;
      });
      Promise.resolve(handler(rec, res, n)).catch((e) => {
        if (!res.headersSent) res.writeHead(599);
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests: state.requests,
    get closedEarly() {
      return state.closedEarly;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON response. */
export function sendJSON(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Writes server-sent events, each `data:` event in its own write after `delayMs`; then [DONE]. */
export async function sendSSE(res: ServerResponse, events: unknown[], delayMs = 0): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) {
    if (res.destroyed) return;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    res.write(`data: ${JSON.stringify(e)}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}

/** A chat.completion.chunk with a content delta (and optional tool-call deltas). */
export function delta(content: string | null, extra: { tool_calls?: unknown[]; finish_reason?: string } = {}): unknown {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'test', choices: [{ index: 0, delta: { ...(content !== null ? { content } : {}), ...(extra.tool_calls ? { tool_calls: extra.tool_calls } : {}) }, finish_reason: extra.finish_reason ?? null }] };
}

/** A whole chat.completion. */
export function completion(content: string | null, extra: { tool_calls?: unknown[]; finish_reason?: string; usage?: unknown } = {}): unknown {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: 'test',
    choices: [{ index: 0, message: { role: 'assistant', content, ...(extra.tool_calls ? { tool_calls: extra.tool_calls } : {}) }, finish_reason: extra.finish_reason ?? 'stop' }],
    usage: extra.usage ?? { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  };
}
