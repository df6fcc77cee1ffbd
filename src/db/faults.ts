/**
 * The database faults an admin meets (a --db that is not SQLite, a read-only file, a CRM table that
 * is missing, a full disk), turned from SQLite's bare messages into typed errors that name the file
 * and the fix. A busy (locked) database is retried where it happens (db/busy.ts); one that escaped
 * those retries still becomes the typed DatabaseBusyError, never a bare "database is locked".
 */
import { ConfigError, DatabaseBusyError, PermanentError, TransientError, type CrmMailError } from '../errors.js';
import { isDatabaseBusy } from './busy.js';

interface SqliteLikeError {
  code?: unknown;
  message?: unknown;
}

/** The typed error for a SQLite failure on `path`, or undefined when it is not one this module knows. */
export function databaseFault(error: unknown, path: string): CrmMailError | undefined {
  const code = typeof (error as SqliteLikeError | null)?.code === 'string' ? ((error as SqliteLikeError).code as string) : '';
  const message = typeof (error as SqliteLikeError | null)?.message === 'string' ? ((error as SqliteLikeError).message as string) : '';
  if (!code.startsWith('SQLITE_')) return undefined;
  if (isDatabaseBusy(error)) return new DatabaseBusyError(path, undefined, 'a statement', { cause: error, reason: code });
  const next = `Then check it with \`crm-mail doctor --db ${path}\`.`;
  const options = { cause: error, reason: code };
  if (code === 'SQLITE_NOTADB') {
    return new ConfigError(`cannot open the CRM database ${path}: the file is not an SQLite database. Check --db or CRM_DB_PATH points at the CRM's own file. ${next}`, options);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new PermanentError(`the CRM database ${path} is damaged (${message}). Restore it from the latest backup (the backups/ folder beside it). ${next}`, options);
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new ConfigError(
      `cannot write the CRM database ${path}: it is read-only for this user (${message}). ` +
        `Give the user that runs crm-mail write access to the file and its folder (SQLite writes a journal beside it). ${next}`,
      options,
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new ConfigError(`cannot open the CRM database ${path} (${message}). Check --db or CRM_DB_PATH, and that this user may read and write the file and its folder. ${next}`, options);
  }
  if (code === 'SQLITE_FULL') {
    return new TransientError(`cannot write the CRM database ${path}: the disk is full. Free space on its file system; nothing was half-written. ${next}`, options);
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new TransientError(`reading or writing the CRM database ${path} failed (${message}). Check the disk and the file system it is on. ${next}`, options);
  }
  const missing = message.match(/^no such (table|column): (\S+)/);
  if (missing) return missingSchemaError(missing[1] as 'table' | 'column', missing[2]!, path, next, options);
  return undefined;
}

function missingSchemaError(what: 'table' | 'column', name: string, path: string, next: string, options: { cause: unknown; reason: string }): ConfigError {
  const own = /^(main\.)?emails?(_|$)/.test(name);
  const fix = own
    ? `crm-mail's tables are not there: run \`crm-mail migrate --db ${path}\`.`
    : "the CRM tables crm-mail relies on (users, investors, fundraising_state, app_settings) are not as expected: restore the CRM's schema from its backup, or check --db points at the CRM.";
  return new ConfigError(`the CRM database ${path} has no ${what} ${name}; ${fix} ${next}`, options);
}
