import { describe, expect, it } from 'vitest';
import { JsonAutomaton, type JsonState } from './json-automaton.js';
import type { JSONSchema } from '../schema/json-schema.js';
import { compileJsonSchema, SchemaError } from './schema.js';

const auto = (schema: JSONSchema | boolean) => new JsonAutomaton(compileJsonSchema(schema));
const enc = new TextEncoder();

/** Every prefix of text is alive; returns the final state. */
function accepts(a: JsonAutomaton, text: string): JsonState {
  let s = a.start();
  for (const b of enc.encode(text)) {
    s = a.step(s, b);
    expect(s.length, `${JSON.stringify(text)} died at a byte ${String.fromCharCode(b)}`).toBeGreaterThan(0);
  }
  return s;
}
const rejects = (a: JsonAutomaton, text: string) => expect(a.advance(a.start(), text).length, text).toBe(0);

const PERSON: JSONSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 8 },
    age: { type: 'integer' },
    tags: { type: 'array', items: { enum: ['a', 'bc'] }, maxItems: 2 },
    pet: { anyOf: [{ type: 'null' }, { type: 'object', properties: { kind: { const: 'cat' } }, required: ['kind'] }] },
    ok: { type: 'boolean' },
  },
  required: ['name', 'age'],
};

describe('JsonAutomaton', () => {
  it('accepts valid compact JSON of a schema, in any key order, and knows when it is whole', () => {
    const a = auto(PERSON);
    for (const t of ['{"name":"Ann","age":3}', '{"age":-12,"name":"é","ok":false}', '{"name":"x\\"\\u00e9","age":0,"tags":["bc","a"],"pet":{"kind":"cat"}}', '{"pet":null,"age":7,"name":"z"}']) {
      const s = accepts(a, t);
      expect(a.isDone(s), t).toBe(true);
      expect(a.minCompletion(s)).toBe(0);
      expect(JSON.parse(t)).toBeTypeOf('object');
    }
  });

  it('refuses what the schema or JSON forbids', () => {
    const a = auto(PERSON);
    for (const t of [
      '{"name":"Ann"}', // closes before the required age
      '{"name":"","age":1}', // minLength 1
      '{"name":"123456789","age":1}', // maxLength 8
      '{"age":1.5,"name":"a"}', // integer
      '{"age":01,"name":"a"}', // leading zero
      '{"nme":"a"', // unknown key
      '{"name":"a","name":"b"', // a key twice
      '{"tags":["a","a","a"]', // maxItems 2
      '{"tags":["b"]', // not in the enum
      '{"pet":{}', // kind is required
      '{"ok":tru}',
      '{ "name":"a"', // no whitespace between tokens
      '{"name":"a\tb"', // a raw control character in a string
      '{"name":"\\x"', // unknown escape
      '{"name":"a","age":1}x', // nothing after the value
      '[1]',
    ]) {
      rejects(a, t);
    }
  });

  it('counts the fewest bytes that complete a prefix, and following them ends the value', () => {
    const a = auto(PERSON);
    const cases: [string, string][] = [
      ['', '{"name":"a","age":0}'.length.toString()],
      ['{', '"name":"a","age":0}'.length.toString()],
      ['{"name":"Ann"', ',"age":0}'.length.toString()],
      ['{"age":1', ',"name":"a"}'.length.toString()],
      ['{"name":"A","age":-', '0}'.length.toString()],
      ['{"age":1,"name":"A","tags":["b', 'c"]}'.length.toString()],
      ['{"age":1,"name":"A","pe', 't":null}'.length.toString()],
      ['{"age":1,"name":"A","ok":f', 'alse}'.length.toString()],
      ['{"age":1,"name":"\\u00', '00"}'.length.toString()],
    ];
    for (const [prefix, n] of cases) expect(a.minCompletion(accepts(a, prefix)), prefix).toBe(Number(n));
  });

  it('free JSON: any value, nested; a number may go on after it is whole', () => {
    const a = auto(true);
    for (const t of ['{}', '[]', '{"a":[1,{"b":null}],"":"x"}', '"s"', 'true', '-0.5e+10', '[[[]]]']) accepts(a, t);
    const n = accepts(a, '12');
    expect(a.isComplete(n)).toBe(true);
    expect(a.isDone(n)).toBe(false);
    expect(a.isDone(accepts(a, '{"a":1}'))).toBe(true);
    rejects(a, '{"a"}');
    rejects(a, '[1,]');
    rejects(a, 'nul1');
  });

  it('greedy descent on minCompletion reaches a whole value in exactly minCompletion bytes', () => {
    const schemas: JSONSchema[] = [PERSON, { type: 'array', items: { type: 'string', minLength: 2 }, minItems: 3 }, { type: 'object', properties: { a: { type: 'object', properties: { b: { enum: [10, 'x'] } }, required: ['b'] } }, required: ['a'] }];
    const bytes = [...Array(95)].map((_, i) => i + 32);
    for (const schema of schemas) {
      const a = auto(schema);
      let s = a.start();
      const need = a.minCompletion(s);
      let text = '';
      for (let i = 0; i < need; i++) {
        const here = a.minCompletion(s);
        const b = bytes.find((x) => a.minCompletion(a.step(s, x)) === here - 1)!;
        expect(b, `stuck after ${text}`).toBeDefined();
        s = a.step(s, b);
        text += String.fromCharCode(b);
      }
      expect(a.isComplete(s), text).toBe(true);
      JSON.parse(text);
    }
  });
});

describe('compileJsonSchema', () => {
  it('refuses keywords it cannot enforce, naming where', () => {
    expect(() => compileJsonSchema({ type: 'object', properties: { a: { type: 'string', pattern: '^x' } } })).toThrow(SchemaError);
    expect(() => compileJsonSchema({ type: 'object', properties: { a: { type: 'string', pattern: '^x' } } })).toThrow("$.properties.a: the keyword 'pattern' is not supported");
    expect(() => compileJsonSchema({ type: 'number', minimum: 0 })).toThrow(/minimum/);
    expect(() => compileJsonSchema({ type: 'object', required: ['a'], properties: {} })).toThrow("'a' is required but not in properties");
    expect(() => compileJsonSchema({ $ref: '#/$defs/n', $defs: { n: { type: 'array', items: { $ref: '#/$defs/n' } } } })).toThrow(/recursive/);
  });

  it('follows local $ref and accepts annotations', () => {
    const a = auto({ title: 'T', $defs: { c: { type: 'string', enum: ['red', 'blue'], description: 'colour' } }, type: 'object', properties: { c: { $ref: '#/$defs/c' } }, required: ['c'] });
    expect(a.isDone(accepts(a, '{"c":"blue"}'))).toBe(true);
    rejects(a, '{"c":"green"}');
  });
});
