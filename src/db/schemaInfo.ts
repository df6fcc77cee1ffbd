/**
 * Read-only questions about the shape of the CRM file, for `crm-mail doctor`: which tables and
 * columns exist, whether foreign keys are enforced on this connection, whether crm-mail's own rows
 * still point at existing parents, and which mailbox is enrolled. Nothing here writes.
 */
import type { Db } from './open.js';

/** Reads the schema table, so a file that is not an SQLite database fails here rather than mid-check. */
export function readSchema(db: Db): void {
  db.prepare('SELECT count(*) FROM sqlite_master').get();
}

/** The SQLite library version this connection runs (e.g. "3.50.4"). */
export function sqliteVersion(db: Db): string {
  return String(db.prepare('SELECT sqlite_version() AS v').pluck().get());
}

/** Column names of a table, lower-cased; an empty list when the table does not exist. */
export function tableColumns(db: Db, table: string): string[] {
  // table_info takes an identifier, not a bound parameter; quote it so an odd name cannot escape.
  const rows = db.prepare(`PRAGMA table_info("${table.replace(/"/g, '""')}")`).all() as Array<{ name: string }>;
  return rows.map((row) => row.name.toLowerCase());
}

export function tableExists(db: Db, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/** Whether this connection enforces foreign keys (0 also when SQLite was built without them). */
export function foreignKeysEnabled(db: Db): boolean {
  const value = db.pragma('foreign_keys', { simple: true });
  return Number(value) === 1;
}

/** Rows of the given tables whose foreign key points at a missing parent, counted per table. */
export function foreignKeyViolations(db: Db, tables: readonly string[]): Array<{ table: string; count: number }> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    if (!tableExists(db, table)) continue;
    const rows = db.prepare(`PRAGMA foreign_key_check("${table.replace(/"/g, '""')}")`).all() as Array<{ table: string }>;
    if (rows.length > 0) counts.set(table, rows.length);
  }
  return [...counts].map(([table, count]) => ({ table, count }));
}

export interface EnrolledAccount {
  id: number;
  email: string;
  authMethod: string;
  status: string;
}

/** Enrolled mailboxes, active first, for the doctor's token check and its "anyone enrolled?" line. */
export function enrolledAccounts(db: Db): EnrolledAccount[] {
  if (!tableExists(db, 'email_accounts')) return [];
  return db
    .prepare(
      `SELECT id, email, auth_method AS authMethod, status FROM email_accounts
       ORDER BY CASE status WHEN 'active' THEN 0 ELSE 1 END, id`,
    )
    .all() as EnrolledAccount[];
}
