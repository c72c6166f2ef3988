/**
 * The subset of JSON Schema that constrained decoding enforces, compiled to a small tree of
 * nodes. Every keyword that limits which values are valid is either enforced here or refused with
 * a SchemaError, so a schema is never silently weakened: what the decoder writes is valid against
 * the schema the caller gave.
 */
import { ChainsError } from '../errors.js';
import type { JSONSchema } from '../schema/json-schema.js';

/** A schema object's keywords as found (requests bring any keyword: unknown ones are refused). */
type Keywords = { readonly [keyword: string]: unknown };

/** A compiled schema. `literal` holds the exact JSON texts allowed (enum, const, booleans, null). */
export type SchemaNode =
  | { readonly kind: 'any' }
  | ObjectNode
  | ArrayNode
  | { readonly kind: 'string'; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'number'; readonly integer: boolean }
  | { readonly kind: 'literal'; readonly texts: readonly string[] }
  | { readonly kind: 'union'; readonly options: readonly SchemaNode[] };

/**
 * An object. With `props` only those keys are written (each at most once, in any order; the
 * object closes once every `required` key is in); without, any keys with values of `values`.
 */
export interface ObjectNode {
  readonly kind: 'object';
  readonly props: ReadonlyMap<string, SchemaNode> | null;
  readonly required: ReadonlySet<string>;
  readonly values: SchemaNode;
}

export interface ArrayNode {
  readonly kind: 'array';
  readonly items: SchemaNode;
  readonly minItems: number;
  readonly maxItems: number;
}

/** A schema uses a keyword (or form) that constrained decoding cannot enforce; `path` is where. */
export class SchemaError extends ChainsError {
  override name = 'SchemaError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super('compileJsonSchema', `${path}: ${detail}`);
  }
}

/** Keywords that only describe (never restrict) a value. */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', 'strict', '$defs', 'definitions']);
const HANDLED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'minLength', 'maxLength', 'enum', 'const', 'anyOf', 'oneOf', '$ref', 'nullable']);
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type TypeName = (typeof TYPES)[number];

export const ANY: SchemaNode = Object.freeze({ kind: 'any' });

/**
 * Compiles a JSON Schema for constrained decoding. Enforced: `type` (one or a list), `properties`
 * + `required` (only the listed keys are written), `additionalProperties` (the value schema of
 * an object without `properties`), `items`, `minItems`, `maxItems`, `minLength`, `maxLength`,
 * `enum`, `const`, `anyOf`, `oneOf` (decoded as anyOf: the output matches at least one), `nullable`,
 * and `$ref` to `#/$defs/...` or `#/definitions/...` (not recursive). Annotations (`title`,
 * `description`, `default`, ...) are ignored; any other keyword (`pattern`, `format`, `minimum`,
 * `allOf`, `prefixItems`, ...) is a SchemaError.
 *
 *   compileJsonSchema({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] });
 */
export function compileJsonSchema(schema: JSONSchema | boolean = true): SchemaNode {
  return compile(schema, '$', schema, []);
}

function compile(schema: unknown, path: string, root: unknown, refs: string[]): SchemaNode {
  if (schema === true) return ANY;
  if (schema === false) throw new SchemaError(path, 'the schema false allows no value');
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new SchemaError(path, `a schema must be an object or a boolean, got ${JSON.stringify(schema)}`);
  const s = schema as Keywords;
  for (const k of Object.keys(s)) {
    if (!HANDLED.has(k) && !ANNOTATIONS.has(k)) throw new SchemaError(path, `the keyword '${k}' is not supported by constrained decoding`);
  }
  if (typeof s.$ref === 'string') return compileRef(s, path, root, refs);
  if (s.$ref !== undefined) throw new SchemaError(`${path}.$ref`, 'must be a string');
  if (s.const !== undefined || s.enum !== undefined) return literal(s, path);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives !== undefined) {
    const key = s.anyOf !== undefined ? 'anyOf' : 'oneOf';
    if (!Array.isArray(alternatives) || alternatives.length === 0) throw new SchemaError(`${path}.${key}`, 'must be a non-empty array of schemas');
    const rest = Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'anyOf' && k !== 'oneOf' && !ANNOTATIONS.has(k)));
    if (Object.keys(rest).length) throw new SchemaError(path, `${key} beside other keywords (${Object.keys(rest).join(', ')}) is not supported; put them inside each alternative`);
    return union(alternatives.map((a, i) => compile(a, `${path}.${key}[${i}]`, root, refs)));
  }
  let types: TypeName[];
  if (s.type === undefined) types = inferTypes(s);
  else {
    const list = Array.isArray(s.type) ? s.type : [s.type];
    for (const t of list) if (!TYPES.includes(t as TypeName)) throw new SchemaError(`${path}.type`, `unknown type ${JSON.stringify(t)} (one of ${TYPES.join(', ')})`);
    types = list as TypeName[];
  }
  if (s.nullable === true && !types.includes('null')) types = [...types, 'null'];
  if (types.length === 0) return ANY;
  return union(types.map((t) => typed(t, s, path, root, refs)));
}

