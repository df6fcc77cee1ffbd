import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGmailMessage, parseRaw, parseDateHeader, messageIdList, type CanonicalMessage } from '../../../src/mail/parse.js';
import { htmlToText } from '../../../src/mail/htmlText.js';
import { CORPUS_DIR, corpusFiles, corpusRaw } from '../../pipeline/support.js';

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

describe('every corpus message', () => {
  it('parses without throwing, with a logical key and a problems list', async () => {
    const files = corpusFiles();
    expect(files.length).toBeGreaterThanOrEqual(90);
    for (const file of files) {
      const message = await parseRaw(readFileSync(join(CORPUS_DIR, file)));
      expect(message.messageKey, file).toMatch(/\S/);
      expect(Array.isArray(message.problems), file).toBe(true);
      expect(message.text, file).not.toMatch(/[\u0000\ufeff\ufffd]/);
    }
  });

  it('reads the same message from Gmail format=raw (base64url) as from the file', async () => {
    for (const file of corpusFiles()) {
      const raw = readFileSync(join(CORPUS_DIR, file));
      const direct = await parseRaw(raw, { gmailId: 'g1' });
      const viaGmail = await parseGmailMessage({ id: 'g1', threadId: 't1', labelIds: ['INBOX'], internalDate: '1700000000000', raw: b64url(raw) });
      expect(viaGmail.messageKey, file).toBe(direct.messageKey);
      expect(viaGmail.subject, file).toBe(direct.subject);
      expect(viaGmail.from, file).toEqual(direct.from);
      expect(viaGmail.attachments.map((a) => a.filename), file).toEqual(direct.attachments.map((a) => a.filename));
      expect(viaGmail.internalDateMs).toBe(1_700_000_000_000);
      expect(viaGmail.gmailThreadId).toBe('t1');
    }
  });
});

/** Values read by hand from the raw files (encoded words and RFC 2231 parameters decoded with Python's codecs). */
const EXPECTED: Array<{ file: string; how: string; subject?: string; from?: string; fromName?: string; attachments?: string[] }> = [
  { file: 'd003', how: 'Q iso-8859-1 subject, RFC 2231 iso-8859-1 filename', subject: 'Eelanalüüsi päring', from: 'jeff@37signals.com', attachments: ['Eelanalüüsi päring.jpg'] },
  { file: 'd005', how: 'raw 8-bit UTF-8 subject with emoji', subject: 'Another PDF with 🎉 Unicode chars in it 🍿', from: 'xxxx@xxxx.com', attachments: ['broken.pdf'] },
  { file: 'd019', how: 'folded UTF-8 B words, RFC 2231 continuation filename', subject: 'まみむめも'.repeat(10), from: 'mikel@test.lindsaar.net', attachments: ['かきくけこ'.repeat(5) + '.txt'] },
  { file: 'd021', how: 'windows-1251 B display name', from: 'yusuf75thu@auracom.net', fromName: 'Атиковa' },
  { file: 'd022', how: 'partly encoded UTF-8 subject', subject: 'Re: Test: "漢字" mid "漢字" tail', from: 'jamis@37signals.com' },
  { file: 'd023', how: 'EUC-KR Q subject', subject: 'NOTE: 한국말로 하는 것', from: 'mikel@me.com' },
  { file: 'd026', how: 'UTF-8 B subject, RFC 2231 UTF-8 filename', subject: 'Nodemailer is unicode friendly ✔ (1476358788189)', from: 'andris@kreata.ee', attachments: ['image.png', 'nyan cat ✔.gif', 'notes.txt'] },
  { file: 'd035', how: 'raw 8-bit UTF-8 filename', subject: 'Malformed test', from: 'pavel.bazika@some.domain', attachments: ['管理.doc'] },
  { file: 'd038', how: 'lower-case q UTF-8 subject', subject: 'MIME UTF8 Test ¢ More Text', from: 'jamehi03@jamehi03lx.noa.com' },
  { file: 'd044', how: 'two UTF-8 B words (Cyrillic)', subject: 'Simple text. How are you? Как ты поживаешь?', from: 'hello@example.com' },
  { file: 'd055', how: 'KOI8-R encoded word as filename parameter', subject: 'Greetings', attachments: ['Список.doc'] },
  { file: 'd056', how: 'RFC 2231 UTF-8 filename', attachments: ['attachment.äöü'] },
  { file: 'd058', how: 'subject across iso-8859-1, iso-8859-2 and us-ascii words', subject: 'If you can read this you understand the example... so, cool!', from: 'moore@cs.utk.edu', fromName: 'Keith Moore' },
  { file: 'd070', how: 'ISO-8859-2 Q display name', from: 'vs@utia.cas.cz', fromName: 'Vladimír Solnický' },
  { file: 'd078', how: 'KOI8-R B subject', subject: 'услуги перевода в Турции', from: 'law@gc-osnova.ru' },
  { file: 'd082', how: 'ISO-2022-JP subject and name', subject: 'ＥＴＣマイレージからのお知らせ', from: 'admin@ml.smile-etc.jp', fromName: 'ＥＴＣマイレージサービス事務局' },
  { file: 'd084', how: 'windows-874 (Thai) B and Q words', subject: 'เหตุทำให้สมองเสื่อมไว', from: 'aram1630@hotmail.com' },
  { file: 'd085', how: 'GB18030 subject and quoted encoded name', subject: '哈哈', from: 'wujyou@qq.com', fromName: '向左' },
  { file: 'd093', how: 'ISO-8859-1 Q display name', from: 'list@jth.net', fromName: 'Jørgen Thomsen' },
];

