/**
 * One mailbox's view of the Gmail API: every call goes through the account's quota meter (Gmail
 * units), its in-flight cap and crm-mail's retry policy, and is counted by method and units.
 *
 * Library traps handled here (@googleapis/gmail 18 / googleapis-common 8 / gaxios 7):
 * - the generated client retries 429/5xx itself and ignores Retry-After: it is created with
 *   `retry: false` and this module owns retrying;
 * - `rootUrl` is honoured only per client (a global option is ignored), and any path in it is dropped;
 * - there is no batch support in the Node client: batches are encoded by ./batch.ts and posted
 *   through the auth client, which adds the Authorization header.
 */
import { gmail, type gmail_v1 } from '@googleapis/gmail';
import type { Config } from '../config.js';
import {
  AuthError,
  classifyHttpError,
  ConfigError,
  CrmMailError,
  PermanentError,
  RateLimitError,
  TransientError,
} from '../errors.js';
import { isLoopbackUrl, type CredentialProvider, type GmailAuthClient } from './auth.js';
import { BatchFormatError, decodeBatch, encodeBatch, matchBatchResponses, type BatchPart } from './batch.js';
import { QuotaLimiter, realSleep, Semaphore, type Sleep } from './limits.js';
import { DEFAULT_RETRY_POLICY, isExpiredAccessToken, isRateLimit, retryDelay, toCrmMailError, type RetryPolicy } from './retry.js';
import { mailboxKey } from '../mail/addresses.js';

/** Gmail quota units per method (developers.google.com/gmail/api/reference/quota). */
export const QUOTA_UNITS = {
  'users.getProfile': 1,
  'labels.list': 1,
  'history.list': 2,
  'messages.list': 5,
  'messages.get': 5,
  'messages.attachments.get': 5,
  'threads.get': 10,
  'threads.list': 10,
} as const;
export type GmailMethod = keyof typeof QUOTA_UNITS;

export type MessageFormat = 'minimal' | 'metadata' | 'full' | 'raw';

export interface GmailCallStats {
  /** Gmail API requests made, retries included; each part of a batch counts as one (as Gmail counts them). */
  calls: number;
  /** Quota units those calls were charged. */
  units: number;
  /** Attempts repeated after a retryable failure (a re-sent batch part counts once). */
  retries: number;
  /** Rate-limit answers received (429, 403 rate reasons), each batch part counted. */
  throttled: number;
  byMethod: Record<string, { calls: number; units: number }>;
  /** HTTP requests on the wire (a batch of 50 is one). */
  httpRequests: number;
  /** Of those, batch requests. */
  batches: number;
}

export interface GmailAccountClientOptions {
  user: string;
  credentials: CredentialProvider;
  /** Gmail API root (CRM_GMAIL_API_ROOT); default https://gmail.googleapis.com/. Only its origin is used. */
  apiRoot?: string;
  /** Quota units per second for this account (CRM_GMAIL_RATE_UNITS_SEC). */
  unitsPerSec: number;
  /** Requests in flight at once for this account (a batch is one request). Default 10. */
  maxInFlight?: number;
  /** Retries of a failed call (CRM_GMAIL_RETRY_MAX). */
  retryMax: number;
  /** getMessages uses multipart batches (true) or parallel single requests (false). Default: DEFAULT_USE_BATCH. */
  batch?: boolean;
  // Extras beyond the interface (all optional):
  /** The quota's moving window in ms (unitsPerSec may be spent in any such window). Default 1000. */
  quotaWindowMs?: number;
  /** Most messages per batch (1-50). Default: 50, lowered so one batch fits the burst. */
  maxBatchSize?: number;
  /** First backoff ceiling in ms (doubles per retry). Default 1000. */
  retryBaseMs?: number;
  /** Ceiling of one backoff in ms. Default 64000. */
  retryMaxDelayMs?: number;
  /** Longest server-requested wait slept through in-process. Default 120000. */
  maxRetryAfterMs?: number;
  /** Per-request timeout in ms. Default 60000. */
  requestTimeoutMs?: number;
  /** For tests: replaces setTimeout-based sleeping. */
  sleep?: Sleep;
}

