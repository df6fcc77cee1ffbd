/**
 * Enrolled mailboxes (email_accounts): enrollment, pause/resume/remove, the sync cursor and backfill
 * checkpoint, success/failure bookkeeping, and the per-account figures `status` shows.
 */
import type { Db } from './open.js';
import { nowIso } from './open.js';

export type AccountStatus = 'active' | 'paused' | 'needs_consent';
export type AccountAuthMethod = 'dwd' | 'oauth';

export interface Account {
  id: number;
  userId: number;
  email: string;
  authMethod: AccountAuthMethod;
  status: AccountStatus;
  oauthTokenSealed: string | null;
  historyId: string | null;
  historyIdAt: string | null;
  backfillCheckpoint: string | null;
  backfillCompletedAt: string | null;
  searchedTerms: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
  /** How much of the mailbox's mail is stored (migration 0005; 'full' before it). */
  shareLevel: 'metadata' | 'subject' | 'full';
  createdAt: string;
  updatedAt: string;
}

interface AccountRow {
  id: number;
  user_id: number;
  email: string;
  auth_method: AccountAuthMethod;
  status: AccountStatus;
  oauth_token_sealed: string | null;
  history_id: string | null;
  history_id_at: string | null;
  backfill_checkpoint: string | null;
  backfill_completed_at: string | null;
  searched_terms: string | null;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  consecutive_failures: number;
  share_level?: 'metadata' | 'subject' | 'full';
  created_at: string;
  updated_at: string;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    userId: row.user_id,
    email: row.email,
    authMethod: row.auth_method,
    status: row.status,
    oauthTokenSealed: row.oauth_token_sealed,
    historyId: row.history_id,
    historyIdAt: row.history_id_at,
    backfillCheckpoint: row.backfill_checkpoint,
    backfillCompletedAt: row.backfill_completed_at,
    searchedTerms: row.searched_terms,
    lastSuccessAt: row.last_success_at,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    consecutiveFailures: row.consecutive_failures,
    shareLevel: row.share_level ?? 'full',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A CRM user as enrollment sees it. */
export interface CrmUser {
  id: number;
  email: string;
  name: string | null;
  isActive: boolean;
}

interface UserRow {
  id: number;
  email: string;
  name: string | null;
  is_active: number;
}

function toUser(row: UserRow): CrmUser {
  return { id: row.id, email: row.email, name: row.name, isActive: Boolean(row.is_active) };
}

/** The CRM user with this address (case-insensitive), if any. */
export function findCrmUser(db: Db, email: string): CrmUser | undefined {
  const row = db.prepare('SELECT id, email, name, is_active FROM users WHERE lower(email) = lower(?)').get(email.trim()) as UserRow | undefined;
  return row ? toUser(row) : undefined;
}

export function listCrmUsers(db: Db): CrmUser[] {
  return (db.prepare('SELECT id, email, name, is_active FROM users ORDER BY id').all() as UserRow[]).map(toUser);
}

export function getAccount(db: Db, id: number): Account | undefined {
  const row = db.prepare('SELECT * FROM email_accounts WHERE id = ?').get(id) as AccountRow | undefined;
  return row ? toAccount(row) : undefined;
}

export function getAccountByEmail(db: Db, email: string): Account | undefined {
  const row = db.prepare('SELECT * FROM email_accounts WHERE lower(email) = lower(?)').get(email.trim()) as AccountRow | undefined;
  return row ? toAccount(row) : undefined;
}

export function getAccountByUserId(db: Db, userId: number): Account | undefined {
  const row = db.prepare('SELECT * FROM email_accounts WHERE user_id = ?').get(userId) as AccountRow | undefined;
  return row ? toAccount(row) : undefined;
}

export function listAccounts(db: Db, options: { status?: AccountStatus } = {}): Account[] {
  const rows = options.status
    ? (db.prepare('SELECT * FROM email_accounts WHERE status = ? ORDER BY email').all(options.status) as AccountRow[])
    : (db.prepare('SELECT * FROM email_accounts ORDER BY email').all() as AccountRow[]);
  return rows.map(toAccount);
}

export interface NewAccount {
  userId: number;
  email: string;
  authMethod: AccountAuthMethod;
  oauthTokenSealed?: string | null;
  status?: AccountStatus;
}

export function insertAccount(db: Db, account: NewAccount): Account {
  const now = nowIso();
  const info = db
    .prepare(
      `INSERT INTO email_accounts (user_id, email, auth_method, oauth_token_sealed, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(account.userId, account.email.toLowerCase(), account.authMethod, account.oauthTokenSealed ?? null, account.status ?? 'active', now, now);
  return getAccount(db, Number(info.lastInsertRowid))!;
}

export function setAccountStatus(db: Db, id: number, status: AccountStatus): void {
  db.prepare('UPDATE email_accounts SET status = ?, updated_at = ? WHERE id = ?').run(status, nowIso(), id);
}

/** What removing an account deletes with it (its stored mailbox copies and run history). */
export function accountFootprint(db: Db, id: number): { emails: number; runs: number; attachments: number } {
  const emails = (db.prepare('SELECT count(*) AS n FROM emails WHERE account_id = ?').get(id) as { n: number }).n;
  const runs = (db.prepare('SELECT count(*) AS n FROM email_sync_runs WHERE account_id = ?').get(id) as { n: number }).n;
  const attachments = (
    db.prepare('SELECT count(*) AS n FROM email_attachments a JOIN emails e ON e.id = a.email_id WHERE e.account_id = ?').get(id) as { n: number }
  ).n;
  return { emails, runs, attachments };
}

/** Deletes the account; its mailbox copies, matches and runs go with it (ON DELETE CASCADE). */
/**
 * Unenrolls a mailbox and deletes its copies. A proposal whose source copy goes keeps its email
 * link when another mailbox holds a copy of the same message (the cascade would otherwise clear it).
 */
export function removeAccount(db: Db, id: number): void {
  db.transaction(() => {
    db.prepare(
      `UPDATE email_activity_proposals
          SET email_id = (SELECT other.id FROM emails mine JOIN emails other ON other.message_key = mine.message_key AND other.account_id <> mine.account_id
                           WHERE mine.id = email_activity_proposals.email_id
                           ORDER BY other.deleted_at IS NOT NULL, other.id LIMIT 1)
        WHERE email_id IN (SELECT id FROM emails WHERE account_id = ?)
          AND EXISTS (SELECT 1 FROM emails mine JOIN emails other ON other.message_key = mine.message_key AND other.account_id <> mine.account_id
                       WHERE mine.id = email_activity_proposals.email_id)`,
    ).run(id);
    db.prepare('DELETE FROM email_accounts WHERE id = ?').run(id);
  })();
}

// ---- the cursor and the backfill checkpoint -------------------------------------------------

/** Saves the backfill checkpoint (JSON text) or clears it with null. */
export function setBackfillCheckpoint(db: Db, id: number, checkpoint: string | null): void {
  db.prepare('UPDATE email_accounts SET backfill_checkpoint = ?, updated_at = ? WHERE id = ?').run(checkpoint, nowIso(), id);
}

/** Ends a backfill: the cursor taken before listing becomes the incremental cursor, the checkpoint goes. */
export function completeBackfill(db: Db, id: number, historyId: string, searchedTerms: string): void {
  const now = nowIso();
  db.prepare(
    `UPDATE email_accounts SET history_id = ?, history_id_at = ?, backfill_checkpoint = NULL,
       backfill_completed_at = ?, searched_terms = ?, updated_at = ? WHERE id = ?`,
  ).run(historyId, now, now, searchedTerms, now, id);
}

/** Advances the incremental cursor (called inside the transaction that stored the page it covers). */
export function advanceCursor(db: Db, id: number, historyId: string): void {
  const now = nowIso();
  db.prepare('UPDATE email_accounts SET history_id = ?, history_id_at = ?, updated_at = ? WHERE id = ?').run(historyId, now, now, id);
}

export function setSearchedTerms(db: Db, id: number, searchedTerms: string): void {
  db.prepare('UPDATE email_accounts SET searched_terms = ?, updated_at = ? WHERE id = ?').run(searchedTerms, nowIso(), id);
}

export function recordAccountSuccess(db: Db, id: number, at: string = nowIso()): void {
  db.prepare('UPDATE email_accounts SET last_success_at = ?, consecutive_failures = 0, updated_at = ? WHERE id = ?').run(at, at, id);
}

/** Records a failed run; `needsConsent` flags an OAuth account whose refresh token no longer works. */
export function recordAccountFailure(db: Db, id: number, error: string, options: { needsConsent?: boolean } = {}): void {
  const now = nowIso();
  db.prepare(
    `UPDATE email_accounts SET last_error = ?, last_error_at = ?, consecutive_failures = consecutive_failures + 1,
       status = CASE WHEN ? THEN 'needs_consent' ELSE status END, updated_at = ? WHERE id = ?`,
  ).run(error, now, options.needsConsent ? 1 : 0, now, id);
}

// ---- figures for `status` ---------------------------------------------------------------------

export interface AccountCounts {
  stored: number;
  deleted: number;
  matched: number;
  pendingAttachments: number;
  failedAttachments: number;
}

export function accountCounts(db: Db, id: number): AccountCounts {
  const emails = db
    .prepare(
      `SELECT sum(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END) AS stored,
              sum(CASE WHEN deleted_at IS NOT NULL THEN 1 ELSE 0 END) AS deleted,
              sum(CASE WHEN deleted_at IS NULL AND EXISTS (SELECT 1 FROM email_investor_matches m WHERE m.email_id = e.id) THEN 1 ELSE 0 END) AS matched
         FROM emails e WHERE account_id = ?`,
    )
    .get(id) as { stored: number | null; deleted: number | null; matched: number | null };
  const attachments = db
    .prepare(
      `SELECT sum(CASE WHEN a.status = 'pending' THEN 1 ELSE 0 END) AS pending,
              sum(CASE WHEN a.status = 'failed' THEN 1 ELSE 0 END) AS failed
         FROM email_attachments a JOIN emails e ON e.id = a.email_id WHERE e.account_id = ?`,
    )
    .get(id) as { pending: number | null; failed: number | null };
  return {
    stored: emails.stored ?? 0,
    deleted: emails.deleted ?? 0,
    matched: emails.matched ?? 0,
    pendingAttachments: attachments.pending ?? 0,
    failedAttachments: attachments.failed ?? 0,
  };
}

// ---- the account's stored mailbox copies, as the sync reconciles them ---------------------------

/** Gmail ids of the account's rows not marked deleted whose internalDate is at or after sinceMs. */
export function activeGmailIdsSince(db: Db, accountId: number, sinceMs: number): string[] {
  return (
    db.prepare('SELECT gmail_id FROM emails WHERE account_id = ? AND deleted_at IS NULL AND internal_date_ms >= ? ORDER BY internal_date_ms').all(accountId, sinceMs) as Array<{
      gmail_id: string;
    }>
  ).map((row) => row.gmail_id);
}

/**
 * Every stored copy of the account that Gmail should still list (not deleted, not in Trash or Spam);
 * `matchedOnly` keeps those linked to at least one investor.
 */
export function listableGmailIds(db: Db, accountId: number, options: { matchedOnly?: boolean } = {}): string[] {
  const matched = options.matchedOnly ? 'AND EXISTS (SELECT 1 FROM email_investor_matches m WHERE m.email_id = e.id)' : '';
  return (
    db
      .prepare(
        `SELECT gmail_id FROM emails e WHERE account_id = ? AND deleted_at IS NULL ${matched}
           AND NOT EXISTS (SELECT 1 FROM json_each(coalesce(label_ids, '[]')) WHERE value IN ('TRASH', 'SPAM'))`,
      )
      .all(accountId) as Array<{ gmail_id: string }>
  ).map((row) => row.gmail_id);
}
