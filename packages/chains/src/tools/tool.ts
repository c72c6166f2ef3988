/** Tools: typed functions a model can call, with a schema the model sees as JSON Schema. */
import { ToolError, ValidationError } from '../errors.js';
import { ToolMessage, type ToolCall } from '../messages/index.js';
import { Runnable, type RunContext, type RunnableConfig, type RunType } from '../runnables/index.js';
import { toSchema, type Schema, type SchemaLike } from '../schema/schema.js';

/** True for a model's tool call ({ name, args, id? }), as opposed to bare arguments. */
export function isToolCall(x: unknown): x is ToolCall {
  return typeof x === 'object' && x !== null && typeof (x as ToolCall).name === 'string' && typeof (x as ToolCall).args === 'object' && ((x as ToolCall).type === 'tool_call' || 'id' in x);
}

export interface ToolFields<T> {
  /** what the model calls it: 1-64 letters, digits, _ or - */
  name: string;
  /** what it does, for the model */
  description: string;
  /** its arguments */
  schema: SchemaLike<T>;
}

/**
 * A tool: a function of typed arguments. Invoked with a model's tool call it checks the arguments
 * against the schema and answers a ToolMessage for that call; invoked with bare arguments it
 * answers the function's result. Arguments that do not fit throw ToolError naming the field.
 *
 *   const add = tool(({ a, b }) => a + b, { name: 'add', description: 'adds a and b', schema: s.object({ a: s.number(), b: s.number() }) });
 *   await add.invoke({ a: 1, b: 2 }); // 3
 *   await add.invoke({ id: 'call_1', name: 'add', args: { a: 1, b: 2 }, type: 'tool_call' }); // ToolMessage '3'
 */
export class StructuredTool<T = unknown, R = unknown> extends Runnable<T | ToolCall, R | ToolMessage> {
  protected override runType: RunType = 'tool';
  declare name: string;
  readonly description: string;
  readonly schema: Schema<T>;

  constructor(
    fields: ToolFields<T>,
    readonly func: (args: T, config: RunnableConfig) => R | Promise<R>,
  ) {
    super();
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(fields.name ?? '')) throw new ToolError('tool', `a tool name must be 1-64 letters, digits, _ or -, got ${JSON.stringify(fields.name)}`, String(fields.name));
    this.name = fields.name;
    this.description = fields.description;
    this.schema = toSchema(fields.schema);
  }

  override getName(): string {
    return this.name;
  }

  /** The arguments, checked. */
  parseArgs(args: unknown): T {
    const op = `tool "${this.name}"`;
    try {
      return this.schema.parse(args, op);
    } catch (e) {
      if (e instanceof ValidationError) throw new ToolError(op, `the arguments do not fit the schema: ${e.path}: ${e.issue}`, this.name, { cause: e });
      throw e;
    }
  }

  protected override async _invoke(input: T | ToolCall, config: RunnableConfig, _run: RunContext): Promise<R | ToolMessage> {
    if (!isToolCall(input)) return this.func(this.parseArgs(input), config);
    const result = await this.func(this.parseArgs(input.args), config);
    return new ToolMessage({ content: typeof result === 'string' ? result : JSON.stringify(result) ?? '', toolCallId: input.id ?? '', name: this.name, artifact: typeof result === 'string' ? undefined : result });
  }
}

/**
 * A tool from a function and its schema.
 *
 *   const weather = tool(async ({ city }) => `sunny in ${city}`, {
 *     name: 'weather', description: 'the weather in a city', schema: s.object({ city: s.string() }),
 *   });
 */
export function tool<T, R>(func: (args: T, config: RunnableConfig) => R | Promise<R>, fields: ToolFields<T>): StructuredTool<T, R> {
  return new StructuredTool<T, R>(fields, func);
}
