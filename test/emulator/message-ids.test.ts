/**
 * The emulator's rewriteMessageIds: what Gmail's inbound mail does to a missing or malformed
 * Message-ID, and crm-mail's parser reading the sender's id back out of such a copy.
 */
import { describe, expect, it } from 'vitest';
import { isWellFormedMessageId, withGmailMessageId } from '../../src/emulator/message-ids.js';
import { isGmailAssignedMessageId, parseRaw } from '../../src/mail/parse.js';

const mail = (messageIdLine: string | null): Buffer =>
  Buffer.from([...(messageIdLine === null ? [] : [messageIdLine]), 'From: ann@fund.com', 'To: jane@northwind.vc', 'Subject: Q3', 'Date: Tue, 1 Dec 2026 10:00:00 +0000', '', 'Hello.', ''].join('\r\n'));

describe('Gmail-assigned Message-IDs', () => {
  it('tells an RFC 5322 msg-id from a broken one', () => {
    expect(isWellFormedMessageId('<abc.123@mail.fund.com>')).toBe(true);
    expect(isWellFormedMessageId('<abc@[10.0.0.1]> (comment)')).toBe(true);
    for (const bad of ['abc@mail.fund.com', '<abc>', '<a b@fund.com>', '<abc@fund.com', '<a:b@fund.com>', '']) expect(isWellFormedMessageId(bad), bad).toBe(false);
  });

  it('keeps a good id, adds one to mail without, replaces a broken one and keeps it as X-Google-Original-Message-ID', async () => {
    const good = mail('Message-ID: <q3@fund.com>');
    expect(withGmailMessageId(good, 'ann/1')).toBe(good);

    const added = withGmailMessageId(mail(null), 'jane/1');
    const addedCopy = await parseRaw(added);
    expect(added.toString()).toMatch(/^Message-ID: <[0-9a-f]{8}\.[0-9a-f]{8}\.SMTPIN_ADDED_MISSING\.[0-9a-f]{4}\.[0-9a-f]{8}\.GMR@mx\.google\.com>\r\n/);
    expect(isGmailAssignedMessageId(addedCopy.gmailMessageId!)).toBe(true);
    expect(addedCopy.messageId).toBeUndefined();
    expect(addedCopy.messageKey).toMatch(/^synthetic:/);
    // Another mailbox's copy: another Gmail id, the same logical key.
    const otherCopy = await parseRaw(withGmailMessageId(mail(null), 'omar/7'));
    expect(otherCopy.gmailMessageId).not.toBe(addedCopy.gmailMessageId);
    expect(otherCopy.messageKey).toBe(addedCopy.messageKey);

    const replaced = withGmailMessageId(mail('Message-ID: q3@fund.com'), 'jane/2');
    expect(replaced.toString()).toMatch(/^Message-ID: <[^>]+SMTPIN_ADDED_BROKEN[^>]+@mx\.google\.com>\r\nX-Google-Original-Message-ID: q3@fund.com\r\nFrom: ann@fund\.com/);
    expect(replaced.toString().match(/^Message-ID:/gim)).toHaveLength(1);
    const copy = await parseRaw(replaced);
    expect(copy).toMatchObject({ messageId: 'q3@fund.com', messageKey: 'q3@fund.com' });
    expect(copy.gmailMessageId).toMatch(/SMTPIN_ADDED_BROKEN/);
    expect(copy.text.trim()).toBe('Hello.');
  });
});
