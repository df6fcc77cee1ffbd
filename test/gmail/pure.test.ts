/**
 * The Gmail layer's pure parts: sealing, the quota meter, the retry policy, the batch codec.
 * No network; the emulator-backed tests live beside this file.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError, ConfigError, classifyHttpError, CrmMailError, RateLimitError, TransientError } from '../../src/errors.js';
import { open, seal } from '../../src/gmail/secretBox.js';
import { QuotaLimiter, Semaphore } from '../../src/gmail/limits.js';
import { backoffDelay, retryDelay, toCrmMailError } from '../../src/gmail/retry.js';
import { decodeBatch, encodeBatch, matchBatchResponses } from '../../src/gmail/batch.js';

describe('secretBox', () => {
  const key = randomBytes(32);

  it('round-trips and uses a fresh nonce per seal', () => {
    const a = seal('1//refresh-token', key, 'jane@northwind.vc');
    const b = seal('1//refresh-token', key, 'jane@northwind.vc');
    expect(a).not.toBe(b);
    expect(a.startsWith('v1.')).toBe(true);
    expect(a).not.toContain('refresh-token');
    expect(open(a, key, 'jane@northwind.vc')).toBe('1//refresh-token');
  });

  it('refuses a wrong key with a ConfigError naming the variable', () => {
    const sealed = seal('secret', key);
    expect(() => open(sealed, randomBytes(32))).toThrow(ConfigError);
    expect(() => open(sealed, randomBytes(32))).toThrow(/CRM_GMAIL_SECRET_KEY/);
  });

  it('refuses a tampered value with an AuthError, never garbage', () => {
    const sealed = seal('secret-token-value', key);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 0x01;
    const tampered = [...parts.slice(0, 3), body.toString('base64url')].join('.');
    expect(() => open(tampered, key)).toThrow(AuthError);
    expect(() => open(tampered, key)).toThrow(/integrity/);
    expect(() => open('not sealed at all', key)).toThrow(AuthError);
    expect(() => open(sealed.slice(0, 30), key)).toThrow(AuthError);
  });

  it('binds the value to its account: a token moved to another row does not open', () => {
    const sealed = seal('token', key, 'jane@northwind.vc');
    expect(() => open(sealed, key, 'bob@northwind.vc')).toThrow(AuthError);
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => seal('x', randomBytes(16))).toThrow(ConfigError);
  });
});

describe('QuotaLimiter', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('lets an idle account spend one second\'s worth at once, then holds the rest', async () => {
    const quota = new QuotaLimiter({ unitsPerSec: 250 });
    const granted: number[] = [];
    const releases: Array<() => void> = [];
    for (let i = 0; i < 60; i++) void quota.acquire(5).then((release) => (granted.push(i), releases.push(release)));
    await tick();
    expect(granted).toHaveLength(50);
    expect(quota.inWindow()).toBe(250);
    // Answers coming back do not free the window at once: a spend counts until a window after its answer.
    releases.forEach((release) => release());
    await tick();
    expect(granted).toHaveLength(50);
  });

  it('never lets more than the rate arrive in any window, whatever the latency', async () => {
    const quota = new QuotaLimiter({ unitsPerSec: 100, windowMs: 100, guardMs: 0 });
    const arrivals: number[] = [];
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const release = await quota.acquire(1);
        const granted = performance.now();
        const latency = random() * 25;
        await new Promise((resolve) => setTimeout(resolve, latency));
        const answered = performance.now();
        // The server saw the request somewhere between our send and its answer.
        arrivals.push(granted + random() * (answered - granted));
        release();
      }),
    );
    arrivals.sort((a, b) => a - b);
    let j = 0;
    let most = 0;
    for (let i = 0; i < arrivals.length; i++) {
      while (arrivals[j]! <= arrivals[i]! - 100) j++;
      most = Math.max(most, i - j + 1);
    }
    expect(arrivals).toHaveLength(50);
    expect(most).toBeLessThanOrEqual(10);
  });

  it('a pause holds every later request', async () => {
    const quota = new QuotaLimiter({ unitsPerSec: 100 });
    quota.pause(60_000);
    let granted = false;
    void quota.acquire(1).then(() => (granted = true));
    await tick();
    expect(granted).toBe(false);
  });

  it('a request larger than the allowance waits for an empty window instead of deadlocking', async () => {
    const quota = new QuotaLimiter({ unitsPerSec: 100, windowMs: 50, guardMs: 0 });
    const first = await quota.acquire(3);
    let big = false;
    const bigDone = quota.acquire(250).then((release) => {
      big = true;
      release();
    });
    await tick();
    expect(big).toBe(false);
    first();
    await bigDone;
    expect(big).toBe(true);
  });
});

describe('QuotaLimiter under the 2026 model (a 60 s window)', () => {
  it('spends a minute\'s budget at once, then says how long until the oldest answered spend leaves the window', async () => {
    let now = 0;
    const quota = new QuotaLimiter({ unitsPerWindow: 5400, windowMs: 60_000, guardMs: 0, now: () => now });
    const releases: Array<() => void> = [];
    for (let i = 0; i < 270; i++) releases.push(await quota.acquire(20));
    expect(quota.inWindow()).toBe(5400);
    expect(quota.timeUntilRoom(20)).toBe(60_000);
    now = 1000;
    releases.slice(0, 10).forEach((release) => release());
    now = 30_000;
    // The first ten answered at 1 s: they leave the window at 61 s.
    expect(quota.timeUntilRoom(20)).toBe(31_000);
    expect(quota.timeUntilRoom(200)).toBe(31_000);
    expect(quota.timeUntilRoom(220)).toBe(60_000);
  });

  it('a refusal lowers the budget (not below half), waits at least until there is room, and the budget comes back after quiet windows', () => {
    let now = 0;
    const quota = new QuotaLimiter({ unitsPerWindow: 1000, windowMs: 60_000, guardMs: 0, now: () => now });
    const half = () => 0.5;
    expect(quota.refused(20, 0, undefined, half)).toBe(750); // 1 s backoff ceiling, half to all of it
    expect(quota.capacity).toBe(900);
    expect(quota.refused(20, 3, undefined, half)).toBe(6000);
    expect(quota.refused(20, 10, undefined, half)).toBe(45_000); // capped at the window
    expect(quota.refused(20, 0, 2500, half)).toBe(2500); // Retry-After wins
    for (let i = 0; i < 20; i++) quota.refused(20, 0, 1, half);
    expect(quota.capacity).toBe(500);
    now = 61_000;
    expect(quota.timeUntilRoom(20)).toBe(0); // pumps, and a quiet window gives a tenth back
    void quota.acquire(1);
    expect(quota.capacity).toBe(600);
  });
});

describe('Semaphore', () => {
  it('caps holders and hands slots over in order', async () => {
    const gate = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([gate.acquire(), gate.acquire()]);
    const third = gate.acquire().then((release) => {
      order.push(3);
      release();
    });
    expect(gate.inFlight).toBe(2);
    order.push(1);
    releases[0]!();
    await third;
    releases[1]!();
    expect(order).toEqual([1, 3]);
    expect(gate.peak).toBe(2);
    expect(gate.inFlight).toBe(0);
  });

  it('a holder of several places (a batch, one per part) waits for all of them, and singles behind it wait their turn', async () => {
    const gate = new Semaphore(5);
    const single = await gate.acquire();
    const order: string[] = [];
    const batch = gate.acquire(5).then((release) => {
      order.push(`batch with ${gate.inFlight} taken`);
      return release;
    });
    const later = gate.acquire().then((release) => {
      order.push(`single with ${gate.inFlight} taken`);
      release();
    });
    await Promise.resolve();
    expect(gate.inFlight).toBe(1);
    single();
    (await batch)();
    await later;
    expect(order).toEqual(['batch with 5 taken', 'single with 1 taken']);
    expect(gate.peak).toBe(5);
    // More places than the limit cannot ever be free: the holder takes the whole limit.
    const all = await gate.acquire(50);
    expect(gate.inFlight).toBe(5);
    all();
    expect(gate.inFlight).toBe(0);
  });
});

describe('retry policy', () => {
  const policy = { retryMax: 3, baseDelayMs: 1000, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

  it('full jitter stays within the doubling ceiling, capped', () => {
    expect(backoffDelay(0, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(2000);
    expect(backoffDelay(10, policy, () => 0.999)).toBe(7992);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });

  it('retries rate limits and transient errors up to retryMax, never permanent ones', () => {
    const rate = classifyHttpError({ status: 429, body: { error: { code: 429, message: 'Too many concurrent requests for user', errors: [{ reason: 'rateLimitExceeded' }] } } });
    expect(rate).toBeInstanceOf(RateLimitError);
    expect(retryDelay(rate, 0, policy, () => 0.5)).toBe(500);
    expect(retryDelay(rate, 3, policy)).toBeUndefined();
    const userRate = classifyHttpError({ status: 403, body: { error: { code: 403, message: 'User Rate Limit Exceeded', errors: [{ reason: 'userRateLimitExceeded', domain: 'usageLimits' }] } } });
    expect(retryDelay(userRate, 0, policy)).toBeDefined();
    const permission = classifyHttpError({ status: 403, body: { error: { code: 403, message: 'Delegation denied', errors: [{ reason: 'forbidden' }] } } });
    expect(retryDelay(permission, 0, policy)).toBeUndefined();
    expect(retryDelay(classifyHttpError({ status: 400, body: {} }), 0, policy)).toBeUndefined();
    expect(retryDelay(classifyHttpError({ status: 503, body: {} }), 0, policy)).toBeDefined();
  });

  it('honours Retry-After and the "Retry after <time>" text, but not a wait beyond the limit', () => {
    const header = classifyHttpError({ status: 429, headers: { 'Retry-After': '3' }, body: {} });
    expect(retryDelay(header, 0, policy, () => 0)).toBe(3000);
    const now = Date.parse('2026-11-29T10:00:00.000Z');
    const text = classifyHttpError({
      status: 429,
      now,
      body: { error: { code: 429, message: 'User-rate limit exceeded.  Retry after 2026-11-29T10:00:02.000Z', errors: [{ reason: 'rateLimitExceeded' }] } },
    });
    expect(retryDelay(text, 0, policy, () => 0)).toBe(2000);
    const far = classifyHttpError({ status: 429, headers: { 'retry-after': '900' }, body: {} });
    expect(retryDelay(far, 0, policy)).toBeUndefined();
  });

  it('classifies a reset socket deep in the cause chain as transient', () => {
    const socket = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const fetchError = new TypeError('fetch failed', { cause: socket });
    const gaxiosLike = Object.assign(new Error('fetch failed'), { cause: fetchError });
    const classified = toCrmMailError(gaxiosLike, { context: 'messages.get m1 for jane@northwind.vc' });
    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.message).toContain('messages.get m1 for jane@northwind.vc');
    const passthrough = new AuthError('x');
    expect(toCrmMailError(passthrough, { context: 'c' })).toBe(passthrough);
    expect(toCrmMailError(new Error('weird'), { context: 'c' })).toBeInstanceOf(CrmMailError);
  });
});

describe('batch codec', () => {
  it('encodes parts with Content-IDs, CRLF and the closing boundary', () => {
    const encoded = encodeBatch(
      [
        { contentId: 'm0', method: 'GET', path: '/gmail/v1/users/me/messages/a1?format=metadata&metadataHeaders=From' },
        { contentId: 'm1', method: 'GET', path: '/gmail/v1/users/me/messages/b2?format=raw' },
      ],
      'B0UND',
    );
    expect(encoded.contentType).toBe('multipart/mixed; boundary=B0UND');
    expect(encoded.body).toBe(
      '--B0UND\r\nContent-Type: application/http\r\nContent-ID: <m0>\r\n\r\nGET /gmail/v1/users/me/messages/a1?format=metadata&metadataHeaders=From HTTP/1.1\r\nAccept: application/json\r\n\r\n' +
        '--B0UND\r\nContent-Type: application/http\r\nContent-ID: <m1>\r\n\r\nGET /gmail/v1/users/me/messages/b2?format=raw HTTP/1.1\r\nAccept: application/json\r\n\r\n' +
        '--B0UND--\r\n',
    );
    expect(() => encodeBatch([])).toThrow(RangeError);
    expect(() => encodeBatch(Array.from({ length: 101 }, (_, i) => ({ contentId: `m${i}`, method: 'GET' as const, path: '/x' })))).toThrow(/at most 100/);
    expect(() => encodeBatch([{ contentId: 'a b', method: 'GET', path: '/x' }])).toThrow(RangeError);
  });

  it('decodes Google-style answers (LF, preamble, quoted boundary, out of order) and matches by Content-ID', () => {
    const body = [
      'preamble to ignore',
      '--batch_x',
      'Content-Type: application/http',
      'Content-ID: <response-m1>',
      '',
      'HTTP/1.1 404 Not Found',
      'Content-Type: application/json; charset=UTF-8',
      '',
      '{"error":{"code":404,"message":"Requested entity was not found.","errors":[{"reason":"notFound"}]}}',
      '--batch_x',
      'Content-Type: application/http',
      'Content-ID: <response-m0>',
      '',
      'HTTP/1.1 200 OK',
      'Content-Type: application/json; charset=UTF-8',
      '',
      '{"id":"a1","threadId":"t1"}',
      '--batch_x--',
      '',
    ].join('\n');
    const parts = decodeBatch('multipart/mixed; boundary="batch_x"', body);
    expect(parts.map((p) => [p.contentId, p.status])).toEqual([
      ['m1', 404],
      ['m0', 200],
    ]);
    const matched = matchBatchResponses(['m0', 'm1', 'm2'], parts);
    expect((matched.get('m0')!.body as { id: string }).id).toBe('a1');
    expect(matched.get('m1')!.status).toBe(404);
    expect(matched.get('m2')).toBeUndefined();
  });

  it('refuses a truncated answer and a non-multipart one', () => {
    expect(() => decodeBatch('multipart/mixed; boundary=b', '--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n')).toThrow(/cut short/);
    expect(() => decodeBatch('application/json', '{}')).toThrow(/not multipart/);
  });
});
