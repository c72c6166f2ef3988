/**
 * A pushdown automaton over UTF-8 bytes that accepts exactly the prefixes of compact JSON texts
 * (no whitespace between tokens) valid against a compiled schema. States are immutable, so a
 * decoder can try every token of a vocabulary from one state (walking a trie of the tokens'
 * bytes) and keep the one it picks. `anyOf` makes it nondeterministic: a state is the set of
 * parses still alive.
 *
 * Each state also knows the fewest bytes that complete it (`minCompletion`), which lets a decoder
 * with a token budget steer towards closing the value in time.
 */
import type { ArrayNode, ObjectNode, SchemaNode } from './schema.js';

/** Longest integer, fraction and exponent parts written (keeps numbers within a double's precision). */
export const NUMBER_LIMITS = { intDigits: 15, fracDigits: 15, expDigits: 3 } as const;

type NumPhase = 'sign' | 'zero' | 'int' | 'dot' | 'frac' | 'e' | 'esign' | 'exp';
type ObjPhase = 'open' | 'key' | 'inKey' | 'colon' | 'value' | 'next';
type ArrPhase = 'open' | 'value' | 'next';

type Frame =
  | { readonly k: 'root'; readonly done: boolean }
  | { readonly k: 'value'; readonly node: SchemaNode }
  | { readonly k: 'obj'; readonly node: ObjectNode; readonly seen: readonly string[]; readonly ph: ObjPhase; readonly key: string | null }
  | { readonly k: 'arr'; readonly node: ArrayNode; readonly count: number; readonly ph: ArrPhase }
  /** a string after its opening quote: `len` characters done, `esc` after a backslash, `hex` digits of \u left, `utf8` continuation bytes left */
  | { readonly k: 'str'; readonly min: number; readonly max: number; readonly len: number; readonly esc: boolean; readonly hex: number; readonly utf8: number }
  | { readonly k: 'num'; readonly integer: boolean; readonly ph: NumPhase; readonly n: number }
  /** one of `texts` (JSON texts as bytes), `pos` bytes matched; `extra[i]` bytes follow text i in the parent (object keys) */
  | { readonly k: 'lit'; readonly texts: readonly Uint8Array[]; readonly names: readonly string[] | null; readonly extra: readonly number[]; readonly alive: readonly number[]; readonly pos: number };

interface Stack {
  readonly f: Frame;
  readonly up: Stack | null;
}

/** A state of the automaton: the parses still alive after the bytes so far (empty: no valid prefix). */
export type JsonState = readonly Stack[];

const enc = new TextEncoder();
const [LBRACE, RBRACE, LBRACK, RBRACK, QUOTE, COLON, COMMA, BSLASH, MINUS, PLUS, DOT, ZERO, NINE] = [...'{}[]":,\\-+.09'].map((c) => c.charCodeAt(0));
const isDigit = (b: number) => b >= ZERO && b <= NINE;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
const ESCAPES = new Set([...'"\\/bfnrtu'].map((c) => c.charCodeAt(0)));
const COMPLETE_NUM: ReadonlySet<NumPhase> = new Set(['zero', 'int', 'frac', 'exp']);

/** Expansions of `any` at a value position: every kind of JSON value. */
const FREE_OBJECT: ObjectNode = { kind: 'object', props: null, required: new Set(), values: { kind: 'any' } };
const FREE_ARRAY: ArrayNode = { kind: 'array', items: { kind: 'any' }, minItems: 0, maxItems: Infinity };
const ANY_OPTIONS: readonly SchemaNode[] = [
  FREE_OBJECT,
  FREE_ARRAY,
  { kind: 'string', minLength: 0, maxLength: Infinity },
  { kind: 'number', integer: false },
  { kind: 'literal', texts: ['true', 'false', 'null'] },
];

const minValueCache = new WeakMap<object, number>();
const bytesCache = new WeakMap<readonly string[], Uint8Array[]>();

/**
 * The JSON automaton of one schema.
 *
 *   const json = new JsonAutomaton(compileJsonSchema({ type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] }));
 *   let s = json.advance(json.start(), '{"ok":');
 *   json.minCompletion(s); // 5: 'true}'
 *   s = json.advance(s, 'true}');
 *   json.isDone(s); // true
 */
export class JsonAutomaton {
  constructor(readonly schema: SchemaNode) {}

  /** The state before any byte. */
  start(): JsonState {
    return [{ f: { k: 'value', node: this.schema }, up: { f: { k: 'root', done: false }, up: null } }];
  }

  /** The state after `text` (a string is taken as UTF-8); empty when it is not a valid prefix. */
  advance(state: JsonState, text: string | Uint8Array): JsonState {
    let s = state;
    for (const b of typeof text === 'string' ? enc.encode(text) : text) {
      if (!s.length) break;
      s = this.step(s, b);
    }
    return s;
  }

