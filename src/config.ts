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
  /** Gmail requests in flight at once per account, each batch part counting one (Gmail's per-user concurrency). */
  maxInFlight: number;
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
  { name: 'CRM_GMAIL_MAX_IN_FLIGHT', defaultValue: '5', description: 'Gmail requests in flight at once per account, each batch part counting one (batches are no larger)' },
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
  return new ConfigError(`${name}=${shown(name, value)} is not valid: expected ${allowed}.`, { variable: name });
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

/** Where a variable's value was read from an env file (variables set in the environment have none). */
export interface EnvFilePlace {
  file: string;
  line: number;
}
export type EnvOrigins = ReadonlyMap<string, EnvFilePlace>;

function placeText(place: EnvFilePlace): string {
  return `${place.file} line ${place.line}`;
}

/**
 * Builds the configuration from an environment; throws one ConfigError (exit code 2) naming every
 * bad variable, with the env file and line it came from, so an admin fixes them in one pass.
 */
export function loadConfig(env: Env = process.env, origins: EnvOrigins = new Map()): Readonly<Config> {
  const problems: ConfigError[] = [];
  function check<T>(read: () => T, fallback: T): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
      return fallback;
    }
  }
  const authMethod = check(() => readChoice(env, 'CRM_GMAIL_AUTH_METHOD', ['dwd', 'oauth'] as const, 'dwd')!, 'dwd');
  const syncIntervalMin = check(() => readInteger(env, 'CRM_GMAIL_SYNC_INTERVAL_MIN', 15, 1, 1440), 15);
  const threads = raw(env, 'CRM_MAIL_MODEL_THREADS') === undefined ? undefined : check(() => readInteger(env, 'CRM_MAIL_MODEL_THREADS', 1, 1, 256), undefined);
  const integer = (name: string, fallback: number, min: number, max: number): number => check(() => readInteger(env, name, fallback, min, max), fallback);
  const config: Config = {
    integrationEnabled: check(() => readBoolean(env, 'CRM_GMAIL_INTEGRATION_ENABLED', false), false),
    authMethod,
    saKeyPath: raw(env, 'CRM_GMAIL_SA_KEY_PATH'),
    workspaceDomain: check(() => readDomain(env, 'CRM_GMAIL_WORKSPACE_DOMAIN'), undefined),
    oauthClientId: raw(env, 'CRM_GMAIL_OAUTH_CLIENT_ID'),
    oauthClientSecret: raw(env, 'CRM_GMAIL_OAUTH_CLIENT_SECRET'),
    oauthRedirectUri: check(() => readUrl(env, 'CRM_GMAIL_OAUTH_REDIRECT_URI'), undefined),
    secretKey: check(() => readSecretKey(env), undefined),
    syncIntervalMin,
    backfillPageSize: integer('CRM_GMAIL_BACKFILL_PAGE_SIZE', 500, 1, 500),
    maxAttachmentMb: integer('CRM_GMAIL_MAX_ATTACHMENT_MB', 50, 0, 1024),
    attachConcurrency: integer('CRM_GMAIL_ATTACH_CONCURRENCY', 4, 1, 64),
    maxInFlight: integer('CRM_GMAIL_MAX_IN_FLIGHT', 5, 1, 100),
    quotaModel: check(() => readChoice(env, 'CRM_GMAIL_QUOTA_MODEL', ['2026', 'legacy'] as const, '2026')!, '2026'),
    rateUnitsPerMin: integer('CRM_GMAIL_RATE_UNITS_MIN', 5400, 1, 6_000_000),
    rateUnitsPerSec: integer('CRM_GMAIL_RATE_UNITS_SEC', 150, 1, 100000),
    projectUnitsPerMin: integer('CRM_GMAIL_PROJECT_UNITS_MIN', 1_080_000, 1, 100_000_000),
    syncMaxMin: integer('CRM_GMAIL_SYNC_MAX_MIN', defaultSyncMaxMin(syncIntervalMin), 1, 1440),
    retryMax: integer('CRM_GMAIL_RETRY_MAX', 5, 0, 20),
    historyStaleDays: integer('CRM_GMAIL_HISTORY_STALE_DAYS', 5, 1, 365),
    dbPath: raw(env, 'CRM_DB_PATH') ?? './data/crm.db',
    dbBusyTimeoutMs: integer('CRM_GMAIL_DB_BUSY_TIMEOUT_MS', 5000, 0, 600_000),
    dbLockWaitSec: integer('CRM_GMAIL_DB_LOCK_WAIT_SEC', 60, 0, 3600),
    leaseSeconds: integer('CRM_GMAIL_LEASE_SECONDS', 300, 2, 3600),
    attachmentsDir: raw(env, 'CRM_GMAIL_ATTACHMENTS_DIR') ?? 'data/email_attachments',
    apiRoot: check(() => readUrl(env, 'CRM_GMAIL_API_ROOT'), undefined),
    tokenUrl: check(() => readUrl(env, 'CRM_GMAIL_TOKEN_URL'), undefined),
    capture: check(() => readChoice(env, 'CRM_GMAIL_CAPTURE', ['matched', 'all'] as const, 'matched')!, 'matched'),
    excludedAddresses: Object.freeze(readList(env, 'CRM_GMAIL_EXCLUDE')),
    retentionDays: raw(env, 'CRM_GMAIL_RETENTION_DAYS') === undefined ? undefined : integer('CRM_GMAIL_RETENTION_DAYS', 1, 1, 36_500),
    personalDomains: Object.freeze(readList(env, 'CRM_GMAIL_PERSONAL_DOMAINS')),
    modelPath: raw(env, 'CRM_MAIL_MODEL'),
    drafter: check(() => readChoice(env, 'CRM_MAIL_DRAFTER', ['llama', 'rule'] as const, undefined), undefined),
    modelThreads: threads,
    reviewer: raw(env, 'CRM_MAIL_USER')?.toLowerCase(),
    accountConcurrency: integer('CRM_GMAIL_ACCOUNT_CONCURRENCY', 3, 1, 32),
  };
  if (config.drafter === 'llama' && !config.modelPath) {
    problems.push(new ConfigError('CRM_MAIL_DRAFTER="llama" needs CRM_MAIL_MODEL, the path of a GGUF model file.', { variable: 'CRM_MAIL_DRAFTER' }));
  }
  if (problems.length > 0) throw combinedProblems(problems, origins);
  return Object.freeze(config);
}

