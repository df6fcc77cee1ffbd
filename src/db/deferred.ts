/**
 * email_deferred_messages: messages a run could not fetch after its retries, kept with their error
 * until a later run stores them (or Gmail says they are gone).
 */
import type { Db } from './open.js';
import { nowIso, statement } from './open.js';

export type DeferredSource = 'search' | 'history';

export interface DeferredMessage {
  gmailId: string;
  source: DeferredSource;
  error: string | null;
  attempts: number;
  firstDeferredAt: string;
  lastAttemptAt: string;
}

interface DeferredRow {
  gmail_id: string;
  source: DeferredSource;
  error: string | null;
  attempts: number;
  first_deferred_at: string;
  last_attempt_at: string;
}

/** Records (or re-records, counting the attempt) messages that failed in this run. */
export function deferMessages(db: Db, accountId: number, failures: Array<{ gmailId: string; source: DeferredSource; error: string }>, at: string = nowIso()): void {
  const upsert = statement(
    db,
    `INSERT INTO email_deferred_messages (account_id, gmail_id, source, error, attempts, first_deferred_at, last_attempt_at)
     VALUES (?, ?, ?, ?, 1, ?, ?)
     ON CONFLICT (account_id, gmail_id) DO UPDATE SET error = excluded.error, attempts = attempts + 1, last_attempt_at = excluded.last_attempt_at`,
  );
  for (const failure of failures) upsert.run(accountId, failure.gmailId, failure.source, failure.error.slice(0, 1000), at, at);
}

/** Forgets deferred messages that are now stored or gone; returns how many rows went. */
export function clearDeferred(db: Db, accountId: number, gmailIds: Iterable<string>): number {
  const remove = statement(db, 'DELETE FROM email_deferred_messages WHERE account_id = ? AND gmail_id = ?');
  let removed = 0;
  for (const id of gmailIds) removed += remove.run(accountId, id).changes;
  return removed;
}

/** The account's deferred messages, oldest first. */
export function listDeferred(db: Db, accountId: number, limit = 10_000): DeferredMessage[] {
  const rows = statement(db, 'SELECT * FROM email_deferred_messages WHERE account_id = ? ORDER BY first_deferred_at, gmail_id LIMIT ?').all(accountId, limit) as DeferredRow[];
  return rows.map((row) => ({
    gmailId: row.gmail_id,
    source: row.source,
    error: row.error,
    attempts: row.attempts,
    firstDeferredAt: row.first_deferred_at,
    lastAttemptAt: row.last_attempt_at,
  }));
}

export interface DeferredSummary {
  count: number;
  oldestAt: string | null;
  lastError: string | null;
}

export function deferredSummary(db: Db, accountId: number): DeferredSummary {
  const row = statement(
    db,
    `SELECT count(*) AS count, min(first_deferred_at) AS oldest,
            (SELECT error FROM email_deferred_messages WHERE account_id = ? ORDER BY last_attempt_at DESC LIMIT 1) AS lastError
       FROM email_deferred_messages WHERE account_id = ?`,
  ).get(accountId, accountId) as { count: number; oldest: string | null; lastError: string | null };
  return { count: row.count, oldestAt: row.oldest, lastError: row.lastError };
}
