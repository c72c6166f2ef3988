/**
 * HTTP for OpenAI-compatible APIs: JSON requests with a timeout, retries with backoff on 408 / 429
 * / 5xx and connection failures (honouring Retry-After), and typed errors carrying the status and
 * OpenAI's error body.
 */
import { APIError, AbortError, ChainsError, TimeoutError, type OpenAIErrorBody } from '../errors.js';
import { backoffDelay, sleep, type BackoffOptions } from '../runnables/index.js';

/** Where and how to reach an OpenAI-compatible server. */
export interface OpenAIClientOptions {
  /** 'https://api.openai.com/v1': the URL that `/chat/completions` is appended to */
  baseURL?: string;
  /** sent as `Authorization: Bearer <apiKey>`; default: the OPENAI_API_KEY environment variable, if any */
  apiKey?: string;
  /** 60000: ms to wait for the response headers, and for the whole body (or, when streaming, between events) */
  timeout?: number;
  /** 2: retries after the first attempt on 408, 429, 5xx, timeouts and connection failures */
  maxRetries?: number;
  /** { initialMs: 500, factor: 2, maxMs: 8000, jitter: true }: waits between retries without Retry-After */
  retryBackoff?: BackoffOptions;
  /** extra request headers */
  headers?: Record<string, string>;
  /** the fetch to use (default: the global fetch) */
  fetch?: typeof fetch;
}

/** A connection failure (DNS, refused, reset) before any HTTP status. */
export class ConnectionError extends ChainsError {
  override name = 'ConnectionError';
}

const RETRY_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;
const MAX_RETRY_AFTER_MS = 60_000;

/** The wait a response asks for (retry-after-ms, or Retry-After in seconds or as a date), if sane. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const ra = headers.get('retry-after');
  if (ra === null) return undefined;
  const secs = Number(ra);
  const wait = Number.isFinite(secs) && ra.trim() !== '' ? secs * 1000 : Date.parse(ra) - now;
  return Number.isFinite(wait) && wait >= 0 && wait <= MAX_RETRY_AFTER_MS ? wait : undefined;
}

function defaultApiKey(): string | undefined {
  return typeof process !== 'undefined' ? process.env?.OPENAI_API_KEY : undefined;
}

/** OpenAI's error body from a response text, or the text itself as the message. */
function errorBody(text: string): OpenAIErrorBody | undefined {
  if (!text) return undefined;
  try {
    const j = JSON.parse(text) as { error?: OpenAIErrorBody | string; message?: string };
    if (j && typeof j.error === 'object' && j.error) return j.error;
    if (typeof j?.error === 'string') return { message: j.error };
    if (typeof j?.message === 'string') return { message: j.message };
  } catch {
    // not JSON
  }
  return { message: text.slice(0, 500) };
}

/** An open response whose body is read under the request's timeout. */
export interface OpenResponse {
  response: Response;
  /** restarts the timeout (call as body bytes arrive) */
  touch(): void;
  /** stops the timeout */
  done(): void;
  /** the error for a failed body read: TimeoutError, AbortError, or the error itself */
  explain(e: unknown): unknown;
}

/** A client for one server: POST / GET with retries, timeouts and typed errors. */
export class OpenAIClient {
  readonly baseURL: string;
  readonly apiKey?: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly retryBackoff: BackoffOptions;
  readonly headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(opts: OpenAIClientOptions = {}) {
    this.baseURL = (opts.baseURL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    this.apiKey = opts.apiKey ?? defaultApiKey();
    this.timeout = opts.timeout ?? 60_000;
    this.maxRetries = opts.maxRetries ?? 2;
    this.retryBackoff = opts.retryBackoff ?? { initialMs: 500, factor: 2, maxMs: 8000, jitter: true };
    this.headers = opts.headers ?? {};
    this.#fetch = opts.fetch ?? globalThis.fetch;
    if (!(Number.isInteger(this.maxRetries) && this.maxRetries >= 0)) throw new ChainsError('OpenAIClient', `maxRetries must be an integer >= 0, got ${opts.maxRetries}`);
    if (!(this.timeout > 0)) throw new ChainsError('OpenAIClient', `timeout must be > 0 ms, got ${opts.timeout}`);
  }

  /**
   * Sends a request, retrying as configured; resolves once a 2xx response's headers arrive (its
   * body is then read under the same timeout: call `touch` as bytes arrive and `done` at the end).
   */
  async request(op: string, method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<OpenResponse> {
    const url = `${this.baseURL}${path}`;
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream', ...this.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new AbortError(op, signal.reason);
      const timer = new AbortController();
      let handle: ReturnType<typeof setTimeout> | undefined;
      const touch = () => {
        clearTimeout(handle);
        handle = setTimeout(() => timer.abort(new TimeoutError(op, this.timeout)), this.timeout);
      };
      const done = () => clearTimeout(handle);
      const explain = (e: unknown): unknown => (signal?.aborted ? new AbortError(op, signal.reason) : timer.signal.aborted ? new TimeoutError(op, this.timeout, { cause: e }) : e);
      touch();
      let failure: unknown;
      let wait: number | undefined;
      try {
        const response = await this.#fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: signal ? AbortSignal.any([signal, timer.signal]) : timer.signal });
        if (response.ok) return { response, touch, done, explain };
        const text = await response.text().catch(() => '');
        done();
        failure = new APIError(op, response.status, errorBody(text), url, attempt);
        if (!RETRY_STATUS(response.status)) throw failure;
        wait = retryAfterMs(response.headers);
      } catch (e) {
        done();
        if (e instanceof APIError) throw e;
        failure = explain(e);
        if (failure instanceof AbortError) throw failure;
        if (!(failure instanceof TimeoutError) && !(failure instanceof APIError)) {
          failure = new ConnectionError(op, `could not reach ${url}: ${(e as Error)?.message ?? e}${(e as { cause?: { code?: string } })?.cause?.code ? ` (${(e as { cause: { code: string } }).cause.code})` : ''}`, { cause: e });
        }
      }
      if (attempt > this.maxRetries) throw failure;
      await sleep(wait ?? backoffDelay(attempt, this.retryBackoff), signal, op);
    }
  }

  /** POST (or GET without a body) and read a JSON response. */
  async json<T>(op: string, method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const r = await this.request(op, method, path, body, signal);
    try {
      const text = await r.response.text();
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ChainsError(op, `${this.baseURL}${path} answered ${r.response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
      }
    } catch (e) {
      throw r.explain(e);
    } finally {
      r.done();
    }
  }
}
