import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { eml, failure, gmailFor } from '../../emulator/helpers.js';
import { schemaErrors } from '../schema.js';

const USER = 'ann@northwind.vc';
const DAY = 86_400_000;
let emu: Emulator;
let clock = Date.UTC(2026, 5, 1, 12);

const msg = (n: number) => eml({ From: `lp${n}@fund.com`, To: USER, Subject: `Update ${n}`, 'Message-ID': `<u${n}@fund.com>` }, `Text ${n}\r\n`);

beforeAll(async () => {
  emu = await startEmulator({
    now: () => clock,
    historyRetentionDays: 7,
    mailboxes: {
      [USER]: [
        { raw: msg(1), internalDate: clock - 30 * DAY },
        { raw: msg(2), internalDate: clock - 2 * DAY },
      ],
    },
  });
});
afterAll(async () => emu?.stop());

async function allHistory(start: string, extra: Record<string, unknown> = {}) {
  const client = gmailFor(emu, USER, { retry: false });
  const records: any[] = [];
  let pageToken: string | undefined;
  let last: any;
  do {
    last = (await client.users.history.list({ userId: 'me', startHistoryId: start, pageToken, ...extra })).data;
    expect(schemaErrors(last, 'ListHistoryResponse')).toEqual([]);
    records.push(...(last.history ?? []));
    pageToken = last.nextPageToken ?? undefined;
  } while (pageToken);
  return { records, historyId: last.historyId as string };
}

describe('history.list', () => {
  it('no changes: only the current historyId, no history key', async () => {
    const start = emu.historyId(USER);
    const client = gmailFor(emu, USER);
    const answer = (await client.users.history.list({ userId: 'me', startHistoryId: start })).data;
    expect(answer).toEqual({ historyId: start });
  });

  it('records each mutation in order with increasing ids and random gaps', async () => {
    const client = gmailFor(emu, USER);
    const start = (await client.users.getProfile({ userId: 'me' })).data.historyId!;
    const added = emu.addMessage(USER, msg(3), { labelIds: ['INBOX', 'UNREAD'] });
    emu.modifyLabels(USER, added.id, ['STARRED'], ['UNREAD']);
    const victim = emu.messageIds(USER).at(-1) as string; // the oldest
    emu.deleteMessage(USER, victim);
    const { records, historyId } = await allHistory(start);
    expect(historyId).toBe(emu.historyId(USER));
    expect(records.map((r) => Object.keys(r).filter((k) => k !== 'id' && k !== 'messages'))).toEqual([['messagesAdded'], ['labelsAdded'], ['labelsRemoved'], ['messagesDeleted']]);
    expect(records[0].messagesAdded[0].message).toEqual({ id: added.id, threadId: added.threadId, labelIds: ['INBOX', 'UNREAD'] });
    expect(records[1].labelsAdded[0]).toEqual({ message: { id: added.id, threadId: added.threadId, labelIds: ['INBOX', 'UNREAD', 'STARRED'] }, labelIds: ['STARRED'] });
    expect(records[2].labelsRemoved[0].labelIds).toEqual(['UNREAD']);
    expect(records[3].messagesDeleted[0].message.id).toBe(victim);
    const ids = records.map((r) => Number(r.id));
    expect(ids.every((id, i) => i === 0 || id > (ids[i - 1] as number))).toBe(true);
    expect(ids[0]).toBeGreaterThan(Number(start));
    // Gaps are not all +1.
    expect(ids.some((id, i) => i > 0 && id - (ids[i - 1] as number) > 1)).toBe(true);
    // The message's historyId is the last record that touched it.
    const m = (await client.users.messages.get({ userId: 'me', id: added.id, format: 'minimal' })).data;
    expect(m.historyId).toBe(records[2].id);
    expect(m.labelIds).toEqual(['INBOX', 'STARRED']);
  });

  it('filters by historyTypes and labelId, and pages with a stable start id', async () => {
    const start = emu.historyId(USER);
    const ids = Array.from({ length: 5 }, (_, i) => emu.addMessage(USER, msg(10 + i)).id);
    for (const id of ids) emu.modifyLabels(USER, id, ['Label_7'], []);
    const client = gmailFor(emu, USER);
    const onlyAdded = await allHistory(start, { historyTypes: ['messageAdded'], maxResults: 2 });
    expect(onlyAdded.records.map((r) => r.messagesAdded[0].message.id)).toEqual(ids);
    const labelled = await allHistory(start, { labelId: 'Label_7', historyTypes: ['labelAdded'] });
    expect(labelled.records).toHaveLength(5);
    const firstPage = (await client.users.history.list({ userId: 'me', startHistoryId: start, maxResults: 3 })).data;
    expect(firstPage.history).toHaveLength(3);
    expect(firstPage.nextPageToken).toBeTruthy();
    const bad = await failure(gmailFor(emu, USER, { retry: false }).users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['bogus'] }));
    expect(bad.status).toBe(400);
  });

  it('missing startHistoryId: 400 invalidArgument', async () => {
    const error = await failure(gmailFor(emu, USER, { retry: false }).users.history.list({ userId: 'me' }));
    expect(error.status).toBe(400);
    expect(error.data.error.errors[0]).toMatchObject({ reason: 'invalidArgument', message: 'Missing/invalid parameter: startHistoryId' });
  });

  it('a start id older than the retention window: 404, as Gmail; a recent one still works', async () => {
    const client = gmailFor(emu, USER, { retry: false });
    const old = emu.historyId(USER);
    emu.addMessage(USER, msg(39)); // a change right after the old cursor, forgotten below
    clock += 3 * DAY;
    emu.addMessage(USER, msg(40));
    const recent = emu.historyId(USER);
    clock += 5 * DAY; // the "old" records are now 8 days old
    emu.addMessage(USER, msg(41));
    const expired = await failure(client.users.history.list({ userId: 'me', startHistoryId: old }));
    expect(expired.status).toBe(404);
    expect(expired.message).toBe('Requested entity was not found.');
    const fresh = (await client.users.history.list({ userId: 'me', startHistoryId: recent })).data;
    expect(fresh.history?.map((h) => h.messagesAdded?.[0]?.message?.id)).toEqual([emu.messageIds(USER)[0]]);
    // A start id from a message loaded long ago is also past the window.
    const oldest = emu.messageIds(USER).at(-1) as string;
    const oldMessage = (await client.users.messages.get({ userId: 'me', id: oldest, format: 'minimal' })).data;
    expect((await failure(client.users.history.list({ userId: 'me', startHistoryId: oldMessage.historyId! }))).status).toBe(404);
    // A quiet mailbox does not expire a cursor that is up to date.
    const current = emu.historyId(USER);
    clock += 30 * DAY;
    expect((await client.users.history.list({ userId: 'me', startHistoryId: current })).data).toEqual({ historyId: current });
  });

  it('advanceTime moves the mail clock (internalDate of new mail, retention)', async () => {
    const before = emu.now();
    emu.advanceTime(10 * DAY);
    expect(emu.now() - before).toBe(10 * DAY);
    const added = emu.addMessage(USER, msg(50));
    const m = (await gmailFor(emu, USER).users.messages.get({ userId: 'me', id: added.id, format: 'minimal' })).data;
    expect(Number(m.internalDate)).toBe(emu.now());
  });
});
