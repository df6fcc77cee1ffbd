/**
 * The configuration side of `crm-mail doctor`: the environment parses, the Gmail settings the
 * chosen auth method needs are there, the service-account key file is private, and the
 * attachments folder can be written. Gmail settings are a FAIL once the integration is on and a
 * WARN while it is still off (an admin preparing a rollout sees what is left to do).
 */
import { accessSync, constants, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { accountQuotaBudget, loadConfig, type Config, type Env, type EnvOrigins } from '../config.js';
import { describeQuotaModel, quotaModel } from '../gmail/quotaModel.js';
import { fail, failOrWarn, ok, warn, type CheckResult } from './result.js';

export const GMAIL_SCOPE = 'https://www.googleapis.com/auth/gmail.readonly';

export function checkConfig(env: Env, origins?: EnvOrigins): { result: CheckResult; config?: Readonly<Config> } {
  try {
    const config = loadConfig(env, origins);
    return { result: ok('config', `configuration valid (auth ${config.authMethod}, capture ${config.capture})`), config };
  } catch (error) {
    return {
      result: fail('config', (error as Error).message, 'correct it in the environment or the --env-file; `crm-mail config` prints every effective value'),
    };
  }
}

export function checkIntegration(config: Config): CheckResult {
  if (config.integrationEnabled) return ok('integration', 'Gmail integration is on (CRM_GMAIL_INTEGRATION_ENABLED=true)');
  return warn(
    'integration',
    'Gmail integration is off: sync, verify, enroll, enroll-all, auth, rematch --remote and the --online token check refuse to run',
    'set CRM_GMAIL_INTEGRATION_ENABLED=true in the env file once the checks below are OK',
  );
}

/** Where a firm reads which quota model its project has. */
export const QUOTA_MODEL_HOWTO =
  "Cloud console > APIs & Services > Gmail API > Quotas: 'Queries per minute per user' (6,000) means the 2026 model, 'per second per user' (250) the legacy one";

/**
 * The quota model in force. Only the firm's Cloud project knows which model it has, so this is a
 * statement plus where to look, and a warning when the budget is above what Gmail allows.
 */
export function checkQuotaModel(config: Config): CheckResult {
  const model = quotaModel(config.quotaModel);
  const budget = accountQuotaBudget(config);
  const variable = config.quotaModel === '2026' ? 'CRM_GMAIL_RATE_UNITS_MIN' : 'CRM_GMAIL_RATE_UNITS_SEC';
  if (budget > model.gmailUserLimit) {
    return warn('quota-model', `${describeQuotaModel(model, budget)}: above Gmail's per-user limit, so calls will be refused and waited out`, `lower ${variable} below ${model.gmailUserLimit} (default ${model.defaultBudget}); check the model: ${QUOTA_MODEL_HOWTO}`);
  }
  return ok('quota-model', `${describeQuotaModel(model, budget)} (CRM_GMAIL_QUOTA_MODEL; to check: ${QUOTA_MODEL_HOWTO})`);
}

export function checkWorkspaceDomain(config: Config): CheckResult {
  if (config.workspaceDomain) return ok('workspace-domain', `workspace domain ${config.workspaceDomain}`);
  return failOrWarn(
    config.integrationEnabled,
    'workspace-domain',
    'CRM_GMAIL_WORKSPACE_DOMAIN is not set',
    "set CRM_GMAIL_WORKSPACE_DOMAIN to the firm's Google Workspace domain, e.g. CRM_GMAIL_WORKSPACE_DOMAIN=firm.com",
  );
}

/** What the doctor can tell about a service-account key file without using it. */
interface KeyFileFacts {
  clientEmail?: string;
  clientId?: string;
  problem?: string;
}

function readKeyFile(path: string): KeyFileFacts {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // The parser's message quotes the file's first characters (key material): never shown.
    return { problem: 'is not valid JSON (its content is not shown)' };
  }
  if (parsed === null || typeof parsed !== 'object') return { problem: 'is not a JSON object (its content is not shown)' };
  const key = parsed as { type?: unknown; client_email?: unknown; client_id?: unknown; private_key?: unknown };
  if (key.type !== 'service_account') return { problem: 'is not a service-account key (its "type" is not "service_account")' };
  if (typeof key.client_email !== 'string' || key.client_email === '') return { problem: 'has no client_email' };
  if (typeof key.private_key !== 'string' || !key.private_key.includes('PRIVATE KEY')) return { problem: 'has no private_key' };
  return { clientEmail: key.client_email, clientId: typeof key.client_id === 'string' ? key.client_id : undefined };
}

