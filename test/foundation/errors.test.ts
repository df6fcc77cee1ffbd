import { describe, expect, it } from 'vitest';
import { classifyHttpError, classifyNetworkError, parseRetryAfter, EXIT } from '../../src/errors.js';

const envelope = (code: number, reason: string, message: string) => ({ error: { code, message, errors: [{ message, domain: 'usageLimits', reason }], status: 'X' } });

describe('HTTP error classification', () => {
  it('treats 429 and 403 rate limits as retryable rate-limit errors, other 403s as auth', () => {
    expect(classifyHttpError({ status: 429, body: envelope(429, 'rateLimitExceeded', 'Too many concurrent requests for user') }).kind).toBe('rate_limit');
    const userRate = classifyHttpError({ status: 403, body: envelope(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded') });
    expect(userRate.kind).toBe('rate_limit');
    expect(userRate.retryable).toBe(true);
    const denied = classifyHttpError({ status: 403, body: envelope(403, 'forbidden', 'Delegation denied for jane@x.com') });
    expect(denied.kind).toBe('auth');
    expect(denied.retryable).toBe(false);
    expect(denied.exitCode).toBe(EXIT.auth);
  });

  it('maps 404 on history to history-expired and elsewhere to not-found', () => {
    expect(classifyHttpError({ status: 404, body: envelope(404, 'notFound', 'Requested entity was not found.'), historyRequest: true }).kind).toBe('history_expired');
    expect(classifyHttpError({ status: 404, body: envelope(404, 'notFound', 'Requested entity was not found.') }).kind).toBe('not_found');
  });

  it('maps 5xx to transient, 400 to permanent, 401 to auth', () => {
    expect(classifyHttpError({ status: 503, body: 'Service Unavailable' }).kind).toBe('transient');
    expect(classifyHttpError({ status: 500, body: envelope(500, 'backendError', 'Backend Error') }).retryable).toBe(true);
    expect(classifyHttpError({ status: 400, body: envelope(400, 'invalidArgument', 'Invalid') }).kind).toBe('permanent');
    expect(classifyHttpError({ status: 401, body: envelope(401, 'authError', 'Invalid Credentials') }).kind).toBe('auth');
  });

  it('reads the wait from Retry-After (seconds or date) and from "Retry after <time>"', () => {
    const now = Date.parse('2026-11-29T10:00:00Z');
    expect(parseRetryAfter({ 'Retry-After': '7' }, undefined, now)).toBe(7000);
    expect(parseRetryAfter({ 'retry-after': 'Sun, 29 Nov 2026 10:00:30 GMT' }, undefined, now)).toBe(30_000);
    expect(parseRetryAfter({}, 'User-rate limit exceeded.  Retry after 2026-11-29T10:00:05.000Z', now)).toBe(5000);
    expect(parseRetryAfter({}, 'no hint', now)).toBeUndefined();
    const error = classifyHttpError({ status: 429, body: envelope(429, 'rateLimitExceeded', 'User-rate limit exceeded.  Retry after 2026-11-29T10:00:02.000Z'), now });
    expect(error.retryAfterMs).toBe(2000);
  });

  it('reads OAuth token errors', () => {
    const error = classifyHttpError({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid email or User ID' } });
    expect(error.reason).toBe('invalid_grant');
    expect(error.message).toContain('Invalid email or User ID');
  });

  it('classifies connection resets as transient and leaves other errors alone', () => {
    expect(classifyNetworkError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))?.kind).toBe('transient');
    expect(classifyNetworkError(new Error('boom'))).toBeUndefined();
  });
});
