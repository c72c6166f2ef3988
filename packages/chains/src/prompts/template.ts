/**
 * The two template languages of prompts: Python-style f-strings (`{name}`, `{{` for a brace) and
 * mustache (`{{name}}`, `{{a.b}}`, sections `{{#items}}...{{/items}}`, inverted sections, comments;
 * no HTML escaping, as LangChain).
 */
import { InputError } from '../errors.js';

export type TemplateFormat = 'f-string' | 'mustache';

type Node = { kind: 'text'; text: string } | { kind: 'var'; name: string } | { kind: 'section'; name: string; inverted: boolean; children: Node[] };

const cache = new Map<string, Node[]>();

function parseFString(template: string): Node[] {
  const nodes: Node[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') {
      text += '{';
      i++;
    } else if (c === '}' && template[i + 1] === '}') {
      text += '}';
      i++;
    } else if (c === '{') {
      const end = template.indexOf('}', i);
      const name = end < 0 ? '' : template.slice(i + 1, end);
      if (end < 0 || !name || name.includes('{')) throw new InputError('PromptTemplate', `f-string template has an unclosed or empty '{' at index ${i}: ${JSON.stringify(template.slice(i, i + 30))} (write '{{' for a literal brace)`);
      if (text) nodes.push({ kind: 'text', text });
      text = '';
      nodes.push({ kind: 'var', name });
      i = end;
    } else if (c === '}') {
      throw new InputError('PromptTemplate', `f-string template has a single '}' at index ${i} (write '}}' for a literal brace)`);
    } else text += c;
  }
  if (text) nodes.push({ kind: 'text', text });
  return nodes;
}

function parseMustache(template: string): Node[] {
  const root: Node[] = [];
  const stack: { name: string; children: Node[] }[] = [{ name: '', children: root }];
  const tag = /\{\{(\{?)\s*([#^/!&]?)\s*([^}]*?)\s*\}?\}\}/g;
  let at = 0;
  for (let m = tag.exec(template); m; m = tag.exec(template)) {
    const top = stack[stack.length - 1].children;
    if (m.index > at) top.push({ kind: 'text', text: template.slice(at, m.index) });
    at = tag.lastIndex;
    const [, , sigil, name] = m;
    if (sigil === '!') continue;
    if (!name) throw new InputError('PromptTemplate', `mustache template has an empty tag at index ${m.index}`);
    if (sigil === '#' || sigil === '^') {
      const children: Node[] = [];
      top.push({ kind: 'section', name, inverted: sigil === '^', children });
      stack.push({ name, children });
    } else if (sigil === '/') {
      const open = stack.pop();
      if (!open || stack.length === 0 || open.name !== name) throw new InputError('PromptTemplate', `mustache template closes {{/${name}}} at index ${m.index} but the open section is ${open?.name ? `{{#${open.name}}}` : 'none'}`);
    } else top.push({ kind: 'var', name });
  }
  if (stack.length > 1) throw new InputError('PromptTemplate', `mustache template never closes {{#${stack[stack.length - 1].name}}}`);
  if (at < template.length) root.push({ kind: 'text', text: template.slice(at) });
  return root;
}

function parse(template: string, format: TemplateFormat): Node[] {
  const key = `${format}\0${template}`;
  let nodes = cache.get(key);
  if (!nodes) {
    if (format !== 'f-string' && format !== 'mustache') throw new InputError('PromptTemplate', `templateFormat must be 'f-string' or 'mustache', got ${JSON.stringify(format)}`);
    nodes = format === 'f-string' ? parseFString(template) : parseMustache(template);
    if (cache.size > 1000) cache.clear();
    cache.set(key, nodes);
  }
  return nodes;
}

/**
 * The variables a template needs, in order of first use (for mustache: the top-level names; a
 * section's own variables may come from its items).
 *
 *   templateVariables('Tell me about {topic} in {n} words', 'f-string'); // ['topic', 'n']
 *   templateVariables('{{#docs}}{{text}}{{/docs}} {{q}}', 'mustache'); // ['docs', 'q']
 */
export function templateVariables(template: string, format: TemplateFormat): string[] {
  const out = new Set<string>();
  for (const n of parse(template, format)) {
    if (n.kind === 'var' && n.name !== '.') out.add(n.name.split('.')[0]);
    if (n.kind === 'section') out.add(n.name.split('.')[0]);
  }
  return [...out];
}

/** How a value reads in a prompt: strings as they are, objects as JSON. */
export function stringifyValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function lookup(stack: readonly unknown[], path: string): unknown {
  if (path === '.') return stack[stack.length - 1];
  const [head, ...rest] = path.split('.');
  let v: unknown;
  for (let i = stack.length - 1; i >= 0; i--) {
    const ctx = stack[i];
    if (ctx !== null && typeof ctx === 'object' && head in (ctx as object)) {
      v = (ctx as Record<string, unknown>)[head];
      break;
    }
  }
  for (const k of rest) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function renderNodes(nodes: readonly Node[], stack: unknown[], format: TemplateFormat): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'var') {
      if (format === 'f-string') {
        const values = stack[0] as Record<string, unknown>;
        if (!(n.name in values) || values[n.name] === undefined) throw new InputError('PromptTemplate.format', `missing value for variable "${n.name}"`, n.name);
        out += stringifyValue(values[n.name]);
      } else out += stringifyValue(lookup(stack, n.name));
    } else {
      const v = lookup(stack, n.name);
      const truthy = Array.isArray(v) ? v.length > 0 : Boolean(v);
      if (n.inverted) {
        if (!truthy) out += renderNodes(n.children, stack, format);
      } else if (Array.isArray(v)) {
        for (const item of v) out += renderNodes(n.children, [...stack, item], format);
      } else if (truthy) out += renderNodes(n.children, typeof v === 'object' ? [...stack, v] : stack, format);
    }
  }
  return out;
}

/**
 * Fills a template with values. An f-string variable without a value throws InputError naming it.
 *
 *   renderTemplate('Hi {name}!', 'f-string', { name: 'Ishmael' }); // 'Hi Ishmael!'
 *   renderTemplate('{{#xs}}<{{.}}>{{/xs}}', 'mustache', { xs: [1, 2] }); // '<1><2>'
 */
export function renderTemplate(template: string, format: TemplateFormat, values: Record<string, unknown>): string {
  return renderNodes(parse(template, format), [values], format);
}