/** Without `type`, the keywords present say which kinds of value are meant ({} is any value). */
function inferTypes(s: Keywords): TypeName[] {
  const out: TypeName[] = [];
  if (s.properties !== undefined || s.required !== undefined || s.additionalProperties !== undefined) out.push('object');
  if (s.items !== undefined || s.minItems !== undefined || s.maxItems !== undefined) out.push('array');
  if (s.minLength !== undefined || s.maxLength !== undefined) out.push('string');
  return out;
}

function compileRef(s: Keywords, path: string, root: unknown, refs: string[]): SchemaNode {
  const ref = s.$ref as string;
  const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
  if (!m) throw new SchemaError(`${path}.$ref`, `only local references '#/$defs/NAME' or '#/definitions/NAME' are supported, got ${JSON.stringify(ref)}`);
  if (refs.includes(ref)) throw new SchemaError(`${path}.$ref`, `${ref} refers to itself (recursive schemas are not supported)`);
  const defs = typeof root === 'object' && root !== null ? ((root as Keywords)[m[1]] as Keywords | undefined) : undefined;
  const target = defs?.[decodeURIComponent(m[2])];
  if (target === undefined) throw new SchemaError(`${path}.$ref`, `${ref} is not defined`);
  return compile(target, ref.slice(1).replace(/\//g, '.').replace(/^\./, '$.'), root, [...refs, ref]);
}

function literal(s: Keywords, path: string): SchemaNode {
  const values = s.const !== undefined ? [s.const] : s.enum;
  if (!Array.isArray(values) || values.length === 0) throw new SchemaError(`${path}.enum`, 'must be a non-empty array');
  const texts = [...new Set(values.map((v) => JSON.stringify(v)))];
  return { kind: 'literal', texts };
}

function typed(t: TypeName, s: Keywords, path: string, root: unknown, refs: string[]): SchemaNode {
  switch (t) {
    case 'null':
      return { kind: 'literal', texts: ['null'] };
    case 'boolean':
      return { kind: 'literal', texts: ['true', 'false'] };
    case 'number':
    case 'integer':
      return { kind: 'number', integer: t === 'integer' };
    case 'string': {
      const minLength = count(s.minLength, `${path}.minLength`, 0);
      const maxLength = count(s.maxLength, `${path}.maxLength`, Infinity);
      if (minLength > maxLength) throw new SchemaError(path, `minLength ${minLength} is more than maxLength ${maxLength}`);
      return { kind: 'string', minLength, maxLength };
    }
    case 'array': {
      const minItems = count(s.minItems, `${path}.minItems`, 0);
      const maxItems = count(s.maxItems, `${path}.maxItems`, Infinity);
      if (minItems > maxItems) throw new SchemaError(path, `minItems ${minItems} is more than maxItems ${maxItems}`);
      if (Array.isArray(s.items)) throw new SchemaError(`${path}.items`, 'tuple items (an array of schemas) are not supported');
      const items = s.items === undefined ? ANY : compile(s.items, `${path}.items`, root, refs);
      return { kind: 'array', items, minItems, maxItems };
    }
    case 'object':
      return object(s, path, root, refs);
  }
}

function object(s: Keywords, path: string, root: unknown, refs: string[]): ObjectNode {
  const required = s.required ?? [];
  if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw new SchemaError(`${path}.required`, 'must be an array of strings');
  if (s.properties === undefined) {
    if (required.length) throw new SchemaError(`${path}.required`, 'required keys need properties that describe them');
    const ap = s.additionalProperties;
    if (ap === false) return { kind: 'object', props: new Map(), required: new Set(), values: ANY }; // only {}
    const values = ap === undefined || ap === true ? ANY : compile(ap, `${path}.additionalProperties`, root, refs);
    return { kind: 'object', props: null, required: new Set(), values };
  }
  if (typeof s.properties !== 'object' || s.properties === null || Array.isArray(s.properties)) throw new SchemaError(`${path}.properties`, 'must be an object of schemas');
  const props = new Map<string, SchemaNode>();
  for (const [k, v] of Object.entries(s.properties)) props.set(k, compile(v, `${path}.properties.${k}`, root, refs));
  for (const r of required) if (!props.has(r)) throw new SchemaError(`${path}.required`, `'${r}' is required but not in properties`);
  // additionalProperties is not used: writing only listed keys is valid whatever it allows
  return { kind: 'object', props, required: new Set(required as string[]), values: ANY };
}

function count(v: unknown, path: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 0) throw new SchemaError(path, `must be an integer >= 0, got ${JSON.stringify(v)}`);
  return v as number;
}

function union(options: SchemaNode[]): SchemaNode {
  const flat = options.flatMap((o) => (o.kind === 'union' ? o.options : [o]));
  return flat.length === 1 ? flat[0] : { kind: 'union', options: flat };
}
