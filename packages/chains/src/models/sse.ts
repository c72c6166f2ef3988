/** Reading server-sent events (the `text/event-stream` of streamed completions). */

/** One event: its `event:` name (if any) and its `data:` lines joined by newlines. */
export interface ServerSentEvent {
  event?: string;
  data: string;
  id?: string;
}

/**
 * The events of an SSE byte stream, as the WHATWG spec reads them: lines end in \n, \r\n or \r;
 * a blank line ends an event; `:` lines are comments; a field's value drops one leading space.
 * `onBytes` is called on every read (to reset an idle timer).
 *
 *   for await (const ev of readServerSentEvents(res.body!)) if (ev.data !== '[DONE]') console.log(JSON.parse(ev.data));
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>, onBytes?: () => void): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event: string | undefined;
  let id: string | undefined;
  const line = (l: string): ServerSentEvent | undefined => {
    if (l === '') {
      if (!data.length) {
        event = undefined;
        return undefined;
      }
      const ev: ServerSentEvent = { data: data.join('\n'), ...(event !== undefined ? { event } : {}), ...(id !== undefined ? { id } : {}) };
      data = [];
      event = undefined;
      return ev;
    }
    if (l.startsWith(':')) return undefined;
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') id = value;
    return undefined;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      onBytes?.();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // a trailing \r may be the first half of \r\n: keep it until the next read
      for (let m = /\r\n|\n|\r(?!$)/.exec(buffer); m; m = /\r\n|\n|\r(?!$)/.exec(buffer)) {
        const ev = line(buffer.slice(0, m.index));
        buffer = buffer.slice(m.index + m[0].length);
        if (ev) yield ev;
      }
      if (done) break;
    }
    if (buffer.endsWith('\r')) buffer = buffer.slice(0, -1);
    if (buffer) line(buffer);
    const last = line('');
    if (last) yield last; // a stream that ends without the blank line still delivers its event
  } finally {
    reader.releaseLock();
  }
}
