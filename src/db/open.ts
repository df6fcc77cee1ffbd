/**
 * Every connection to the CRM file goes through here: foreign keys on and a busy timeout, because
 * the CRM's web server writes the same file while crm-mail runs.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';

export type Db = Database.Database;

export interface OpenOptions {
  readonly?: boolean;
  /** Fail instead of creating a new empty file (status, doctor: a typo must not make a new CRM). */
  mustExist?: boolean;
  busyTimeoutMs?: number;
}

export function openDatabase(path: string, options: OpenOptions = {}): Db {
  if (!options.readonly && !options.mustExist) mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.mustExist ?? options.readonly ?? false });
  } catch (error) {
    throw new ConfigError(`cannot open the CRM database ${path}: ${(error as Error).message}. Check --db or CRM_DB_PATH.`, { cause: error });
  }
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  db.pragma('foreign_keys = ON');
  return db;
}

/** ISO-8601 UTC with milliseconds, the one timestamp format crm-mail writes. */
export function nowIso(now: Date = new Date()): string {
  return now.toISOString();
}
