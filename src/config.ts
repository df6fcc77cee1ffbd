/**
 * The effective configuration: one typed, validated, frozen object built from the environment.
 * Every variable the firm uses is read here and nowhere else, so `crm-mail config` can show all of it.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

export type AuthMethod = 'dwd' | 'oauth';
export type DrafterKind = 'llama' | 'rule';
export type CaptureMode = 'matched' | 'all';
/** Gmail's quota models (the units and windows themselves are in gmail/quotaModel.ts). */
export type QuotaModelName = '2026' | 'legacy';

export interface Config {
  integrationEnabled: boolean;
  authMethod: AuthMethod;
  saKeyPath?: string;
  workspaceDomain?: string;
  oauthClientId?: string;
  oauthClientSecret?: string;
  oauthRedirectUri?: string;
  /** 32 raw bytes decoded from CRM_GMAIL_SECRET_KEY. */
  secretKey?: Buffer;
  syncIntervalMin: number;
  backfillPageSize: number;
  maxAttachmentMb: number;
  attachConcurrency: number;
  /** Which Gmail quota model the firm's Cloud project is metered under. */
  quotaModel: QuotaModelName;
  /** Per-account budget under the 2026 model, units per minute. */
  rateUnitsPerMin: number;
  /** Per-account budget under the legacy model, units per second. */
  rateUnitsPerSec: number;
  /** All accounts together, units per minute (Gmail's per-project limit). */
  projectUnitsPerMin: number;
  /** A sync stops itself after this many minutes (resuming next run); default below the cron interval. */
  syncMaxMin: number;
  retryMax: number;
  historyStaleDays: number;
  dbPath: string;
  /** SQLite's busy timeout: how long one statement waits for another writer's lock. */
  dbBusyTimeoutMs: number;
  /** How long, in all, a sync retries a transaction while the CRM holds the write lock. */
  dbLockWaitSec: number;
  /** Lifetime of the sync lease; a holder renews it ten times per lifetime, a stalled one loses it. */
  leaseSeconds: number;
  attachmentsDir: string;
  apiRoot?: string;
  tokenUrl?: string;
  capture: CaptureMode;
  /** Addresses or domains whose mail is never captured (spouse, doctor, lawyers). */
  excludedAddresses: readonly string[];
  /** Days after which `purge` drops bodies and attachments (metadata stays); undefined = off. */
  retentionDays?: number;
  /** Extra personal-mail domains, added to the built-in list. */
  personalDomains: readonly string[];
  modelPath?: string;
  /** Drafter chosen explicitly; undefined means "llama if a model is set, else refuse". */
  drafter?: DrafterKind;
  modelThreads?: number;
  reviewer?: string;
  accountConcurrency: number;
}

/** Variables whose values are secret: shown masked everywhere. */
export const SECRET_VARIABLES = new Set(['CRM_GMAIL_OAUTH_CLIENT_SECRET', 'CRM_GMAIL_SECRET_KEY']);

interface VariableSpec {
  name: string;
  defaultValue?: string;
  /** A default that follows another variable. */
  defaultFrom?: (env: Env) => string;
  description: string;
}

