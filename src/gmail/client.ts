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
import { accountQuotaBudget, type Config } from '../config.js';
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
import { quotaModel, quotaRateOf, wasCharged, type GmailMethod, type QuotaModel, type QuotaModelName } from './quotaModel.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, isConcurrencyLimit, isExpiredAccessToken, isRateLimit, retryDelay, toCrmMailError, type RetryPolicy } from './retry.js';
import { mailboxKey } from '../mail/addresses.js';

export type { GmailMethod };

export type MessageFormat = 'minimal' | 'metadata' | 'full' | 'raw';

export interface GmailCallStats {
  /** Gmail API requests made, retries included; each part of a batch counts as one (as Gmail counts them). */
  calls: number;
  /**
   * Quota units Gmail charged: counted when a request (or batch part) is answered, and only for the
   * answers Gmail charges (see wasCharged); a refused, reset or failed attempt costs nothing.
   */
  units: number;
  /** Attempts repeated after a retryable failure (a re-sent batch part counts once). */
  retries: number;
  /** Rate-limit answers received (429, 403 rate reasons), each batch part counted. */
  throttled: number;
  byMethod: Record<string, { calls: number; units: number }>;
  /** Of `retries` and `throttled`, those of each method (a method absent had neither). */
  setbacksByMethod: Record<string, { retries: number; throttled: number }>;
  /** HTTP requests on the wire (a batch of 50 is one). */
  httpRequests: number;
  /** Of those, batch requests. */
  batches: number;
  /** Rate-limit answers waited out (they never use the retry budget). */
  rateLimitWaits: number;
  /** Milliseconds calls spent queued for this account's quota window. */
  quotaWaitMs: number;
  /** Whole batches that failed and were split in two. */
  batchSplits: number;
  /** "Too many concurrent requests" answers received. */
  concurrencyRefusals: number;
}

export interface GmailAccountClientOptions {
  user: string;
  credentials: CredentialProvider;
  /** Gmail API root (CRM_GMAIL_API_ROOT); default https://gmail.googleapis.com/. Only its origin is used. */
  apiRoot?: string;
  /** Gmail's quota model for the firm's project (CRM_GMAIL_QUOTA_MODEL). Default '2026', or 'legacy' when only unitsPerSec is given. */
  quotaModel?: QuotaModelName;
  /** Units this account may spend per window of the model (CRM_GMAIL_RATE_UNITS_MIN / _SEC). Default the model's. */
  budget?: number;
  /** Legacy shorthand: units per second (CRM_GMAIL_RATE_UNITS_SEC); implies the legacy model unless quotaModel is given. */
  unitsPerSec?: number;
  /** The firm-wide meter every account's calls also pass (CRM_GMAIL_PROJECT_UNITS_MIN), shared between clients. */
  projectQuota?: QuotaLimiter;
  /**
   * Requests in flight at once for this account, each batch part counting one, as Gmail counts
   * them against its per-user concurrency limit (CRM_GMAIL_MAX_IN_FLIGHT). Batches are no larger.
   * Default DEFAULT_MAX_IN_FLIGHT.
   */
  maxInFlight?: number;
  /** Retries of a failed call (CRM_GMAIL_RETRY_MAX). */
  retryMax: number;
  /** getMessages uses multipart batches (true) or parallel single requests (false). Default: DEFAULT_USE_BATCH. */
  batch?: boolean;
  // Extras beyond the interface (all optional):
  /** Overrides the model's window in ms (the budget may be spent in any such window). */
  quotaWindowMs?: number;
  /** Rate-limit answers one call may wait out before it is given up (and its message deferred). Default 30. */
  rateLimitWaitMax?: number;
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
/**
 * Gmail refuses "Too many concurrent requests for user" past a per-user limit it does not publish;
 * 5 in flight, batch parts included, keeps a sync clear of it under a limit as low as 5
 * (docs/gmail-access.md, "Concurrency").
 */
export const DEFAULT_MAX_IN_FLIGHT = 5;
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
  readonly model: QuotaModel;
  private readonly quota: QuotaLimiter;
  private readonly projectQuota?: QuotaLimiter;
  private readonly inFlight: Semaphore;
  private readonly rateLimitWaitMax: number;
  /** Largest batch that ran without concurrency refusals, once one had them. */
  private batchCeiling: number;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly sleep: Sleep;
  private currentBatchSize: number;
  private apiFor?: { auth: GmailAuthClient; api: gmail_v1.Gmail };
  private readonly counters: GmailCallStats = {
    calls: 0,
    units: 0,
    retries: 0,
    throttled: 0,
    byMethod: {},
    setbacksByMethod: {},
    httpRequests: 0,
    batches: 0,
    rateLimitWaits: 0,
    quotaWaitMs: 0,
    batchSplits: 0,
    concurrencyRefusals: 0,
  };

