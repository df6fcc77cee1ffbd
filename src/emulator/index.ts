/**
 * The Gmail API emulator, in-process: `startEmulator()` serves mailboxes on 127.0.0.1 for the real
 * @googleapis/gmail client and google-auth-library. See docs/emulator.md.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthRegistry } from './auth.js';
import { FaultInjector, normalizeMethod, type FaultSpec } from './faults.js';
import { Mailbox, type NewMessage } from './mailbox.js';
import type { RawSource } from './message-store.js';
import { DEFAULT_PROJECT_UNITS_PER_MINUTE, isQuotaModelName, QUOTA_MODELS, QuotaMeter, type Counters, type QuotaLimits, type QuotaModelName, type QuotaSettings } from './quota.js';
import { EmulatorServer } from './server.js';
import type { Scenario } from './scenario/generate.js';

export { generateScenario, SCENARIOS } from './scenario/generate.js';
export type { Scenario, ScenarioOptions, ScenarioInvestor, TruthEntry, MessageKind } from './scenario/generate.js';
export type { FaultSpec, FaultKind } from './faults.js';
export { FAULT_KINDS, RETRYABLE_FAULT_KINDS } from './faults.js';
export type { Counters, MethodCount, QuotaModel, QuotaModelName, QuotaSettings } from './quota.js';
export { METHOD_UNITS, QUOTA_MODELS, QUOTA_MODEL_NAMES, DEFAULT_PROJECT_UNITS_PER_MINUTE, unitsFor, isQuotaModelName } from './quota.js';
export { GMAIL_SCOPES } from './auth.js';
export { loadEmlFolder, type FolderMessage } from './eml-folder.js';

export interface MailboxMessage {
  raw: Buffer;
  labelIds?: string[];
  internalDate?: number;
}

export interface EmulatorOptions {
  /** 0 or undefined: an ephemeral port. Always binds 127.0.0.1. */
  port?: number;
  /** Workspace domain, default 'northwind.vc' (a scenario's own domain wins when given). */
  domain?: string;
  scenario?: Scenario;
  mailboxes?: Record<string, Array<MailboxMessage | RawSource & { labelIds?: string[]; internalDate?: number }>>;
  /**
   * How Gmail meters the project: '2026' (default; new Cloud projects since 2026-05-01: per minute,
   * messages.get 20) or 'legacy' (older projects: per second, messages.get 5).
   */
  quotaModel?: QuotaModelName;
  /** Per-user units per window of the model: default 6000 per minute (2026) or 250 per second (legacy); 0 = no per-user limit. */
  quotaUnits?: number;
  /** Units per minute for all users together (rolling 60 s); default 1,200,000; 0 = no project limit. */
  projectUnitsPerMinute?: number;
  /**
   * Before the 2026 model: per-user units per second. Without `quotaModel` it selects the legacy
   * model at that rate (0 = no limit); with quotaModel '2026' it counts as 60 times that per minute.
   * `quotaUnits` wins when both are given.
   */
  quotaUnitsPerSec?: number;
  /** Per-user concurrent requests (batch parts count one each); default off (0). */
  maxConcurrentPerUser?: number;
  /**
   * The status a per-user quota overrun is answered with, '429' (default) or '403'. Under 2026 the
   * text is "Quota exceeded ... 'Queries per minute per user' ..."; under legacy 429 is "Resource
   * has been exhausted" and 403 is userRateLimitExceeded.
   */
  quotaErrorStyle?: '429' | '403';
  /** History retention window in days (default 7). */
  historyRetentionDays?: number;
  /** Fraction (0..1) of API calls that get a random retryable fault. */
  faultRate?: number;
  /** Seed for the fault dice (default 12345). */
  faultSeed?: number;
  /** Folder for the generated service-account key file (mode 600); default a new temp folder. */
  keyDir?: string;
  /** Access-token lifetime in seconds (default 3599). */
  tokenLifetimeSec?: number;
  /** Added service time per API call in ms (default 0); makes the concurrency cap observable. */
  latencyMs?: number;
  /** Refuse attachment ids minted longer ago than this (default 0: ids never expire). */
  attachmentIdTtlMs?: number;
  /** Answer 400 to a `q` longer than this many characters (default 0: no limit). */
  maxQueryChars?: number;
  /**
   * Answer 404 to a history start id whose last change (the newest change at or before it) is older
   * than this many days on the mail clock, even when nothing after it was forgotten: a quiet
   * mailbox's current id goes stale (default 0: only forgotten records make a start id fail).
   */
  historyStartIdMaxAgeDays?: number;
  /**
   * Rewrite a missing or malformed Message-ID the way Gmail's inbound mail does: a Message-ID of
   * Gmail's own (`<...SMTPIN_ADDED_MISSING...@mx.google.com>` or `..._BROKEN...`), different in
   * every mailbox copy, and a broken value kept as X-Google-Original-Message-ID (default off).
   */
  rewriteMessageIds?: boolean;
  /**
   * Gmail's own threading: a message that no References/In-Reply-To places in a thread joins one
   * with the same subject (Re:/Fwd: aside) and a participant in common whose last message is within
   * this many days (Gmail documents one week; default 0: threads join on RFC headers only).
   */
  subjectThreadingDays?: number;
  /** The mail clock (internalDate of new mail, history retention, newer_than); advanceTime moves it. */
  now?: () => number;
}

