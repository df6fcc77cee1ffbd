/**
 * email_unsearchable_terms: investor terms Gmail refused to search even alone in a query, per
 * mailbox. Their older mail cannot be listed; new mail still arrives through history.
 */
import type { Db } from './open.js';
import { nowIso, statement } from './open.js';
import { tableExists } from './schemaInfo.js';

export interface UnsearchableTerm {
  account: string;
  term: string;
  error: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

const TABLE = 'email_unsearchable_terms';

export function recordUnsearchableTerm(db: Db, accountId: number, term: string, error: string, at: string = nowIso()): void {
  statement(
    db,
    `INSERT INTO ${TABLE} (account_id, term, error, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (account_id, term) DO UPDATE SET error = excluded.error, last_seen_at = excluded.last_seen_at`,
  ).run(accountId, term, error.slice(0, 500), at, at);
}

/** After a listing of every term: forgets the terms it did not find refused (seen last before it began). */
export function forgetUnsearchableBefore(db: Db, accountId: number, listingStartedAt: string): void {
  statement(db, `DELETE FROM ${TABLE} WHERE account_id = ? AND last_seen_at < ?`).run(accountId, listingStartedAt);
}

/** Every account's unsearchable terms (or one account's), by account then term; none on a database without the table. */
export function listUnsearchableTerms(db: Db, accountId?: number): UnsearchableTerm[] {
  if (!tableExists(db, TABLE)) return [];
  const rows = statement(
    db,
    `SELECT a.email AS account, t.term, t.error, t.first_seen_at AS firstSeenAt, t.last_seen_at AS lastSeenAt
       FROM ${TABLE} t JOIN email_accounts a ON a.id = t.account_id
      WHERE (? IS NULL OR t.account_id = ?) ORDER BY a.email, t.term`,
  ).all(accountId ?? null, accountId ?? null) as UnsearchableTerm[];
  return rows;
}
