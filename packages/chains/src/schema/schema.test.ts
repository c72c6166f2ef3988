import { describe, expect, expectTypeOf, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { s, toSchema, type Infer } from './schema.js';

const Person = s.object({
  name: s.string({ minLength: 1 }).describe('full name'),
  age: s.integer({ minimum: 0 }).optional(),
  tags: s.array(s.enum(['crew', 'captain'])),
  ship: s.object({ name: s.string() }).nullable(),
});

describe('schema', () => {
  it('writes JSON Schema with required fields and descriptions', () => {
    expect(Person.toJSONSchema()).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, description: 'full name' },
        age: { type: 'integer', minimum: 0 },
        tags: { type: 'array', items: { type: 'string', enum: ['crew', 'captain'] } },
        ship: { type: ['object', 'null'], properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
      },
      required: ['name', 'tags', 'ship'],
      additionalProperties: false,
    });
    expectTypeOf<Infer<typeof Person>>().toEqualTypeOf<{ name: string; tags: ('crew' | 'captain')[]; ship: { name: string } | null; age?: number | undefined }>();
  });

  it('parses good values and names the path of a bad field', () => {
    const ok = { name: 'Ahab', tags: ['captain'], ship: { name: 'Pequod' } };
    expect(Person.parse(ok)).toEqual(ok);
    expect(Person.parse({ ...ok, ship: null, age: 50 }).age).toBe(50);
    const cases: [unknown, string][] = [
      [{ ...ok, age: -1 }, '$.age: must be >= 0, got -1'],
      [{ ...ok, age: 1.5 }, '$.age: expected integer, got number 1.5'],
      [{ ...ok, tags: ['crew', 'cook'] }, '$.tags[1]: expected one of "crew", "captain", got "cook"'],
      [{ ...ok, ship: { name: 3 } }, '$.ship.name: expected string, got number 3'],
      [{ tags: [], ship: null }, '$.name: required field missing'],
      [{ ...ok, boat: 1 }, '$.boat: unexpected field (allowed: name, age, tags, ship)'],
      [{ ...ok, name: '' }, '$.name: must be at least 1 characters, got 0'],
      ['Ahab', '$: expected object, got string "Ahab"'],
    ];
    for (const [value, message] of cases) {
      const r = Person.safeParse(value);
      expect(r.success).toBe(false);
      if (!r.success) {
        expect(r.error).toBeInstanceOf(ValidationError);
        expect(r.error.message).toBe(`Schema.parse: ${message}`);
      }
    }
  });

  it('unions, literals, and JSON Schema written by hand', () => {
    const Shape = s.union(s.object({ kind: s.literal('circle'), r: s.number() }), s.object({ kind: s.literal('square'), side: s.number() }));
    expect(Shape.parse({ kind: 'square', side: 2 })).toEqual({ kind: 'square', side: 2 });
    expect(() => Shape.parse({ kind: 'hexagon' })).toThrow(/matches none of 2 options/);
    const hand = toSchema<{ q: string }>({ type: 'object', properties: { q: { type: 'string', pattern: '^\\w+\\?$' } }, required: ['q'] });
    expect(hand.parse({ q: 'who?' })).toEqual({ q: 'who?' });
    expect(() => hand.parse({ q: 'who' })).toThrow('$.q: must match /^\\w+\\?$/, got "who"');
    expect(() => toSchema({ $ref: '#/x' } as never).parse(1)).toThrow(/keyword "\$ref" at \$ is not supported/);
  });
});