  /** The state after one byte. */
  step(state: JsonState, b: number): JsonState {
    const out: Stack[] = [];
    for (const s of state) feed(s, b, out);
    return out;
  }

  /** The fewest bytes that complete a valid JSON text from here (Infinity when the state is dead). */
  minCompletion(state: JsonState): number {
    let best = Infinity;
    for (const s of state) best = Math.min(best, stackCost(s));
    return best;
  }

  /** The bytes so far are a whole valid JSON text (more may still follow, as digits after a number). */
  isComplete(state: JsonState): boolean {
    return this.minCompletion(state) === 0;
  }

  /** A whole valid JSON text that nothing can extend (a closed object, array or string, or a finished literal). */
  isDone(state: JsonState): boolean {
    return state.some((s) => s.f.k === 'root' && s.f.done);
  }
}

function push(up: Stack, f: Frame): Stack {
  return { f, up };
}

function replace(s: Stack, f: Frame): Stack {
  return { f, up: s.up };
}

/** Ends the frame on top of `s` (its value is whole) and tells its parent; `name` is the key a key literal matched. */
function finish(s: Stack, name: string | null): Stack {
  const up = s.up!;
  const p = up.f;
  switch (p.k) {
    case 'root':
      return replace(up, { k: 'root', done: true });
    case 'obj':
      if (p.ph === 'inKey') return replace(up, { ...p, ph: 'colon', key: name });
      return replace(up, { ...p, ph: 'next', seen: p.key === null ? p.seen : [...p.seen, p.key], key: null });
    case 'arr':
      return replace(up, { ...p, ph: 'next', count: p.count + 1 });
    default:
      throw new Error(`JsonAutomaton: a ${p.k} frame cannot hold a value`);
  }
}

function feed(s: Stack, b: number, out: Stack[]): void {
  const f = s.f;
  switch (f.k) {
    case 'root':
      return; // after the whole value nothing may follow (no whitespace)
    case 'value':
      return startValue(f.node, s.up!, b, out);
    case 'obj':
      return feedObject(s, f, b, out);
    case 'arr':
      return feedArray(s, f, b, out);
    case 'str':
      return feedString(s, f, b, out);
    case 'num':
      return feedNumber(s, f, b, out);
    case 'lit':
      return feedLiteral(s, f, b, out);
  }
}

/** The first byte of a value of `node` under `up`. */
function startValue(node: SchemaNode, up: Stack, b: number, out: Stack[]): void {
  switch (node.kind) {
    case 'union':
      for (const o of node.options) startValue(o, up, b, out);
      return;
    case 'any':
      for (const o of ANY_OPTIONS) startValue(o, up, b, out);
      return;
    case 'object':
      if (b === LBRACE) out.push(push(up, { k: 'obj', node, seen: [], ph: 'open', key: null }));
      return;
    case 'array':
      if (b === LBRACK) out.push(push(up, { k: 'arr', node, count: 0, ph: 'open' }));
      return;
    case 'string':
      if (b === QUOTE) out.push(push(up, { k: 'str', min: node.minLength, max: node.maxLength, len: 0, esc: false, hex: 0, utf8: 0 }));
      return;
    case 'number':
      if (b === MINUS) out.push(push(up, { k: 'num', integer: node.integer, ph: 'sign', n: 0 }));
      else if (b === ZERO) out.push(push(up, { k: 'num', integer: node.integer, ph: 'zero', n: 1 }));
      else if (isDigit(b)) out.push(push(up, { k: 'num', integer: node.integer, ph: 'int', n: 1 }));
      return;
    case 'literal': {
      const texts = literalBytes(node.texts);
      return feedLiteral(null, { k: 'lit', texts, names: null, extra: texts.map(() => 0), alive: texts.map((_, i) => i), pos: 0 }, b, out, up);
    }
  }
}

function literalBytes(texts: readonly string[]): Uint8Array[] {
  let b = bytesCache.get(texts);
  if (!b) bytesCache.set(texts, (b = texts.map((t) => enc.encode(t))));
  return b;
}

