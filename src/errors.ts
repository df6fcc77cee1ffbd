/**
 * The error taxonomy. Every failure that reaches a user is one of these kinds, each with the exit
 * code the README documents and a message a partner or admin can act on. Secrets never go into a
 * message: callers pass masked values.
 */

export type ErrorKind =
  | 'usage'
  | 'config'
  | 'disabled'
  | 'auth'
  | 'rate_limit'
  | 'transient'
  | 'history_expired'
  | 'not_found'
  | 'permanent'
  | 'conflict'
  | 'db_busy'
  | 'lease_lost';

/** Exit codes, one per kind; 1 is "something failed" (e.g. an account's sync, a verify difference). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 2,
  disabled: 3,
  auth: 4,
  rate_limit: 5,
  transient: 5,
  history_expired: 6,
  not_found: 7,
  conflict: 8,
  permanent: 9,
  /** The CRM database stayed locked by another writer (the CRM) beyond crm-mail's lock wait. */
  db_busy: 10,
  /** This sync's lease ran out and another sync took it over: it stopped at a page boundary. */
  lease_lost: 11,
  /** Ctrl-C in an interactive command (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/**
 * Reasons of credential errors found before Google is asked (the key file itself), so the doctor
 * can advise from what went wrong rather than from the auth method.
 */
export const CREDENTIAL_REASON = {
  keyFileMode: 'key_file_mode',
  keyFileUnreadable: 'key_file_unreadable',
  keyFileMalformed: 'key_file_malformed',
  noConsent: 'no_consent',
} as const;

export interface CrmMailErrorOptions {
  cause?: unknown;
  /** HTTP status when the error came from an HTTP answer. */
  status?: number;
  /** Machine reason, e.g. Gmail's `userRateLimitExceeded` or OAuth's `invalid_grant`. */
  reason?: string;
  /** Milliseconds the server asked us to wait (Retry-After or "Retry after <time>"). */
  retryAfterMs?: number;
}

export class CrmMailError extends Error {
  readonly kind: ErrorKind;
  readonly status?: number;
  readonly reason?: string;
  readonly retryAfterMs?: number;

  constructor(kind: ErrorKind, message: string, options: CrmMailErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.status = options.status;
    this.reason = options.reason;
    this.retryAfterMs = options.retryAfterMs;
  }

  get exitCode(): number {
    return EXIT[this.kind];
  }

  /** Whether the same call may succeed if tried again later. */
  get retryable(): boolean {
    return this.kind === 'rate_limit' || this.kind === 'transient';
  }
}

export class UsageError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('usage', message, options);
  }
}
export class ConfigError extends CrmMailError {
  /** The variable at fault, when one is: lets a caller say which file and line it came from. */
  readonly variable?: string;

  constructor(message: string, options?: CrmMailErrorOptions & { variable?: string }) {
    super('config', message, options);
    this.variable = options?.variable;
  }
}
export class IntegrationDisabledError extends CrmMailError {
  constructor(command: string) {
    super(
      'disabled',
      `crm-mail ${command} needs Gmail, and the integration is off. ` +
        'Set CRM_GMAIL_INTEGRATION_ENABLED=true (in the environment or the --env-file) to turn it on.',
    );
  }
}
export class AuthError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('auth', message, options);
  }
}
export class RateLimitError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('rate_limit', message, options);
  }
}
export class TransientError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('transient', message, options);
  }
}
export class HistoryExpiredError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('history_expired', message, options);
  }
}
export class NotFoundError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('not_found', message, options);
  }
}
export class PermanentError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('permanent', message, options);
  }
}
export class ConflictError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('conflict', message, options);
  }
}

/**
 * The CRM database stayed write-locked by another connection (the CRM's web server, in practice)
 * through every retry: nothing of the attempted transaction was written.
 */
export class DatabaseBusyError extends CrmMailError {
  readonly path: string;
  /** How long crm-mail retried, when it did (undefined: one statement's busy timeout only). */
  readonly waitedMs?: number;

  constructor(path: string, waitedMs: number | undefined, what: string, options?: CrmMailErrorOptions) {
    const waited = waitedMs === undefined ? '' : ` after ${(waitedMs / 1000).toFixed(1)} s of retries`;
    super(
      'db_busy',
      `the CRM database ${path} is locked by another writer (the CRM, most likely, holds its write lock): ${what} was not written${waited}. ` +
        'Nothing was half-written and the cursor is kept; the next sync resumes there. ' +
        'If the CRM often holds its lock this long, raise CRM_GMAIL_DB_LOCK_WAIT_SEC or CRM_GMAIL_DB_BUSY_TIMEOUT_MS.',
      options,
    );
    this.path = path;
    this.waitedMs = waitedMs;
  }
}

/**
 * This sync's lease was taken over (it was not renewed in time: the process stalled longer than the
 * lease) while it worked: it stops at the page boundary, writing nothing more of the mailbox.
 */
export class LeaseLostError extends CrmMailError {
  constructor(message: string, options?: CrmMailErrorOptions) {
    super('lease_lost', message, options);
  }
}

/** What an HTTP error answer looked like, as much as the caller could read of it. */
export interface HttpErrorInput {
  status: number;
  /** Parsed JSON body, or text, or undefined. */
  body?: unknown;
  headers?: Record<string, string | string[] | undefined>;
  /** What was being done, for the message: "messages.get for jane@firm.com". */
  context?: string;
  /** Set when the request concerned history.list: a 404 there means the cursor expired. */
  historyRequest?: boolean;
  now?: number;
}