/** Every variable, in the order `crm-mail config` prints them. */
export const VARIABLES: readonly VariableSpec[] = [
  { name: 'CRM_GMAIL_INTEGRATION_ENABLED', defaultValue: 'false', description: 'master switch for everything that talks to Gmail' },
  { name: 'CRM_GMAIL_AUTH_METHOD', defaultValue: 'dwd', description: 'dwd (domain-wide delegation) or oauth' },
  { name: 'CRM_GMAIL_SA_KEY_PATH', description: 'service-account key file (JSON, mode 600)' },
  { name: 'CRM_GMAIL_WORKSPACE_DOMAIN', description: "the firm's Google Workspace domain" },
  { name: 'CRM_GMAIL_OAUTH_CLIENT_ID', description: 'OAuth client id (oauth fallback)' },
  { name: 'CRM_GMAIL_OAUTH_CLIENT_SECRET', description: 'OAuth client secret (oauth fallback)' },
  { name: 'CRM_GMAIL_OAUTH_REDIRECT_URI', description: 'OAuth redirect URI; default a loopback port chosen at consent time' },
  { name: 'CRM_GMAIL_SECRET_KEY', description: 'base64 of 32 random bytes; encrypts stored refresh tokens' },
  { name: 'CRM_GMAIL_SYNC_INTERVAL_MIN', defaultValue: '15', description: 'cron cadence; status flags accounts older than twice this' },
  { name: 'CRM_GMAIL_BACKFILL_PAGE_SIZE', defaultValue: '500', description: 'messages.list page size (1-500)' },
  { name: 'CRM_GMAIL_MAX_ATTACHMENT_MB', defaultValue: '50', description: 'larger attachments are recorded as skipped' },
  { name: 'CRM_GMAIL_ATTACH_CONCURRENCY', defaultValue: '4', description: 'parallel attachment downloads per account' },
  { name: 'CRM_GMAIL_QUOTA_MODEL', defaultValue: '2026', description: "2026 (projects created since 2026-05-01: per minute, gets 20 units) or legacy (250 units/s, gets 5)" },
  { name: 'CRM_GMAIL_RATE_UNITS_MIN', defaultValue: '5400', description: '2026 model: quota units per minute per account (Gmail allows 6000)' },
  { name: 'CRM_GMAIL_RATE_UNITS_SEC', defaultValue: '150', description: 'legacy model: quota units per second per account (Gmail allows 250)' },
  { name: 'CRM_GMAIL_PROJECT_UNITS_MIN', defaultValue: '1080000', description: 'quota units per minute for all accounts together (Gmail allows 1,200,000 per project)' },
  {
    name: 'CRM_GMAIL_SYNC_MAX_MIN',
    defaultValue: '13',
    defaultFrom: (env) => String(defaultSyncMaxMin(readInteger(env, 'CRM_GMAIL_SYNC_INTERVAL_MIN', 15, 1, 1440))),
    description: 'a sync stops itself after this many minutes and the next run resumes there (default: 2 below the interval)',
  },
  { name: 'CRM_GMAIL_RETRY_MAX', defaultValue: '5', description: 'retries of a failed Gmail call' },
  { name: 'CRM_GMAIL_HISTORY_STALE_DAYS', defaultValue: '5', description: 'older cursors fall back to a bounded re-list' },
  { name: 'CRM_GMAIL_CAPTURE', defaultValue: 'matched', description: 'matched (investor mail only) or all' },
  { name: 'CRM_GMAIL_EXCLUDE', defaultValue: '', description: 'comma-separated addresses or domains never captured' },
  { name: 'CRM_GMAIL_RETENTION_DAYS', description: 'bodies and attachments of mail older than this many days are dropped by crm-mail purge; default off' },
  { name: 'CRM_GMAIL_PERSONAL_DOMAINS', defaultValue: '', description: 'comma-separated extra personal-mail domains' },
  { name: 'CRM_GMAIL_ACCOUNT_CONCURRENCY', defaultValue: '3', description: 'accounts synced at once' },
  { name: 'CRM_DB_PATH', defaultValue: './data/crm.db', description: 'the CRM SQLite file' },
  { name: 'CRM_GMAIL_DB_BUSY_TIMEOUT_MS', defaultValue: '5000', description: "how long one database statement waits for the CRM's write lock (SQLite busy timeout)" },
  { name: 'CRM_GMAIL_DB_LOCK_WAIT_SEC', defaultValue: '60', description: "how long a sync retries a transaction, with backoff, while the CRM holds the write lock; then the run fails (exit 10) and the next one resumes" },
  { name: 'CRM_GMAIL_LEASE_SECONDS', defaultValue: '300', description: 'lifetime of the sync lease (renewed every tenth of it); a sync stalled longer loses it to the next one and stops at a page boundary (exit 11)' },
  { name: 'CRM_GMAIL_ATTACHMENTS_DIR', defaultValue: 'data/email_attachments', description: 'content-addressed attachment store' },
  { name: 'CRM_GMAIL_API_ROOT', description: 'Gmail API root URL (e.g. the emulator); default Google' },
  { name: 'CRM_GMAIL_TOKEN_URL', description: 'OAuth token URL (e.g. the emulator); default Google' },
  { name: 'CRM_MAIL_MODEL', description: 'path of a GGUF model file for drafting notes' },
  { name: 'CRM_MAIL_DRAFTER', description: 'llama or rule; default llama when CRM_MAIL_MODEL is set' },
  { name: 'CRM_MAIL_MODEL_THREADS', description: 'CPU threads for the model; default the number of cores' },
  { name: 'CRM_MAIL_USER', description: 'default reviewer email for crm-mail review' },
];

export type Env = Record<string, string | undefined>;

/** Masks a secret so that neither its value nor its length leaks. */
export function maskSecret(value: string | undefined): string {
  if (value === undefined || value === '') return '(unset)';
  return '********';
}

function shown(name: string, value: string): string {
  return SECRET_VARIABLES.has(name) ? maskSecret(value) : JSON.stringify(value);
}

function invalid(name: string, value: string, allowed: string): ConfigError {
  return new ConfigError(`${name}=${shown(name, value)} is not valid: expected ${allowed}.`);
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw invalid(name, value, 'true or false');
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw invalid(name, value, `a whole number from ${min} to ${max}`);
  const number = Number(value);
  if (number < min || number > max) throw invalid(name, value, `a whole number from ${min} to ${max}`);
  return number;
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T | undefined): T | undefined {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase() as T;
  if (!choices.includes(lower)) throw invalid(name, value, `one of ${choices.join(', ')}`);
  return lower;
}

