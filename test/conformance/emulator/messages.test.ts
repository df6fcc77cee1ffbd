import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { base64urlDecode, eml, failure, gmailFor } from '../../emulator/helpers.js';
import { schemaErrors } from '../schema.js';

const USER = 'ann@northwind.vc';
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37) % 256)), Buffer.from('\n%%EOF\n')]);
const PDF_B64 = PDF.toString('base64').replace(/.{76}/g, '$&\r\n');

const withAttachment = Buffer.from(
  [
    'From: "Lee, Ann (Fund)" <ann.lee@harborcapital.com>',
    'To: Ann <ann@northwind.vc>',
    'Cc: =?UTF-8?Q?Jos=C3=A9?= <jose@harborcapital.com>',
    'Subject: =?UTF-8?B?UTMgbGV0dGVyIOKAkyBkcmFmdA==?=',
    'Date: Tue, 03 Mar 2026 10:00:00 -0800',
    'Message-ID: <q3-letter@harborcapital.com>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'preamble',
    '--outer',
    'Content-Type: multipart/alternative; boundary=inner',
    '',
    '--inner',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Caf=C3=A9 meeting moved to Thursday.',
    '--inner',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Caf\u00e9 meeting moved to Thursday.</p>',
    '--inner--',
    '--outer',
    'Content-Type: application/pdf; name="Q3 Letter.pdf"',
    'Content-Disposition: attachment; filename="Q3 Letter.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    PDF_B64,
    '--outer--',
    '',
  ].join('\r\n'),
  'utf8',
);

const reply = eml(
  { From: 'Ann <ann@northwind.vc>', To: 'ann.lee@harborcapital.com', Subject: 'Re: Q3 letter - draft', Date: 'Tue, 03 Mar 2026 12:00:00 -0800', 'Message-ID': '<reply-1@northwind.vc>', 'In-Reply-To': '<q3-letter@harborcapital.com>', References: '<q3-letter@harborcapital.com>' },
  'Thanks!\r\n',
);

let emu: Emulator;
const day = (n: number) => Date.UTC(2026, 2, 3) + n * 86_400_000;

beforeAll(async () => {
  const plain = Array.from({ length: 23 }, (_, i) => ({
    raw: eml({ From: `sender${i}@example.org`, To: USER, Subject: `Note ${i}`, 'Message-ID': `<n${i}@example.org>` }, `Body ${i}\r\n`),
    internalDate: day(-30 + i),
    labelIds: i % 5 === 0 ? ['INBOX', 'UNREAD'] : ['INBOX'],
  }));
  emu = await startEmulator({
    mailboxes: {
      [USER]: [
        ...plain,
        { raw: withAttachment, internalDate: day(0), labelIds: ['INBOX', 'IMPORTANT'] },
        { raw: reply, internalDate: day(0) + 7_200_000, labelIds: ['SENT'] },
        { raw: eml({ From: 'spam@junk.example', To: USER, Subject: 'Win' }, 'x'), internalDate: day(1), labelIds: ['SPAM'] },
      ],
      'empty@northwind.vc': [],
    },
  });
});
afterAll(async () => emu?.stop());

async function findId(q: string): Promise<string> {
  const list = await gmailFor(emu, USER).users.messages.list({ userId: 'me', q });
  const id = list.data.messages?.[0]?.id;
  if (!id) throw new Error(`no message for ${q}`);
  return id;
}

describe('messages.list', () => {
  it('pages newest first through every message, without duplicates, last page without a token', async () => {
    const client = gmailFor(emu, USER);
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.users.messages.list({ userId: 'me', maxResults: 7, pageToken });
      expect(schemaErrors(page.data, 'ListMessagesResponse')).toEqual([]);
      expect(page.data.resultSizeEstimate).toBe(25);
      seen.push(...(page.data.messages ?? []).map((m) => m.id as string));
      pageToken = page.data.nextPageToken ?? undefined;
      pages++;
    } while (pageToken);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(25);
    // SPAM excluded by default; messageIds() lists everything, newest first.
    expect(seen).toEqual(emu.messageIds(USER).filter((id) => seen.includes(id)));
    expect(emu.messageIds(USER)).toHaveLength(26);
  });

  it('includeSpamTrash and labelIds (all must match)', async () => {
    const client = gmailFor(emu, USER);
    expect((await client.users.messages.list({ userId: 'me', includeSpamTrash: true })).data.resultSizeEstimate).toBe(26);
    const unread = await client.users.messages.list({ userId: 'me', labelIds: ['INBOX', 'UNREAD'] });
    expect(unread.data.messages).toHaveLength(5);
    expect((await client.users.messages.list({ userId: 'me', labelIds: ['SPAM'] })).data.messages).toHaveLength(1);
  });

  it('an empty answer has no messages key and no nextPageToken', async () => {
    const empty = await gmailFor(emu, 'empty@northwind.vc').users.messages.list({ userId: 'me' });
    expect(empty.data).toEqual({ resultSizeEstimate: 0 });
  });

  it('honours fields (partial response)', async () => {
    const page = await gmailFor(emu, USER).users.messages.list({ userId: 'me', maxResults: 2, fields: 'nextPageToken,messages/id' });
    expect(Object.keys(page.data).sort()).toEqual(['messages', 'nextPageToken']);
    expect(Object.keys(page.data.messages?.[0] ?? {})).toEqual(['id']);
  });
});

