/**
 * Applies migrations/*.sql in order, each once, each in a transaction, recorded with a checksum,
 * after an online backup of the file. An applied migration whose file changed is refused: the
 * schema on disk would no longer be the one the code expects.
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, PermanentError } from '../errors.js';
import type { Db } from './open.js';
import { nowIso } from './open.js';
import { contractGaps, describeGaps } from './crmContract.js';
import { ACTIVITY_SINCE_KEY } from './settings.js';

export const MIGRATIONS_TABLE = 'email_schema_migrations';

export interface MigrationFile {
  version: string;
  name: string;
  path: string;
  sql: string;
  checksum: string;
}

export interface AppliedMigration {
  version: string;
  name: string;
  checksum: string;
  applied_at: string;
}

export interface MigrationStatus {
  version: string;
  name: string;
  state: 'applied' | 'pending' | 'changed';
  appliedAt?: string;
}

/** The project's migrations folder, found from the compiled or source location of this module. */
export function defaultMigrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', '..', 'migrations'), join(here, '..', '..', '..', 'migrations')]) {
    if (existsSync(candidate)) return resolve(candidate);
  }
  throw new ConfigError(`cannot find the migrations folder next to ${here}; is the package installed whole?`);
}

export function readMigrationFiles(dir: string = defaultMigrationsDir()): MigrationFile[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const path = join(dir, file);
      const sql = readFileSync(path, 'utf8');
      return {
        version: file.slice(0, 4),
        name: basename(file, '.sql'),
        path,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

function ensureMigrationsTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
}

function tableExists(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

export function readApplied(db: Db): AppliedMigration[] {
  if (!tableExists(db, MIGRATIONS_TABLE)) return [];
  return db.prepare(`SELECT version, name, checksum, applied_at FROM ${MIGRATIONS_TABLE} ORDER BY version`).all() as AppliedMigration[];
}

export function migrationStatus(db: Db, files: MigrationFile[] = readMigrationFiles()): MigrationStatus[] {
  const applied = new Map(readApplied(db).map((row) => [row.version, row]));
  return files.map((file) => {
    const row = applied.get(file.version);
    if (!row) return { version: file.version, name: file.name, state: 'pending' };
    return { version: file.version, name: file.name, state: row.checksum === file.checksum ? 'applied' : 'changed', appliedAt: row.applied_at };
  });
}

function refuseChanged(statuses: MigrationStatus[]): void {
  const changed = statuses.filter((status) => status.state === 'changed');
  if (changed.length > 0) {
    throw new PermanentError(
      `migration ${changed.map((status) => status.name).join(', ')} was applied to this database but its file has changed since. ` +
        'Restore the original file, or add a new migration for the change; applied migrations are never edited.',
    );
  }
}

/** Copies the live database with SQLite's online backup, safe while the CRM's web server writes. */
export async function backupDatabase(db: Db, dbPath: string, label: string): Promise<string> {
  // A backup holds the firm's mail: the folder is the owner's only, the file never wider than the source (and at most 600).
  const folder = join(dirname(resolve(dbPath)), 'backups');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  chmodSync(folder, 0o700);
  const mode = statSync(dbPath).mode & 0o600;
  const stamp = nowIso().replace(/[:.]/g, '-');
  const target = join(folder, `${basename(dbPath)}.${stamp}.${label}.bak`);
  closeSync(openSync(target, 'wx', mode));
  await db.backup(target);
  chmodSync(target, mode);
  return target;
}

export interface MigrateOptions {
  dbPath: string;
  backup: boolean;
  dryRun: boolean;
  /** Create missing CRM tables (users, investors, ...) in a file that already has other tables. */
  createCrmTables?: boolean;
  files?: MigrationFile[];
}

export interface MigrateResult {
  applied: string[];
  pending: string[];
  backupPath?: string;
}

export async function migrate(db: Db, options: MigrateOptions): Promise<MigrateResult> {
  const files = options.files ?? readMigrationFiles();
  const statuses = migrationStatus(db, files);
  refuseChanged(statuses);
  const pending = files.filter((file) => statuses.find((status) => status.version === file.version)?.state === 'pending');
  if (pending.length > 0 && !isEmptyDatabase(db)) refuseOutsideContract(db, options.dbPath, Boolean(options.createCrmTables));
  if (options.dryRun || pending.length === 0) return { applied: [], pending: pending.map((file) => file.name) };

  const hasContent = statSafeSize(options.dbPath) > 0 && db.prepare("SELECT count(*) AS n FROM sqlite_master").get() !== undefined;
  const backupPath = options.backup && hasContent ? await backupDatabase(db, options.dbPath, 'pre-migrate') : undefined;

  ensureMigrationsTable(db);
  const record = db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`);
  const applied: string[] = [];
  for (const file of pending) {
    const apply = db.transaction(() => {
      db.exec(file.sql);
      record.run(file.version, file.name, file.checksum, nowIso());
    });
    try {
      apply();
    } catch (error) {
      throw new PermanentError(`migration ${file.name} failed and was rolled back: ${(error as Error).message}`, { cause: error });
    }
    applied.push(file.name);
  }
  return { applied, pending: [], backupPath };
}

/** A new or empty file: no tables at all, the one case where migrate creates the CRM tables unasked. */
export function isEmptyDatabase(db: Db): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' LIMIT 1").get() === undefined;
}

/**
 * An existing file must already be a CRM before crm-mail adds its tables: a wrong --db (another
 * application's database) is refused with what is missing instead of being given CRM tables with
 * foreign keys to parents that are not there. Only whole missing tables may be created, and only when asked.
 */
function refuseOutsideContract(db: Db, dbPath: string, createCrmTables: boolean): void {
  const gaps = contractGaps(db);
  const tablesOk = gaps.missingTables.length === 0 || createCrmTables;
  if (tablesOk && gaps.missingColumns.length === 0) return;
  const flagHint =
    gaps.missingTables.length > 0 && gaps.missingColumns.length === 0
      ? ` If this file is meant to become the CRM, run again with --create-crm-tables to create ${gaps.missingTables.map((spec) => spec.table).join(', ')}.`
      : '';
  throw new ConfigError(
    `${dbPath} is not a CRM database crm-mail can use: it has ${describeGaps(gaps).join(', ')}. Nothing was changed. ` +
      `Check --db or CRM_DB_PATH points at the CRM's file (README, "The CRM contract").${flagHint}`,
  );
}

function statSafeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Throws unless every migration is applied: commands that use crm-mail's tables call this first. */
export function assertMigrated(db: Db): void {
  const statuses = migrationStatus(db);
  refuseChanged(statuses);
  const pending = statuses.filter((status) => status.state === 'pending');
  if (pending.length > 0) {
    throw new ConfigError(`the database is missing migration ${pending.map((status) => status.name).join(', ')}: run \`crm-mail migrate\` first.`);
  }
}

/**
 * crm-mail's own tables, children before parents, which uninstall drops. Listed by name rather than
 * found by prefix so that a CRM table that happens to start with "email" is never touched. A
 * migration that adds a table adds it here.
 */
export const OWN_TABLES = [
  'email_activity_proposals',
  'email_blob_removals',
  'email_deferred_messages',
  'email_unsearchable_terms',
  'email_attachments',
  'email_investor_matches',
  'email_participants',
  'emails',
  'email_thread_keys',
  'email_threads',
  'email_sync_runs',
  'email_sync_lease',
  'email_exclusions',
  'email_accounts',
  // The full-text index (an FTS5 virtual table; its shadow tables go with it).
  'email_search',
  MIGRATIONS_TABLE,
] as const;

/** crm-mail's own views (migration 0008), which uninstall drops before the tables. */
export const OWN_VIEWS = ['email_investor_activity', 'email_search_source'] as const;

export function ownTables(db: Db): string[] {
  return OWN_TABLES.filter((name) => tableExists(db, name));
}

export function ownViews(db: Db): string[] {
  return OWN_VIEWS.filter((name) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?").get(name) !== undefined);
}

/** crm-mail's own rows in the CRM's app_settings, which uninstall deletes. A new setting is added here. */
export const OWN_SETTINGS = [ACTIVITY_SINCE_KEY] as const;

export function ownSettings(db: Db): string[] {
  if (!tableExists(db, 'app_settings')) return [];
  const present = new Set((db.prepare('SELECT key FROM app_settings').all() as Array<{ key: string }>).map((row) => row.key));
  return OWN_SETTINGS.filter((key) => present.has(key));
}

export interface UninstallResult {
  dropped: string[];
  settingsRemoved: string[];
  backupPath?: string;
}

/** Drops crm-mail's views and tables and its own settings, after an online backup unless told not to. */
export async function uninstall(db: Db, dbPath: string, backup: boolean): Promise<UninstallResult> {
  const tables = ownTables(db);
  const views = ownViews(db);
  const settings = ownSettings(db);
  const backupPath = backup && tables.length + views.length + settings.length > 0 ? await backupDatabase(db, dbPath, 'pre-uninstall') : undefined;
  // Foreign keys stay on (they cannot be switched inside a transaction), so children go first.
  // Dropping a table drops its triggers (the search index's among them) without firing them.
  db.transaction(() => {
    for (const view of views) db.exec(`DROP VIEW IF EXISTS "${view}"`);
    for (const table of tables) db.exec(`DROP TABLE IF EXISTS "${table}"`);
    const remove = db.prepare('DELETE FROM app_settings WHERE key = ?');
    for (const key of settings) remove.run(key);
  })();
  return { dropped: [...tables, ...views], settingsRemoved: settings, backupPath };
}