/**
 * getMessages uses batches by default. Measured with bench/gmail-fetch.ts (1,000 messages, metadata,
 * emulator at 250 units/s): batches 50.6 msg/s in 22 HTTP requests, parallel singles 49.2 msg/s in
 * 1,002; both at the quota ceiling, batches ahead and with a fraction of the requests and CPU.
 */
export const DEFAULT_USE_BATCH = true;
export const DEFAULT_MAX_IN_FLIGHT = 10;
export const MAX_BATCH_SIZE = 50;
const DEFAULT_API_ROOT = 'https://gmail.googleapis.com/';

export interface ListMessagesOptions {
  q?: string;
  labelIds?: string[];
  pageSize?: number;
  pageToken?: string;
  includeSpamTrash?: boolean;
}

export interface MessagePage {
  messages: Array<{ id: string; threadId: string }>;
  nextPageToken?: string;
  resultSizeEstimate?: number;
}

export interface ListHistoryOptions {
  startHistoryId: string;
  historyTypes?: string[];
  labelId?: string;
  pageSize?: number;
  pageToken?: string;
}

export interface HistoryPage {
  history: gmail_v1.Schema$History[];
  historyId: string;
  nextPageToken?: string;
}

export interface GetMessageOptions {
  metadataHeaders?: string[];
}

interface CallSpec {
  method: GmailMethod;
  context: string;
  historyRequest?: boolean;
}

export class GmailAccountClient {
  readonly user: string;
  readonly batchEnabled: boolean;
  readonly maxBatchSize: number;
  private readonly credentials: CredentialProvider;
  private readonly apiRoot: string;
  private readonly quota: QuotaLimiter;
  private readonly inFlight: Semaphore;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly sleep: Sleep;
  private currentBatchSize: number;
  private apiFor?: { auth: GmailAuthClient; api: gmail_v1.Gmail };
  private readonly counters: GmailCallStats = { calls: 0, units: 0, retries: 0, throttled: 0, byMethod: {}, httpRequests: 0, batches: 0 };

  constructor(opts: GmailAccountClientOptions) {
    if (!opts.user || !opts.user.includes('@')) throw new ConfigError(`a Gmail account client needs the mailbox address, got ${JSON.stringify(opts.user)}.`);
    if (!(opts.unitsPerSec > 0)) throw new ConfigError('unitsPerSec must be positive (CRM_GMAIL_RATE_UNITS_SEC).');
    this.user = mailboxKey(opts.user);
    this.credentials = opts.credentials;
    this.apiRoot = new URL(opts.apiRoot ?? DEFAULT_API_ROOT).origin + '/';
    this.quota = new QuotaLimiter({ unitsPerSec: opts.unitsPerSec, windowMs: opts.quotaWindowMs });
    this.inFlight = new Semaphore(Math.max(1, opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT));
    this.policy = {
      retryMax: Math.max(0, opts.retryMax),
      baseDelayMs: opts.retryBaseMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: opts.retryMaxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? DEFAULT_RETRY_POLICY.maxRetryAfterMs,
    };
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.sleep = opts.sleep ?? realSleep;
    this.batchEnabled = opts.batch ?? DEFAULT_USE_BATCH;
    // One batch must fit the burst, or a single batch would exceed the configured rate.
    const fitsBurst = Math.floor(this.quota.capacity / QUOTA_UNITS['messages.get']);
    this.maxBatchSize = Math.max(1, Math.min(MAX_BATCH_SIZE, opts.maxBatchSize ?? MAX_BATCH_SIZE, fitsBurst));
    this.currentBatchSize = this.maxBatchSize;
  }

  /** The batch size the next batch will use (halved on rate limits, grown back after clean batches). */
  get batchSize(): number {
    return this.currentBatchSize;
  }

  /** Peak simultaneous requests seen (for tests and figures). */
  get peakInFlight(): number {
    return this.inFlight.peak;
  }

  stats(): GmailCallStats {
    const byMethod: GmailCallStats['byMethod'] = {};
    for (const [method, value] of Object.entries(this.counters.byMethod)) byMethod[method] = { ...value };
    return { ...this.counters, byMethod };
  }