  constructor(opts: GmailAccountClientOptions) {
    if (!opts.user || !opts.user.includes('@')) throw new ConfigError(`a Gmail account client needs the mailbox address, got ${JSON.stringify(opts.user)}.`);
    this.model = quotaModel(opts.quotaModel ?? (opts.unitsPerSec !== undefined ? 'legacy' : '2026'));
    const windowMs = opts.quotaWindowMs ?? this.model.windowMs;
    const budget = opts.budget ?? (opts.unitsPerSec !== undefined ? (opts.unitsPerSec * windowMs) / 1000 : this.model.defaultBudget);
    if (!(budget > 0)) throw new ConfigError('the per-account quota budget must be positive (CRM_GMAIL_RATE_UNITS_MIN or CRM_GMAIL_RATE_UNITS_SEC).');
    this.user = mailboxKey(opts.user);
    this.credentials = opts.credentials;
    this.apiRoot = new URL(opts.apiRoot ?? DEFAULT_API_ROOT).origin + '/';
    this.quota = new QuotaLimiter({ unitsPerWindow: budget, windowMs });
    this.projectQuota = opts.projectQuota;
    this.rateLimitWaitMax = opts.rateLimitWaitMax ?? 30;
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
    const fitsBurst = Math.floor(this.quota.capacity / this.model.units['messages.get']);
    // A batch's parts run at once at Gmail, each in one of the user's places: no batch outgrows them.
    this.maxBatchSize = Math.max(1, Math.min(MAX_BATCH_SIZE, opts.maxBatchSize ?? MAX_BATCH_SIZE, fitsBurst, this.inFlight.limit));
    this.currentBatchSize = this.maxBatchSize;
    this.batchCeiling = this.maxBatchSize;
  }

  /** The batch size the next batch will use (halved on rate limits, grown back after clean batches). */
  get batchSize(): number {
    return this.currentBatchSize;
  }

  /** Peak simultaneous requests seen (for tests and figures). */
  get peakInFlight(): number {
    return this.inFlight.peak;
  }

  /** The account's quota budget per window, as lowered by refusals (for estimates). */
  get quotaCapacity(): number {
    return this.quota.capacity;
  }

  /** Units per call of `method` under this client's model. */
  unitsOf(method: GmailMethod): number {
    return this.model.units[method];
  }

  /** What a message get costs and the account's budget per minute, for time-left estimates. */
  quotaRate(): { unitsPerGet: number; unitsPerMinute: number } {
    return quotaRateOf({ ...this.model, windowMs: this.quota.windowMs }, this.quota.capacity);
  }

  stats(): GmailCallStats {
    const byMethod: GmailCallStats['byMethod'] = {};
    for (const [method, value] of Object.entries(this.counters.byMethod)) byMethod[method] = { ...value };
    const setbacksByMethod: GmailCallStats['setbacksByMethod'] = {};
    for (const [method, value] of Object.entries(this.counters.setbacksByMethod)) setbacksByMethod[method] = { ...value };
    return { ...this.counters, byMethod, setbacksByMethod, quotaWaitMs: Math.round(this.quota.waitedMs) };
  }

  /** Waits for the account's window, then the project's; returns the release for both. */
  private async spend(units: number): Promise<() => void> {
    const account = await this.quota.acquire(units);
    const project = await this.projectQuota?.acquire(units);
    return () => {
      project?.();
      account();
    };
  }

