import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { eml, failure, gmailFor } from './helpers.js';

const USER = 'ann@northwind.vc';
const OTHER = 'bob@northwind.vc';
const mailbox = () => Array.from({ length: 12 }, (_, i) => ({ raw: eml({ From: `x${i}@fund.com`, To: USER, Subject: `m${i}` }, 'hello\r\n'), internalDate: Date.UTC(2026, 0, 1 + i) }));

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

describe('quota', () => {
  it('legacy (quotaUnitsPerSec, as callers from before the 2026 model pass it): per-method units, 429 past the per-second rate', async () => {
    emu = await startEmulator({ mailboxes: { [USER]: mailbox(), [OTHER]: mailbox() }, quotaUnitsPerSec: 20 });
    expect(emu.quota).toMatchObject({ model: 'legacy', windowMs: 1000, userUnitsPerWindow: 20 });
    const client = gmailFor(emu, USER, { retry: false });
    const id = emu.messageIds(USER)[0]!;
    await client.users.getProfile({ userId: 'me' }); // 1 unit
    await client.users.history.list({ userId: 'me', startHistoryId: emu.historyId(USER) }); // 2 units
    await client.users.messages.get({ userId: 'me', id }); // 5
    await client.users.messages.list({ userId: 'me' }); // 5
    await client.users.messages.get({ userId: 'me', id }); // 5 -> 18
    const refused = await failure(client.users.messages.get({ userId: 'me', id }));
    expect(refused.status).toBe(429);
    expect(refused.data).toEqual({ error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', errors: [{ message: 'Resource has been exhausted (e.g. check quota).', domain: 'global', reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' } });
    // Another user has its own budget.
    expect((await gmailFor(emu, OTHER, { retry: false }).users.messages.get({ userId: 'me', id: emu.messageIds(OTHER)[0]! })).status).toBe(200);
    const c = emu.counters(USER);
    expect(c.units).toBe(18);
    expect(c.byMethod).toEqual({ getProfile: { calls: 1, units: 1 }, 'history.list': { calls: 1, units: 2 }, 'messages.get': { calls: 3, units: 10 }, 'messages.list': { calls: 1, units: 5 } });
    expect(c).toMatchObject({ refused: 1, refusedQuota: 1, refusedConcurrency: 0, peakWindowUnits: 18 });
    const viaHttp = (await (await fetch(`${emu.rootUrl}emulator/counters`)).json()) as any;
    expect(viaHttp.users[USER].units).toBe(18);
    expect(viaHttp.units).toBe(23);
    emu.resetCounters();
    expect(emu.counters().calls).toBe(0);
    // The window moves: a second later the budget is back.
    await new Promise((r) => setTimeout(r, 1050));
    expect((await client.users.messages.get({ userId: 'me', id })).status).toBe(200);
  });

  it('reaches app code as an error once the client gives up (403 userRateLimitExceeded is not retried)', async () => {
    emu = await startEmulator({ mailboxes: { [USER]: mailbox() }, quotaUnitsPerSec: 10, quotaErrorStyle: '403' });
    const client = gmailFor(emu, USER); // default retries on
    const id = emu.messageIds(USER)[0]!;
    await client.users.messages.get({ userId: 'me', id });
    await client.users.messages.get({ userId: 'me', id });
    const error = await failure(client.users.messages.get({ userId: 'me', id }));
    expect(error.status).toBe(403);
    expect(error.data.error.errors[0]).toEqual({ message: 'User Rate Limit Exceeded', domain: 'usageLimits', reason: 'userRateLimitExceeded' });
    expect(emu.counters(USER).byMethod['messages.get']).toEqual({ calls: 3, units: 10 });
  });

  it('a per-user concurrency cap answers 429 "Too many concurrent requests for user"', async () => {
    emu = await startEmulator({ mailboxes: { [USER]: mailbox() }, quotaUnitsPerSec: 0, maxConcurrentPerUser: 2, latencyMs: 500 });
    const client = gmailFor(emu, USER, { retry: false });
    await client.users.getProfile({ userId: 'me' }); // token fetched once, before the burst
    const results = await Promise.allSettled(emu.messageIds(USER).slice(0, 6).map((id) => client.users.messages.get({ userId: 'me', id, format: 'minimal' })));
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(r.reason.message).toBe('Too many concurrent requests for user');
    expect(emu.counters(USER)).toMatchObject({ refused: 4, refusedConcurrency: 4, refusedQuota: 0 });
  });
});