describe('decoded headers and attachment names match the raw files', () => {
  for (const expected of EXPECTED) {
    it(`${expected.file}: ${expected.how}`, async () => {
      const message = await parseRaw(corpusRaw(expected.file));
      if (expected.subject !== undefined) expect(message.subject).toBe(expected.subject);
      if (expected.from !== undefined) expect(message.from?.address).toBe(expected.from);
      if (expected.fromName !== undefined) expect(message.from?.name).toBe(expected.fromName);
      if (expected.attachments !== undefined) expect(message.attachments.map((a) => a.filename).filter(Boolean)).toEqual(expected.attachments);
    });
  }
  it('covers at least 15 messages', () => {
    expect(new Set(EXPECTED.map((e) => e.file)).size).toBeGreaterThanOrEqual(15);
  });
});

describe('headers that need care', () => {
  it('reads Message-ID, In-Reply-To and References without brackets', async () => {
    const message = await parseRaw(corpusRaw('d094'));
    expect(message.messageId).toBe('20020726013315.GC11850@nexus.cloudmark.com');
    expect(message.messageKey).toBe(message.messageId);
    expect(message.inReplyTo).toBe('t851kuc2r0819al79haubtjvvubhnqai1s@4ax.com');
    expect(message.references).toContain('20020725231115.GA11850@nexus.cloudmark.com');
  });

  it('flattens group syntax and lower-cases addresses', async () => {
    const message = await parseRaw(
      Buffer.from('From: Boss <BOSS@Fund.COM>\r\nTo: Partners: Ann <ann@x.com>, bob@Y.com;, carol@z.com\r\nCc: undisclosed-recipients:;\r\nSubject: s\r\n\r\nhi\r\n'),
    );
    expect(message.from).toEqual({ address: 'boss@fund.com', name: 'Boss' });
    expect(message.to.map((a) => a.address)).toEqual(['ann@x.com', 'bob@y.com', 'carol@z.com']);
    expect(message.cc).toEqual([]);
  });

  it('keeps a display name that looks like an address as a name only', async () => {
    const message = await parseRaw(Buffer.from('From: "ceo@fund.com" <attacker@evil.com>\r\nTo: jane@northwind.vc\r\nSubject: wire\r\n\r\nsend money\r\n'));
    expect(message.from).toEqual({ address: 'attacker@evil.com', name: 'ceo@fund.com' });
  });

  it('reads obsolete zones and rejects nonsense dates with a problem instead of inventing one', async () => {
    expect(parseDateHeader('Sat, 13 Jun 92 08:53:19 JST')).toBe(Date.UTC(1992, 5, 12, 23, 53, 19));
    expect(parseDateHeader('Thu, 13 Feb 1969 23:32:54 -0330')).toBe(Date.UTC(1969, 1, 14, 3, 2, 54));
    const bad = await parseRaw(corpusRaw('d006'));
    expect(bad.sentMs).toBeUndefined();
    expect(bad.problems.join(' ')).toMatch(/date: unreadable/);
  });

  it('gives a message without Message-ID a stable synthetic key', async () => {
    const raw = corpusRaw('d007');
    const first = await parseRaw(raw);
    const second = await parseRaw(Buffer.from(raw));
    expect(first.messageId).toBeUndefined();
    expect(first.messageKey).toMatch(/^synthetic:[0-9a-f]{40}$/);
    expect(second.messageKey).toBe(first.messageKey);
    // Two different header-less messages do not share a key.
    const a = await parseRaw(corpusRaw('d056'));
    const b = await parseRaw(corpusRaw('d061'));
    expect(a.messageKey).not.toBe(b.messageKey);
  });

  it('detects bulk mail from List-Id, Precedence and Auto-Submitted', async () => {
    const list = await parseRaw(corpusRaw('d092'));
    expect(list.bulk.isBulk).toBe(true);
    expect(list.bulk.listId).toMatch(/razor-users/i);
    const precedence = await parseRaw(Buffer.from('From: a@b.com\r\nPrecedence: bulk\r\nSubject: x\r\n\r\nx'));
    expect(precedence.bulk).toMatchObject({ isBulk: true, precedence: 'bulk' });
    const auto = await parseRaw(Buffer.from('From: a@b.com\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nx'));
    expect(auto.bulk.isBulk).toBe(false);
    const personal = await parseRaw(corpusRaw('d079'));
    expect(personal.bulk.isBulk).toBe(false);
  });

  it('splits References lists and ignores junk in them', () => {
    expect(messageIdList('<a@x> <b@y>\r\n <c@z>')).toEqual(['a@x', 'b@y', 'c@z']);
    expect(messageIdList(['<a@x>', '<a@x>', 'garbage <d@w>'])).toEqual(['a@x', 'd@w']);
    expect(messageIdList(undefined)).toEqual([]);
  });
});