  /**
   * A rate-limit answer: how long to wait before trying again. Quota refusals slow the account's
   * meter and wait for its window (or the Retry-After); a concurrency refusal only backs off
   * briefly, because the window has room and a slot frees as soon as any request answers.
   */
  private rateLimitWait(method: GmailMethod, error: CrmMailError, waits: number, units: number): number {
    this.setback(method, 'throttled');
    this.counters.rateLimitWaits++;
    if (isConcurrencyLimit(error)) {
      this.counters.concurrencyRefusals++;
      return backoffDelay(Math.min(waits, 4), { baseDelayMs: 250, maxDelayMs: 4000 }) + 50;
    }
    return this.quota.refused(units, waits, error.retryAfterMs);
  }

  /** How long a call costing `units` would wait for quota if sent now (account and project). */
  quotaWaitMs(units: number): number {
    return Math.max(this.quota.timeUntilRoom(units), this.projectQuota?.timeUntilRoom(units) ?? 0);
  }

  /** How long `count` message gets would wait for quota if sent now. */
  waitForGets(count: number): number {
    return this.quotaWaitMs(Math.min(count * this.model.units['messages.get'], this.quota.capacity));
  }

  /** A retry or a rate-limit answer, counted in the totals and against its method. */
  private setback(method: GmailMethod, what: 'retries' | 'throttled', times = 1): void {
    this.counters[what] += times;
    const entry = (this.counters.setbacksByMethod[method] ??= { retries: 0, throttled: 0 });
    entry[what] += times;
  }

  /** Requests on their way to Gmail (each batch part one). Their units are counted by `charged` once answered. */
  private count(method: string, calls: number): void {
    this.counters.calls += calls;
    (this.counters.byMethod[method] ??= { calls: 0, units: 0 }).calls += calls;
  }

  /** Units of `calls` requests Gmail answered and charged. */
  private charged(method: string, calls: number): void {
    const units = calls * this.model.units[method as GmailMethod];
    this.counters.units += units;
    (this.counters.byMethod[method] ??= { calls: 0, units: 0 }).units += units;
  }

  /** Sends one request and counts its units when Gmail's answer is one it charges for. */
  private async sendCharged<T>(spec: CallSpec, send: () => Promise<T>): Promise<T> {
    try {
      const value = await send();
      this.charged(spec.method, 1);
      return value;
    } catch (error) {
      const failure = toCrmMailError(error, spec);
      if (wasCharged(failure)) this.charged(spec.method, 1);
      throw failure;
    }
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
      error.kind === 'rate_limit' && error.retryAfterMs !== undefined && error.retryAfterMs > this.policy.maxRetryAfterMs
        ? `Gmail asked to wait ${Math.ceil(error.retryAfterMs / 1000)} s, longer than one run waits; a later run will try again`
        : error.kind === 'rate_limit'
          ? `still refused after waiting out ${attempts} rate-limit answers; a later run will try again`
          : `gave up after ${attempts} ${attempts === 1 ? 'retry' : 'retries'}`;
    const message = `${text}; ${why}.`;
    return error.kind === 'rate_limit' ? new RateLimitError(message, options) : new TransientError(message, options);
  }