function readUrl(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw invalid(name, value, 'an http:// or https:// URL');
  }
  return value;
}

function readDomain(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (!/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(lower)) {
    throw invalid(name, value, 'a domain name such as example.com');
  }
  return lower;
}

function readList(env: Env, name: string): string[] {
  const value = raw(env, name);
  if (value === undefined) return [];
  return value
    .split(/[,;\s]+/)
    .map((item) => item.trim().toLowerCase().replace(/^@/, ''))
    .filter((item) => item !== '');
}

function readSecretKey(env: Env): Buffer | undefined {
  const name = 'CRM_GMAIL_SECRET_KEY';
  const value = raw(env, name);
  if (value === undefined) return undefined;
  const normalized = value.replace(/-/g, '+').replace(/_/g, '/');
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(normalized) ? Buffer.from(normalized, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw invalid(name, value, 'base64 of exactly 32 random bytes (make one with: openssl rand -base64 32)');
  }
  return key;
}

/** Builds the configuration from an environment; throws ConfigError (exit code 2) naming the bad variable. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const authMethod = readChoice(env, 'CRM_GMAIL_AUTH_METHOD', ['dwd', 'oauth'] as const, 'dwd')!;
  const syncIntervalMin = readInteger(env, 'CRM_GMAIL_SYNC_INTERVAL_MIN', 15, 1, 1440);
  const threads = raw(env, 'CRM_MAIL_MODEL_THREADS') === undefined ? undefined : readInteger(env, 'CRM_MAIL_MODEL_THREADS', 1, 1, 256);
  const config: Config = {
    integrationEnabled: readBoolean(env, 'CRM_GMAIL_INTEGRATION_ENABLED', false),
    authMethod,
    saKeyPath: raw(env, 'CRM_GMAIL_SA_KEY_PATH'),
    workspaceDomain: readDomain(env, 'CRM_GMAIL_WORKSPACE_DOMAIN'),
    oauthClientId: raw(env, 'CRM_GMAIL_OAUTH_CLIENT_ID'),
    oauthClientSecret: raw(env, 'CRM_GMAIL_OAUTH_CLIENT_SECRET'),
    oauthRedirectUri: readUrl(env, 'CRM_GMAIL_OAUTH_REDIRECT_URI'),
    secretKey: readSecretKey(env),
    syncIntervalMin,
    backfillPageSize: readInteger(env, 'CRM_GMAIL_BACKFILL_PAGE_SIZE', 500, 1, 500),
    maxAttachmentMb: readInteger(env, 'CRM_GMAIL_MAX_ATTACHMENT_MB', 50, 0, 1024),
    attachConcurrency: readInteger(env, 'CRM_GMAIL_ATTACH_CONCURRENCY', 4, 1, 64),
    quotaModel: readChoice(env, 'CRM_GMAIL_QUOTA_MODEL', ['2026', 'legacy'] as const, '2026')!,
    rateUnitsPerMin: readInteger(env, 'CRM_GMAIL_RATE_UNITS_MIN', 5400, 1, 6_000_000),
    rateUnitsPerSec: readInteger(env, 'CRM_GMAIL_RATE_UNITS_SEC', 150, 1, 100000),
    projectUnitsPerMin: readInteger(env, 'CRM_GMAIL_PROJECT_UNITS_MIN', 1_080_000, 1, 100_000_000),
    syncMaxMin: readInteger(env, 'CRM_GMAIL_SYNC_MAX_MIN', defaultSyncMaxMin(syncIntervalMin), 1, 1440),
    retryMax: readInteger(env, 'CRM_GMAIL_RETRY_MAX', 5, 0, 20),
    historyStaleDays: readInteger(env, 'CRM_GMAIL_HISTORY_STALE_DAYS', 5, 1, 365),
    dbPath: raw(env, 'CRM_DB_PATH') ?? './data/crm.db',
    dbBusyTimeoutMs: readInteger(env, 'CRM_GMAIL_DB_BUSY_TIMEOUT_MS', 5000, 0, 600_000),
    dbLockWaitSec: readInteger(env, 'CRM_GMAIL_DB_LOCK_WAIT_SEC', 60, 0, 3600),
    leaseSeconds: readInteger(env, 'CRM_GMAIL_LEASE_SECONDS', 300, 2, 3600),
    attachmentsDir: raw(env, 'CRM_GMAIL_ATTACHMENTS_DIR') ?? 'data/email_attachments',
    apiRoot: readUrl(env, 'CRM_GMAIL_API_ROOT'),
    tokenUrl: readUrl(env, 'CRM_GMAIL_TOKEN_URL'),
    capture: readChoice(env, 'CRM_GMAIL_CAPTURE', ['matched', 'all'] as const, 'matched')!,
    excludedAddresses: Object.freeze(readList(env, 'CRM_GMAIL_EXCLUDE')),
    retentionDays: raw(env, 'CRM_GMAIL_RETENTION_DAYS') === undefined ? undefined : readInteger(env, 'CRM_GMAIL_RETENTION_DAYS', 1, 1, 36_500),
    personalDomains: Object.freeze(readList(env, 'CRM_GMAIL_PERSONAL_DOMAINS')),
    modelPath: raw(env, 'CRM_MAIL_MODEL'),
    drafter: readChoice(env, 'CRM_MAIL_DRAFTER', ['llama', 'rule'] as const, undefined),
    modelThreads: threads,
    reviewer: raw(env, 'CRM_MAIL_USER')?.toLowerCase(),
    accountConcurrency: readInteger(env, 'CRM_GMAIL_ACCOUNT_CONCURRENCY', 3, 1, 32),
  };
  if (config.drafter === 'llama' && !config.modelPath) {
    throw new ConfigError('CRM_MAIL_DRAFTER="llama" needs CRM_MAIL_MODEL, the path of a GGUF model file.');
  }
  return Object.freeze(config);
}

/** A run ends before the next cron run starts: two minutes below the interval (at least one minute). */
export function defaultSyncMaxMin(syncIntervalMin: number): number {
  return Math.max(1, syncIntervalMin - 2);
}