  private count(method: string, calls: number): void {
    const units = calls * QUOTA_UNITS[method as GmailMethod];
    this.counters.calls += calls;
    this.counters.units += units;
    const entry = (this.counters.byMethod[method] ??= { calls: 0, units: 0 });
    entry.calls += calls;
    entry.units += units;
  }

  /** The generated client bound to the user's auth client (the same object for the account's life). */
  private async api(): Promise<{ auth: GmailAuthClient; api: gmail_v1.Gmail }> {
    const auth = await this.credentials.authClient(this.user);
    if (this.apiFor?.auth !== auth) {
      this.apiFor = { auth, api: gmail({ version: 'v1', auth, rootUrl: this.apiRoot, retry: false, timeout: this.timeoutMs, ...this.noProxy() }) };
    }
    return this.apiFor;
  }

  /** A loopback API root (the emulator) is never reached through HTTPS_PROXY; gaxios has no loopback exemption. */
  private noProxy(): { noProxy?: string[] } {
    return isLoopbackUrl(this.apiRoot) ? { noProxy: [new URL(this.apiRoot).hostname] } : {};
  }

  /** Turns "retryable but out of retries" into an error that says so, keeping kind and retryAfterMs. */
  private gaveUp(error: CrmMailError, attempts: number): CrmMailError {
    if (!error.retryable) return error;
    const options = { status: error.status, reason: error.reason, retryAfterMs: error.retryAfterMs, cause: error };
    const text = error.message.replace(/;? ?will (back off and )?retry\.?$/, '');
    const why =
      attempts < this.policy.retryMax && error.retryAfterMs !== undefined
        ? `Gmail asked to wait ${Math.ceil(error.retryAfterMs / 1000)} s, longer than one run waits; a later run will try again`
        : `gave up after ${attempts} ${attempts === 1 ? 'retry' : 'retries'}`;
    const message = `${text}; ${why}.`;
    return error.kind === 'rate_limit' ? new RateLimitError(message, options) : new TransientError(message, options);
  }

  /** One Gmail call with quota, in-flight cap, retries and counting. */
  private async execute<T>(spec: CallSpec, send: (api: gmail_v1.Gmail) => Promise<T>): Promise<T> {
    let attempt = 0;
    let reauthorized = false;
    for (;;) {
      let failure: CrmMailError;
      try {
        // The token comes first: a refused token costs no quota and is never retried here.
        const { api } = await this.api();
        const release = await this.inFlight.acquire();
        let spent: (() => void) | undefined;
        try {
          spent = await this.quota.acquire(QUOTA_UNITS[spec.method]);
          this.count(spec.method, 1);
          this.counters.httpRequests++;
          return await send(api);
        } finally {
          spent?.();
          release();
        }
      } catch (error) {
        failure = toCrmMailError(error, spec);
      }
      if (isExpiredAccessToken(failure) && !reauthorized) {
        reauthorized = true;
        this.credentials.invalidate(this.user);
        this.counters.retries++;
        continue;
      }
      if (isRateLimit(failure)) this.counters.throttled++;
      const delay = retryDelay(failure, attempt, this.policy);
      if (delay === undefined) throw this.gaveUp(failure, attempt);
      if (isRateLimit(failure)) this.quota.pause(delay);
      this.counters.retries++;
      attempt++;
      await this.sleep(delay);
    }
  }

  private where(method: string, detail = ''): string {
    return `${method}${detail ? ' ' + detail : ''} for ${this.user}`;
  }

  async getProfile(): Promise<{ emailAddress: string; historyId: string; messagesTotal: number; threadsTotal?: number }> {
    const data = await this.execute({ method: 'users.getProfile', context: this.where('users.getProfile') }, async (api) => {
      const response = await api.users.getProfile({ userId: 'me' });
      return response.data;
    });
    if (!data.historyId) throw new PermanentError(`${this.where('users.getProfile')}: Gmail returned no historyId.`);
    return {
      emailAddress: data.emailAddress ?? this.user,
      historyId: String(data.historyId),
      messagesTotal: data.messagesTotal ?? 0,
      threadsTotal: data.threadsTotal ?? undefined,
    };
  }