  /**
   * One Gmail call with quota, in-flight cap, retries and counting. Rate-limit answers are waited
   * out without using the retry budget (Gmail frees the window by itself); only real failures
   * (5xx, resets, timeouts) count against CRM_GMAIL_RETRY_MAX.
   */
  private async execute<T>(spec: CallSpec, send: (api: gmail_v1.Gmail) => Promise<T>): Promise<T> {
    let attempt = 0;
    let rateWaits = 0;
    let reauthorized = false;
    for (;;) {
      let failure: CrmMailError;
      try {
        // The token comes first: a refused token costs no quota and is never retried here.
        const { api } = await this.api();
        const release = await this.inFlight.acquire();
        let spent: (() => void) | undefined;
        try {
          spent = await this.spend(this.model.units[spec.method]);
          this.count(spec.method, 1);
          this.counters.httpRequests++;
          return await this.sendCharged(spec, () => send(api));
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
        this.setback(spec.method, 'retries');
        continue;
      }
      if (isRateLimit(failure)) {
        if (rateWaits >= this.rateLimitWaitMax || (failure.retryAfterMs ?? 0) > this.policy.maxRetryAfterMs) {
          this.setback(spec.method, 'throttled');
          throw this.gaveUp(failure, rateWaits);
        }
        const wait = this.rateLimitWait(spec.method, failure, rateWaits, this.model.units[spec.method]);
        rateWaits++;
        await this.sleep(wait);
        continue;
      }
      const delay = retryDelay(failure, attempt, this.policy);
      if (delay === undefined) throw this.gaveUp(failure, attempt);
      this.setback(spec.method, 'retries');
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

  /**
   * Batches, each part on its own: a part refused for quota or concurrency waits and goes out again
   * in a later batch without using its retry budget; a part that failed for real is retried alone
   * after its own backoff; a whole batch that failed (reset, 5xx, timeout) is split in two and the
   * halves re-sent. Nothing waits for a slow or failing message except that message.
   */
  private async getMessagesBatched(ids: string[], format: MessageFormat, opts?: GetMessageOptions): Promise<Map<string, gmail_v1.Schema$Message | CrmMailError>> {
    const results = new Map<string, gmail_v1.Schema$Message | CrmMailError>();
    const queue = new BatchQueue(ids);
    let reauthorized = false;
    while (!queue.empty) {
      const group = queue.next(this.sizeThatFits(), this.clock());
      if (!group) {
        await this.sleep(Math.max(1, queue.nextReadyAt() - this.clock()));
        continue;
      }
      const chunk = group.items.map((item) => item.id);
      let answers: Map<string, ReturnType<typeof decodeBatch>[number] | undefined> | undefined;
      let failure: CrmMailError | undefined;
      try {
        const { auth } = await this.api();
        const release = await this.inFlight.acquire(chunk.length);
        let spent: (() => void) | undefined;
        try {
          spent = await this.spend(chunk.length * this.model.units['messages.get']);
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
        if (isExpiredAccessToken(failure) && !reauthorized) {
          reauthorized = true;
          this.credentials.invalidate(this.user);
          this.setback('messages.get', 'retries', chunk.length);
          queue.again(group, this.clock());
          continue;
        }
        this.batchFailed(queue, group, failure, results);
        continue;
      }
      reauthorized = this.readBatchAnswers(queue, group, answers!, results, reauthorized) || reauthorized;
    }
    return ordered(ids, results);
  }

  /** A whole batch failed: wait out a rate limit, split a real failure, or give up on a lone message. */
  private batchFailed(queue: BatchQueue, group: BatchGroup, failure: CrmMailError, results: Map<string, gmail_v1.Schema$Message | CrmMailError>): void {
    if (isAccountWide(failure)) throw failure;
    const now = this.clock();
    if (failure.kind === 'rate_limit') {
      if (isConcurrencyLimit(failure)) this.lowerBatchCeiling(0);
      const wait = this.rateLimitWait('messages.get', failure, group.rateWaits, group.items.length * this.model.units['messages.get']);
      if (group.rateWaits >= this.rateLimitWaitMax) {
        for (const item of group.items) results.set(item.id, this.gaveUp(failure, group.rateWaits));
        return;
      }
      queue.again({ ...group, rateWaits: group.rateWaits + 1 }, now + wait);
      return;
    }
    if (!failure.retryable) {
      for (const item of group.items) results.set(item.id, failure);
      return;
    }
    if (group.items.length > 1) {
      // Smaller batches from now on too: a batch fails whole when any one part kills it.
      this.currentBatchSize = Math.max(1, Math.floor(this.currentBatchSize / 2));
      this.counters.batchSplits++;
      this.setback('messages.get', 'retries', group.items.length);
      const delay = backoffDelay(group.depth, this.policy);
      queue.split(group, now + delay);
      return;
    }
    this.retryAlone(queue, group.items[0]!, failure, results, now);
  }

  /** One message that failed for real: retried alone after its backoff, or given up as its own error. */
  private retryAlone(queue: BatchQueue, item: BatchItem, failure: CrmMailError, results: Map<string, gmail_v1.Schema$Message | CrmMailError>, now: number): void {
    const delay = retryDelay(failure, item.attempts, this.policy);
    if (delay === undefined) {
      results.set(item.id, this.gaveUp(failure, item.attempts));
      return;
    }
    this.setback('messages.get', 'retries');
    queue.retry({ ...item, attempts: item.attempts + 1 }, now + delay);
  }

  /** Sorts a batch's parts into results and retries; returns whether the token was renewed. */
  private readBatchAnswers(
    queue: BatchQueue,
    group: BatchGroup,
    answers: Map<string, ReturnType<typeof decodeBatch>[number] | undefined>,
    results: Map<string, gmail_v1.Schema$Message | CrmMailError>,
    reauthorized: boolean,
  ): boolean {
    const now = this.clock();
    let renewed = false;
    let quotaRefusal: { error: CrmMailError; waits: number } | undefined;
    let concurrencyRefused = 0;
    const rateLimited: BatchItem[] = [];
    let troubled = false;
    for (const item of group.items) {
      const answer = answers.get(item.id);
      const context = this.where('messages.get', item.id);
      if (answer && answer.status >= 200 && answer.status < 300 && answer.body && typeof answer.body === 'object') {
        this.charged('messages.get', 1);
        results.set(item.id, answer.body as gmail_v1.Schema$Message);
        continue;
      }
      troubled = true;
      const error = answer
        ? classifyHttpError({ status: answer.status, body: answer.body, headers: answer.headers, context })
        : new TransientError(`${context}: the batch answer had no part for this message; will retry.`);
      if (wasCharged(error)) this.charged('messages.get', 1);
      if (isExpiredAccessToken(error) && !item.reauthorized) {
        if (!reauthorized && !renewed) {
          renewed = true;
          this.credentials.invalidate(this.user);
        }
        this.setback('messages.get', 'retries');
        queue.retry({ ...item, reauthorized: true }, now);
        continue;
      }
      if (isAccountWide(error)) throw error;
      if (isRateLimit(error)) {
        if (item.rateWaits >= this.rateLimitWaitMax || (error.retryAfterMs ?? 0) > this.policy.maxRetryAfterMs) {
          this.setback('messages.get', 'throttled');
          results.set(item.id, this.gaveUp(error, item.rateWaits));
          continue;
        }
        this.setback('messages.get', 'throttled');
        this.counters.rateLimitWaits++;
        if (isConcurrencyLimit(error)) {
          concurrencyRefused++;
          this.counters.concurrencyRefusals++;
        } else {
          quotaRefusal ??= { error, waits: item.rateWaits };
        }
        rateLimited.push({ ...item, rateWaits: item.rateWaits + 1 });
        continue;
      }
      this.retryAlone(queue, item, error, results, now);
    }
    if (concurrencyRefused > 0) this.lowerBatchCeiling(group.items.length - concurrencyRefused);
    // One refusal slows the meter once, however many parts of the batch it hit.
    const quotaWait = quotaRefusal ? this.quota.refused(this.model.units['messages.get'], quotaRefusal.waits, quotaRefusal.error.retryAfterMs) : 0;
    const concurrencyWait = concurrencyRefused > 0 ? 50 : 0;
    for (const item of rateLimited) queue.retry(item, now + Math.max(quotaWait, concurrencyWait));
    if (rateLimited.length === 0 && !troubled) this.growBatch();
    return renewed;
  }

  /**
   * The batch size to send now: a window with room for 20 gets but not for 50 takes a batch of 20
   * now, instead of leaving that room unused while a full batch waits for the window to turn
   * (under the 2026 model, 400 of every 5,400 units).
   */
  private sizeThatFits(): number {
    const fits = Math.floor(Math.min(this.quota.room(), this.projectQuota?.room() ?? Number.POSITIVE_INFINITY) / this.model.units['messages.get']);
    return fits >= 1 ? Math.min(this.currentBatchSize, fits) : this.currentBatchSize;
  }

  /**
   * "Too many concurrent requests for user": the parts of a batch run at once at Gmail and each
   * holds one of the user's slots, so the batch may be no larger than what got through.
   */
  private lowerBatchCeiling(admitted: number): void {
    const next = admitted > 0 ? admitted : Math.floor(this.currentBatchSize / 2);
    this.batchCeiling = Math.max(1, Math.min(this.batchCeiling, next));
    this.currentBatchSize = Math.min(this.currentBatchSize, this.batchCeiling);
  }

  private growBatch(): void {
    // A clean batch at the ceiling probes one part higher: the ceiling follows Gmail's real limit
    // instead of staying wherever a chance refusal once put it.
    if (this.currentBatchSize >= this.batchCeiling) this.batchCeiling = Math.min(this.maxBatchSize, this.batchCeiling + 1);
    // Additive increase after a clean batch, up to what the user's concurrency allowed.
    this.currentBatchSize = Math.min(this.batchCeiling, this.currentBatchSize + Math.max(1, Math.ceil(this.maxBatchSize / 5)));
  }

  private clock(): number {
    return performance.now();
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

interface BatchItem {
  id: string;
  /** Real failures so far (they use the retry budget). */
  attempts: number;
  /** Rate-limit answers waited out so far (they do not). */
  rateWaits: number;
  reauthorized?: boolean;
}

interface BatchGroup {
  items: BatchItem[];
  /** How many times this group's batch was split. */
  depth: number;
  rateWaits: number;
  readyAt: number;
}

/**
 * The messages of one getMessages call waiting to go out: fresh ids, single messages waiting for
 * their retry time, and halves of split batches. Ready work goes first; nothing ready means wait
 * for the earliest.
 */
class BatchQueue {
  private readonly fresh: BatchItem[];
  private waiting: Array<{ item: BatchItem; readyAt: number }> = [];
  private groups: BatchGroup[] = [];

  constructor(ids: string[]) {
    this.fresh = ids.map((id) => ({ id, attempts: 0, rateWaits: 0 }));
  }

  get empty(): boolean {
    return this.fresh.length === 0 && this.waiting.length === 0 && this.groups.length === 0;
  }

  /** The next batch to send (at most `size` parts), or undefined when nothing is ready yet. */
  next(size: number, now: number): BatchGroup | undefined {
    const groupIndex = this.groups.findIndex((group) => group.readyAt <= now);
    if (groupIndex >= 0) {
      const group = this.groups[groupIndex]!;
      if (group.items.length <= size) {
        this.groups.splice(groupIndex, 1);
        return group;
      }
      // The batch size fell since the split: send what fits, keep the rest ready.
      this.groups[groupIndex] = { ...group, items: group.items.slice(size) };
      return { ...group, items: group.items.slice(0, size) };
    }
    const items: BatchItem[] = [];
    this.waiting = this.waiting.filter((entry) => {
      if (items.length < size && entry.readyAt <= now) {
        items.push(entry.item);
        return false;
      }
      return true;
    });
    while (items.length < size && this.fresh.length > 0) items.push(this.fresh.shift()!);
    if (items.length === 0) return undefined;
    return { items, depth: 0, rateWaits: 0, readyAt: now };
  }

  /** When the earliest waiting work becomes ready. */
  nextReadyAt(): number {
    const times = [...this.waiting.map((entry) => entry.readyAt), ...this.groups.map((group) => group.readyAt)];
    return times.length > 0 ? Math.min(...times) : 0;
  }

  /** The same batch again at `readyAt` (a rate limit on the whole batch, a renewed token). */
  again(group: BatchGroup, readyAt: number): void {
    this.groups.push({ ...group, readyAt });
  }

  /** A whole batch failed for real: its two halves go out separately at `readyAt`. */
  split(group: BatchGroup, readyAt: number): void {
    const half = Math.ceil(group.items.length / 2);
    this.groups.push({ items: group.items.slice(0, half), depth: group.depth + 1, rateWaits: 0, readyAt });
    this.groups.push({ items: group.items.slice(half), depth: group.depth + 1, rateWaits: 0, readyAt });
  }

  /** One message goes out again at `readyAt`, in whatever batch is then being made. */
  retry(item: BatchItem, readyAt: number): void {
    this.waiting.push({ item, readyAt });
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

/** The firm-wide meter of CRM_GMAIL_PROJECT_UNITS_MIN, one per process, shared by every account's client. */
export function createProjectQuota(config: Config): QuotaLimiter {
  return new QuotaLimiter({ unitsPerWindow: config.projectUnitsPerMin, windowMs: 60_000 });
}

/** The client for one enrolled mailbox, from the configuration. */
export function createAccountClient(config: Config, credentials: CredentialProvider, user: string, projectQuota?: QuotaLimiter): GmailAccountClient {
  return new GmailAccountClient({
    user,
    credentials,
    apiRoot: config.apiRoot,
    quotaModel: config.quotaModel,
    budget: accountQuotaBudget(config),
    projectQuota,
    maxInFlight: config.maxInFlight,
    retryMax: config.retryMax,
  });
}
