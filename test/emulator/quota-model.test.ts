import { afterEach, describe, expect, it } from 'vitest';
import { METHOD_UNITS, QUOTA_MODELS, startEmulator, unitsFor, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { QuotaMeter, type QuotaLimits } from '../../src/emulator/quota.js';
import { eml, failure, gmailFor, tokenFor } from './helpers.js';

const USER = 'ann@northwind.vc';
const OTHER = 'bob@northwind.vc';
const PER_USER_MINUTE = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:000000000000'.";
const PER_PROJECT_MINUTE = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'gmail.googleapis.com' for consumer 'project_number:000000000000'.";

const withAttachment = Buffer.from(
  ['From: lp@fund.com', `To: ${USER}`, 'Subject: Letter', 'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', 'see attached', '--b', 'Content-Type: application/pdf', 'Content-Disposition: attachment; filename="l.pdf"', 'Content-Transfer-Encoding: base64', '', Buffer.from('%PDF-1.4 tiny').toString('base64'), '--b--', ''].join('\r\n'),
);
const mailbox = () => [
  { raw: withAttachment, internalDate: Date.UTC(2026, 0, 20) },
  ...Array.from({ length: 12 }, (_, i) => ({ raw: eml({ From: `x${i}@fund.com`, To: USER, Subject: `m${i}` }, 'hello\r\n'), internalDate: Date.UTC(2026, 0, 1 + i) })),
];

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

async function start(options: EmulatorOptions) {
  emu = await startEmulator({ mailboxes: { [USER]: mailbox(), [OTHER]: mailbox() }, ...options });
  return emu;
}

/** A meter on a clock the test moves by hand. */
function meterAt(limits: Partial<QuotaLimits>) {
  const clock = { now: 0 };
  const meter = new QuotaMeter({ model: '2026', userUnitsPerWindow: 0, projectUnitsPerMinute: 0, maxConcurrentPerUser: 0, ...limits }, () => clock.now);
  const chargeAt = (ms: number, method: string, user = USER) => {
    clock.now = ms;
    return meter.charge(user, method);
  };
  return { meter, chargeAt };
}

describe('QuotaMeter on a fake clock', () => {
  it('peakWindowUnits is the most charged in any rolling 60 s, not per calendar minute, with the limit off', () => {
    const { meter, chargeAt } = meterAt({});
    chargeAt(0, 'threads.get'); // 40
    chargeAt(30_000, 'messages.get'); // 20
    chargeAt(59_900, 'messages.list'); // 5 -> 65 inside (−0.1 s, 59.9 s]
    expect(meter.read(USER).peakWindowUnits).toBe(65);
    chargeAt(60_000, 'history.list'); // 2: the charge at 0 has left, 27 inside
    chargeAt(60_100, 'getProfile'); // 1: 28
    expect(meter.read(USER).peakWindowUnits).toBe(65);
    // (29 s, 89 s] holds 20 + 5 + 2 + 1 + 40: more than either calendar minute (65 and 43).
    chargeAt(89_000, 'threads.get');
    expect(meter.read(USER).peakWindowUnits).toBe(68);
    expect(meter.read(USER)).toMatchObject({ calls: 6, units: 108, refused: 0 });
    expect(meter.read().peakWindowUnits).toBe(68);
  });

  it('the window is (now − 60 s, now]: charges exactly 60 s apart never share one', () => {
    const { meter, chargeAt } = meterAt({});
    chargeAt(0, 'threads.get');
    chargeAt(60_000, 'threads.get');
    expect(meter.read(USER).peakWindowUnits).toBe(40);
    chargeAt(119_999, 'threads.get');
    expect(meter.read(USER).peakWindowUnits).toBe(80);
  });

  it('refuses past the per-user minute without charging; room comes back as charges leave the window', () => {
    const { meter, chargeAt } = meterAt({ userUnitsPerWindow: 100 });
    for (let t = 0; t < 5; t++) expect(chargeAt(t, 'messages.get')).toBe('charged');
    expect(chargeAt(10, 'messages.get')).toBe('user-limit');
    expect(chargeAt(20, 'getProfile')).toBe('user-limit');
    expect(chargeAt(59_999, 'messages.get')).toBe('user-limit');
    expect(chargeAt(60_000, 'messages.get')).toBe('charged'); // the charge at 0 has left
    expect(chargeAt(60_000, 'getProfile')).toBe('user-limit');
    expect(meter.read(USER)).toMatchObject({ calls: 10, units: 120, refused: 4, refusedQuota: 4, refusedConcurrency: 0, peakWindowUnits: 100 });
    expect(meter.read(USER).byMethod).toEqual({ 'messages.get': { calls: 8, units: 120 }, getProfile: { calls: 2, units: 0 } });
  });

  it('legacy: 1 s window, messages.get 5', () => {
    const { meter, chargeAt } = meterAt({ model: 'legacy', userUnitsPerWindow: 10 });
    expect(meter.settings).toMatchObject({ model: 'legacy', windowMs: 1000 });
    expect(chargeAt(0, 'messages.get')).toBe('charged');
    expect(chargeAt(500, 'messages.get')).toBe('charged');
    expect(chargeAt(900, 'messages.get')).toBe('user-limit');
    expect(chargeAt(1000, 'messages.get')).toBe('charged');
    expect(meter.read(USER)).toMatchObject({ units: 15, peakWindowUnits: 10, refusedQuota: 1 });
  });

  it('the project limit spans users; the per-user limit is named first when both are exceeded', () => {
    const { meter, chargeAt } = meterAt({ userUnitsPerWindow: 40, projectUnitsPerMinute: 50 });
    expect(chargeAt(0, 'messages.get', USER)).toBe('charged');
    expect(chargeAt(1, 'messages.get', USER)).toBe('charged');
    expect(chargeAt(2, 'messages.get', OTHER)).toBe('project-limit');
    expect(chargeAt(3, 'messages.get', USER)).toBe('user-limit');
    expect(chargeAt(4, 'messages.list', OTHER)).toBe('charged');
    expect(chargeAt(5, 'messages.list', OTHER)).toBe('charged');
    expect(chargeAt(6, 'getProfile', OTHER)).toBe('project-limit');
    expect(meter.read()).toMatchObject({ units: 50, refusedQuota: 3, peakWindowUnits: 50 });
    expect(meter.read(OTHER)).toMatchObject({ units: 10, refusedQuota: 2, peakWindowUnits: 10 });
  });

  it('a counter reset restarts the peak but not the limit', () => {
    const { meter, chargeAt } = meterAt({ userUnitsPerWindow: 40 });
    chargeAt(0, 'messages.get');
    chargeAt(1, 'messages.get');
    meter.reset();
    expect(meter.read(USER).peakWindowUnits).toBe(0);
    expect(chargeAt(2, 'messages.get')).toBe('user-limit');
    expect(chargeAt(60_000, 'messages.get')).toBe('charged');
    expect(meter.read(USER)).toMatchObject({ units: 20, peakWindowUnits: 20, refusedQuota: 1 });
  });
});

describe('units tables', () => {
  it('2026 and legacy, per method', () => {
    expect(QUOTA_MODELS['2026']).toMatchObject({ windowMs: 60_000, userUnitsPerWindow: 6000 });
    expect(QUOTA_MODELS.legacy).toMatchObject({ windowMs: 1000, userUnitsPerWindow: 250 });
    const methods = ['messages.get', 'messages.attachments.get', 'threads.get', 'threads.list', 'messages.list', 'history.list', 'getProfile', 'labels.list', 'labels.get'];
    expect(methods.map((m) => unitsFor('2026', m))).toEqual([20, 20, 40, 40, 5, 2, 1, 1, 1]);
    expect(methods.map((m) => unitsFor('legacy', m))).toEqual([5, 5, 10, 10, 5, 2, 1, 1, 1]);
    expect(METHOD_UNITS['messages.get']).toBe(5);
  });
});

describe('the 2026 model over HTTP (the default)', () => {
  it('charges each method its 2026 units', async () => {
    const e = await start({});
    expect(e.quotaModel).toBe('2026');
    expect(e.quota).toMatchObject({ model: '2026', windowMs: 60_000, userUnitsPerWindow: 6000, projectUnitsPerMinute: 1_200_000, maxConcurrentPerUser: 0 });
    const client = gmailFor(e, USER, { retry: false });
    const id = e.messageIds(USER)[0]!;
    await client.users.getProfile({ userId: 'me' });
    await client.users.labels.list({ userId: 'me' });
    await client.users.labels.get({ userId: 'me', id: 'INBOX' });
    await client.users.messages.list({ userId: 'me' });
    const message = (await client.users.messages.get({ userId: 'me', id })).data;
    await client.users.messages.attachments.get({ userId: 'me', messageId: id, id: message.payload!.parts![1]!.body!.attachmentId! });
    await client.users.history.list({ userId: 'me', startHistoryId: e.historyId(USER) });
    await client.users.threads.list({ userId: 'me' });
    await client.users.threads.get({ userId: 'me', id: message.threadId! });
    const counters = e.counters(USER);
    expect(counters.byMethod).toEqual({
      getProfile: { calls: 1, units: 1 },
      'labels.list': { calls: 1, units: 1 },
      'labels.get': { calls: 1, units: 1 },
      'messages.list': { calls: 1, units: 5 },
      'messages.get': { calls: 1, units: 20 },
      'messages.attachments.get': { calls: 1, units: 20 },
      'history.list': { calls: 1, units: 2 },
      'threads.list': { calls: 1, units: 40 },
      'threads.get': { calls: 1, units: 40 },
    });
    expect(counters).toMatchObject({ calls: 9, units: 130, refused: 0, peakWindowUnits: 130 });
  });

  it('refuses the 6th get of a 100-unit minute with 429 and the exact Gmail text, no Retry-After, not charged', async () => {
    const e = await start({ quotaUnits: 100 });
    const client = gmailFor(e, USER, { retry: false });
    const id = e.messageIds(USER)[1]!;
    for (let i = 0; i < 5; i++) expect((await client.users.messages.get({ userId: 'me', id })).status).toBe(200);
    const response = await fetch(new URL(`gmail/v1/users/me/messages/${id}`, e.rootUrl), { headers: { Authorization: `Bearer ${await tokenFor(e, USER)}` } });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(await response.json()).toEqual({ error: { code: 429, message: PER_USER_MINUTE, errors: [{ message: PER_USER_MINUTE, domain: 'usageLimits', reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' } });
    expect((await failure(client.users.getProfile({ userId: 'me' }))).status).toBe(429);
    expect(e.counters(USER)).toMatchObject({ calls: 7, units: 100, refused: 2, refusedQuota: 2, refusedConcurrency: 0, peakWindowUnits: 100 });
    // The other mailbox has its own minute.
    expect((await gmailFor(e, OTHER, { retry: false }).users.messages.get({ userId: 'me', id: e.messageIds(OTHER)[1]! })).status).toBe(200);
  });

  it('a refused call costs nothing: with 110 units, 5 gets, a refused get, then 10 one-unit calls fit', async () => {
    const e = await start({ quotaUnits: 110 });
    const client = gmailFor(e, USER, { retry: false });
    const id = e.messageIds(USER)[1]!;
    for (let i = 0; i < 5; i++) await client.users.messages.get({ userId: 'me', id });
    expect((await failure(client.users.messages.get({ userId: 'me', id }))).status).toBe(429);
    for (let i = 0; i < 10; i++) expect((await client.users.getProfile({ userId: 'me' })).status).toBe(200);
    expect((await failure(client.users.getProfile({ userId: 'me' }))).status).toBe(429);
    expect(e.counters(USER)).toMatchObject({ units: 110, refusedQuota: 2 });
  });

  it("quotaErrorStyle '403' answers the same text as 403 usageLimits/rateLimitExceeded", async () => {
    const e = await start({ quotaUnits: 20, quotaErrorStyle: '403' });
    const client = gmailFor(e, USER, { retry: false });
    const id = e.messageIds(USER)[1]!;
    await client.users.messages.get({ userId: 'me', id });
    const refused = await failure(client.users.messages.get({ userId: 'me', id }));
    expect(refused.status).toBe(403);
    expect(refused.data).toEqual({ error: { code: 403, message: PER_USER_MINUTE, errors: [{ message: PER_USER_MINUTE, domain: 'usageLimits', reason: 'rateLimitExceeded' }], status: 'PERMISSION_DENIED' } });
  });

  it('the project limit counts all users together and answers 403 "Queries per minute"', async () => {
    const e = await start({ projectUnitsPerMinute: 50 });
    const ann = gmailFor(e, USER, { retry: false });
    const bob = gmailFor(e, OTHER, { retry: false });
    await ann.users.messages.get({ userId: 'me', id: e.messageIds(USER)[1]! });
    await ann.users.messages.get({ userId: 'me', id: e.messageIds(USER)[2]! });
    const refused = await failure(bob.users.messages.get({ userId: 'me', id: e.messageIds(OTHER)[1]! }));
    expect(refused.status).toBe(403);
    expect(refused.data).toEqual({ error: { code: 403, message: PER_PROJECT_MINUTE, errors: [{ message: PER_PROJECT_MINUTE, domain: 'usageLimits', reason: 'rateLimitExceeded' }], status: 'PERMISSION_DENIED' } });
    expect((await bob.users.getProfile({ userId: 'me' })).status).toBe(200);
    expect(e.counters(OTHER)).toMatchObject({ units: 1, refusedQuota: 1 });
    const viaHttp = (await (await fetch(new URL('emulator/counters', e.rootUrl))).json()) as any;
    expect(viaHttp).toMatchObject({ quotaModel: '2026', windowMs: 60_000, units: 41, refusedQuota: 1, peakWindowUnits: 41 });
    expect(viaHttp.users[USER]).toMatchObject({ units: 40, peakWindowUnits: 40 });
    expect(await (await fetch(new URL('emulator/quota', e.rootUrl))).json()).toMatchObject({ model: '2026', windowMs: 60_000, userUnitsPerWindow: 6000, projectUnitsPerMinute: 50 });
  });
});

describe('the legacy model and the quotaUnitsPerSec alias', () => {
  it("quotaModel 'legacy': 250 units per second by default; gets cost 5; overruns answer as before", async () => {
    expect((await start({ quotaModel: 'legacy' })).quota).toMatchObject({ model: 'legacy', windowMs: 1000, userUnitsPerWindow: 250, projectUnitsPerMinute: 1_200_000 });
    await emu!.stop();
    const e = await start({ quotaModel: 'legacy', quotaUnits: 10 });
    const client = gmailFor(e, USER, { retry: false });
    const id = e.messageIds(USER)[1]!;
    await client.users.messages.get({ userId: 'me', id, format: 'minimal' });
    await client.users.messages.get({ userId: 'me', id, format: 'minimal' });
    const refused = await failure(client.users.messages.get({ userId: 'me', id, format: 'minimal' }));
    expect([refused.status, refused.message]).toEqual([429, 'Resource has been exhausted (e.g. check quota).']);
    expect(e.counters(USER)).toMatchObject({ units: 10, refusedQuota: 1, peakWindowUnits: 10 });
  });

  it('quotaUnitsPerSec alone selects legacy at that rate; with quotaModel 2026 it is 60 times that per minute', async () => {
    const legacy = await start({ quotaUnitsPerSec: 0 });
    expect(legacy.quota).toMatchObject({ model: 'legacy', userUnitsPerWindow: 0 });
    await legacy.stop();
    const perMinute = await start({ quotaUnitsPerSec: 100, quotaModel: '2026' });
    expect(perMinute.quota).toMatchObject({ model: '2026', userUnitsPerWindow: 6000 });
    await perMinute.stop();
    const explicit = await start({ quotaUnitsPerSec: 100, quotaUnits: 7 });
    expect(explicit.quota).toMatchObject({ model: 'legacy', userUnitsPerWindow: 7 });
    await expect(startEmulator({ quotaModel: '2027' as never })).rejects.toThrow(/unknown quotaModel/);
  });
});