describe('messages.get', () => {
  it('minimal: ids, labels, snippet, sizes; strings where Gmail has strings', async () => {
    const id = await findId('rfc822msgid:q3-letter@harborcapital.com');
    const m = (await gmailFor(emu, USER).users.messages.get({ userId: 'me', id, format: 'minimal' })).data;
    expect(schemaErrors(m, 'Message', ['id', 'threadId', 'labelIds', 'snippet', 'historyId', 'internalDate', 'sizeEstimate'])).toEqual([]);
    expect(m.payload).toBeUndefined();
    expect(m.raw).toBeUndefined();
    expect(m.labelIds).toEqual(['INBOX', 'IMPORTANT']);
    expect(m.internalDate).toBe(String(day(0)));
    expect(m.sizeEstimate).toBe(withAttachment.length);
    expect(m.snippet).toBe('Café meeting moved to Thursday.');
  });

  it('metadata: only the asked headers (case-insensitive), decoded', async () => {
    const id = await findId('rfc822msgid:q3-letter@harborcapital.com');
    const m = (await gmailFor(emu, USER).users.messages.get({ userId: 'me', id, format: 'metadata', metadataHeaders: ['subject', 'CC'] })).data;
    expect(schemaErrors(m, 'Message')).toEqual([]);
    expect(m.payload?.headers).toEqual([
      { name: 'Cc', value: 'José <jose@harborcapital.com>' },
      { name: 'Subject', value: 'Q3 letter – draft' },
    ]);
    expect(m.payload?.parts).toBeUndefined();
  });

  it('full: part tree with partIds, decoded bodies, attachment by id only', async () => {
    const id = await findId('rfc822msgid:q3-letter@harborcapital.com');
    const m = (await gmailFor(emu, USER).users.messages.get({ userId: 'me', id })).data;
    expect(schemaErrors(m, 'Message')).toEqual([]);
    const p = m.payload!;
    expect(p.mimeType).toBe('multipart/mixed');
    expect(p.partId).toBe('');
    expect(p.headers?.map((h) => h.name)).toEqual(['From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type']);
    const [alt, pdf] = p.parts!;
    expect(alt?.partId).toBe('0');
    expect(alt?.parts?.map((x) => [x.partId, x.mimeType])).toEqual([['0.0', 'text/plain'], ['0.1', 'text/html']]);
    expect(base64urlDecode(alt!.parts![0]!.body!.data!).toString('utf8')).toBe('Café meeting moved to Thursday.');
    expect(pdf).toMatchObject({ partId: '1', mimeType: 'application/pdf', filename: 'Q3 Letter.pdf' });
    expect(pdf?.body?.data).toBeUndefined();
    expect(pdf?.body?.size).toBe(PDF.length);
    expect(pdf?.body?.attachmentId).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('raw: base64url of the exact bytes stored', async () => {
    const id = await findId('rfc822msgid:q3-letter@harborcapital.com');
    const m = (await gmailFor(emu, USER).users.messages.get({ userId: 'me', id, format: 'raw' })).data;
    expect(schemaErrors(m, 'Message')).toEqual([]);
    expect(m.payload).toBeUndefined();
    expect(m.raw).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(base64urlDecode(m.raw!).equals(withAttachment)).toBe(true);
  });

  it('400 for a malformed id, 404 for an unknown one, 400 for an unknown format', async () => {
    const client = gmailFor(emu, USER, { retry: false });
    expect((await failure(client.users.messages.get({ userId: 'me', id: 'not-an-id!' }))).status).toBe(400);
    const missing = await failure(client.users.messages.get({ userId: 'me', id: '18c0f2a1b2c3d4e5' }));
    expect(missing.status).toBe(404);
    expect(missing.data).toEqual({ error: { code: 404, message: 'Requested entity was not found.', errors: [{ message: 'Requested entity was not found.', domain: 'global', reason: 'notFound' }], status: 'NOT_FOUND' } });
    const id = emu.messageIds(USER)[0] as string;
    expect((await failure(client.users.messages.get({ userId: 'me', id, format: 'bogus' }))).status).toBe(400);
  });
});

describe('attachments.get', () => {
  it('returns the exact bytes; ids change per get and each stays valid; forged ids are refused', async () => {
    const client = gmailFor(emu, USER, { retry: false });
    const id = await findId('has:attachment');
    const first = (await client.users.messages.get({ userId: 'me', id })).data.payload!.parts![1]!.body!.attachmentId!;
    const second = (await client.users.messages.get({ userId: 'me', id })).data.payload!.parts![1]!.body!.attachmentId!;
    expect(first).not.toBe(second);
    for (const attachmentId of [first, second]) {
      const a = (await client.users.messages.attachments.get({ userId: 'me', messageId: id, id: attachmentId })).data;
      expect(schemaErrors(a, 'MessagePartBody')).toEqual([]);
      expect(a.size).toBe(PDF.length);
      expect(base64urlDecode(a.data!).equals(PDF)).toBe(true);
    }
    const other = emu.messageIds(USER).find((m) => m !== id) as string;
    expect((await failure(client.users.messages.attachments.get({ userId: 'me', messageId: other, id: first }))).status).toBe(400);
  });
});

describe('threads, labels', () => {
  it('threads a reply with its parent (In-Reply-To) and returns messages oldest first', async () => {
    const client = gmailFor(emu, USER, { retry: false });
    const id = await findId('rfc822msgid:reply-1@northwind.vc');
    const parent = await findId('rfc822msgid:q3-letter@harborcapital.com');
    const m = (await client.users.messages.get({ userId: 'me', id, format: 'minimal' })).data;
    const thread = (await client.users.threads.get({ userId: 'me', id: m.threadId!, format: 'metadata', metadataHeaders: ['Subject'] })).data;
    expect(schemaErrors(thread, 'Thread')).toEqual([]);
    expect(thread.messages?.map((x) => x.id)).toEqual([parent, id]);
    expect(Number(thread.historyId)).toBe(Math.max(...thread.messages!.map((x) => Number(x.historyId))));
    expect((await failure(client.users.threads.get({ userId: 'me', id: m.threadId!, format: 'raw' as 'full' }))).status).toBe(400);
    const threads = (await client.users.threads.list({ userId: 'me', maxResults: 100 })).data;
    expect(schemaErrors(threads, 'ListThreadsResponse')).toEqual([]);
    expect(threads.threads).toHaveLength(24);
  });

  it('lists system labels and counts one', async () => {
    const client = gmailFor(emu, USER);
    const labels = (await client.users.labels.list({ userId: 'me' })).data;
    expect(schemaErrors(labels, 'ListLabelsResponse')).toEqual([]);
    expect(labels.labels?.map((l) => l.id)).toEqual(expect.arrayContaining(['INBOX', 'SENT', 'SPAM', 'TRASH', 'UNREAD', 'CATEGORY_PERSONAL']));
    const unread = (await client.users.labels.get({ userId: 'me', id: 'UNREAD' })).data;
    expect(unread).toMatchObject({ id: 'UNREAD', type: 'system', messagesTotal: 5 });
  });
});

describe('configurable strictness', () => {
  it('expires attachment ids after attachmentIdTtlMs and caps q length with maxQueryChars', async () => {
    const strict = await startEmulator({ mailboxes: { [USER]: [{ raw: withAttachment }] }, attachmentIdTtlMs: 300, maxQueryChars: 50 });
    try {
      const client = gmailFor(strict, USER, { retry: false });
      const id = strict.messageIds(USER)[0]!;
      const attachmentId = (await client.users.messages.get({ userId: 'me', id })).data.payload!.parts![1]!.body!.attachmentId!;
      expect((await client.users.messages.attachments.get({ userId: 'me', messageId: id, id: attachmentId })).data.size).toBe(PDF.length);
      await new Promise((r) => setTimeout(r, 350));
      expect((await failure(client.users.messages.attachments.get({ userId: 'me', messageId: id, id: attachmentId }))).status).toBe(400);
      expect((await client.users.messages.list({ userId: 'me', q: 'from:ann.lee@harborcapital.com' })).data.resultSizeEstimate).toBe(1);
      const long = await failure(client.users.messages.list({ userId: 'me', q: `from:${'x'.repeat(60)}` }));
      expect(long.status).toBe(400);
    } finally {
      await strict.stop();
    }
  });

  it('accepts a long OR-query (20 KB request line) by default', async () => {
    const q = Array.from({ length: 700 }, (_, i) => `from:lp${i}@fund${i}.com`).join(' OR ') + ' OR from:harborcapital.com';
    expect(q.length).toBeGreaterThan(15_000);
    const list = await gmailFor(emu, USER).users.messages.list({ userId: 'me', q });
    expect(list.data.resultSizeEstimate).toBe(1);
  });
});
