import { describe, expect, it } from 'vitest';
import { decodeHeader, htmlToText, mailToText, spamAssassin, splitMails } from './spam-mail.js';

describe('mailToText', () => {
  it('keeps the sender, the subject and the body, drops every other header, unfolds headers and collapses whitespace', () => {
    const raw = 'From a@b.c  Thu Aug 22 12:36:23 2002\nFrom: "Ann" <a@b.c>\nReceived: from x\n\tby y\nSubject: Cheap\n  pills\nTo: d@e.f\n\nBuy   now!\n\nReally.\n';
    expect(mailToText(raw)).toBe('"Ann" <a@b.c>\nCheap pills\nBuy now! Really.');
    expect(mailToText('Subject: no sender\n\nhi')).toBe('\nno sender\nhi');
  });

  it('decodes quoted-printable and base64 bodies in their charset, and encoded words in the subject', () => {
    const qp = 'Subject: =?iso-8859-1?Q?Caf=E9_au_lait?=\nContent-Transfer-Encoding: quoted-printable\nContent-Type: text/plain; charset=iso-8859-1\n\nna=EFve soft=\nbreak';
    expect(mailToText(qp)).toBe('\nCafé au lait\nnaïve softbreak');
    const b64 = `From: =?iso-8859-1?Q?Andr=E9?= <a@b.c>\nSubject: =?utf-8?B?${Buffer.from('Grüße').toString('base64')}?=\nContent-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: base64\n\n${Buffer.from('Schöne Grüße aus Köln').toString('base64')}\n`;
    expect(mailToText(b64)).toBe('André <a@b.c>\nGrüße\nSchöne Grüße aus Köln');
  });

  it('reads multipart mail: the plain part of an alternative, the text of HTML, no attachments, nested messages', () => {
    const alternative = [
      'Subject: Offer',
      'Content-Type: multipart/alternative; boundary="XX"',
      '',
      'This is a multi-part message in MIME format.',
      '--XX',
      'Content-Type: text/plain',
      '',
      'plain version',
      '--XX',
      'Content-Type: text/html',
      '',
      '<p>html version</p>',
      '--XX--',
      '',
    ].join('\n');
    expect(mailToText(alternative)).toBe('\nOffer\nplain version');
    const mixed = [
      'Subject: Report',
      'Content-Type: multipart/mixed; boundary=B1',
      '',
      '--B1',
      'Content-Type: text/html; charset=us-ascii',
      '',
      '<html><head><style>p {color: red}</style></head><body><p>Dear&nbsp;friend &amp; <b>winner</b>&#33;</p><!-- hidden --></body></html>',
      '--B1',
      'Content-Type: image/gif',
      'Content-Transfer-Encoding: base64',
      '',
      'R0lGODlhAQABAAAAACw=',
      '--B1',
      'Content-Type: message/rfc822',
      '',
      'Subject: inner',
      '',
      'forwarded text',
      '--B1--',
    ].join('\n');
    expect(mailToText(mixed)).toBe('\nReport\nDear friend & winner ! inner forwarded text');
  });

  it('htmlToText and decodeHeader on their own', () => {
    expect(htmlToText('<script>var x = "<b>";</script>a&lt;b&gt;c&#x41;&bogus;')).toBe(' a<b>cA&bogus;');
    expect(decodeHeader('plain')).toBe('plain');
    expect(decodeHeader('=?us-ascii?Q?a_b?= =?us-ascii?Q?c?=')).toBe('a bc');
  });
});

describe('the SpamAssassin corpus and its split', () => {
  const mails = spamAssassin();

  it('6,046 messages: 4,150 ham and 1,896 spam, each as sender, subject and text', () => {
    expect(mails).toHaveLength(6046);
    expect(mails.filter((m) => m.label === 1)).toHaveLength(1896);
    expect(mails[0]).toMatchObject({ id: 'easy-ham-1/00001', label: 0 });
    expect(mails[0].text.startsWith('Robert Elz <kre@munnari.OZ.AU>\nRe: New Sequences Window\nDate: Wed, 21 Aug 2002')).toBe(true);
    // markup hardly survives (a few messages quote HTML in plain text)
    const leftovers = mails.filter((m) => /<\/?(html|body|p|br|td|font)\b/i.test(m.text));
    expect(leftovers.length).toBeLessThan(mails.length / 200);
  });

  it('splitMails: stratified, seeded, disjoint and complete', () => {
    const { train, test } = splitMails(mails, 0.2, 0);
    expect([train.length, test.length]).toEqual([4837, 1209]);
    expect(test.filter((m) => m.label === 1)).toHaveLength(379); // round(0.2 * 1896)
    expect(test.filter((m) => m.label === 0)).toHaveLength(830); // round(0.2 * 4150)
    expect(new Set([...train, ...test].map((m) => m.id)).size).toBe(6046);
    const again = splitMails(mails, 0.2, 0);
    expect(again.test.map((m) => m.id)).toEqual(test.map((m) => m.id));
    expect(again.train.map((m) => m.id)).toEqual(train.map((m) => m.id));
    const other = splitMails(mails, 0.2, 1);
    expect(other.test.map((m) => m.id)).not.toEqual(test.map((m) => m.id));
    // the classes are interleaved: the first 100 test messages hold both
    expect(new Set(test.slice(0, 100).map((m) => m.label)).size).toBe(2);
  });
});