const RATE_LIMIT_REASONS = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'quotaExceeded',
  'dailyLimitExceeded',
  'concurrentLimitExceeded',
  'RESOURCE_EXHAUSTED',
]);

interface GoogleErrorFields {
  message?: string;
  reason?: string;
  status?: string;
}

/** Reads Google's error envelope `{error:{code,message,errors:[{reason}],status}}` and OAuth's `{error, error_description}`. */
export function readGoogleError(body: unknown): GoogleErrorFields {
  if (typeof body === 'string') {
    try {
      return readGoogleError(JSON.parse(body));
    } catch {
      return { message: body.slice(0, 300) };
    }
  }
  if (!body || typeof body !== 'object') return {};
  const error = (body as { error?: unknown; error_description?: unknown }).error;
  if (typeof error === 'string') {
    const description = (body as { error_description?: unknown }).error_description;
    return { reason: error, message: typeof description === 'string' ? description : error };
  }
  if (!error || typeof error !== 'object') return {};
  const envelope = error as { message?: unknown; status?: unknown; errors?: unknown };
  const first = Array.isArray(envelope.errors) ? (envelope.errors[0] as { reason?: unknown } | undefined) : undefined;
  return {
    message: typeof envelope.message === 'string' ? envelope.message : undefined,
    reason: typeof first?.reason === 'string' ? first.reason : undefined,
    status: typeof envelope.status === 'string' ? envelope.status : undefined,
  };
}

function headerValue(headers: HttpErrorInput['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * How long the server asked us to wait: a Retry-After header (seconds or HTTP date) or Gmail's
 * "Retry after 2026-11-29T10:00:00.000Z" text in the message.
 */
export function parseRetryAfter(headers: HttpErrorInput['headers'], message: string | undefined, now = Date.now()): number | undefined {
  const header = headerValue(headers, 'retry-after');
  if (header !== undefined) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const match = message?.match(/Retry after (\S+?)\.?$/i) ?? message?.match(/Retry after (\S+)/i);
  if (match) {
    const at = Date.parse(match[1]!);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return undefined;
}

/** Turns an HTTP error answer into the typed error the caller acts on (retry, fall back, stop). */
export function classifyHttpError(input: HttpErrorInput): CrmMailError {
  const fields = readGoogleError(input.body);
  const where = input.context ? `${input.context}: ` : '';
  const detail = fields.message ?? `HTTP ${input.status}`;
  const options: CrmMailErrorOptions = {
    status: input.status,
    reason: fields.reason ?? fields.status,
    retryAfterMs: parseRetryAfter(input.headers, fields.message, input.now),
  };
  const status = input.status;
  const rateLimited =
    status === 429 ||
    (status === 403 && (RATE_LIMIT_REASONS.has(fields.reason ?? '') || RATE_LIMIT_REASONS.has(fields.status ?? '')));
  if (rateLimited) return new RateLimitError(`${where}Gmail rate limit (${detail}); will back off and retry.`, options);
  if (status === 401) return new AuthError(`${where}Gmail refused the credentials (${detail}).`, options);
  if (status === 403) return new AuthError(`${where}permission denied by Gmail (${detail}).`, options);
  if (status === 404 && input.historyRequest)
    return new HistoryExpiredError(`${where}the history cursor has expired in Gmail; a bounded re-list will catch up.`, options);
  if (status === 404) return new NotFoundError(`${where}not found (${detail}).`, options);
  if (status === 408 || status >= 500) return new TransientError(`${where}Gmail is temporarily unavailable (${detail}).`, options);
  return new PermanentError(`${where}Gmail rejected the request (HTTP ${status}: ${detail}).`, options);
}

/** Connection-level failures (reset, refused, timeout) are transient. */
export function classifyNetworkError(error: unknown, context?: string): CrmMailError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const transientCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'ECONNABORTED']);
  if (typeof code === 'string' && transientCodes.has(code)) {
    return new TransientError(`${context ? context + ': ' : ''}network error ${code}; will retry.`, { cause: error, reason: code });
  }
  return undefined;
}

/**
 * The exit code of one account's failure: its kind's code, 1 when it has none of its own (an
 * unexpected error, a verify difference).
 */
export function exitCodeOfKind(kind: string | undefined | null): number {
  if (kind && Object.prototype.hasOwnProperty.call(EXIT, kind)) return EXIT[kind as ErrorKind];
  return EXIT.failure;
}

/**
 * Multi-account commands (sync, verify) exit with their most severe account outcome. What a person
 * must fix outranks what the next run may heal: auth (4), configuration (2), permanent (9), not
 * found (7), any other failure (1), the CRM database locked (10), Gmail unavailable (5), the lease
 * lost to another sync that goes on with the work (11); 0 only when every account succeeded.
 */
export const EXIT_SEVERITY: readonly number[] = [EXIT.auth, EXIT.config, EXIT.permanent, EXIT.not_found, EXIT.failure, EXIT.db_busy, EXIT.rate_limit, EXIT.lease_lost];

export function mostSevereExit(codes: Iterable<number>): number {
  let worst: number = EXIT.ok;
  let worstRank = EXIT_SEVERITY.length + 1;
  for (const code of codes) {
    if (code === EXIT.ok) continue;
    const rank = EXIT_SEVERITY.indexOf(code);
    const effective = rank === -1 ? EXIT_SEVERITY.indexOf(EXIT.failure) : rank;
    if (effective < worstRank) {
      worstRank = effective;
      worst = rank === -1 ? EXIT.failure : code;
    }
  }
  return worst;
}
