/**
 * Typed schemas built in code (`s.object({ name: s.string() })`, in the spirit of zod): each knows
 * its TypeScript type, writes itself as JSON Schema (for tools and structured output) and parses
 * values with errors naming the field.
 */
import { ChainsError, ValidationError } from '../errors.js';
import { validateJSONSchema, type JSONSchema } from './json-schema.js';

/**
 * A schema of values of type T: `jsonSchema` is its JSON Schema; `parse` checks a value.
 *
 *   const Person = s.object({ name: s.string(), age: s.integer({ minimum: 0 }).optional() });
 *   type Person = Infer<typeof Person>; // { name: string; age?: number }
 *   Person.parse({ name: 'Ahab', age: -1 }); // ValidationError: $.age: must be >= 0, got -1
 */
export class Schema<T> {
  /** type marker only (no value at run time) */
  declare readonly _type: T;

  constructor(
    readonly jsonSchema: JSONSchema,
    readonly isOptional = false,
  ) {}

  /** This schema with a description (models read it). */
  describe(description: string): Schema<T> {
    return new Schema<T>({ ...this.jsonSchema, description }, this.isOptional);
  }

  /** May be left out of an object. */
  optional(): Schema<T | undefined> {
    return new Schema<T | undefined>(this.jsonSchema, true);
  }

  /** May be null. */
  nullable(): Schema<T | null> {
    const t = this.jsonSchema.type;
    const js: JSONSchema = t === undefined ? { anyOf: [this.jsonSchema, { type: 'null' }] } : { ...this.jsonSchema, type: [...(Array.isArray(t) ? t : [t]), 'null'] };
    if (js.enum) js.enum = [...js.enum, null];
    return new Schema<T | null>(js, this.isOptional);
  }

  /** `value` as T, or ValidationError naming the field that failed (`op` names the caller). */
  parse(value: unknown, op = 'Schema.parse'): T {
    if (value === undefined && this.isOptional) return value as T;
    validateJSONSchema(this.jsonSchema, value, op);
    return value as T;
  }

  /** parse without throwing. */
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: ValidationError } {
    try {
      return { success: true, data: this.parse(value) };
    } catch (e) {
      if (e instanceof ValidationError) return { success: false, error: e };
      throw e;
    }
  }

  toJSONSchema(): JSONSchema {
    return this.jsonSchema;
  }
}

/** The TypeScript type of a schema. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Shape = Record<string, Schema<any>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] };
/** The object type of a shape: keys whose schema is optional may be left out. */
export type InferShape<S extends Shape> = Flatten<{ [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }>;

type StringOptions = Pick<JSONSchema, 'minLength' | 'maxLength' | 'pattern' | 'description'>;
type NumberOptions = Pick<JSONSchema, 'minimum' | 'maximum' | 'exclusiveMinimum' | 'exclusiveMaximum' | 'description'>;

/**
 * Schema builders.
 *
 *   const Weather = s.object({
 *     city: s.string().describe('the city'),
 *     unit: s.enum(['celsius', 'fahrenheit']).optional(),
 *     days: s.array(s.integer({ minimum: 1 }), { maxItems: 7 }),
 *   });
 */
export const s = {
  string: (opts: StringOptions = {}): Schema<string> => new Schema({ type: 'string', ...opts }),
  number: (opts: NumberOptions = {}): Schema<number> => new Schema({ type: 'number', ...opts }),
  integer: (opts: NumberOptions = {}): Schema<number> => new Schema({ type: 'integer', ...opts }),
  boolean: (opts: { description?: string } = {}): Schema<boolean> => new Schema({ type: 'boolean', ...opts }),
  /** exactly this value */
  literal: <const V extends string | number | boolean | null>(value: V): Schema<V> => new Schema({ const: value }),
  /** one of these values */
  enum: <const V extends readonly (string | number)[]>(values: V): Schema<V[number]> => {
    if (!values.length) throw new ChainsError('s.enum', 'needs at least one value');
    return new Schema({ type: values.every((v) => typeof v === 'string') ? 'string' : values.every((v) => typeof v === 'number') ? 'number' : undefined, enum: values });
  },
  array: <T>(items: Schema<T>, opts: Pick<JSONSchema, 'minItems' | 'maxItems' | 'description'> = {}): Schema<T[]> => new Schema({ type: 'array', items: items.jsonSchema, ...opts }),
  /** an object of these fields; other fields are refused unless `additionalProperties` */
  object: <S extends Shape>(shape: S, opts: { additionalProperties?: boolean; description?: string } = {}): Schema<InferShape<S>> =>
    new Schema({
      type: 'object',
      ...(opts.description ? { description: opts.description } : {}),
      properties: Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.jsonSchema])),
      required: Object.entries(shape)
        .filter(([, v]) => !v.isOptional)
        .map(([k]) => k),
      additionalProperties: opts.additionalProperties ?? false,
    }),
  /** any of these schemas */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  union: <S extends Schema<any>[]>(...options: S): Schema<Infer<S[number]>> => new Schema({ anyOf: options.map((o) => o.jsonSchema) }),
  /** any value */
  any: (): Schema<unknown> => new Schema({}),
  /** a JSON Schema written by hand (checked with the same validator) */
  fromJSONSchema: <T = unknown>(jsonSchema: JSONSchema): Schema<T> => new Schema<T>(jsonSchema),
};

/** A Schema, or a JSON Schema object. */
export type SchemaLike<T = unknown> = Schema<T> | JSONSchema;

/** A Schema for either form. */
export function toSchema<T>(schema: SchemaLike<T>): Schema<T> {
  return schema instanceof Schema ? schema : new Schema<T>(schema);
}
