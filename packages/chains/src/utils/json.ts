/**
 * JSON as models write it: inside ```json fences, after a sentence, or cut off mid-stream.
 */

/**
 * `text` with its unfinished JSON closed (open strings and brackets), or undefined if that does
 * not parse either. When the tail is a dangling key, a half-written literal or a trailing comma,
 * the text is cut back to the last point where a value ended.
 *
 *   parsePartialJson('{"name": "Ah'); // { name: 'Ah' }
 *   parsePartialJson('{"a": 1, "b'); // { a: 1 }
 *   parsePartialJson('[1, 2, tr'); // [1, 2]
 */
export function parsePartialJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // unfinished: close it below
  }
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  // prefixes that end where a value ended or a container opened: [cut index, closers needed]
  const cuts: [number, string][] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      stack.push(c === '{' ? '}' : ']');
      cuts.push([i + 1, stack.slice().reverse().join('')]);
    } else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return undefined; // mismatched: not JSON
      if (stack.length === 0) {
        // a whole value, then something else (the start of a closing fence, a remark)
        try {
          return JSON.parse(text.slice(0, i + 1));
        } catch {
          return undefined;
        }
      }
    } else if (c === ',') cuts.push([i, stack.slice().reverse().join('')]);
  }
  let body = text;
  if (inString) body = (escaped ? body.slice(0, -1) : body) + '"';
  const attempts = [body + stack.slice().reverse().join(''), ...cuts.reverse().map(([at, closers]) => text.slice(0, at) + closers)];
  for (const a of attempts) {
    try {
      return JSON.parse(a);
    } catch {
      // try the next shorter prefix
    }
  }
  return undefined;
}

/**
 * The JSON text inside a model's answer: the body of a ```json (or ```) fence, even one not closed
 * yet; otherwise from the first `{` or `[` when the text does not start with JSON.
 *
 *   extractJsonText('```json\n{"a": 1}\n```'); // '{"a": 1}'
 *   extractJsonText('Sure! {"a": 1}'); // '{"a": 1}'
 */
export function extractJsonText(text: string): string {
  const fence = /```(?:json|JSON)?[^\n]*\n?([\s\S]*?)(?:```|$)/.exec(text);
  if (fence) return fence[1].replace(/`{1,2}$/, '').trim(); // a closing fence may be arriving
  const t = text.trim();
  if (/^[[{"\d-]|^(true|false|null)\b/.test(t)) return t;
  const start = t.search(/[[{]/);
  return start >= 0 ? t.slice(start) : t;
}
