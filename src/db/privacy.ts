/**
 * SQL for the privacy controls: the exclusion list with who added what, each mailbox's sharing
 * level, and the statements a purge is made of (delete or strip mailbox copies, repair their
 * threads, withdraw proposals, queue attachment files for removal). The caller wraps a purge in one
 * transaction; these functions only read and write.
 */
import type { Db } from './open.js';
import { nowIso, statement } from './open.js';

export type ShareLevel = 'metadata' | 'subject' | 'full';
/** What a copy holds back: its body (and snippet and attachments), or its subject as well. */
export type Withheld = 'body' | 'subject';
export type WithheldReason = 'sharing' | 'retention';

export interface ExclusionRow {
  pattern: string;
  reason: string | null;
  addedBy: string | null;
  createdAt: string;
}

export function listExclusionRows(db: Db): ExclusionRow[] {
  return statement(db, 'SELECT pattern, reason, added_by AS addedBy, created_at AS createdAt FROM email_exclusions ORDER BY pattern').all() as ExclusionRow[];
}

/** Adds a pattern (already normalized); false when it was there (its reason and author are then left as they were). */
export function insertExclusion(db: Db, pattern: string, reason: string | null, addedBy: string): boolean {
  return statement(db, 'INSERT INTO email_exclusions (pattern, reason, added_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (pattern) DO NOTHING').run(pattern, reason, addedBy, nowIso()).changes > 0;
}

export function deleteExclusion(db: Db, pattern: string): boolean {
  return statement(db, 'DELETE FROM email_exclusions WHERE pattern = ?').run(pattern).changes > 0;
}

/**
 * Makes every finished mailbox count as never searched for any term, so `rematch --remote` lists
 * the investor searches again: mail an exclusion kept out is then found (stored mail is skipped).
 */
export function forgetSearchedTerms(db: Db): number {
  return statement(db, "UPDATE email_accounts SET searched_terms = '[]', updated_at = ? WHERE backfill_completed_at IS NOT NULL").run(nowIso()).changes;
}

export interface ShareSetting {
  accountId: number;
  email: string;
  level: ShareLevel;
  setBy: string | null;
  setAt: string | null;
}

export function listShareSettings(db: Db): ShareSetting[] {
  return statement(db, 'SELECT id AS accountId, email, share_level AS level, share_set_by AS setBy, share_set_at AS setAt FROM email_accounts ORDER BY email').all() as ShareSetting[];
}

/** The sharing level of a mailbox; 'full' for an unknown id (nothing is held back by default). */
export function shareLevelOf(db: Db, accountId: number): ShareLevel {
  const row = statement(db, 'SELECT share_level AS level FROM email_accounts WHERE id = ?').get(accountId) as { level: ShareLevel } | undefined;
  return row?.level ?? 'full';
}

export function setShareLevel(db: Db, accountId: number, level: ShareLevel, setBy: string): void {
  const now = nowIso();
  statement(db, 'UPDATE email_accounts SET share_level = ?, share_set_by = ?, share_set_at = ?, updated_at = ? WHERE id = ?').run(level, setBy, now, now, accountId);
}

/** Runs `each` over ids in slices small enough for SQLite's parameter limit. */
function sliced<T>(ids: readonly number[], each: (slice: number[], marks: string) => T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    out.push(...each(slice, slice.map(() => '?').join(', ')));
  }
  return out;
}

/** Mailbox copies (deleted ones too) with a participant whose address ends with `suffix`, and all their participants' addresses. */
export function copiesWithAddressEnding(db: Db, suffix: string): Array<{ id: number; addresses: string[] }> {
  const rows = statement(
    db,
    `SELECT p.email_id AS id, group_concat(lower(p.address), ' ') AS addresses FROM email_participants p
      WHERE p.email_id IN (SELECT email_id FROM email_participants WHERE lower(address) LIKE ? ESCAPE '\\')
      GROUP BY p.email_id ORDER BY p.email_id`,
  ).all('%' + suffix.replace(/[\\%_]/g, (c) => '\\' + c)) as Array<{ id: number; addresses: string }>;
  return rows.map((row) => ({ id: row.id, addresses: row.addresses.split(' ') }));
}

