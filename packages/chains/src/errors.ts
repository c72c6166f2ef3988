/**
 * Typed errors of @dl/chains. Each names the component (`op`) that failed and what was wrong, so a
 * failure deep inside a chain still says where it came from.
 */

/**
 * Base class of every @dl/chains error: `op` is the component that threw (`PromptTemplate.format`,
 * `ChatOpenAICompatible.invoke`, ...).
 *
 *   try { await chain.invoke(input); } catch (e) { if (e instanceof ChainsError) console.error(e.op); }
 */
export class ChainsError extends Error {
  override name = 'ChainsError';
  constructor(
    readonly op: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${op}: ${detail}`, options);
  }
}

/** A prompt or runnable got input without a variable it needs (`variable`), or of the wrong kind. */
export class InputError extends ChainsError {
  override name = 'InputError';
  constructor(
    op: string,
    detail: string,
    readonly variable?: string,
  ) {
    super(op, detail);
  }
}

/** A value did not match a schema: `path` is the field (`$.items[2].name`) that failed. */
export class ValidationError extends ChainsError {
  override name = 'ValidationError';
  constructor(
    op: string,
    readonly path: string,
    readonly issue: string,
  ) {
    super(op, `${path}: ${issue}`);
  }
}

/** A model's output could not be parsed; `output` is the text that was given. */
export class OutputParserError extends ChainsError {
  override name = 'OutputParserError';
  constructor(
    op: string,
    detail: string,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super(op, detail, options);
  }
}

/** The body of an OpenAI-style error response (`{ error: { message, type, param, code } }`). */
export interface OpenAIErrorBody {
  message: string;
  type?: string | null;
  param?: string | null;
  code?: string | number | null;
}

/**
 * An HTTP API answered with an error status. `status` is the HTTP status and `error` the
 * OpenAI-shaped error body when the server sent one.
 *
 *   catch (e) { if (e instanceof APIError && e.status === 404) console.error(e.error?.message); }
 */
export class APIError extends ChainsError {
  override name = 'APIError';
  constructor(
    op: string,
    readonly status: number,
    readonly error: OpenAIErrorBody | undefined,
    readonly url: string,
    readonly attempts = 1,
  ) {
    super(op, `${url} answered ${status}${error ? `: ${error.message}${error.type ? ` (${error.type})` : ''}` : ''}${attempts > 1 ? ` after ${attempts} attempts` : ''}`);
  }
}

/** A call took longer than its timeout (`timeoutMs`). */
export class TimeoutError extends ChainsError {
  override name = 'TimeoutError';
  constructor(
    op: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(op, `timed out after ${timeoutMs} ms`, options);
  }
}

/** The caller's AbortSignal fired; `reason` is the signal's reason. */
export class AbortError extends ChainsError {
  override name = 'AbortError';
  constructor(
    op: string,
    readonly reason?: unknown,
  ) {
    super(op, `aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`);
  }
}

/** A tool call could not be carried out (unknown tool, arguments that do not parse or validate). */
export class ToolError extends ChainsError {
  override name = 'ToolError';
  constructor(
    op: string,
    detail: string,
    readonly toolName: string,
    options?: { cause?: unknown },
  ) {
    super(op, detail, options);
  }
}
