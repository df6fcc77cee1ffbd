/**
 * Every connection to the CRM file goes through here: foreign keys on and a busy timeout, because
 * the CRM's web server writes the same file while crm-mail runs.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { databaseFault } from './faults.js';

export type Db = Database.Database;

export interface OpenOptions {
  readonly?: boolean;
  /** Fail instead of creating a new empty file: a typo in --db must never make a new CRM. */
  mustExist?: boolean;
  busyTimeoutMs?: number;
}

/** Mode of a database crm-mail creates: it will hold the firm's mail, so the owner only. */
export const NEW_DATABASE_MODE = 0o600;

export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const mustExist = options.mustExist ?? options.readonly ?? false;
  if (mustExist && !existsSync(path)) {
    throw new ConfigError(
      `cannot open the CRM database ${path}: no such file. Check --db or CRM_DB_PATH; ` +
        `only \`crm-mail migrate --db ${path}\` creates a new database.`,
    );
  }
  if (!mustExist && !existsSync(path)) createEmptyFile(path);
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: true });
  } catch (error) {
    throw databaseFault(error, path) ?? new ConfigError(`cannot open the CRM database ${path}: ${(error as Error).message}. Check --db or CRM_DB_PATH.`, { cause: error });
  }
  try {
    // The first read of the schema is where a file that is not SQLite (or is damaged) shows.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('foreign_keys = ON');
  } catch (error) {
    db.close();
    throw databaseFault(error, path) ?? error;
  }
  return db;
}

/** A new database file, mode 600 from its first byte (SQLite would create it 644 under the usual umask). */
function createEmptyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  closeSync(openSync(path, 'wx', NEW_DATABASE_MODE));
}
/** ISO-8601 UTC with milliseconds, the one timestamp format crm-mail writes. */
export function nowIso(now: Date = new Date()): string {
  return now.toISOString();
}

const MAX_CACHED_STATEMENTS = 256;
const statementCache = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * A prepared statement for this connection, prepared once and reused. Preparing costs more than
 * running a small statement, and capture and rematch run the same few statements for every message.
 * Callers must not change a cached statement's mode (pluck, raw, expand): use db.prepare for that.
 */
export function statement(db: Db, sql: string): Database.Statement {
  let cache = statementCache.get(db);
  if (!cache) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let prepared = cache.get(sql);
  if (!prepared) {
    // Statements with generated IN lists vary by length; a bound keeps the cache from growing without end.
    if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
    prepared = db.prepare(sql);
    cache.set(sql, prepared);
  }
  return prepared;
}
