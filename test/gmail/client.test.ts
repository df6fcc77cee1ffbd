/**
 * The Gmail account client against the emulator, with the real @googleapis/gmail client and
 * google-auth-library: reads, paging, quota, retries, batches, typed errors.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createDwdCredentials, type CredentialProvider } from '../../src/gmail/auth.js';
import { createAccountClient, GmailAccountClient } from '../../src/gmail/client.js';
import { HistoryExpiredError } from '../../src/errors.js';
import { emulatorConfig, JANE, BOB, mailbox, rawMessage } from './support.js';

let emu: Emulator;
let credentials: CredentialProvider;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: { [JANE]: mailbox(120), [BOB]: mailbox(5, 500) }, quotaUnitsPerSec: 0 });
  credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
});
afterAll(async () => {
  await emu?.stop();
});

function client(extra: Partial<ConstructorParameters<typeof GmailAccountClient>[0]> = {}): GmailAccountClient {
  return new GmailAccountClient({ user: JANE, credentials, apiRoot: emu.rootUrl, unitsPerSec: 100_000, retryMax: 5, retryBaseMs: 5, ...extra });
}

describe('reads', () => {
  it('getProfile, listMessages pages, getMessage formats, counted by method and units', async () => {
    const gmail = client();
    const profile = await gmail.getProfile();
    expect(profile.emailAddress).toBe(JANE);
    expect(profile.messagesTotal).toBe(120);
    expect(profile.historyId).toMatch(/^\d+$/);

    const pages = [];
    for await (const page of gmail.listMessages({ pageSize: 50 })) pages.push(page);
    expect(pages.map((p) => p.messages.length)).toEqual([50, 50, 20]);
    expect(pages.at(-1)!.nextPageToken).toBeUndefined();
    const ids = pages.flatMap((p) => p.messages.map((m) => m.id));
    expect(new Set(ids).size).toBe(120);

    const metadata = await gmail.getMessage(ids[0]!, 'metadata', { metadataHeaders: ['From', 'Subject'] });
    expect(metadata.payload?.headers?.map((h) => h.name).sort()).toEqual(['From', 'Subject']);
    const raw = await gmail.getMessage(ids[0]!, 'raw');
    expect(Buffer.from(raw.raw!, 'base64url').toString('utf8')).toContain('Subject: Update');
    const minimal = await gmail.getMessage(ids[0]!, 'minimal');
    expect(minimal.payload).toBeUndefined();

    const stats = gmail.stats();
    expect(stats.byMethod['users.getProfile']).toEqual({ calls: 1, units: 1 });
    expect(stats.byMethod['messages.list']).toEqual({ calls: 3, units: 15 });
    expect(stats.byMethod['messages.get']).toEqual({ calls: 3, units: 15 });
    expect(stats).toMatchObject({ calls: 7, units: 31, retries: 0, throttled: 0 });
  });

  it('search with q narrows the listing', async () => {
    const gmail = client();
    const found = [];
    for await (const page of gmail.listMessages({ q: 'from:fund3.example' })) found.push(...page.messages);
    expect(found.length).toBeGreaterThan(0);
    expect(found.length).toBeLessThan(120);
  });

  it('an attachment comes back as its bytes, and a thread by id', async () => {
    const bytes = randomBytes(3000);
    const added = emu.addMessage(BOB, rawMessage(900, { to: BOB, attachment: bytes }));
    const gmail = client({ user: BOB });
    const message = await gmail.getMessage(added.id, 'full');
    const part = message.payload!.parts!.find((p) => p.filename === 'deck.pdf')!;
    expect(part.body!.attachmentId).toBeTruthy();
    const data = await gmail.getAttachment(added.id, part.body!.attachmentId!);
    expect(data.equals(bytes)).toBe(true);
    const thread = await gmail.getThread(added.threadId, 'minimal');
    expect(thread.messages!.map((m) => m.id)).toContain(added.id);
    expect(gmail.stats().byMethod['threads.get']).toEqual({ calls: 1, units: 10 });
  });

  it('history pages after a cursor; an expired cursor is a HistoryExpiredError', async () => {
    const gmail = client({ user: BOB });
    const { historyId } = await gmail.getProfile();
    const added = emu.addMessage(BOB, rawMessage(901, { to: BOB }));
    const pages = [];
    for await (const page of gmail.listHistory({ startHistoryId: historyId, historyTypes: ['messageAdded'] })) pages.push(page);
    const addedIds = pages.flatMap((p) => p.history.flatMap((h) => h.messagesAdded ?? []).map((a) => a.message!.id));
    expect(addedIds).toEqual([added.id]);
    expect(Number(pages.at(-1)!.historyId)).toBeGreaterThan(Number(historyId));

    const before = emu.counters(BOB).byMethod['history.list']?.calls ?? 0;
    const iterate = async () => {
      for await (const _ of gmail.listHistory({ startHistoryId: '1' })) void _;
    };
    await expect(iterate()).rejects.toBeInstanceOf(HistoryExpiredError);
    // Typed and not retried: exactly one more call reached Gmail.
    expect(emu.counters(BOB).byMethod['history.list']!.calls).toBe(before + 1);
  });

  it('createAccountClient takes the model, budget, retries and roots from the configuration', async () => {
    // 50 places in flight, so that the batch size shows the quota's bound (the default 5 would cap it at 5).
    const legacy = createAccountClient(emulatorConfig(emu, { CRM_GMAIL_QUOTA_MODEL: 'legacy', CRM_GMAIL_RATE_UNITS_SEC: '200', CRM_GMAIL_RETRY_MAX: '2', CRM_GMAIL_MAX_IN_FLIGHT: '50' }), credentials, BOB);
    expect((await legacy.getProfile()).emailAddress).toBe(BOB);
    // One batch must fit the burst: 200 units a second at 5 units a get.
    expect(legacy.maxBatchSize).toBe(40);
    expect(legacy.quotaRate()).toEqual({ unitsPerGet: 5, unitsPerMinute: 12_000 });
    const current = createAccountClient(emulatorConfig(emu, { CRM_GMAIL_MAX_IN_FLIGHT: '50' }), credentials, BOB);
    expect(current.model.name).toBe('2026');
    expect(current.unitsOf('messages.get')).toBe(20);
    expect(current.quotaRate()).toEqual({ unitsPerGet: 20, unitsPerMinute: 5400 });
    expect(current.maxBatchSize).toBe(50);
    // The defaults: 5 requests in flight, each batch part counting one, so no batch has more than 5 parts.
    expect(createAccountClient(emulatorConfig(emu), credentials, BOB).maxBatchSize).toBe(5);
  });
});
