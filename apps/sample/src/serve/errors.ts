/**
 * Errors of `dl serve`, answered in OpenAI's shape `{ error: { message, type, param, code } }`
 * with OpenAI's status codes.
 */

/** OpenAI's error body. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * A request the server answers with an error status.
 *
 *   throw new HttpError(400, 'max_tokens must be an integer >= 1, got -5', { param: 'max_tokens', code: 'invalid_value' });
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  /** extra response headers (Retry-After, WWW-Authenticate) */
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    { type, param = null, code = null, headers = {} }: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.type = type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = param;
    this.code = code;
    this.headers = headers;
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 for a parameter: `param` names it (dotted, as OpenAI: `messages.0.content`). */
export function badParam(param: string, message: string, code = 'invalid_value'): HttpError {
  return new HttpError(400, message, { param, code });
}