function combinedProblems(problems: readonly ConfigError[], origins: EnvOrigins): ConfigError {
  const described = problems.map((problem) => {
    const place = problem.variable === undefined ? undefined : origins.get(problem.variable);
    return place ? `${problem.message} (${placeText(place)})` : problem.message;
  });
  if (described.length === 1) return new ConfigError(described[0]!, { variable: problems[0]!.variable });
  return new ConfigError(`${described.length} settings are not valid:\n  ${described.join('\n  ')}`);
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

/** Where an effective value came from: the process environment, a line of the --env-file, the default, or nowhere. */
export type ValueSource = 'environment' | 'env-file' | 'default' | 'unset';

export interface DescribedVariable {
  name: string;
  value: string;
  source: ValueSource;
  /** With source env-file: the file and line. */
  file?: string;
  line?: number;
  description: string;
}

/** The effective value of every variable as text, secrets masked, and where it came from: what `crm-mail config` prints. */
export function describeConfig(env: Env, origins: EnvOrigins = new Map()): DescribedVariable[] {
  return VARIABLES.map((spec) => {
    const value = raw(env, spec.name);
    if (value !== undefined) {
      const shownValue = SECRET_VARIABLES.has(spec.name) ? maskSecret(value) : value;
      const place = origins.get(spec.name);
      if (place) return { name: spec.name, value: shownValue, source: 'env-file' as const, file: place.file, line: place.line, description: spec.description };
      return { name: spec.name, value: shownValue, source: 'environment' as const, description: spec.description };
    }
    if (spec.defaultValue !== undefined) {
      return { name: spec.name, value: defaultText(spec, env), source: 'default' as const, description: spec.description };
    }
    return { name: spec.name, value: '', source: 'unset' as const, description: spec.description };
  });
}

/** How `crm-mail config` names a value's source in its human output. */
export function sourceText(row: Pick<DescribedVariable, 'source' | 'file' | 'line'>): string {
  if (row.source === 'env-file') return `${row.file}:${row.line}`;
  return row.source;
}

function defaultText(spec: VariableSpec, env: Env): string {
  if (!spec.defaultFrom) return spec.defaultValue ?? '';
  try {
    return spec.defaultFrom(env);
  } catch {
    return spec.defaultValue ?? '';
  }
}

export interface EnvFileEntry {
  key: string;
  value: string;
  line: number;
}

/**
 * Reads a KEY=VALUE file (comments with #, optional `export`, single or double quotes) into entries
 * with their line numbers; every malformed line is reported at once.
 */
export function readEnvFileEntries(text: string, source = 'env file'): EnvFileEntry[] {
  const entries: EnvFileEntry[] = [];
  const malformed: number[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = trimmed.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!match) {
      malformed.push(index + 1);
      return;
    }
    entries.push({ key: match[1]!, value: unquote(match[2]!), line: index + 1 });
  });
  if (malformed.length === 1) throw new ConfigError(`${source} line ${malformed[0]} is not KEY=VALUE.`);
  if (malformed.length > 1) throw new ConfigError(`${source} lines ${malformed.join(', ')} are not KEY=VALUE.`);
  return entries;
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
    const inner = value.slice(1, -1);
    return quote === '"' ? inner.replace(/\\n/g, '\n').replace(/\\"/g, '"') : inner;
  }
  return value.replace(/\s+#.*$/, '');
}

