/**
 * crm-mail's one retry policy for Gmail calls (the client library's own retries are switched off
 * so the two never multiply): exponential backoff with full jitter, the server's Retry-After or
 * "Retry after <time>" honoured, at most `retryMax` retries. Also turns whatever the HTTP stack
 * threw into the foundation's typed errors.
 */
import {
  AuthError,
  classifyHttpError,
  classifyNetworkError,
  CrmMailError,
  RateLimitError,
  TransientError,
} from '../errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt (CRM_GMAIL_RETRY_MAX). */
  retryMax: number;
  /** The backoff ceiling of the first retry; doubles each time. Google suggests starting at 1 s. */
  baseDelayMs: number;
  /** Ceiling of any single backoff (Google: 32-64 s). */
  maxDelayMs: number;
  /**
   * A server-requested wait longer than this is not slept through in-process: the error is thrown
   * with its retryAfterMs so the sync can defer the account to a later run.
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  retryMax: 5,
  baseDelayMs: 1000,
  maxDelayMs: 64_000,
  maxRetryAfterMs: 120_000,
});

/** Full jitter: a uniformly random wait between 0 and min(max, base * 2^attempt). */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before retry number `attempt + 1` of a call that failed with `error`, or
 * undefined when it must not be retried (not retryable, retries used up, or the server asked for
 * a wait longer than we are willing to sleep).
 */
export function retryDelay(error: CrmMailError, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number | undefined {
  if (!error.retryable || attempt >= policy.retryMax) return undefined;
  if (error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > policy.maxRetryAfterMs) return undefined;
    // A little jitter on top, so accounts told the same instant do not come back in lockstep.
    return error.retryAfterMs + Math.floor(random() * Math.min(policy.baseDelayMs, 1000));
  }
  return backoffDelay(attempt, policy, random);
}

/** gaxios 7 exposes response headers as a fetch Headers object; the classifier wants a record. */
export function headersToRecord(headers: unknown): Record<string, string> {
  if (!headers) return {};
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    const record: Record<string, string> = {};
    (headers as Headers).forEach((value, key) => (record[key.toLowerCase()] = value));
    return record;
  }
  if (typeof headers === 'object') {
    const record: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
      if (value !== undefined) record[key.toLowerCase()] = Array.isArray(value) ? String(value[0]) : String(value);
    }
    return record;
  }
  return {};
}

interface HttpishError {
  status?: number;
  code?: unknown;
  name?: string;
  message?: string;
  cause?: unknown;
  response?: { status?: number; data?: unknown; headers?: unknown };
}

/** Walks an error's cause chain (fetch wraps the socket error: TypeError('fetch failed') -> cause). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current && chain.length < 6 && !chain.includes(current)) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

export interface ClassifyOptions {
  /** "messages.get for jane@firm.com": goes at the start of the message. */
  context: string;
  /** The call was history.list: a 404 means the cursor expired. */
  historyRequest?: boolean;
  /**
   * Keep the library's error as `cause` (default true). False for token requests: their request
   * body (refresh token, code) is not fully redacted by gaxios, and a cause may end up in a log.
   */
  keepCause?: boolean;
}

/** Any failure of a Gmail call as one of the foundation's typed errors. */
export function toCrmMailError(error: unknown, options: ClassifyOptions): CrmMailError {
  if (error instanceof CrmMailError) return error;
  const err = (error ?? {}) as HttpishError;
  const status = err.response?.status ?? (typeof err.status === 'number' ? err.status : undefined);
  if (err.response && status !== undefined) {
    return classifyHttpError({
      status,
      body: err.response.data,
      headers: headersToRecord(err.response.headers),
      context: options.context,
      historyRequest: options.historyRequest,
    });
  }
  const cause = options.keepCause === false ? undefined : error;
  for (const link of causes(error)) {
    if (link instanceof CrmMailError) return link;
    const network = classifyNetworkError(link, options.context);
    if (network) return cause ? network : new TransientError(network.message, { reason: network.reason });
    const name = (link as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new TransientError(`${options.context}: no answer in time; will retry.`, { cause, reason: 'timeout' });
    }
  }
  const message = (err.message ?? String(error)).slice(0, 200);
  if (/fetch failed|socket hang up|other side closed|network|terminated/i.test(message)) {
    return new TransientError(`${options.context}: network error (${message}); will retry.`, { cause, reason: 'network' });
  }
  return new CrmMailError('permanent', `${options.context}: unexpected failure (${message}).`, { cause });
}

const tokenEndpointErrors = new WeakSet<CrmMailError>();

/** Tags an error as the token endpoint's refusal (not the API's), so a 401 there is not "token expired". */
export function markTokenEndpointError<T extends CrmMailError>(error: T): T {
  tokenEndpointErrors.add(error);
  return error;
}

export function isTokenEndpointError(error: CrmMailError): boolean {
  return tokenEndpointErrors.has(error);
}

/** A 401 from the API itself (not from the token endpoint): the access token went bad. */
export function isExpiredAccessToken(error: CrmMailError): boolean {
  return error instanceof AuthError && error.status === 401 && !isTokenEndpointError(error);
}

export function isRateLimit(error: CrmMailError): error is RateLimitError {
  return error.kind === 'rate_limit';
}

/**
 * Gmail's per-user concurrency refusal ("Too many concurrent requests for user"): the quota window
 * has room, a slot frees when any of the user's requests answers.
 */
export function isConcurrencyLimit(error: CrmMailError): boolean {
  return error.kind === 'rate_limit' && /too many concurrent requests/i.test(error.message);
}