describe('faults', () => {
  it('the client retries 500 twice and succeeds; four 503s exhaust its retries', async () => {
    emu = await startEmulator({ mailboxes: { [USER]: mailbox() } });
    const client = gmailFor(emu, USER);
    const id = emu.messageIds(USER)[0]!;
    emu.injectFault({ method: 'messages.get', kind: '500', times: 2 });
    expect((await client.users.messages.get({ userId: 'me', id })).status).toBe(200);
    expect(emu.counters(USER).byMethod['messages.get']!.calls).toBe(3);
    emu.injectFault({ method: 'messages.list', kind: '503', times: 4 });
    const error = await failure(client.users.messages.list({ userId: 'me' }));
    expect(error.status).toBe(503);
    expect(error.data.error).toMatchObject({ code: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' });
    expect(emu.counters(USER).byMethod['messages.list']!.calls).toBe(4);
    // Spent: the fifth call goes through.
    expect((await client.users.messages.list({ userId: 'me' })).status).toBe(200);
  });

  it('each kind answers as Gmail does', async () => {
    emu = await startEmulator({ mailboxes: { [USER]: mailbox(), [OTHER]: mailbox() } });
    const client = gmailFor(emu, USER, { retry: false });
    const call = () => client.users.getProfile({ userId: 'me' });
    const cases: Array<[Parameters<Emulator['injectFault']>[0]['kind'], number, string | RegExp]> = [
      ['429', 429, 'Resource has been exhausted (e.g. check quota).'],
      ['429-concurrent', 429, 'Too many concurrent requests for user'],
      ['429-retry-after', 429, /^User-rate limit exceeded\. {2}Retry after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/],
      ['403-user-rate', 403, 'User Rate Limit Exceeded'],
      ['403-rate', 403, /^Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'/],
      ['500', 500, 'Backend Error'],
      ['503', 503, 'The service is currently unavailable.'],
      ['401', 401, /^Request had invalid authentication credentials/],
    ];
    for (const [kind, status, message] of cases) {
      emu.injectFault({ kind, method: 'getProfile' });
      const error = await failure(call());
      expect([kind, error.status]).toEqual([kind, status]);
      expect(error.message).toMatch(message);
    }
    expect((await call()).status).toBe(200);
  });

  it('connection reset, slow answers, per-user faults and probability', async () => {
    emu = await startEmulator({ mailboxes: { [USER]: mailbox(), [OTHER]: mailbox() } });
    const client = gmailFor(emu, USER, { retry: false });
    await client.users.getProfile({ userId: 'me' });
    emu.injectFault({ kind: 'reset' });
    const reset = await failure(client.users.getProfile({ userId: 'me' }));
    expect(reset.message).toMatch(/socket hang up|ECONNRESET/);
    emu.injectFault({ kind: 'slow', delayMs: 300 });
    const started = Date.now();
    expect((await client.users.getProfile({ userId: 'me' })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    emu.injectFault({ kind: '500', user: OTHER, times: 1 });
    expect((await client.users.getProfile({ userId: 'me' })).status).toBe(200);
    expect((await failure(gmailFor(emu, OTHER, { retry: false }).users.getProfile({ userId: 'me' }))).status).toBe(500);
    emu.injectFault({ kind: '503', method: 'history.list', probability: 1 });
    expect((await failure(client.users.history.list({ userId: 'me', startHistoryId: emu.historyId(USER) }))).status).toBe(503);
    expect((await failure(client.users.history.list({ userId: 'me', startHistoryId: emu.historyId(USER) }))).status).toBe(503);
    expect((await client.users.getProfile({ userId: 'me' })).status).toBe(200);
    emu.clearFaults();
    expect((await client.users.history.list({ userId: 'me', startHistoryId: emu.historyId(USER) })).status).toBe(200);
  });

  it('empty-page: a nextPageToken on the last page whose page comes back empty', async () => {
    emu = await startEmulator({ mailboxes: { [USER]: mailbox() } });
    const client = gmailFor(emu, USER, { retry: false });
    emu.injectFault({ kind: 'empty-page', method: 'messages.list' });
    const page = (await client.users.messages.list({ userId: 'me', maxResults: 500 })).data;
    expect(page.messages).toHaveLength(12);
    expect(page.nextPageToken).toBeTruthy();
    const next = (await client.users.messages.list({ userId: 'me', maxResults: 500, pageToken: page.nextPageToken! })).data;
    expect(next).toEqual({ resultSizeEstimate: 0 });
    const start = emu.historyId(USER);
    emu.addMessage(USER, eml({ From: 'a@b.c', To: USER, Subject: 'new' }, 'x'));
    emu.injectFault({ kind: 'empty-page', method: 'history.list' });
    const h = (await client.users.history.list({ userId: 'me', startHistoryId: start })).data;
    expect(h.history).toHaveLength(1);
    const after = (await client.users.history.list({ userId: 'me', startHistoryId: start, pageToken: h.nextPageToken! })).data;
    expect(after).toEqual({ historyId: emu.historyId(USER) });
  });

  it('a background fault rate gives only retryable failures, reproducibly for a seed', async () => {
    const run = async () => {
      const e = await startEmulator({ mailboxes: { [USER]: mailbox() }, faultRate: 0.4, faultSeed: 99 });
      try {
        const client = gmailFor(e, USER, { retry: false });
        await (await import('./helpers.js')).tokenFor(e, USER);
        const outcome: Array<number | string> = [];
        for (let i = 0; i < 20; i++) {
          try {
            const r = await client.users.messages.list({ userId: 'me', maxResults: 3 });
            outcome.push(r.data.nextPageToken && r.data.messages ? 200 : 'odd');
          } catch (error) {
            const err = error as { status?: number; message: string };
            outcome.push(err.status ?? (/socket hang up|ECONNRESET/.test(err.message) ? 'reset' : err.message));
          }
        }
        return outcome;
      } finally {
        await e.stop();
      }
    };
    const first = await run();
    expect(first.filter((o) => o !== 200).length).toBeGreaterThan(3);
    for (const o of first) expect([200, 429, 403, 500, 503, 'reset']).toContain(o);
    expect(await run()).toEqual(first);
  });
});