export interface Emulator {
  rootUrl: string;
  tokenUrl: string;
  domain: string;
  readonly users: string[];
  serviceAccountKeyFile: string;
  serviceAccount: { clientEmail: string; clientId: string };
  setDelegation(clientId: string, granted: boolean, users?: string[], scopes?: string[]): void;
  registerOAuthClient(clientId: string, clientSecret: string): void;
  issueRefreshToken(clientId: string, user: string, scopes?: string[]): string;
  revokeRefreshToken(token: string): void;
  addMailbox(user: string, messages?: Array<MailboxMessage | (RawSource & { labelIds?: string[]; internalDate?: number })>): void;
  addMessage(user: string, raw: Buffer, opts?: { labelIds?: string[]; internalDate?: number }): { id: string; threadId: string; historyId: string };
  deleteMessage(user: string, id: string): void;
  modifyLabels(user: string, id: string, add: string[], remove: string[]): void;
  advanceTime(ms: number): void;
  /** The mail clock's current time (ms). */
  now(): number;
  /** The quota model in force: '2026' or 'legacy'. */
  readonly quotaModel: QuotaModelName;
  /** The model, its window, the limits and the per-method units in force. */
  readonly quota: Readonly<QuotaSettings>;
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  counters(user?: string): Counters;
  resetCounters(): void;
  messageIds(user: string): string[];
  /** Current profile historyId of a mailbox (for tests). */
  historyId(user: string): string;
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

let keyPair: { privateKey: string; publicKey: string } | undefined;

/** One RSA key pair per process: generating one costs ~0.1-0.3 s, and tests start many emulators. */
function serviceAccountKeys(): { privateKey: string; publicKey: string } {
  keyPair ??= generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return keyPair;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const domain = (options.scenario?.domain ?? options.domain ?? 'northwind.vc').toLowerCase();
  const baseNow = options.now ?? Date.now;
  let offset = 0;
  const clock = (): number => baseNow() + offset;
  const retentionMs = (options.historyRetentionDays ?? 7) * DAY_MS;
  const mailboxes = new Map<string, Mailbox>();

  const auth = new AuthRegistry((email) => mailboxes.has(email.toLowerCase()), options.tokenLifetimeSec ?? 3599);
  const quota = new QuotaMeter(quotaLimits(options));
  const faults = new FaultInjector(options.faultRate ?? 0, options.faultSeed ?? 12345);

  const mailboxOf = (user: string): Mailbox => {
    const mailbox = mailboxes.get(user.toLowerCase());
    if (!mailbox) throw new Error(`emulator: no mailbox for ${user}`);
    return mailbox;
  };

  const addMailbox = (user: string, messages: Array<NewMessage | (RawSource & { labelIds?: string[]; internalDate?: number })> = []): void => {
    const email = user.toLowerCase();
    if (mailboxes.has(email)) throw new Error(`emulator: mailbox ${email} already exists`);
    const mailbox = new Mailbox(email, clock, retentionMs, {
      rewriteMessageIds: options.rewriteMessageIds ?? false,
      subjectThreadingWindowMs: (options.subjectThreadingDays ?? 0) * DAY_MS,
    });
    mailbox.load(messages.map((m) => ({ raw: isNewMessage(m) ? m.raw : m, labelIds: m.labelIds, internalDate: m.internalDate })));
    mailboxes.set(email, mailbox);
  };

  if (options.scenario) {
    for (const partner of options.scenario.partners) if (!mailboxes.has(partner.email.toLowerCase())) addMailbox(partner.email, mailboxEntries(options.scenario, partner.email));
  }
  for (const [user, messages] of Object.entries(options.mailboxes ?? {})) addMailbox(user, messages);

  // The service account, written like Google's JSON key file.
  const { privateKey, publicKey } = serviceAccountKeys();
  const clientId = '1' + BigInt('0x' + randomBytes(9).toString('hex')).toString().padStart(20, '0').slice(0, 20);
  const clientEmail = `crm-mail-sync@crm-mail-emulator.iam.gserviceaccount.com`;
  auth.registerServiceAccount(clientEmail, clientId, publicKey);
  auth.setDelegation(clientId, true);

  const control = {
    addMessage(user: string, raw: Buffer, opts: { labelIds?: string[]; internalDate?: number } = {}) {
      const stored = mailboxOf(user).add({ raw: Buffer.from(raw), labelIds: opts.labelIds, internalDate: opts.internalDate });
      return { id: stored.id, threadId: stored.threadId, historyId: String(stored.historyId) };
    },
    deleteMessage(user: string, id: string) {
      if (!mailboxOf(user).delete(id)) throw new Error(`emulator: no message ${id} in ${user}`);
    },
    modifyLabels(user: string, id: string, add: string[], remove: string[]) {
      if (!mailboxOf(user).modifyLabels(id, add, remove)) throw new Error(`emulator: no message ${id} in ${user}`);
    },
    advanceTime(ms: number) {
      offset += ms;
    },
    messageIds(user: string) {
      return [...mailboxOf(user).newestFirst()].map((m) => m.id);
    },
    users: () => [...mailboxes.keys()],
  };

  const server = new EmulatorServer({
    mailboxes,
    auth,
    quota,
    faults,
    clock,
    quotaErrorStyle: options.quotaErrorStyle ?? '429',
    latencyMs: options.latencyMs ?? 0,
    attachmentIdTtlMs: options.attachmentIdTtlMs ?? 0,
    maxQueryChars: options.maxQueryChars ?? 0,
    historyStartMaxAgeMs: (options.historyStartIdMaxAgeDays ?? 0) * DAY_MS,
    control,
  });
  const port = await server.listen(options.port ?? 0);
  const rootUrl = `http://127.0.0.1:${port}/`;
  const tokenUrl = `http://127.0.0.1:${port}/token`;

  const ownKeyDir = options.keyDir === undefined;
  const keyDir = options.keyDir ?? mkdtempSync(join(tmpdir(), 'crm-mail-emulator-'));
  mkdirSync(keyDir, { recursive: true });
  const serviceAccountKeyFile = join(keyDir, 'service-account.json');
  const keyJson = {
    type: 'service_account',
    project_id: 'crm-mail-emulator',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: clientEmail,
    client_id: clientId,
    auth_uri: `${rootUrl}o/oauth2/auth`,
    token_uri: tokenUrl,
    auth_provider_x509_cert_url: `${rootUrl}oauth2/v1/certs`,
    client_x509_cert_url: `${rootUrl}robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: 'googleapis.com',
  };
  writeFileSync(serviceAccountKeyFile, JSON.stringify(keyJson, null, 2) + '\n', { mode: 0o600 });
  chmodSync(serviceAccountKeyFile, 0o600);

  return {
    rootUrl,
    tokenUrl,
    domain,
    get users() {
      return [...mailboxes.keys()];
    },
    serviceAccountKeyFile,
    serviceAccount: { clientEmail, clientId },
    setDelegation: (id, granted, users, scopes) => auth.setDelegation(id, granted, users, scopes),
    registerOAuthClient: (id, secret) => auth.registerOAuthClient(id, secret),
    issueRefreshToken: (id, user, scopes) => {
      mailboxOf(user);
      return auth.issueRefreshToken(id, user, scopes);
    },
    revokeRefreshToken: (token) => void auth.revokeToken(token),
    addMailbox,
    addMessage: control.addMessage,
    deleteMessage: control.deleteMessage,
    modifyLabels: control.modifyLabels,
    advanceTime: control.advanceTime,
    now: clock,
    quotaModel: quota.settings.model,
    quota: quota.settings,
    injectFault: (spec) => faults.inject({ ...spec, method: spec.method ? normalizeMethod(spec.method) : undefined }),
    clearFaults: () => faults.clear(),
    counters: (user) => quota.read(user),
    resetCounters: () => quota.reset(),
    messageIds: control.messageIds,
    historyId: (user) => String(mailboxOf(user).historyId),
    async stop() {
      await server.close();
      if (ownKeyDir) rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

/** Reads the quota options, keeping `quotaUnitsPerSec` meaning what it meant before the 2026 model. */
function quotaLimits(options: EmulatorOptions): QuotaLimits {
  const perSecond = options.quotaUnitsPerSec;
  const model: QuotaModelName = options.quotaModel ?? (perSecond !== undefined ? 'legacy' : '2026');
  if (!isQuotaModelName(model)) throw new Error(`emulator: unknown quotaModel ${JSON.stringify(model)}; expected '2026' or 'legacy'`);
  const fromPerSecond = perSecond === undefined ? undefined : (perSecond * QUOTA_MODELS[model].windowMs) / 1000;
  return {
    model,
    userUnitsPerWindow: options.quotaUnits ?? fromPerSecond ?? QUOTA_MODELS[model].userUnitsPerWindow,
    projectUnitsPerMinute: options.projectUnitsPerMinute ?? DEFAULT_PROJECT_UNITS_PER_MINUTE,
    maxConcurrentPerUser: options.maxConcurrentPerUser ?? 0,
  };
}

/** A plain `{ raw: Buffer }` object; class instances (generated mail) stay lazy sources. */
function isNewMessage(m: NewMessage | RawSource): m is NewMessage {
  return Object.getPrototypeOf(m) === Object.prototype && Buffer.isBuffer((m as { raw: unknown }).raw);
}

function mailboxEntries(scenario: Scenario, email: string): Array<RawSource & { labelIds?: string[]; internalDate?: number }> {
  const mailboxes = scenario.mailboxes;
  return (mailboxes instanceof Map ? mailboxes.get(email) : (mailboxes as Record<string, never>)[email]) ?? [];
}

/**
 * The crm-mail settings that point it at this emulator with domain-wide delegation: what tests, the
 * demo and the benchmarks put in the environment of the crm-mail they run.
 */
export function crmMailSettings(emulator: Pick<Emulator, 'domain' | 'serviceAccountKeyFile' | 'rootUrl' | 'tokenUrl'>): Record<string, string> {
  return {
    CRM_GMAIL_INTEGRATION_ENABLED: 'true',
    CRM_GMAIL_WORKSPACE_DOMAIN: emulator.domain,
    CRM_GMAIL_SA_KEY_PATH: emulator.serviceAccountKeyFile,
    CRM_GMAIL_API_ROOT: emulator.rootUrl,
    CRM_GMAIL_TOKEN_URL: emulator.tokenUrl,
  };
}