/** The per-account budget in units per window of the configured quota model. */
export function accountQuotaBudget(config: Pick<Config, 'quotaModel' | 'rateUnitsPerMin' | 'rateUnitsPerSec'>): number {
  return config.quotaModel === '2026' ? config.rateUnitsPerMin : config.rateUnitsPerSec;
}

/** Checks what Gmail access needs, for commands that talk to Gmail; the rest of the config may stay partial. */
export function requireGmailSettings(config: Config): void {
  if (!config.workspaceDomain) throw new ConfigError('CRM_GMAIL_WORKSPACE_DOMAIN is not set: expected the firm\'s Workspace domain, e.g. firm.com.');
  if (config.authMethod === 'dwd' && !config.saKeyPath) {
    throw new ConfigError('CRM_GMAIL_SA_KEY_PATH is not set: domain-wide delegation needs the service-account key file (JSON).');
  }
  if (config.authMethod === 'oauth') {
    if (!config.oauthClientId) throw new ConfigError('CRM_GMAIL_OAUTH_CLIENT_ID is not set: the oauth method needs the OAuth client id.');
    if (!config.oauthClientSecret) throw new ConfigError('CRM_GMAIL_OAUTH_CLIENT_SECRET is not set: the oauth method needs the OAuth client secret.');
    if (!config.secretKey) throw new ConfigError('CRM_GMAIL_SECRET_KEY is not set: the oauth method stores refresh tokens encrypted under it (openssl rand -base64 32).');
  }
}

/** The effective value of every variable as text, secrets masked: what `crm-mail config` prints. */
export function describeConfig(env: Env): Array<{ name: string; value: string; source: 'env' | 'default' | 'unset'; description: string }> {
  return VARIABLES.map((spec) => {
    const value = raw(env, spec.name);
    if (value !== undefined) {
      return { name: spec.name, value: SECRET_VARIABLES.has(spec.name) ? maskSecret(value) : value, source: 'env' as const, description: spec.description };
    }
    if (spec.defaultValue !== undefined) {
      return { name: spec.name, value: defaultText(spec, env), source: 'default' as const, description: spec.description };
    }
    return { name: spec.name, value: '', source: 'unset' as const, description: spec.description };
  });
}

function defaultText(spec: VariableSpec, env: Env): string {
  if (!spec.defaultFrom) return spec.defaultValue ?? '';
  try {
    return spec.defaultFrom(env);
  } catch {
    return spec.defaultValue ?? '';
  }
}

/**
 * Reads a KEY=VALUE file (comments with #, optional `export`, single or double quotes) into env.
 * Values already in the environment win, as with most dotenv loaders, so cron can override a file.
 */
export function parseEnvFile(text: string, source = 'env file'): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = trimmed.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!match) throw new ConfigError(`${source} line ${index + 1} is not KEY=VALUE.`);
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    result[match[1]!] = value;
  });
  return result;
}

export function loadEnvFile(path: string, env: Env = process.env): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --env-file ${path}: ${(error as Error).message}`);
  }
  for (const [key, value] of Object.entries(parseEnvFile(text, path))) {
    if (env[key] === undefined) env[key] = value;
  }
}