/** Copies of a mailbox holding more than `level` allows (a subject, a body, a snippet or attachments). */
export function copiesBeyondLevel(db: Db, accountId: number, level: Exclude<ShareLevel, 'full'>): number[] {
  const subject = level === 'metadata' ? 'e.subject IS NOT NULL OR ' : '';
  return (
    statement(
      db,
      `SELECT e.id FROM emails e WHERE e.account_id = ?
         AND (${subject}e.body_text IS NOT NULL OR e.snippet IS NOT NULL OR EXISTS (SELECT 1 FROM email_attachments a WHERE a.email_id = e.id))
       ORDER BY e.id`,
    ).all(accountId) as Array<{ id: number }>
  ).map((row) => row.id);
}

/** Copies received before `beforeMs` that still hold a body, a snippet or attachments. */
export function copiesWithContentBefore(db: Db, beforeMs: number): number[] {
  return (
    statement(
      db,
      `SELECT e.id FROM emails e WHERE e.internal_date_ms < ?
         AND (e.body_text IS NOT NULL OR e.snippet IS NOT NULL OR EXISTS (SELECT 1 FROM email_attachments a WHERE a.email_id = e.id))
       ORDER BY e.id`,
    ).all(beforeMs) as Array<{ id: number }>
  ).map((row) => row.id);
}

export interface CopyFacts {
  id: number;
  messageKey: string;
  threadId: number | null;
  hasSubject: boolean;
  hasBody: boolean;
  participants: number;
  matches: number;
  attachments: number;
}

export function factsOfCopies(db: Db, ids: readonly number[]): CopyFacts[] {
  return sliced(ids, (slice, marks) =>
    (
      db
        .prepare(
          `SELECT e.id, e.message_key AS messageKey, e.thread_id AS threadId, e.subject IS NOT NULL AS hasSubject,
                  (e.body_text IS NOT NULL OR e.snippet IS NOT NULL) AS hasBody,
                  (SELECT count(*) FROM email_participants p WHERE p.email_id = e.id) AS participants,
                  (SELECT count(*) FROM email_investor_matches m WHERE m.email_id = e.id) AS matches,
                  (SELECT count(*) FROM email_attachments a WHERE a.email_id = e.id) AS attachments
             FROM emails e WHERE e.id IN (${marks})`,
        )
        .all(...slice) as Array<Omit<CopyFacts, 'hasSubject' | 'hasBody'> & { hasSubject: number; hasBody: number }>
    ).map((row) => ({ ...row, hasSubject: row.hasSubject === 1, hasBody: row.hasBody === 1 })),
  );
}

/** The stored attachment files of these copies: hash -> how many of the copies' rows reference it. */
export function blobsOfCopies(db: Db, ids: readonly number[]): Map<string, number> {
  const counts = new Map<string, number>();
  const rows = sliced(ids, (slice, marks) =>
    db.prepare(`SELECT sha256, count(*) AS n FROM email_attachments WHERE status = 'stored' AND sha256 IS NOT NULL AND email_id IN (${marks}) GROUP BY sha256`).all(...slice) as Array<{
      sha256: string;
      n: number;
    }>,
  );
  for (const row of rows) counts.set(row.sha256, (counts.get(row.sha256) ?? 0) + row.n);
  return counts;
}

/** Stored rows referencing a file, across every copy. */
export function storedReferences(db: Db, sha256: string): number {
  return (statement(db, "SELECT count(*) AS n FROM email_attachments WHERE sha256 = ? AND status = 'stored'").get(sha256) as { n: number }).n;
}

/** Deletes copies; participants, matches and attachment rows go with them (ON DELETE CASCADE). */
export function deleteCopies(db: Db, ids: readonly number[]): void {
  sliced(ids, (slice, marks) => (db.prepare(`DELETE FROM emails WHERE id IN (${marks})`).run(...slice), []));
}

/** Drops a copy's content down to what `withheld` allows and says why; its attachment rows go. */
export function stripCopies(db: Db, ids: readonly number[], withheld: Withheld, reason: WithheldReason): void {
  const subject = withheld === 'subject' ? 'subject = NULL, ' : '';
  sliced(ids, (slice, marks) => {
    db.prepare(`DELETE FROM email_attachments WHERE email_id IN (${marks})`).run(...slice);
    db.prepare(
      `UPDATE emails SET ${subject}body_text = NULL, snippet = NULL, content_level = 'metadata',
              withheld = CASE WHEN withheld = 'subject' THEN 'subject' ELSE ? END, withheld_reason = ?
        WHERE id IN (${marks})`,
    ).run(withheld, reason, ...slice);
    return [];
  });
}