/** The env file as a plain map (a later line wins over an earlier one). */
export function parseEnvFile(text: string, source = 'env file'): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of readEnvFileEntries(text, source)) result[entry.key] = entry.value;
  return result;
}

/** A `CRM_*` key of an env file that crm-mail does not read, with the known name it most likely meant. */
export interface UnknownVariable {
  key: string;
  file: string;
  line: number;
  suggestion?: string;
}

const KNOWN_NAMES = VARIABLES.map((spec) => spec.name);

/** Keys that look like crm-mail settings (CRM_ prefix) but are none: typos that would otherwise be ignored in silence. */
function unknownVariables(entries: readonly EnvFileEntry[], file: string): UnknownVariable[] {
  return entries
    .filter((entry) => entry.key.toUpperCase().startsWith('CRM_') && !KNOWN_NAMES.includes(entry.key))
    .map((entry) => ({ key: entry.key, file, line: entry.line, suggestion: closestName(entry.key, KNOWN_NAMES) }));
}

/** The known name nearest to `name`, if it is near enough to be a typo (a third of the name's length at most). */
function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toUpperCase(), candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours (GMIAL -> GMAIL is one). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

export function describeUnknown(unknown: UnknownVariable): string {
  const hint = unknown.suggestion ? `did you mean ${unknown.suggestion}?` : 'crm-mail does not read it';
  return `${placeText(unknown)}: ${unknown.key} is not a crm-mail setting and is ignored (${hint})`;
}

export interface LoadedEnvFile {
  /** Keys taken from the file (not already set in the environment), with their line. */
  origins: Map<string, EnvFilePlace>;
  unknown: UnknownVariable[];
}

/** Loads an env file into env. Values already in the environment win, as with most dotenv loaders, so cron can override a file. */
export function loadEnvFile(path: string, env: Env = process.env): LoadedEnvFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --env-file ${path}: ${(error as Error).message}`);
  }
  const entries = readEnvFileEntries(text, path);
  const preset = new Set(Object.keys(env).filter((key) => env[key] !== undefined));
  const origins = new Map<string, EnvFilePlace>();
  for (const entry of entries) {
    if (preset.has(entry.key)) continue;
    env[entry.key] = entry.value;
    origins.set(entry.key, { file: path, line: entry.line });
  }
  return { origins, unknown: unknownVariables(entries, path) };
}
