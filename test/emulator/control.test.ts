import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { eml, failure, gmailFor } from './helpers.js';

const USER = 'ann@northwind.vc';
let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: { [USER]: [] }, now: () => Date.UTC(2026, 3, 1) });
});
afterAll(async () => emu?.stop());

const control = (path: string, init?: RequestInit) => fetch(new URL(`emulator/${path}`, emu.rootUrl), init);

describe('/emulator control endpoints (for an emulator started from the CLI)', () => {
  it('adds, relabels and deletes mail, with history, as the in-process API does', async () => {
    const client = gmailFor(emu, USER);
    const start = emu.historyId(USER);
    const raw = eml({ From: 'lp@fund.com', To: USER, Subject: 'Posted', 'Message-ID': '<posted@fund.com>' }, 'over http\r\n');
    const added = (await (await control(`users/${encodeURIComponent(USER)}/messages?labelIds=INBOX&internalDate=${Date.UTC(2026, 2, 30)}`, { method: 'POST', body: raw })).json()) as { id: string; threadId: string; historyId: string };
    expect(added.id).toMatch(/^[0-9a-f]{16}$/);
    expect(((await (await control(`users/${USER}/messages`)).json()) as { ids: string[] }).ids).toEqual([added.id]);
    const got = (await client.users.messages.get({ userId: 'me', id: added.id, format: 'raw' })).data;
    expect(Buffer.from(got.raw!, 'base64url').equals(raw)).toBe(true);
    expect(got.labelIds).toEqual(['INBOX']);
    expect(got.internalDate).toBe(String(Date.UTC(2026, 2, 30)));

    const relabel = await control(`users/${USER}/messages/${added.id}/labels`, { method: 'POST', body: JSON.stringify({ add: ['Deals'], remove: ['INBOX'] }) });
    expect(relabel.status).toBe(200);
    expect((await client.users.messages.list({ userId: 'me', q: 'label:deals -in:inbox' })).data.messages?.map((m) => m.id)).toEqual([added.id]);
    const labels = (await client.users.labels.list({ userId: 'me' })).data.labels!;
    expect(labels.find((l) => l.id === 'Deals')).toMatchObject({ name: 'Deals', type: 'user' });

    expect((await control(`users/${USER}/messages/${added.id}`, { method: 'DELETE' })).status).toBe(200);
    const history = (await client.users.history.list({ userId: 'me', startHistoryId: start })).data.history!;
    expect(history.map((h) => Object.keys(h).find((k) => k !== 'id' && k !== 'messages'))).toEqual(['messagesAdded', 'labelsAdded', 'labelsRemoved', 'messagesDeleted']);
    expect((await control(`users/nobody@x.y/messages`)).status).toBe(404);
  });

  it('faults, time and counters', async () => {
    const client = gmailFor(emu, USER, { retry: false });
    expect((await control('faults', { method: 'POST', body: JSON.stringify({ kind: '500', method: 'getProfile' }) })).status).toBe(200);
    expect((await failure(client.users.getProfile({ userId: 'me' }))).status).toBe(500);
    await control('faults', { method: 'POST', body: JSON.stringify([{ kind: '503' }]) });
    await control('faults', { method: 'DELETE' });
    expect((await client.users.getProfile({ userId: 'me' })).status).toBe(200);
    const before = emu.now();
    const moved = (await (await control('time', { method: 'POST', body: JSON.stringify({ advanceMs: 3_600_000 }) })).json()) as { now: number };
    expect(moved.now - before).toBe(3_600_000);
    expect(((await (await control(`counters?user=${USER}`)).json()) as { calls: number }).calls).toBeGreaterThan(0);
    await control('counters/reset', { method: 'POST' });
    expect(((await (await control('counters')).json()) as { calls: number }).calls).toBe(0);
    expect((await control('faults', { method: 'POST', body: JSON.stringify({ kind: 'nonsense' }) })).status).toBe(400);
    expect(((await (await control('users')).json()) as { users: string[] }).users).toEqual([USER]);
  });

  it('addMailbox adds a delegated user at run time; a duplicate is refused', async () => {
    emu.addMailbox('late@northwind.vc', [{ raw: eml({ From: 'x@y.z', To: 'late@northwind.vc', Subject: 'hi' }, 'x'), internalDate: Date.UTC(2026, 2, 1) }]);
    expect(emu.users).toEqual([USER, 'late@northwind.vc']);
    const profile = (await gmailFor(emu, 'late@northwind.vc').users.getProfile({ userId: 'me' })).data;
    expect(profile).toMatchObject({ emailAddress: 'late@northwind.vc', messagesTotal: 1, threadsTotal: 1 });
    expect(() => emu.addMailbox('late@northwind.vc')).toThrow(/already exists/);
    expect(() => emu.addMessage('ghost@northwind.vc', Buffer.from('x'))).toThrow(/no mailbox/);
  });
});
