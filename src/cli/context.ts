/**
 * What every command gets: the global options, the configuration (loaded once, after --env-file),
 * the output, and the database opened on demand.
 */
import { resolve } from 'node:path';
import { describeUnknown, loadConfig, loadEnvFile, type Config, type EnvOrigins } from '../config.js';
import { IntegrationDisabledError } from '../errors.js';
import { openDatabase, type Db, type OpenOptions } from '../db/open.js';
import { assertMigrated } from '../db/migrate.js';
import { assertCrmContract } from '../db/crmContract.js';
import { Output } from './output.js';

export interface GlobalOptions {
  db?: string;
  envFile?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export class CliContext {
  private configValue?: Readonly<Config>;
  private dbValue?: Db;
  private globals: GlobalOptions = {};
  out: Output = new Output({ json: false, quiet: false, verbose: false });
  exitCode = 0;
  private gmailOffNoted = false;
  /** Variables whose value came from the --env-file, with the line: for `config` and for error messages. */
  envOrigins: EnvOrigins = new Map();

  constructor(readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Called before each action with the parsed global options. */
  init(globals: GlobalOptions): void {
    this.globals = globals;
    // The output first: a bad env file is reported in the form asked for (one JSON document with --json).
    this.out = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), verbose: Boolean(globals.verbose) });
    if (globals.envFile) {
      const loaded = loadEnvFile(globals.envFile, this.env);
      this.envOrigins = loaded.origins;
      // A typo in a setting's name would otherwise leave the default in force without a word.
      for (const unknown of loaded.unknown) this.out.warn(describeUnknown(unknown));
    }
  }

  get config(): Readonly<Config> {
    this.configValue ??= loadConfig(this.env, this.envOrigins);
    return this.configValue;
  }

  /** --db, else CRM_DB_PATH, else ./data/crm.db. */
  get dbPath(): string {
    return resolve(this.globals.db ?? this.config.dbPath);
  }

  /** The database path for an error message, even when the configuration itself is what failed. */
  dbPathForErrors(): string {
    try {
      return this.dbPath;
    } catch {
      return resolve(this.globals.db ?? './data/crm.db');
    }
  }

  /**
   * Opens the CRM file, which must exist: only `migrate` passes `create`, so a mistyped --db never
   * makes a new empty file. `migrated` (default) refuses a database whose migrations are not applied.
   */
  db(options: Omit<OpenOptions, 'mustExist'> & { migrated?: boolean; create?: boolean } = {}): Db {
    if (!this.dbValue) {
      this.dbValue = openDatabase(this.dbPath, { readonly: options.readonly, busyTimeoutMs: options.busyTimeoutMs ?? this.configuredBusyTimeout(), mustExist: !options.create });
      if (options.migrated ?? true) {
        assertMigrated(this.dbValue);
        assertCrmContract(this.dbValue, this.dbPath);
      }
    }
    return this.dbValue;
  }

  /** CRM_GMAIL_DB_BUSY_TIMEOUT_MS; SQLite's default wait when the configuration itself is broken (the command reports that). */
  private configuredBusyTimeout(): number | undefined {
    try {
      return this.config.dbBusyTimeoutMs;
    } catch {
      return undefined;
    }
  }

  /** Commands that talk to Gmail call this first: with the integration off they refuse (exit 3). */
  requireGmail(command: string): void {
    if (!this.config.integrationEnabled) throw new IntegrationDisabledError(command);
  }

  /** Local bookkeeping runs with the integration off, and says so once (stderr, not under --quiet). */
  noteIfGmailOff(): void {
    if (this.config.integrationEnabled || this.gmailOffNoted) return;
    this.gmailOffNoted = true;
    this.out.info('note: the Gmail integration is off (CRM_GMAIL_INTEGRATION_ENABLED is not true): nothing is read from Gmail until it is turned on.');
  }

  close(): void {
    this.dbValue?.close();
    this.dbValue = undefined;
  }
}