export const NEW_KEY_FIX =
  'create a JSON key for the service account (Google Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON) and point CRM_GMAIL_SA_KEY_PATH at it';

/** Domain-wide delegation needs a private, well-formed key file; OAuth needs its client and the sealing key. */
export function checkCredentials(config: Config): CheckResult {
  const needed = config.integrationEnabled;
  if (config.authMethod === 'oauth') return checkOauthSettings(config);
  const path = config.saKeyPath;
  if (!path) return failOrWarn(needed, 'credentials', 'CRM_GMAIL_SA_KEY_PATH is not set (auth method dwd)', `${NEW_KEY_FIX}, then chmod 600 it`);
  const absolute = resolve(path);
  let mode: number;
  try {
    const stat = statSync(absolute);
    if (!stat.isFile()) return failOrWarn(needed, 'credentials', `service-account key ${absolute} is not a file`, NEW_KEY_FIX);
    mode = stat.mode & 0o777;
  } catch {
    return failOrWarn(needed, 'credentials', `service-account key ${absolute} does not exist`, `check CRM_GMAIL_SA_KEY_PATH, or ${NEW_KEY_FIX}`);
  }
  const modeText = mode.toString(8).padStart(3, '0');
  if ((mode & 0o077) !== 0) {
    return failOrWarn(needed, 'credentials', `service-account key ${absolute} has mode ${modeText}: readable by group or others`, `chmod 600 ${absolute}`);
  }
  try {
    accessSync(absolute, constants.R_OK);
  } catch {
    return failOrWarn(needed, 'credentials', `service-account key ${absolute} is not readable by this user`, `chown it to the user that runs crm-mail, then chmod 600 ${absolute}`);
  }
  const facts = readKeyFile(absolute);
  if (facts.problem) return failOrWarn(needed, 'credentials', `service-account key ${absolute} ${facts.problem}`, NEW_KEY_FIX);
  const client = facts.clientId ? `client id ${facts.clientId}, ` : '';
  return ok('credentials', `service-account key ${absolute} (mode ${modeText}, ${client}${facts.clientEmail})`);
}

function checkOauthSettings(config: Config): CheckResult {
  const missing = [
    config.oauthClientId ? undefined : 'CRM_GMAIL_OAUTH_CLIENT_ID',
    config.oauthClientSecret ? undefined : 'CRM_GMAIL_OAUTH_CLIENT_SECRET',
    config.secretKey ? undefined : 'CRM_GMAIL_SECRET_KEY',
  ].filter((name): name is string => name !== undefined);
  if (missing.length === 0) return ok('credentials', 'OAuth client and token sealing key set (auth method oauth)');
  return failOrWarn(
    config.integrationEnabled,
    'credentials',
    `auth method oauth needs ${missing.join(', ')}`,
    missing.includes('CRM_GMAIL_SECRET_KEY')
      ? 'set the OAuth client id and secret from Google Cloud console; make the sealing key with: openssl rand -base64 32'
      : 'set the OAuth client id and secret from Google Cloud console (APIs & Services > Credentials)',
  );
}

/** The attachments folder: written with a probe file when it exists, else its nearest existing parent must be writable. */
export function checkAttachmentsDir(config: Config, cwd: string = process.cwd()): CheckResult {
  const dir = resolve(cwd, config.attachmentsDir);
  const fix = `mkdir -p ${dir} && chown <crm-mail user> ${dir}, or set CRM_GMAIL_ATTACHMENTS_DIR to a writable folder`;
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    const parent = nearestExisting(dir);
    if (parent && isWritableDir(parent)) return ok('attachments-dir', `${dir} will be created on first sync (${parent} is writable)`);
    return fail('attachments-dir', `${dir} does not exist and ${parent ?? 'no parent'} is not writable`, fix);
  }
  if (!stat.isDirectory()) return fail('attachments-dir', `${dir} is not a folder`, fix);
  const probe = join(dir, `.crm-mail-doctor-${process.pid}`);
  try {
    writeFileSync(probe, 'probe');
    unlinkSync(probe);
  } catch (error) {
    return fail('attachments-dir', `${dir} is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`, fix);
  }
  return ok('attachments-dir', `${dir} is writable`);
}

function nearestExisting(path: string): string | undefined {
  let current = path;
  for (;;) {
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
    try {
      if (statSync(current).isDirectory()) return current;
    } catch {
      // keep climbing
    }
  }
}

function isWritableDir(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
