/**
 * Quota, retries and batches against the emulator's quota meter and fault injector. Assertions
 * are on counts (the emulator's and the client's), never on how fast the machine is.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createDwdCredentials, type CredentialProvider } from '../../src/gmail/auth.js';
import { GmailAccountClient } from '../../src/gmail/client.js';
import { CrmMailError, NotFoundError, RateLimitError, TransientError } from '../../src/errors.js';
import { JANE, mailbox } from './support.js';

let emu: Emulator;
let credentials: CredentialProvider;
let ids: string[];

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: { [JANE]: mailbox(2000) }, quotaUnitsPerSec: 0 });
  credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
  ids = emu.messageIds(JANE);
});
afterAll(async () => {
  await emu?.stop();
});
afterEach(() => {
  emu.clearFaults();
});

// Batches here are sized by quota and refusals, not by the in-flight cap (crm-mail's default of 5
// would cap them at 5 parts): 50 places let a batch reach Gmail's 50.
function client(extra: Partial<ConstructorParameters<typeof GmailAccountClient>[0]> = {}): GmailAccountClient {
  return new GmailAccountClient({ user: JANE, credentials, apiRoot: emu.rootUrl, unitsPerSec: 100_000, retryMax: 5, retryBaseMs: 5, maxInFlight: 50, ...extra });
}

function messagesOnly(results: Map<string, unknown>): number {
  return [...results.values()].filter((value) => !(value instanceof CrmMailError)).length;
}

describe('quota', () => {
  it('a burst of 2,000 gets under the emulator limit: every message, no 429 anywhere, never over the rate', async () => {
    // The emulator meters units per user over a moving 1 s window, as Gmail does. The rate is 16x
    // Gmail's 250 units/s so the burst takes seconds; the 250 units/s case is the next test.
    await startLimited(4000, async (limited) => {
      const gmail = new GmailAccountClient({ user: JANE, credentials, apiRoot: limited.rootUrl, unitsPerSec: 4000, retryMax: 5, retryBaseMs: 5 });
      await gmail.getProfile();
      limited.resetCounters();
      const started = Date.now();
      const results = await gmail.getMessages(limited.messageIds(JANE), 'minimal');
      const elapsed = Date.now() - started;
      expect(messagesOnly(results)).toBe(2000);
      const server = limited.counters(JANE);
      expect(server.refused).toBe(0);
      expect(server.units).toBe(10_000);
      expect(server.byMethod['messages.get']).toEqual({ calls: 2000, units: 10_000 });
      const stats = gmail.stats();
      expect(stats).toMatchObject({ throttled: 0, retries: 0 });
      expect(stats.byMethod['messages.get']).toEqual({ calls: 2000, units: 10_000 });
      // The limiter holds back what exceeds the first second's 4,000 units: 6,000 more at 4,000/s.
      expect(elapsed).toBeGreaterThanOrEqual(1500);
    }, 2000);
  });

  it.each([false, true])('at Gmail\'s own 250 units/s with a client configured at 250, nothing is refused (batch: %s)', async (batch) => {
    await startLimited(250, async (limited) => {
      const gmail = new GmailAccountClient({ user: JANE, credentials, apiRoot: limited.rootUrl, unitsPerSec: 250, retryMax: 5, retryBaseMs: 5, batch });
      const results = await gmail.getMessages(limited.messageIds(JANE).slice(0, 75), 'minimal');
      expect(messagesOnly(results)).toBe(75);
      const server = limited.counters(JANE);
      expect(server.refused).toBe(0);
      expect(server.byMethod['messages.get']).toEqual({ calls: 75, units: 375 });
      expect(gmail.stats()).toMatchObject({ throttled: 0, retries: 0, units: 375 });
    });
  });

  it('a client set faster than the server is throttled, retries, and still completes', async () => {
    await startLimited(250, async (limited) => {
      const gmail = new GmailAccountClient({ user: JANE, credentials, apiRoot: limited.rootUrl, unitsPerSec: 1000, retryMax: 8, retryBaseMs: 200, batch: false });
      const results = await gmail.getMessages(limited.messageIds(JANE).slice(0, 80), 'minimal');
      expect(messagesOnly(results)).toBe(80);
      const refused = limited.counters(JANE).refused;
      expect(refused).toBeGreaterThan(0);
      expect(gmail.stats().throttled).toBe(refused);
    });
  });
});

async function startLimited(unitsPerSec: number, body: (emu: Emulator) => Promise<void>, messages = 100): Promise<void> {
  const limited = await startEmulator({ mailboxes: { [JANE]: mailbox(messages) }, quotaUnitsPerSec: unitsPerSec });
  try {
    const limitedCredentials = createDwdCredentials({ keyFile: limited.serviceAccountKeyFile, tokenUrl: limited.tokenUrl });
    credentials = limitedCredentials;
    await body(limited);
  } finally {
    credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
    await limited.stop();
  }
}

describe('retries', () => {
  const kinds = ['429', '429-concurrent', '429-retry-after', '403-user-rate', '403-rate', '500', '503', 'reset'] as const;

  it.each(kinds)('an injected %s fault is retried and the result is complete', async (kind) => {
    const gmail = client({ batch: false });
    emu.injectFault({ method: 'messages.get', kind, times: 2, delayMs: 50 });
    const wanted = ids.slice(0, 12);
    const results = await gmail.getMessages(wanted, 'minimal');
    expect(messagesOnly(results)).toBe(12);
    const stats = gmail.stats();
    const rateLimit = kind.startsWith('429') || kind.startsWith('403');
    // A rate-limit answer is waited out, not retried: it never uses the retry budget.
    expect(stats.retries).toBe(rateLimit ? 0 : 2);
    expect(stats.rateLimitWaits).toBe(rateLimit ? 2 : 0);
    expect(stats.calls).toBe(14);
    expect(stats.throttled).toBe(rateLimit ? 2 : 0);
  });

  it('faults on every kind of call (list, history, profile) are retried too', async () => {
    const gmail = client();
    emu.injectFault({ method: 'messages.list', kind: '503', times: 1 });
    emu.injectFault({ method: 'getProfile', kind: '500', times: 1 });
    emu.injectFault({ method: 'history.list', kind: '429', times: 1 });
    const profile = await gmail.getProfile();
    let listed = 0;
    for await (const page of gmail.listMessages({ pageSize: 500 })) listed += page.messages.length;
    expect(listed).toBe(2000);
    for await (const page of gmail.listHistory({ startHistoryId: profile.historyId })) expect(page.history).toEqual([]);
    expect(gmail.stats()).toMatchObject({ retries: 2, rateLimitWaits: 1 });
  });

  it('a page announced by nextPageToken that comes back empty is passed on and paging stops cleanly', async () => {
    const gmail = client();
    const { historyId } = await gmail.getProfile();
    emu.addMessage(JANE, Buffer.from('From: a@b.example\r\nTo: jane@northwind.vc\r\nSubject: x\r\n\r\nbody\r\n'));
    emu.injectFault({ method: 'history.list', kind: 'empty-page', times: 1 });
    const pages = [];
    for await (const page of gmail.listHistory({ startHistoryId: historyId })) pages.push(page);
    expect(pages.length).toBe(2);
    expect(pages[0]!.history.length).toBe(1);
    expect(pages[1]!.history).toEqual([]);
  });

  it('a permanent error is not retried', async () => {
    const gmail = client();
    const before = emu.counters(JANE).byMethod['messages.get']?.calls ?? 0;
    await expect(gmail.getMessage('ffffffffffffffff', 'minimal')).rejects.toBeInstanceOf(NotFoundError);
    await expect(gmail.getMessage('not a valid id!', 'minimal')).rejects.toBeInstanceOf(CrmMailError);
    expect(emu.counters(JANE).byMethod['messages.get']!.calls).toBe(before + 2);
    expect(gmail.stats().retries).toBe(0);
  });

  it('a request that hangs times out and is retried', async () => {
    const gmail = client({ requestTimeoutMs: 150 });
    emu.injectFault({ method: 'getProfile', kind: 'slow', times: 1, delayMs: 1000 });
    await expect(gmail.getProfile()).resolves.toMatchObject({ emailAddress: JANE });
    expect(gmail.stats()).toMatchObject({ calls: 2, retries: 1, throttled: 0 });
  });

  it('a failing token endpoint is retried by the same policy', async () => {
    const fresh = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
    emu.injectFault({ method: 'token', kind: '503', times: 1 });
    const gmail = new GmailAccountClient({ user: JANE, credentials: fresh, apiRoot: emu.rootUrl, unitsPerSec: 1000, retryMax: 3, retryBaseMs: 5 });
    await expect(gmail.getProfile()).resolves.toMatchObject({ emailAddress: JANE });
    // One refused token request (no library retry on top), one good one, one API call.
    expect(fresh.tokenRequests).toBe(2);
    expect(gmail.stats()).toMatchObject({ calls: 1, retries: 1 });
  });

  it('retries stop at retryMax and the error says so', async () => {
    const gmail = client({ retryMax: 2 });
    emu.injectFault({ method: 'getProfile', kind: '503', times: 5 });
    const error = await gmail.getProfile().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/gave up after 2 retries/);
    expect(gmail.stats()).toMatchObject({ calls: 3, retries: 2, throttled: 0 });
  });

  it('rate-limit answers do not use the retry budget: with retryMax 0, five 429s are waited out and the call succeeds', async () => {
    const gmail = client({ retryMax: 0 });
    emu.injectFault({ method: 'getProfile', kind: '429', times: 5 });
    const started = performance.now();
    expect((await gmail.getProfile()).emailAddress).toBe(JANE);
    expect(gmail.stats()).toMatchObject({ calls: 6, retries: 0, throttled: 5, rateLimitWaits: 5 });
    // Each refusal waited for the meter's window to have room by Gmail's count (legacy: about a second).
    expect(performance.now() - started).toBeGreaterThan(500);
  });

  it('a call refused more often than rateLimitWaitMax is given up with a message that says a later run tries again', async () => {
    const gmail = client({ rateLimitWaitMax: 2 });
    emu.injectFault({ method: 'getProfile', kind: '429-retry-after', times: 5, delayMs: 20 });
    const error = await gmail.getProfile().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as Error).message).toMatch(/still refused after waiting out 2 rate-limit answers; a later run will try again/);
  });

  it('a wait asked for by Gmail longer than one run waits is not slept through: the error carries it', async () => {
    const gmail = client({ maxRetryAfterMs: 1000 });
    emu.injectFault({ method: 'getProfile', kind: '429-retry-after', times: 1, delayMs: 600_000 });
    const error = (await gmail.getProfile().catch((e: unknown) => e)) as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBeGreaterThan(590_000);
    expect(error.message).toMatch(/asked to wait 6\d\d s/);
    expect(gmail.stats()).toMatchObject({ calls: 1, retries: 0, throttled: 1 });
  });

  it('a 401 from the API gets a fresh token and one retry', async () => {
    const gmail = client();
    await gmail.getProfile();
    const tokensBefore = credentials.tokenRequests;
    emu.injectFault({ method: 'getProfile', kind: '401', times: 1 });
    await expect(gmail.getProfile()).resolves.toMatchObject({ emailAddress: JANE });
    expect(credentials.tokenRequests).toBe(tokensBefore + 1);
    emu.injectFault({ method: 'getProfile', kind: '401', times: 2 });
    await expect(gmail.getProfile()).rejects.toMatchObject({ kind: 'auth', status: 401 });
  });
});

describe('batches', () => {
  it('a batch with a missing message returns the others, and the missing one as NotFoundError', async () => {
    const gmail = client({ batch: true });
    const wanted = [...ids.slice(0, 30), 'ffffffffffffffff', ...ids.slice(30, 60)];
    const results = await gmail.getMessages(wanted, 'metadata', { metadataHeaders: ['From', 'To', 'Subject'] });
    expect(results.size).toBe(61);
    expect(results.get('ffffffffffffffff')).toBeInstanceOf(NotFoundError);
    expect(messagesOnly(results)).toBe(60);
    const one = results.get(ids[0]!) as { id: string; payload: { headers: Array<{ name: string }> } };
    expect(one.id).toBe(ids[0]);
    expect(one.payload.headers.map((h) => h.name).sort()).toEqual(['From', 'Subject', 'To']);
    const stats = gmail.stats();
    expect(stats.batches).toBe(2);
    expect(stats.httpRequests).toBe(2);
    expect(stats.byMethod['messages.get']).toEqual({ calls: 61, units: 305 });
    expect(emu.counters(JANE).byMethod['messages.get']!.calls).toBeGreaterThanOrEqual(61);
  });

  it('rate-limited parts are retried and the batch size halves, then grows back', async () => {
    const gmail = client({ batch: true });
    emu.injectFault({ method: 'messages.get', kind: '429', times: 3 });
    const results = await gmail.getMessages(ids.slice(0, 50), 'minimal');
    expect(messagesOnly(results)).toBe(50);
    // Quota refusals are waited out (no retry used) and slow the meter, not the batch size.
    expect(gmail.stats()).toMatchObject({ retries: 0, throttled: 3, rateLimitWaits: 3 });
    expect(gmail.batchSize).toBe(50);
  });

  it('a window with room for part of a batch sends that part now instead of leaving the room unused', async () => {
    // 2026 prices (20 units a get) on a one-second window of 1,000 units, so the test waits a second, not a minute.
    const gmail = client({ batch: true, quotaModel: '2026', budget: 1000, quotaWindowMs: 1000 });
    expect(messagesOnly(await gmail.getMessages(ids.slice(600, 630), 'minimal'))).toBe(30);
    expect(messagesOnly(await gmail.getMessages(ids.slice(630, 660), 'minimal'))).toBe(30);
    // 30 gets, then 20 that fit in the 400 units left, then the last 10 once the window turned.
    expect(gmail.stats()).toMatchObject({ batches: 3, units: 1200 });
  });

  it('"Too many concurrent requests" parts lower the batch size to what got through; it then grows only one part per clean batch', async () => {
    const gmail = client({ batch: true });
    emu.injectFault({ method: 'messages.get', kind: '429-concurrent', times: 30 });
    const results = await gmail.getMessages(ids.slice(400, 450), 'minimal');
    expect(messagesOnly(results)).toBe(50);
    expect(gmail.stats()).toMatchObject({ retries: 0, concurrencyRefusals: 30 });
    // The retried parts went out in clean batches of 20, each probing the ceiling one part higher.
    expect(gmail.batchSize).toBe(22);
    await gmail.getMessages(ids.slice(450, 550), 'minimal');
    expect(gmail.batchSize).toBeLessThan(30);
  });

  it('a failed batch request (reset) is retried whole; parts with 5xx are retried alone', async () => {
    const gmail = client({ batch: true });
    emu.injectFault({ method: 'messages.get', kind: '503', times: 2 });
    emu.injectFault({ method: 'messages.get', kind: '500', times: 1 });
    const results = await gmail.getMessages(ids.slice(200, 240), 'minimal');
    expect(messagesOnly(results)).toBe(40);
    expect(gmail.stats().retries).toBe(3);
  });

  it('a part that keeps failing ends as its own error after retryMax, the rest complete', async () => {
    const gmail = client({ batch: true, retryMax: 1 });
    // All ten fail, then the first part of the retry batch fails a second time.
    emu.injectFault({ method: 'messages.get', kind: '500', times: 11 });
    const results = await gmail.getMessages(ids.slice(300, 310), 'minimal');
    expect(messagesOnly(results)).toBe(9);
    const failed = [...results.values()].filter((v) => v instanceof CrmMailError);
    expect(failed).toHaveLength(1);
    expect((failed[0] as CrmMailError).kind).toBe('transient');
  });

  it('parallel singles report per-message errors the same way', async () => {
    const gmail = client({ batch: false });
    const results = await gmail.getMessages([ids[0]!, 'ffffffffffffffff', ids[1]!], 'minimal');
    expect([...results.keys()]).toEqual([ids[0], 'ffffffffffffffff', ids[1]]);
    expect(results.get('ffffffffffffffff')).toBeInstanceOf(NotFoundError);
    expect(messagesOnly(results)).toBe(2);
    expect(gmail.peakInFlight).toBeLessThanOrEqual(50);
  });

  it('raw messages are never batched (memory), even with batches on', async () => {
    const gmail = client({ batch: true });
    const results = await gmail.getMessages(ids.slice(400, 406), 'raw');
    expect(messagesOnly(results)).toBe(6);
    expect(gmail.stats()).toMatchObject({ batches: 0, httpRequests: 6 });
  });

  it('duplicate ids are fetched once', async () => {
    const gmail = client({ batch: true });
    const results = await gmail.getMessages([ids[5]!, ids[5]!, ids[6]!], 'minimal');
    expect(results.size).toBe(2);
    expect(gmail.stats().calls).toBe(2);
  });
});