  async listLabels(): Promise<gmail_v1.Schema$Label[]> {
    const data = await this.execute({ method: 'labels.list', context: this.where('labels.list') }, async (api) => (await api.users.labels.list({ userId: 'me' })).data);
    return data.labels ?? [];
  }

  /** Pages of message ids, newest first. An announced page that comes back empty is yielded as empty; a repeated page token stops with an error. */
  async *listMessages(opts: ListMessagesOptions = {}): AsyncIterable<MessagePage> {
    let pageToken = opts.pageToken;
    const seen = new Set<string>();
    do {
      const token = pageToken;
      const data = await this.execute({ method: 'messages.list', context: this.where('messages.list') }, async (api) => {
        const response = await api.users.messages.list({
          userId: 'me',
          q: opts.q,
          labelIds: opts.labelIds,
          maxResults: opts.pageSize,
          pageToken: token,
          includeSpamTrash: opts.includeSpamTrash,
        });
        return response.data;
      });
      const next = data.nextPageToken ?? undefined;
      yield {
        messages: (data.messages ?? []).filter((m) => m.id).map((m) => ({ id: m.id!, threadId: m.threadId ?? m.id! })),
        nextPageToken: next,
        resultSizeEstimate: data.resultSizeEstimate ?? undefined,
      };
      if (next !== undefined) {
        if (seen.has(next)) throw new PermanentError(`${this.where('messages.list')}: Gmail returned the same page token twice; stopping to avoid a loop.`);
        seen.add(next);
      }
      pageToken = next;
    } while (pageToken);
  }

  private messageParams(id: string, format: MessageFormat, opts?: GetMessageOptions): gmail_v1.Params$Resource$Users$Messages$Get {
    return { userId: 'me', id, format, metadataHeaders: format === 'metadata' && opts?.metadataHeaders?.length ? opts.metadataHeaders : undefined };
  }

  async getMessage(id: string, format: MessageFormat, opts?: GetMessageOptions): Promise<gmail_v1.Schema$Message> {
    return this.execute({ method: 'messages.get', context: this.where('messages.get', id) }, async (api) => (await api.users.messages.get(this.messageParams(id, format, opts))).data);
  }

  /**
   * Many messages at once, by batches or parallel singles (DEFAULT_USE_BATCH; format raw always
   * uses singles). Each id maps to its
   * message or to its own error (NotFoundError for a deleted message, or a rate-limit/transient
   * error once retries are used up). An auth or configuration failure concerns the whole account
   * and is thrown instead.
   */
  async getMessages(ids: string[], format: MessageFormat, opts?: GetMessageOptions): Promise<Map<string, gmail_v1.Schema$Message | CrmMailError>> {
    const unique = [...new Set(ids.filter((id) => typeof id === 'string' && id !== ''))];
    if (unique.length === 0) return new Map();
    // raw carries whole messages with their attachments: 50 in one answer could be gigabytes, so
    // raw always goes one message per request (memory bounded by the in-flight cap).
    if (this.batchEnabled && format !== 'raw' && unique.length > 1) return this.getMessagesBatched(unique, format, opts);
    return this.getMessagesParallel(unique, format, opts);
  }

  private async getMessagesParallel(ids: string[], format: MessageFormat, opts?: GetMessageOptions): Promise<Map<string, gmail_v1.Schema$Message | CrmMailError>> {
    const results = new Map<string, gmail_v1.Schema$Message | CrmMailError>();
    let next = 0;
    let fatal: CrmMailError | undefined;
    const worker = async (): Promise<void> => {
      while (fatal === undefined && next < ids.length) {
        const id = ids[next++]!;
        try {
          results.set(id, await this.getMessage(id, format, opts));
        } catch (error) {
          const failure = toCrmMailError(error, { context: this.where('messages.get', id) });
          if (isAccountWide(failure)) fatal ??= failure;
          else results.set(id, failure);
        }
      }
    };
    const workers = Math.min(ids.length, this.inFlight.limit);
    await Promise.all(Array.from({ length: workers }, worker));
    if (fatal) throw fatal;
    return ordered(ids, results);
  }