/** What a remaining member of a thread gives it: its keys' parts, subject and dates. */
export interface ThreadMember {
  accountId: number;
  gmailThreadId: string | null;
  messageKey: string;
  inReplyTo: string | null;
  referencesIds: string | null;
  subject: string | null;
  messageMs: number;
}

export function threadMembers(db: Db, threadId: number): ThreadMember[] {
  return statement(
    db,
    `SELECT account_id AS accountId, gmail_thread_id AS gmailThreadId, message_key AS messageKey, in_reply_to AS inReplyTo,
            references_ids AS referencesIds, subject, coalesce(sent_ms, internal_date_ms) AS messageMs
       FROM emails WHERE thread_id = ? ORDER BY messageMs, id`,
  ).all(threadId) as ThreadMember[];
}

/** Removes a thread that has no mail left, with its keys and the threads merged into it. */
export function deleteThread(db: Db, threadId: number): void {
  statement(db, 'DELETE FROM email_thread_keys WHERE thread_id = ? OR thread_id IN (SELECT id FROM email_threads WHERE merged_into = ?)').run(threadId, threadId);
  statement(db, 'DELETE FROM email_threads WHERE merged_into = ?').run(threadId);
  statement(db, 'DELETE FROM email_threads WHERE id = ?').run(threadId);
}

export function deleteThreadKeys(db: Db, threadId: number): void {
  statement(db, 'DELETE FROM email_thread_keys WHERE thread_id = ?').run(threadId);
}

export function setThreadSummary(db: Db, threadId: number, subject: string | null, firstMs: number | null, lastMs: number | null): void {
  statement(db, 'UPDATE email_threads SET subject = ?, first_message_ms = ?, last_message_ms = ? WHERE id = ?').run(subject, firstMs, lastMs, threadId);
}

/**
 * Withdraws the pending proposals of these logical messages that no remaining copy supports: for
 * 'matched', no copy still matched to the proposal's investor; for 'body', no copy still holding a
 * body. Returns how many. Approved and dismissed proposals are never touched.
 */
export function withdrawUnsupportedProposals(db: Db, messageKeys: readonly string[], support: 'matched' | 'body', reason: string, dryRun = false): number {
  const supported =
    support === 'matched'
      ? 'SELECT 1 FROM emails e JOIN email_investor_matches m ON m.email_id = e.id AND m.investor_id = p.investor_id WHERE e.message_key = p.message_key'
      : 'SELECT 1 FROM emails e WHERE e.message_key = p.message_key AND e.body_text IS NOT NULL';
  let total = 0;
  for (let i = 0; i < messageKeys.length; i += 500) {
    const slice = messageKeys.slice(i, i + 500);
    const where = `p.status = 'pending' AND p.message_key IN (${slice.map(() => '?').join(', ')}) AND NOT EXISTS (${supported})`;
    total += dryRun
      ? (db.prepare(`SELECT count(*) AS n FROM email_activity_proposals p WHERE ${where}`).get(...slice) as { n: number }).n
      : db.prepare(`UPDATE email_activity_proposals AS p SET status = 'withdrawn', withdrawn_reason = ?, withdrawn_at = ? WHERE ${where}`).run(reason, nowIso(), ...slice).changes;
  }
  return total;
}

/** Approved proposals drawn from these logical messages: their notes are in the CRM and stay. */
export function countApproved(db: Db, messageKeys: readonly string[]): number {
  let total = 0;
  for (let i = 0; i < messageKeys.length; i += 500) {
    const slice = messageKeys.slice(i, i + 500);
    total += (db.prepare(`SELECT count(*) AS n FROM email_activity_proposals WHERE status = 'approved' AND message_key IN (${slice.map(() => '?').join(', ')})`).get(...slice) as { n: number }).n;
  }
  return total;
}

export function queueBlobRemoval(db: Db, sha256: string): void {
  statement(db, 'INSERT OR IGNORE INTO email_blob_removals (sha256, queued_at) VALUES (?, ?)').run(sha256, nowIso());
}

export function queuedBlobRemovals(db: Db): string[] {
  return (statement(db, 'SELECT sha256 FROM email_blob_removals ORDER BY queued_at, sha256').all() as Array<{ sha256: string }>).map((row) => row.sha256);
}

export function dequeueBlobRemoval(db: Db, sha256: string): void {
  statement(db, 'DELETE FROM email_blob_removals WHERE sha256 = ?').run(sha256);
}
