/**
 * Checking values against a JSON Schema (the subset tools and structured output use: type, enum,
 * const, properties / required / additionalProperties, items, anyOf / oneOf, bounds on numbers,
 * strings and arrays, pattern). Errors name the path of the field that failed (`$.items[2].name`).
 */
import { ChainsError, ValidationError } from '../errors.js';

export type JSONSchemaType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/**
 * The JSON Schema keywords this package reads and writes: the `s` builders write them,
 * validateJSONSchema checks them (all but `$ref`, `$defs` and `nullable`), and constrained decoding
 * (`compileJsonSchema`) enforces them but for number bounds and `pattern`, which it refuses.
 */
export interface JSONSchema {
  type?: JSONSchemaType | JSONSchemaType[];
  description?: string;
  title?: string;
  enum?: readonly unknown[];
  const?: unknown;
  properties?: Record<string, JSONSchema>;
  required?: readonly string[];
  additionalProperties?: boolean | JSONSchema;
  items?: JSONSchema;
  anyOf?: readonly JSONSchema[];
  oneOf?: readonly JSONSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  /** a local reference, `#/$defs/NAME` or `#/definitions/NAME` (followed by constrained decoding, `compileJsonSchema`) */
  $ref?: string;
  $defs?: Record<string, JSONSchema>;
  definitions?: Record<string, JSONSchema>;
  /** OpenAPI's shorthand for "or null" (read by constrained decoding) */
  nullable?: boolean;
}

const KNOWN = new Set(['type', 'description', 'title', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'anyOf', 'oneOf', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'default', '$schema', 'examples', 'format']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function matchesType(t: JSONSchemaType, v: unknown): boolean {
  const actual = typeOf(v);
  return t === actual || (t === 'number' && actual === 'integer');
}

/**
 * Throws ValidationError (op, path, what was wrong) at the first place `value` breaks `schema`.
 *
 *   validateJSONSchema({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, { n: 1.5 }, 'parse');
 *   // ValidationError: parse: $.n: expected integer, got 1.5
 */
export function validateJSONSchema(schema: JSONSchema, value: unknown, op: string, path = '$'): void {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new ChainsError(op, `schema keyword "${k}" at ${path} is not supported (supported: ${[...KNOWN].join(', ')})`);
  const fail = (issue: string): never => {
    throw new ValidationError(op, path, issue);
  };
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => matchesType(t, value))) fail(value === undefined ? 'required field missing' : `expected ${types.join(' or ')}, got ${typeOf(value) === 'integer' ? 'number' : typeOf(value)} ${show(value)}`);
  }
  if (schema.const !== undefined && JSON.stringify(value) !== JSON.stringify(schema.const)) fail(`expected ${show(schema.const)}, got ${show(value)}`);
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) fail(`expected one of ${schema.enum.map(show).join(', ')}, got ${show(value)}`);
  const options = schema.anyOf ?? schema.oneOf;
  if (options) {
    const errors: string[] = [];
    for (const o of options) {
      try {
        validateJSONSchema(o, value, op, path);
        break;
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        errors.push(e.message.slice(op.length + 2));
      }
    }
    if (errors.length === options.length) fail(`matches none of ${options.length} options (${errors.join('; ')})`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`must be >= ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`must be <= ${schema.maximum}, got ${value}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(`must be > ${schema.exclusiveMinimum}, got ${value}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(`must be < ${schema.exclusiveMaximum}, got ${value}`);
  }
  if (typeof value === 'string') {
    const n = [...value].length;
    if (schema.minLength !== undefined && n < schema.minLength) fail(`must be at least ${schema.minLength} characters, got ${n}`);
    if (schema.maxLength !== undefined && n > schema.maxLength) fail(`must be at most ${schema.maxLength} characters, got ${n}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) fail(`must match /${schema.pattern}/, got ${show(value)}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`must have at least ${schema.minItems} items, got ${value.length}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`must have at most ${schema.maxItems} items, got ${value.length}`);
    if (schema.items) value.forEach((v, i) => validateJSONSchema(schema.items!, v, op, `${path}[${i}]`));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);
    for (const r of schema.required ?? []) if (obj[r] === undefined) throw new ValidationError(op, key(r), 'required field missing');
    const props = schema.properties ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) {
        if (v !== undefined) validateJSONSchema(props[k], v, op, key(k));
      } else if (schema.additionalProperties === false) throw new ValidationError(op, key(k), `unexpected field (allowed: ${Object.keys(props).join(', ') || 'none'})`);
      else if (typeof schema.additionalProperties === 'object') validateJSONSchema(schema.additionalProperties, v, op, key(k));
    }
  }
}