  private async postBatch(auth: GmailAuthClient, ids: string[], format: MessageFormat, opts?: GetMessageOptions): Promise<Map<string, ReturnType<typeof decodeBatch>[number] | undefined>> {
    const parts: BatchPart[] = ids.map((id, index) => {
      const query = new URLSearchParams({ format });
      if (format === 'metadata') for (const header of opts?.metadataHeaders ?? []) query.append('metadataHeaders', header);
      return { contentId: `m${index}`, method: 'GET', path: `/gmail/v1/users/me/messages/${encodeURIComponent(id)}?${query.toString().replace(/\+/g, '%20')}` };
    });
    const encoded = encodeBatch(parts);
    const response = await auth.request<string>({
      url: new URL('/batch/gmail/v1', this.apiRoot).href,
      method: 'POST',
      headers: { 'Content-Type': encoded.contentType },
      data: encoded.body,
      responseType: 'text',
      retry: false,
      timeout: this.timeoutMs,
      ...this.noProxy(),
    });
    const contentType = response.headers.get('content-type') ?? '';
    let decoded;
    try {
      decoded = decodeBatch(contentType, String(response.data ?? ''));
    } catch (error) {
      if (error instanceof BatchFormatError) throw new TransientError(`${this.where('batch')}: ${error.message}; will retry.`, { cause: error });
      throw error;
    }
    const byPart = matchBatchResponses(parts.map((part) => part.contentId), decoded);
    return new Map(ids.map((id, index) => [id, byPart.get(`m${index}`)]));
  }

  private async getMessagesBatched(ids: string[], format: MessageFormat, opts?: GetMessageOptions): Promise<Map<string, gmail_v1.Schema$Message | CrmMailError>> {
    const results = new Map<string, gmail_v1.Schema$Message | CrmMailError>();
    const attempts = new Map<string, number>();
    let queue = [...ids];
    let batchAttempt = 0;
    let reauthorized = false;
    while (queue.length > 0) {
      const chunk = queue.slice(0, this.currentBatchSize);
      queue = queue.slice(chunk.length);
      let answers: Map<string, ReturnType<typeof decodeBatch>[number] | undefined> | undefined;
      let failure: CrmMailError | undefined;
      try {
        const { auth } = await this.api();
        const release = await this.inFlight.acquire();
        let spent: (() => void) | undefined;
        try {
          spent = await this.quota.acquire(chunk.length * QUOTA_UNITS['messages.get']);
          this.count('messages.get', chunk.length);
          this.counters.httpRequests++;
          this.counters.batches++;
          answers = await this.postBatch(auth, chunk, format, opts);
        } finally {
          spent?.();
          release();
        }
      } catch (error) {
        failure = toCrmMailError(error, { context: this.where('batch messages.get') });
      }

      if (failure) {
        // The whole batch failed: retry it as a unit.
        queue = [...chunk, ...queue];
        if (isExpiredAccessToken(failure) && !reauthorized) {
          reauthorized = true;
          this.credentials.invalidate(this.user);
          this.counters.retries += chunk.length;
          continue;
        }
        if (isRateLimit(failure)) {
          this.counters.throttled++;
          this.shrinkBatch();
        }
        const delay = retryDelay(failure, batchAttempt, this.policy);
        if (delay === undefined) throw this.gaveUp(failure, batchAttempt);
        if (isRateLimit(failure)) this.quota.pause(delay);
        this.counters.retries += chunk.length;
        batchAttempt++;
        await this.sleep(delay);
        continue;
      }
      batchAttempt = 0;

      const retry: string[] = [];
      let rateLimited = false;
      let wait = 0;
      for (const id of chunk) {
        const answer = answers!.get(id);
        const context = this.where('messages.get', id);
        if (answer && answer.status >= 200 && answer.status < 300 && answer.body && typeof answer.body === 'object') {
          results.set(id, answer.body as gmail_v1.Schema$Message);
          continue;
        }
        const error = answer
          ? classifyHttpError({ status: answer.status, body: answer.body, headers: answer.headers, context })
          : new TransientError(`${context}: the batch answer had no part for this message; will retry.`);
        if (isExpiredAccessToken(error) && !reauthorized) {
          reauthorized = true;
          this.credentials.invalidate(this.user);
        }
        if (isExpiredAccessToken(error) && (attempts.get(id) ?? 0) === 0) {
          attempts.set(id, 1);
          retry.push(id);
          continue;
        }
        if (isAccountWide(error)) throw error;
        if (isRateLimit(error)) {
          this.counters.throttled++;
          rateLimited = true;
        }
        const made = attempts.get(id) ?? 0;
        const delay = retryDelay(error, made, this.policy);
        if (delay === undefined) {
          results.set(id, this.gaveUp(error, made));
          continue;
        }
        attempts.set(id, made + 1);
        wait = Math.max(wait, delay);
        retry.push(id);
      }
      if (rateLimited) this.shrinkBatch();
      else if (retry.length === 0) this.growBatch();
      if (retry.length > 0) {
        this.counters.retries += retry.length;
        queue = [...retry, ...queue];
        if (rateLimited) this.quota.pause(wait);
        if (wait > 0) await this.sleep(wait);
      }
    }
    return ordered(ids, results);
  }

