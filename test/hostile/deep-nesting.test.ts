/**
 * Issue 17 item 10: a Gmail-style payload nested thousands of levels deep is read without a throw;
 * what lies beyond the depth limit is kept (flattened) and the problem recorded.
 */
import { describe, expect, it } from 'vitest';
import type { gmail_v1 } from '@googleapis/gmail';
import { parseGmailMessage } from '../../src/mail/parse.js';

const b64url = (text: string): string => Buffer.from(text).toString('base64url');

function nested(depth: number, text: string): gmail_v1.Schema$Message {
  let part: gmail_v1.Schema$MessagePart = { partId: 'x', mimeType: 'text/plain', headers: [{ name: 'Content-Type', value: 'text/plain; charset=utf-8' }], body: { size: text.length, data: b64url(text) } };
  for (let level = 0; level < depth; level++) part = { partId: 'x', mimeType: 'multipart/mixed', headers: [], parts: [part] };
  part.headers = [
    { name: 'From', value: 'Ann Lee <ann.lee@harborview-pension.com>' },
    { name: 'To', value: 'jane@northwind.vc' },
    { name: 'Subject', value: 'deep' },
    { name: 'Message-ID', value: `<deep-${depth}@harborview-pension.com>` },
  ];
  return { id: `deep${depth}`, threadId: 't', labelIds: ['INBOX'], internalDate: '1790000000000', payload: part };
}

describe('deeply nested Gmail payloads', () => {
  it('keeps the text beyond the depth limit and records the problem (60 levels)', async () => {
    const message = await parseGmailMessage(nested(60, 'We commit 10M.'));
    expect(message.text).toBe('We commit 10M.');
    expect(message.problems.join(' ')).toMatch(/nested deeper than 50/);
  });

  it('never throws at 5,000 levels', async () => {
    const message = await parseGmailMessage(nested(5000, 'Bottom text.'));
    expect(message.subject).toBe('deep');
    expect(message.text).toBe('Bottom text.');
    expect(message.problems.join(' ')).toMatch(/nested deeper than 50/);
  });
});