describe('body text', () => {
  it('turns an HTML-only message into readable text without scripts or styles', async () => {
    const message = await parseRaw(
      Buffer.from(
        'From: a@b.com\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n' +
          '\ufeff<html><head><style>p{color:red}</style><title>T</title></head><body><script>alert("x")</script>' +
          '<p>Hello&nbsp;Jane,</p><p>The deck &amp; model are attached.</p><ul><li>one</li><li>two</li></ul><!-- hidden --></body></html>',
      ),
    );
    expect(message.text).toBe('Hello Jane,\n\nThe deck & model are attached.\n\n- one\n- two');
    expect(message.snippet).toBe('Hello Jane, The deck & model are attached. - one - two');
  });

  it('drops a leading BOM, NULs and undecodable bytes from the text and says so', async () => {
    const raw = Buffer.concat([Buffer.from('From: a@b.com\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\ufeffHi\u0000 there '), Buffer.from([0xff, 0xfe]), Buffer.from(' end')]);
    const message = await parseRaw(raw);
    expect(message.text).toBe('Hi there  end');
    expect(message.problems.join(' ')).toMatch(/could not be decoded/);
  });

  it('converts corpus HTML-only mail (d029) to text', async () => {
    const message = await parseRaw(corpusRaw('d029'));
    expect(message.text.length).toBeGreaterThan(100);
    expect(message.text).not.toMatch(/<[a-z]/i);
  });

  it('htmlToText survives an unclosed script and numeric entities', () => {
    expect(htmlToText('<p>a &#233;&#x41;</p><script>never')).toBe('a éA');
  });
});

