/**
 * The database side of `crm-mail doctor`: the file opens, crm-mail's migrations are applied, the
 * CRM tables crm-mail relies on have the columns it uses, and foreign keys are enforced.
 */
import type { Db } from '../db/open.js';
import { migrationStatus, readApplied, readMigrationFiles, OWN_TABLES, type MigrationFile } from '../db/migrate.js';
import { enrolledAccounts, foreignKeysEnabled, foreignKeyViolations } from '../db/schemaInfo.js';
import { CRM_CONTRACT, contractGaps, gapFixes, hasGaps } from '../db/crmContract.js';

export { CRM_CONTRACT } from '../db/crmContract.js';
import { fail, ok, warn, type CheckResult } from './result.js';
import { listUnsearchableTerms } from '../db/unsearchable.js';

/** The migrations check: every file applied, none changed since, none unknown to this version. */
export function checkMigrations(db: Db, dbPath: string, files: MigrationFile[] = readMigrationFiles()): CheckResult {
  const statuses = migrationStatus(db, files);
  const changed = statuses.filter((status) => status.state === 'changed').map((status) => status.name);
  if (changed.length > 0) {
    return fail(
      'migrations',
      `migration ${changed.join(', ')} was applied but its file has changed since`,
      'restore the original file from the crm-mail release that applied it; applied migrations are never edited',
    );
  }
  const pending = statuses.filter((status) => status.state === 'pending').map((status) => status.name);
  if (pending.length > 0) {
    return fail('migrations', `not applied: ${pending.join(', ')}`, `crm-mail migrate --db ${shellQuote(dbPath)}  (takes a backup first)`);
  }
  const known = new Set(files.map((file) => file.version));
  const unknown = readApplied(db).filter((row) => !known.has(row.version)).map((row) => row.name);
  if (unknown.length > 0) {
    return warn('migrations', `the database has migration ${unknown.join(', ')} that this crm-mail does not know`, 'upgrade crm-mail to the version that applied it');
  }
  return ok('migrations', `all ${statuses.length} migrations applied`);
}

/** The CRM contract check: names every missing table and column, with the statement that adds it. */
export function checkCrmContract(db: Db): CheckResult {
  const gaps = contractGaps(db);
  if (!hasGaps(gaps)) {
    return ok('crm-contract', `CRM tables present: ${CRM_CONTRACT.map((spec) => spec.table).join(', ')}`);
  }
  const problems = [
    ...gaps.missingTables.map((spec) => `table ${spec.table} is missing`),
    ...gaps.missingColumns.map((gap) => `${gap.table}.${gap.column.names.join(' or ')} is missing`),
  ];
  return fail('crm-contract', problems.join('; '), `restore the CRM's own schema (its backup), or add what is missing: ${gapFixes(gaps).join('; ')}`);
}

/** Tables whose rows crm-mail writes: a foreign-key violation there means someone wrote with enforcement off. */
const CHECKED_FOR_ORPHANS = [...OWN_TABLES.filter((table) => table.startsWith('email') && table !== 'email_search'), 'fundraising_state'];

export function checkForeignKeys(db: Db, dbPath: string): CheckResult {
  if (!foreignKeysEnabled(db)) {
    return fail(
      'foreign-keys',
      'this SQLite connection does not enforce foreign keys',
      'use a better-sqlite3 build with foreign-key support (reinstall with npm ci); crm-mail sets PRAGMA foreign_keys=ON on every connection',
    );
  }
  const violations = foreignKeyViolations(db, CHECKED_FOR_ORPHANS);
  if (violations.length > 0) {
    const list = violations.map((violation) => `${violation.table} ${violation.count}`).join(', ');
    return warn(
      'foreign-keys',
      `on, but rows point at missing parents (${list}): something wrote with enforcement off`,
      `list them with: sqlite3 ${shellQuote(dbPath)} 'PRAGMA foreign_key_check'`,
    );
  }
  return ok('foreign-keys', 'enforced on every connection; no orphan rows in crm-mail tables');
}

/** Who is enrolled: nobody, or someone needing OAuth consent again, is a WARN with the command. */
export function checkAccounts(db: Db): CheckResult {
  const accounts = enrolledAccounts(db);
  if (accounts.length === 0) {
    return warn('accounts', 'no mailbox is enrolled yet', 'crm-mail enroll-all  (enrolls every active user of the workspace domain)');
  }
  const needConsent = accounts.filter((account) => account.status === 'needs_consent').map((account) => account.email);
  if (needConsent.length > 0) {
    return warn(
      'accounts',
      `${needConsent.length} of ${accounts.length} mailboxes need OAuth consent again: ${needConsent.join(', ')}`,
      `the partner runs: crm-mail auth oauth ${needConsent[0]}`,
    );
  }
  const unsearchable = listUnsearchableTerms(db);
  if (unsearchable.length > 0) {
    const terms = [...new Set(unsearchable.map((item) => item.term))];
    const mailboxes = new Set(unsearchable.map((item) => item.account)).size;
    return warn(
      'accounts',
      `${accounts.length} mailboxes enrolled; Gmail refuses to search ${terms.length === 1 ? 'the investor term' : `${terms.length} investor terms`} ${terms.slice(0, 5).join(', ')}${terms.length > 5 ? ', ...' : ''} in ${mailboxes} mailbox${mailboxes === 1 ? '' : 'es'}, so their older mail is not backfilled`,
      'correct that address or domain in the investor record (crm-mail status names each mailbox), then run crm-mail rematch --remote',
    );
  }
  const paused = accounts.filter((account) => account.status === 'paused').length;
  return ok('accounts', `${accounts.length} mailboxes enrolled${paused > 0 ? ` (${paused} paused)` : ''}`);
}

/** Quotes a path for a copy-pasteable command line. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}
