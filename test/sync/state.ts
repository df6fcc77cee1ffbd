/**
 * The captured state of a CRM file, in a form two databases can be compared by: mailbox copies,
 * investor links, conversations (as groups of copies, since thread row ids differ between files),
 * attachment references and the accounts' sync bookkeeping.
 */
import type { Db } from '../../src/db/open.js';

export interface CapturedState {
  emails: string[];
  matches: string[];
  threads: string[];
  attachments: string[];
  accounts: string[];
}

export function capturedState(db: Db): CapturedState {
  const emails = (
    db
      .prepare(
        `SELECT a.email, e.gmail_id, e.gmail_thread_id, e.rfc_message_id, e.message_key, e.subject, e.from_address, e.to_json, e.cc_json,
                e.label_ids, e.direction, e.content_level, e.internal_date_ms, e.deleted_at IS NOT NULL AS deleted, e.is_bulk,
                length(e.body_text) AS body_length, e.snippet
           FROM emails e JOIN email_accounts a ON a.id = e.account_id`,
      )
      .all() as Array<Record<string, unknown>>
  )
    .map((row) => JSON.stringify(row))
    .sort();
  const matches = (
    db
      .prepare(
        `SELECT a.email, e.gmail_id, m.investor_id, m.strategy, m.matched_address FROM email_investor_matches m
           JOIN emails e ON e.id = m.email_id JOIN email_accounts a ON a.id = e.account_id`,
      )
      .all() as Array<Record<string, unknown>>
  )
    .map((row) => JSON.stringify(row))
    .sort();
  const parents = new Map(
    (db.prepare('SELECT id, merged_into FROM email_threads').all() as Array<{ id: number; merged_into: number | null }>).map((row) => [row.id, row.merged_into]),
  );
  const root = (id: number | null): number | null => {
    let current = id;
    for (let guard = 0; current !== null && parents.get(current) != null && guard < 1000; guard++) current = parents.get(current)!;
    return current;
  };
  const groups = new Map<string, string[]>();
  for (const row of db.prepare('SELECT a.email, e.gmail_id, e.thread_id FROM emails e JOIN email_accounts a ON a.id = e.account_id').all() as Array<{
    email: string;
    gmail_id: string;
    thread_id: number | null;
  }>) {
    const key = String(root(row.thread_id));
    const list = groups.get(key) ?? [];
    list.push(`${row.email}|${row.gmail_id}`);
    groups.set(key, list);
  }
  const threads = [...groups.values()].map((list) => list.sort().join(' ')).sort();
  const attachments = (
    db
      .prepare(
        `SELECT a.email, e.gmail_id, t.part_id, t.filename, t.content_type, t.size, t.status, t.sha256 FROM email_attachments t
           JOIN emails e ON e.id = t.email_id JOIN email_accounts a ON a.id = e.account_id`,
      )
      .all() as Array<Record<string, unknown>>
  )
    .map((row) => JSON.stringify(row))
    .sort();
  const accounts = (
    db
      .prepare(
        `SELECT email, status, history_id IS NOT NULL AS has_cursor, backfill_checkpoint IS NULL AS no_checkpoint,
                backfill_completed_at IS NOT NULL AS backfilled, searched_terms, consecutive_failures FROM email_accounts`,
      )
      .all() as Array<Record<string, unknown>>
  )
    .map((row) => JSON.stringify(row))
    .sort();
  return { emails, matches, threads, attachments, accounts };
}

/** Copies committed so far: "user|gmailId". */
export function committedCopies(db: Db): Set<string> {
  return new Set(
    (db.prepare('SELECT a.email, e.gmail_id FROM emails e JOIN email_accounts a ON a.id = e.account_id').all() as Array<{ email: string; gmail_id: string }>).map(
      (row) => `${row.email}|${row.gmail_id}`,
    ),
  );
}
