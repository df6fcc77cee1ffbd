/**
 * Runs every doctor check in a fixed order and returns their results; printing and the exit code
 * are the command's business. Nothing here changes the database: it is opened read-only.
 */
import { existsSync } from 'node:fs';
import type { Config, Env, EnvOrigins } from '../config.js';
import { openDatabase, type Db } from '../db/open.js';
import { readSchema, sqliteVersion } from '../db/schemaInfo.js';
import { checkAccounts, checkCrmContract, checkForeignKeys, checkMigrations, shellQuote } from './databaseChecks.js';
import { checkCron, readCrontab, type CrontabReading } from './cronCheck.js';
import { checkModel, type ModelProbe } from './modelCheck.js';
import { checkExclusions, checkSharing } from './privacyCheck.js';
import { fail, ok, warn, type CheckResult } from './result.js';
import { checkAttachmentsDir, checkConfig, checkCredentials, checkIntegration, checkQuotaModel, checkWorkspaceDomain } from './settingsChecks.js';
import { checkToken, type TokenProbe } from './tokenCheck.js';

export interface DoctorOptions {
  env: Env;
  /** Variables read from the --env-file, so a bad value is named with its file and line. */
  envOrigins?: EnvOrigins;
  dbPath: string;
  /** Also exchange a token for one enrolled user (talks to Google or the configured token URL). */
  online: boolean;
  /** Also validate and load the model file. */
  model: boolean;
  cwd?: string;
  readCrontab?: () => CrontabReading;
  probeModel?: ModelProbe;
  probeToken?: TokenProbe;
}

const NOT_CHECKED = 'not checked: the configuration is invalid (see the config line)';

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const { result: configResult, config } = checkConfig(options.env, options.envOrigins);
  results.push(configResult);
  if (config) results.push(checkIntegration(config), checkQuotaModel(config));

  const db = openForDoctor(options.dbPath, results);
  try {
    if (db) {
      results.push(guard('migrations', () => checkMigrations(db, options.dbPath)));
      results.push(guard('crm-contract', () => checkCrmContract(db)));
      results.push(guard('foreign-keys', () => checkForeignKeys(db, options.dbPath)));
    }
    if (!config) {
      for (const name of ['workspace-domain', 'credentials', 'attachments-dir', 'model']) results.push(warn(name, NOT_CHECKED, 'fix the configuration first'));
    } else {
      results.push(checkWorkspaceDomain(config));
      results.push(checkCredentials(config));
      if (db) results.push(guard('accounts', () => checkAccounts(db)));
      if (db) results.push(guard('exclusions', () => checkExclusions(db, config)), guard('sharing', () => checkSharing(db)));
      if (options.online) results.push(await checkTokenSafely(config, db, options.dbPath, options.probeToken));
      results.push(checkAttachmentsDir(config, options.cwd));
      results.push(await checkModel(config, { load: options.model, probe: options.probeModel }));
    }
    results.push(checkCron((options.readCrontab ?? readCrontab)(), config?.syncIntervalMin ?? 15));
  } finally {
    db?.close();
  }
  return results;
}

/** Opens the file read-only and records the database line; undefined when it cannot be opened. */
function openForDoctor(dbPath: string, results: CheckResult[]): Db | undefined {
  const advice = `check --db or CRM_DB_PATH; for a new installation create it with: crm-mail migrate --db ${shellQuote(dbPath)}`;
  if (!existsSync(dbPath)) {
    results.push(fail('database', `no database at ${dbPath}`, advice));
    return undefined;
  }
  let db: Db;
  try {
    db = openDatabase(dbPath, { readonly: true, mustExist: true });
    readSchema(db);
  } catch (error) {
    const cause = ((error as { cause?: Error }).cause ?? (error as Error)).message;
    results.push(fail('database', `cannot open ${dbPath}: ${cause}`, advice));
    return undefined;
  }
  results.push(ok('database', `${dbPath} opens (SQLite ${sqliteVersion(db)})`));
  return db;
}

async function checkTokenSafely(config: Readonly<Config>, db: Db | undefined, dbPath: string, probe: TokenProbe | undefined): Promise<CheckResult> {
  // The switch covers everything that talks to Google, the doctor's token exchange included.
  if (!config.integrationEnabled) {
    return warn('token', 'not checked: the Gmail integration is off, so nothing contacts Google', 'set CRM_GMAIL_INTEGRATION_ENABLED=true, then run crm-mail doctor --online again');
  }
  if (!db) return warn('token', 'not checked: the database cannot be opened', 'fix the database line first');
  try {
    return await checkToken(config, db, dbPath, probe);
  } catch (error) {
    return fail('token', `token check failed: ${(error as Error).message}`, 'see the runbook in the README (domain-wide delegation)');
  }
}

/** A check that throws (an unexpected schema, say) becomes its own FAIL line instead of ending the doctor. */
function guard(name: string, check: () => CheckResult): CheckResult {
  try {
    return check();
  } catch (error) {
    return fail(name, `check failed: ${(error as Error).message}`, 'run `crm-mail migrate --status` and inspect the database');
  }
}