function feedObject(s: Stack, f: Extract<Frame, { k: 'obj' }>, b: number, out: Stack[]): void {
  const { node } = f;
  const unseen = node.props ? [...node.props.keys()].filter((k) => !f.seen.includes(k)) : null;
  const missing = [...node.required].some((r) => !f.seen.includes(r));
  switch (f.ph) {
    case 'open':
    case 'key':
      if (b === RBRACE && f.ph === 'open' && !missing) out.push(finish(s, null));
      else if (b === QUOTE) {
        const self = replace(s, { ...f, ph: 'inKey' });
        if (!unseen) out.push(push(self, { k: 'str', min: 0, max: Infinity, len: 0, esc: false, hex: 0, utf8: 0 }));
        else if (unseen.length) {
          const texts = unseen.map((k) => enc.encode(JSON.stringify(k)));
          const extra = unseen.map((k) => 1 + minValue(node.props!.get(k)!) + objectTail(node, [...f.seen, k]));
          feedLiteral(null, { k: 'lit', texts, names: unseen, extra, alive: texts.map((_, i) => i), pos: 0 }, b, out, self);
        }
      }
      return;
    case 'colon':
      if (b === COLON) out.push(push(replace(s, { ...f, ph: 'value' }), { k: 'value', node: f.key === null ? node.values : node.props!.get(f.key)! }));
      return;
    case 'next':
      if (b === RBRACE && !missing) out.push(finish(s, null));
      else if (b === COMMA && (!unseen || unseen.length)) out.push(replace(s, { ...f, ph: 'key' }));
      return;
    default:
      return; // inKey / value: a child frame is on top
  }
}

function feedArray(s: Stack, f: Extract<Frame, { k: 'arr' }>, b: number, out: Stack[]): void {
  const { node } = f;
  if (f.ph === 'open' || f.ph === 'next') {
    if (b === RBRACK && f.count >= node.minItems) return void out.push(finish(s, null));
    if (f.ph === 'next' && b === COMMA && f.count < node.maxItems) return void out.push(push(replace(s, { ...f, ph: 'value' }), { k: 'value', node: node.items }));
    if (f.ph === 'open' && node.maxItems > 0) startValue(node.items, replace(s, { ...f, ph: 'value' }), b, out);
  }
}

function feedString(s: Stack, f: Extract<Frame, { k: 'str' }>, b: number, out: Stack[]): void {
  if (f.utf8 > 0) {
    if (b >= 0x80 && b <= 0xbf) out.push(replace(s, { ...f, utf8: f.utf8 - 1, len: f.utf8 === 1 ? f.len + 1 : f.len }));
    return;
  }
  if (f.hex > 0) {
    if (isHex(b)) out.push(replace(s, { ...f, hex: f.hex - 1, len: f.hex === 1 ? f.len + 1 : f.len }));
    return;
  }
  if (f.esc) {
    if (ESCAPES.has(b)) out.push(replace(s, b === 0x75 ? { ...f, esc: false, hex: 4 } : { ...f, esc: false, len: f.len + 1 }));
    return;
  }
  if (b === QUOTE) {
    if (f.len >= f.min) out.push(finish(s, null));
    return;
  }
  if (f.len >= f.max || b < 0x20) return; // full, or a control character (JSON wants it escaped)
  if (b === BSLASH) out.push(replace(s, { ...f, esc: true }));
  else if (b < 0x80) out.push(replace(s, { ...f, len: f.len + 1 }));
  else if (b >= 0xc2 && b <= 0xdf) out.push(replace(s, { ...f, utf8: 1 }));
  else if (b >= 0xe0 && b <= 0xef) out.push(replace(s, { ...f, utf8: 2 }));
  else if (b >= 0xf0 && b <= 0xf4) out.push(replace(s, { ...f, utf8: 3 }));
}

function feedNumber(s: Stack, f: Extract<Frame, { k: 'num' }>, b: number, out: Stack[]): void {
  const L = NUMBER_LIMITS;
  const to = (ph: NumPhase, n: number) => void out.push(replace(s, { ...f, ph, n }));
  const isE = b === 0x65 || b === 0x45;
  const d = isDigit(b);
  switch (f.ph) {
    case 'sign':
      if (b === ZERO) return to('zero', 1);
      if (d) return to('int', 1);
      return;
    case 'zero':
    case 'int':
      if (d && f.ph === 'int' && f.n < L.intDigits) return to('int', f.n + 1);
      if (!f.integer && b === DOT) return to('dot', 0);
      if (!f.integer && isE) return to('e', 0);
      break;
    case 'dot':
      if (d) return to('frac', 1);
      return;
    case 'frac':
      if (d && f.n < L.fracDigits) return to('frac', f.n + 1);
      if (isE) return to('e', 0);
      break;
    case 'e':
      if (b === PLUS || b === MINUS) return to('esign', 0);
      if (d) return to('exp', 1);
      return;
    case 'esign':
      if (d) return to('exp', 1);
      return;
    case 'exp':
      if (d && f.n < L.expDigits) return to('exp', f.n + 1);
      break;
  }
  // not part of the number: the number ends here and the byte belongs to the parent
  if (COMPLETE_NUM.has(f.ph) && !d) feed(finish(s, null), b, out);
}

