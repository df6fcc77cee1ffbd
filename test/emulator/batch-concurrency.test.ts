import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { buildBatch, getPath, parseAnswer, sendBatch } from './batch-helpers.js';
import { eml, failure, gmailFor, tokenFor } from './helpers.js';

const USER = 'ann@northwind.vc';
const mailbox = (n: number) => Array.from({ length: n }, (_, i) => ({ raw: eml({ From: `lp${i}@fund.com`, To: USER, Subject: `m${i}` }, 'hello\r\n'), internalDate: Date.UTC(2026, 0, 1, 0, i) }));

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

async function start(options: EmulatorOptions = {}) {
  emu = await startEmulator({ mailboxes: { [USER]: mailbox(60) }, ...options });
  return { emu, token: await tokenFor(emu, USER), ids: emu.messageIds(USER) };
}

async function batchOf(e: Emulator, token: string, ids: string[]) {
  const answer = await sendBatch(e.rootUrl, 'batch/gmail/v1', buildBatch(ids.map((id) => getPath(id))), token);
  expect(answer.status).toBe(200);
  return parseAnswer(answer.contentType, answer.text);
}

describe('batch parts count against the per-user concurrency cap at once, as at Gmail', () => {
  it('a batch of 10 under a cap of 3: the first 3 answered, 7 refused with a per-part 429', async () => {
    const { emu: e, token, ids } = await start({ maxConcurrentPerUser: 3 });
    const parts = await batchOf(e, token, ids.slice(0, 10));
    expect(parts.map((p) => p.status)).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    parts.slice(0, 3).forEach((part, i) => expect(JSON.parse(part.body).id).toBe(ids[i]));
    for (const part of parts.slice(3)) {
      expect(JSON.parse(part.body)).toEqual({
        error: { code: 429, message: 'Too many concurrent requests for user', errors: [{ message: 'Too many concurrent requests for user', domain: 'global', reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' },
      });
    }
    expect(e.counters(USER)).toMatchObject({ calls: 10, units: 60, refused: 7, refusedConcurrency: 7, refusedQuota: 0 });
    // Every slot is given back once the answer is composed: the same batch does as well again.
    expect((await batchOf(e, token, ids.slice(0, 10))).filter((p) => p.status === 200)).toHaveLength(3);
  });

  it('50 parts under --concurrency 5: 5 answered, 45 refused', async () => {
    const { emu: e, token, ids } = await start({ maxConcurrentPerUser: 5 });
    const statuses = (await batchOf(e, token, ids.slice(0, 50))).map((p) => p.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
  });

  it('parts are served side by side and hold their slots until the batch is answered', async () => {
    const { emu: e, token, ids } = await start({ maxConcurrentPerUser: 3, latencyMs: 400 });
    const client = gmailFor(e, USER, { retry: false });
    const started = Date.now();
    const batch = batchOf(e, token, ids.slice(0, 3));
    await new Promise((r) => setTimeout(r, 100));
    // While the batch is in flight its three parts fill the cap: a direct call is refused.
    expect((await failure(client.users.messages.get({ userId: 'me', id: ids[5]!, format: 'minimal' }))).message).toBe('Too many concurrent requests for user');
    expect((await batch).map((p) => p.status)).toEqual([200, 200, 200]);
    // One after another they would take 1.2 s.
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await client.users.messages.get({ userId: 'me', id: ids[5]!, format: 'minimal' })).status).toBe(200);
  });

  it('without a cap every part is answered', async () => {
    const { emu: e, token, ids } = await start();
    expect((await batchOf(e, token, ids.slice(0, 50))).every((p) => p.status === 200)).toBe(true);
  });
});

describe('faults on a whole batch and on one message', () => {
  it("method 'batch', kind 'reset' destroys the batch request; the next batch is answered", async () => {
    const { emu: e, token, ids } = await start();
    e.injectFault({ method: 'batch', kind: 'reset' });
    await expect(batchOf(e, token, ids.slice(0, 3))).rejects.toThrow(/fetch failed|socket|ECONNRESET/);
    expect(e.counters(USER).calls).toBe(0);
    expect((await batchOf(e, token, ids.slice(0, 3))).map((p) => p.status)).toEqual([200, 200, 200]);
  });

  it("method 'batch' with an HTTP kind answers the whole batch with that error", async () => {
    const { emu: e, token, ids } = await start();
    e.injectFault({ method: 'batch', kind: '503' });
    const answer = await sendBatch(e.rootUrl, 'batch', buildBatch(ids.slice(0, 3).map((id) => getPath(id))), token);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    e.injectFault({ method: 'batch', kind: '429' });
    expect((await sendBatch(e.rootUrl, 'batch', buildBatch([getPath(ids[0]!)]), token)).status).toBe(429);
    expect(e.counters(USER).calls).toBe(0);
  });

  it('a fault without a method hits the first part, never the batch itself', async () => {
    const { emu: e, token, ids } = await start();
    e.injectFault({ kind: '500' });
    expect((await batchOf(e, token, ids.slice(0, 2))).map((p) => p.status)).toEqual([500, 200]);
  });

  it('an id-targeted 500 fails that message every time, in batches and alone, and nothing else', async () => {
    const { emu: e, token, ids } = await start();
    const target = ids[1]!;
    e.injectFault({ method: 'messages.get', id: target.toUpperCase(), kind: '500', probability: 1 });
    for (let round = 0; round < 3; round++) expect((await batchOf(e, token, ids.slice(0, 3))).map((p) => p.status)).toEqual([200, 500, 200]);
    const client = gmailFor(e, USER, { retry: false });
    expect((await failure(client.users.messages.get({ userId: 'me', id: target }))).status).toBe(500);
    expect((await client.users.messages.get({ userId: 'me', id: ids[0]! })).status).toBe(200);
    expect((await client.users.messages.list({ userId: 'me' })).status).toBe(200);
    expect(e.counters(USER).byMethod['messages.get']).toEqual({ calls: 11, units: 140 });
  });

  it('an id-targeted reset (posted to /emulator/faults) kills every batch holding that message and frees its slots', async () => {
    const { emu: e, token, ids } = await start({ maxConcurrentPerUser: 3 });
    const posted = await fetch(new URL('emulator/faults', e.rootUrl), { method: 'POST', body: JSON.stringify({ method: 'messages.get', id: ids[2], kind: 'reset', probability: 1 }) });
    expect(posted.status).toBe(200);
    await expect(batchOf(e, token, ids.slice(0, 3))).rejects.toThrow(/fetch failed|socket|ECONNRESET/);
    await expect(batchOf(e, token, [ids[5]!, ids[2]!])).rejects.toThrow(/fetch failed|socket|ECONNRESET/);
    // The parts admitted before the reset gave their slots back: a full batch still fits the cap.
    expect((await batchOf(e, token, [ids[0]!, ids[1]!, ids[3]!])).map((p) => p.status)).toEqual([200, 200, 200]);
  });
});

describe('batch parts and the 2026 quota', () => {
  it('each part is charged on its own; past the minute budget parts are refused and not charged', async () => {
    const { emu: e, token, ids } = await start({ quotaUnits: 100 });
    const parts = await batchOf(e, token, ids.slice(0, 7));
    expect(parts.map((p) => p.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(JSON.parse(parts[5]!.body).error.message).toBe("Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:000000000000'.");
    expect(e.counters(USER)).toMatchObject({ units: 100, refusedQuota: 2, peakWindowUnits: 100 });
  });
});