  private shrinkBatch(): void {
    this.currentBatchSize = Math.max(1, Math.floor(this.currentBatchSize / 2));
  }

  private growBatch(): void {
    // Additive increase after a clean batch, multiplicative decrease on a rate limit (AIMD).
    this.currentBatchSize = Math.min(this.maxBatchSize, this.currentBatchSize + Math.max(1, Math.ceil(this.maxBatchSize / 5)));
  }

  /** An attachment's bytes (base64url decoded). */
  async getAttachment(messageId: string, attachmentId: string): Promise<Buffer> {
    const data = await this.execute({ method: 'messages.attachments.get', context: this.where('messages.attachments.get', messageId) }, async (api) => {
      const response = await api.users.messages.attachments.get({ userId: 'me', messageId, id: attachmentId });
      return response.data;
    });
    return Buffer.from(data.data ?? '', 'base64url');
  }

  /** Pages of history after startHistoryId, oldest first; a 404 (cursor too old) is a HistoryExpiredError. */
  async *listHistory(opts: ListHistoryOptions): AsyncIterable<HistoryPage> {
    let pageToken = opts.pageToken;
    const seen = new Set<string>();
    do {
      const token = pageToken;
      const data = await this.execute({ method: 'history.list', context: this.where('history.list'), historyRequest: true }, async (api) => {
        const response = await api.users.history.list({
          userId: 'me',
          startHistoryId: opts.startHistoryId,
          historyTypes: opts.historyTypes,
          labelId: opts.labelId,
          maxResults: opts.pageSize,
          pageToken: token,
        });
        return response.data;
      });
      const next = data.nextPageToken ?? undefined;
      yield { history: data.history ?? [], historyId: String(data.historyId ?? opts.startHistoryId), nextPageToken: next };
      if (next !== undefined) {
        if (seen.has(next)) throw new PermanentError(`${this.where('history.list')}: Gmail returned the same page token twice; stopping to avoid a loop.`);
        seen.add(next);
      }
      pageToken = next;
    } while (pageToken);
  }

  async getThread(id: string, format: 'full' | 'metadata' | 'minimal' = 'metadata', opts?: GetMessageOptions): Promise<gmail_v1.Schema$Thread> {
    return this.execute({ method: 'threads.get', context: this.where('threads.get', id) }, async (api) => {
      const response = await api.users.threads.get({
        userId: 'me',
        id,
        format,
        metadataHeaders: format === 'metadata' && opts?.metadataHeaders?.length ? opts.metadataHeaders : undefined,
      });
      return response.data;
    });
  }
}

/** Failures that concern the account, not one message: no point fetching the others. */
function isAccountWide(error: CrmMailError): boolean {
  return error instanceof AuthError || error instanceof ConfigError;
}

function ordered<T>(ids: string[], results: Map<string, T>): Map<string, T> {
  const sorted = new Map<string, T>();
  for (const id of ids) if (results.has(id)) sorted.set(id, results.get(id)!);
  return sorted;
}

/** The client for one enrolled mailbox, from the configuration. */
export function createAccountClient(config: Config, credentials: CredentialProvider, user: string): GmailAccountClient {
  return new GmailAccountClient({
    user,
    credentials,
    apiRoot: config.apiRoot,
    unitsPerSec: config.rateUnitsPerSec,
    retryMax: config.retryMax,
  });
}