describe('Gmail format=full and format=metadata', () => {
  const headers = [
    { name: 'From', value: 'Ann Lee <ann.lee@harborview-pension.com>' },
    { name: 'To', value: 'jane@northwind.vc' },
    { name: 'Subject', value: '=?UTF-8?Q?Q3_deck_=E2=9C=94?=' },
    { name: 'Message-ID', value: '<deck-1@harborview-pension.com>' },
    { name: 'Date', value: 'Tue, 03 Nov 2026 10:00:00 +0000' },
    { name: 'MIME-Version', value: '1.0' },
  ];
  const full = {
    id: 'm1',
    threadId: 't1',
    labelIds: ['INBOX', 'UNREAD'],
    snippet: 'Jane, here&#39;s the deck',
    historyId: '120034',
    internalDate: '1793700000000',
    sizeEstimate: 200000,
    payload: {
      partId: '',
      mimeType: 'multipart/mixed',
      filename: '',
      headers: [...headers, { name: 'Content-Type', value: 'multipart/mixed; boundary="xyz"' }],
      body: { size: 0 },
      parts: [
        {
          partId: '0',
          mimeType: 'multipart/alternative',
          filename: '',
          headers: [{ name: 'Content-Type', value: 'multipart/alternative; boundary="alt"' }],
          body: { size: 0 },
          parts: [
            { partId: '0.0', mimeType: 'text/plain', filename: '', headers: [{ name: 'Content-Type', value: 'text/plain; charset=iso-8859-1' }, { name: 'Content-Transfer-Encoding', value: 'quoted-printable' }], body: { size: 30, data: Buffer.from('Jane, here is the deck. Gr\xfc\xdfe', 'latin1').toString('base64url') } },
            { partId: '0.1', mimeType: 'text/html', filename: '', headers: [{ name: 'Content-Type', value: 'text/html; charset=utf-8' }], body: { size: 40, data: b64url('<p>Jane, here is the deck.</p>') } },
          ],
        },
        {
          partId: '1',
          mimeType: 'application/pdf',
          filename: 'Q3 deck ✔.pdf',
          headers: [{ name: 'Content-Type', value: 'application/pdf; name="Q3 deck.pdf"' }, { name: 'Content-Disposition', value: 'attachment; filename="Q3 deck.pdf"' }, { name: 'Content-Transfer-Encoding', value: 'base64' }],
          body: { attachmentId: 'ANGjdJ8-att-1', size: 183442 },
        },
      ],
    },
  };

  it('reads the payload tree: decoded text in its charset, attachments as ids and sizes', async () => {
    const message: CanonicalMessage = await parseGmailMessage(full);
    expect(message.subject).toBe('Q3 deck ✔');
    expect(message.messageKey).toBe('deck-1@harborview-pension.com');
    expect(message.from).toEqual({ address: 'ann.lee@harborview-pension.com', name: 'Ann Lee' });
    expect(message.text).toBe('Jane, here is the deck. Grüße');
    expect(message.snippet).toBe("Jane, here's the deck");
    expect(message.labelIds).toEqual(['INBOX', 'UNREAD']);
    expect(message.internalDateMs).toBe(1_793_700_000_000);
    expect(message.attachments).toEqual([{ partId: '1', filename: 'Q3 deck ✔.pdf', contentType: 'application/pdf', size: 183442, inline: false, gmailAttachmentId: 'ANGjdJ8-att-1' }]);
    expect(message.problems).toEqual([]);
  });

  it('lists a forwarded message as one attachment even when Gmail shows its inner parts', async () => {
    const forwarded = {
      ...full,
      payload: {
        ...full.payload,
        parts: [
          full.payload.parts[0]!,
          {
            partId: '1',
            mimeType: 'message/rfc822',
            filename: 'Fwd.eml',
            headers: [{ name: 'Content-Type', value: 'message/rfc822' }, { name: 'Content-Disposition', value: 'attachment; filename="Fwd.eml"' }],
            body: { attachmentId: 'eml-1', size: 5000 },
            parts: [{ partId: '1.0', mimeType: 'application/pdf', filename: 'inner.pdf', headers: [], body: { attachmentId: 'inner-1', size: 4000 } }],
          },
        ],
      },
    };
    const message = await parseGmailMessage(forwarded);
    expect(message.attachments).toEqual([{ partId: '1', filename: 'Fwd.eml', contentType: 'message/rfc822', size: 5000, inline: false, gmailAttachmentId: 'eml-1' }]);
  });

  it('reads format=metadata (headers only) to the same logical key and addresses, without body', async () => {
    const metadata = { ...full, payload: { mimeType: 'multipart/mixed', headers } };
    const message = await parseGmailMessage(metadata);
    expect(message.messageKey).toBe('deck-1@harborview-pension.com');
    expect(message.to).toEqual([{ address: 'jane@northwind.vc' }]);
    expect(message.subject).toBe('Q3 deck ✔');
    expect(message.text).toBe('');
    expect(message.attachments).toEqual([]);
  });

  it('gives a message without Message-ID a header-only synthetic key in metadata form, one with the body in raw form', async () => {
    const raw = corpusRaw('d007');
    const fromRaw = await parseGmailMessage({ id: 'x9', raw: b64url(raw) });
    const text = raw.toString('latin1');
    const headerText = text.slice(0, text.indexOf('\r\n\r\n'));
    const metaHeaders = headerText
      .replace(/\r\n[ \t]+/g, ' ')
      .split('\r\n')
      .map((line) => ({ name: line.slice(0, line.indexOf(':')), value: line.slice(line.indexOf(':') + 1).trim() }))
      .filter((h) => h.name !== '');
    const fromMetadata = await parseGmailMessage({ id: 'x9', payload: { mimeType: 'multipart/alternative', headers: metaHeaders } });
    expect(fromRaw.messageKey).toMatch(/^synthetic:/);
    expect(fromMetadata.messageKey).toMatch(/^synthetic:/);
    // The metadata read has no body to digest (sync never stores a metadata read's key).
    expect(fromMetadata.messageKey).not.toBe(fromRaw.messageKey);
  });

  it('never throws on a minimal or empty resource', async () => {
    const minimal = await parseGmailMessage({ id: 'm2', threadId: 't2', labelIds: ['INBOX'] });
    expect(minimal.problems.join(' ')).toMatch(/no payload/);
    expect(minimal.messageKey).toMatch(/^synthetic:/);
    const garbage = await parseRaw(Buffer.from([0, 1, 2, 3, 255, 254]));
    expect(garbage.messageKey).toMatch(/\S/);
  });

  it('keeps the headers of a message whose MIME structure the parser refuses (1,100 parts)', async () => {
    const parts = Array.from({ length: 1100 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}`).join('\r\n');
    const raw = Buffer.from(`From: Ann <ann@fund.com>\r\nTo: jane@northwind.vc\r\nSubject: many\r\nMessage-ID: <many@fund.com>\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}\r\n--b--\r\n`);
    const message = await parseRaw(raw);
    expect(message).toMatchObject({ subject: 'many', messageKey: 'many@fund.com', from: { address: 'ann@fund.com', name: 'Ann' }, to: [{ address: 'jane@northwind.vc' }], text: '' });
    expect(message.problems).toEqual([expect.stringMatching(/^mime: the message structure could not be parsed .*headers only$/)]);
  });
});