/** `s` is the literal's own stack entry, or null when the literal starts under `up` with this byte. */
function feedLiteral(s: Stack | null, f: Extract<Frame, { k: 'lit' }>, b: number, out: Stack[], up: Stack = s!.up!): void {
  const alive = f.alive.filter((i) => f.texts[i].length > f.pos && f.texts[i][f.pos] === b);
  if (!alive.length) {
    // a literal that can end here (a number literal like 1 of [1, 12]) ends, and the byte goes to the parent
    const whole = s ? f.alive.find((i) => f.texts[i].length === f.pos) : undefined;
    if (whole !== undefined) feed(finish(s!, f.names?.[whole] ?? null), b, out);
    return;
  }
  const pos = f.pos + 1;
  const next: Stack = { f: { ...f, alive, pos }, up };
  const whole = alive.find((i) => f.texts[i].length === pos);
  // ended and nothing longer can follow: close it now, so the parent sees the value as whole
  if (whole !== undefined && alive.every((i) => f.texts[i].length === pos)) out.push(finish(next, f.names?.[whole] ?? null));
  else out.push(next);
}

/** Fewest bytes of a whole value of `node`. */
export function minValue(node: SchemaNode): number {
  const hit = minValueCache.get(node);
  if (hit !== undefined) return hit;
  let v: number;
  switch (node.kind) {
    case 'any':
      v = 1; // 0
      break;
    case 'object':
      v = node.required.size ? objectTail(node, []) : 2; // '{' + members + '}' : '{}'
      break;
    case 'array':
      v = node.minItems === 0 ? 2 : 2 + node.minItems * minValue(node.items) + (node.minItems - 1);
      break;
    case 'string':
      v = 2 + node.minLength;
      break;
    case 'number':
      v = 1;
      break;
    case 'literal':
      v = Math.min(...literalBytes(node.texts).map((t) => t.length));
      break;
    case 'union':
      v = Math.min(...node.options.map(minValue));
      break;
  }
  minValueCache.set(node, v);
  return v;
}

/** Bytes that close an object after its members `seen`: `,"k":v` for each missing required key, then `}`. */
function objectTail(node: ObjectNode, seen: readonly string[]): number {
  let n = 1;
  for (const r of node.required) if (!seen.includes(r)) n += 1 + enc.encode(JSON.stringify(r)).length + 1 + minValue(node.props!.get(r)!);
  return n;
}

/** Fewest bytes that complete one parse. */
function stackCost(s: Stack): number {
  let n = 0;
  for (let t: Stack | null = s; t; t = t.up) n += frameCost(t.f);
  return n;
}

function frameCost(f: Frame): number {
  switch (f.k) {
    case 'root':
      return 0;
    case 'value':
      return minValue(f.node);
    case 'obj': {
      const { node } = f;
      const tail = objectTail(node, f.seen);
      const missing = tail > 1;
      switch (f.ph) {
        case 'open':
          return missing ? tail - 1 : 1; // the first member has no comma before it
        case 'key': {
          if (missing) return tail - 1;
          if (!node.props) return 2 + 1 + minValue(node.values) + 1; // "":v}
          let best = Infinity;
          for (const [k, v] of node.props) if (!f.seen.includes(k)) best = Math.min(best, enc.encode(JSON.stringify(k)).length + 1 + minValue(v) + 1);
          return best;
        }
        case 'inKey':
          return node.props ? 0 : 1 + minValue(node.values) + tail; // a key literal counts what follows each key
        case 'colon':
          return 1 + minValue(f.key === null ? node.values : node.props!.get(f.key)!) + objectTail(node, f.key === null ? f.seen : [...f.seen, f.key]);
        case 'value':
          return f.key === null ? tail : objectTail(node, [...f.seen, f.key]);
        case 'next':
          return tail;
      }
      break;
    }
    case 'arr': {
      const { node } = f;
      const item = minValue(node.items);
      if (f.ph === 'open') return node.minItems === 0 ? 1 : node.minItems * item + (node.minItems - 1) + 1;
      const done = f.ph === 'value' ? f.count + 1 : f.count;
      return Math.max(0, node.minItems - done) * (1 + item) + 1;
    }
    case 'str': {
      const partial = f.utf8 > 0 ? f.utf8 : f.hex > 0 ? f.hex : f.esc ? 1 : 0;
      return partial + Math.max(0, f.min - f.len - (partial ? 1 : 0)) + 1;
    }
    case 'num':
      return COMPLETE_NUM.has(f.ph) ? 0 : 1;
    case 'lit': {
      let best = Infinity;
      for (const i of f.alive) best = Math.min(best, f.texts[i].length - f.pos + f.extra[i]);
      return best;
    }
  }
}
