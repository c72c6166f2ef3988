/** JsonOutputParser and StructuredOutputParser. */
import { OutputParserError, ValidationError } from '../errors.js';
import { s, toSchema, type Schema, type SchemaLike } from '../schema/schema.js';
import { extractJsonText, parsePartialJson } from '../utils/json.js';
import { BaseCumulativeTransformOutputParser } from './base.js';

/**
 * JSON from a model's answer: inside ```json fences or after a sentence is fine. Its stream yields
 * the partial value each time it grows (`{}`, `{ name: 'Ah' }`, `{ name: 'Ahab' }`, ...), so
 * chunks are cumulative, not pieces.
 *
 *   await new JsonOutputParser().parse('```json\n{"a": 1}\n```'); // { a: 1 }
 */
export class JsonOutputParser<T = unknown> extends BaseCumulativeTransformOutputParser<T> {
  async parse(text: string): Promise<T> {
    const body = extractJsonText(text);
    try {
      return JSON.parse(body) as T;
    } catch (e) {
      throw new OutputParserError(`${this.getName()}.parse`, `the model's answer is not valid JSON (${(e as Error).message}): ${JSON.stringify(text.slice(0, 200))}`, text, { cause: e });
    }
  }

  protected parsePartial(text: string): T | undefined {
    const body = extractJsonText(text);
    return body ? (parsePartialJson(body) as T | undefined) : undefined;
  }

  override getFormatInstructions(): string {
    return 'Return a JSON value only (no other text).';
  }
}

/**
 * JSON checked against a schema: a field that does not fit throws OutputParserError whose
 * message (and `cause`, a ValidationError) names the field's path. Streams partial values like
 * JsonOutputParser; the whole value is checked at the end.
 *
 *   const parser = StructuredOutputParser.fromSchema(s.object({ answer: s.string(), confidence: s.number() }));
 *   const prompt = PromptTemplate.fromTemplate('{question}\n{format}', { partialVariables: { format: parser.getFormatInstructions() } });
 */
export class StructuredOutputParser<T> extends JsonOutputParser<T> {
  readonly schema: Schema<T>;

  constructor(schema: SchemaLike<T>) {
    super();
    this.schema = toSchema(schema);
  }

  static fromSchema<T>(schema: SchemaLike<T>): StructuredOutputParser<T> {
    return new StructuredOutputParser(schema);
  }

  /**
   * An object of string fields, each described.
   *
   *   StructuredOutputParser.fromNamesAndDescriptions({ answer: 'the answer', source: 'where it is from' });
   */
  static fromNamesAndDescriptions<K extends string>(fields: Record<K, string>): StructuredOutputParser<Record<K, string>> {
    const shape = Object.fromEntries(Object.entries(fields).map(([k, d]) => [k, s.string().describe(d as string)]));
    return new StructuredOutputParser(s.object(shape) as unknown as Schema<Record<K, string>>);
  }

  override async parse(text: string): Promise<T> {
    const value = await super.parse(text);
    const op = `${this.getName()}.parse`;
    try {
      return this.schema.parse(value, op);
    } catch (e) {
      if (e instanceof ValidationError) throw new OutputParserError(op, `the model's JSON does not fit the schema: ${e.path}: ${e.issue}`, text, { cause: e });
      throw e;
    }
  }

  override getFormatInstructions(): string {
    return [
      'Answer with a JSON value that conforms to this JSON Schema, and nothing else:',
      '```json',
      JSON.stringify(this.schema.toJSONSchema()),
      '```',
      'For example, the schema {"type":"object","properties":{"foo":{"type":"array","items":{"type":"string"}}},"required":["foo"]} is met by {"foo": ["bar", "baz"]}, not by {"properties": {"foo": ["bar", "baz"]}}.',
    ].join('\n');
  }
}
