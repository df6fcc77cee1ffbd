/**
 * SQL for attachment references. The bytes live in the content-addressed store (attachments.ts);
 * a row says which part of which mailbox copy, and whether its bytes are stored, skipped (over the
 * size cap), pending or failed.
 */
import type { Db } from './open.js';
import { nowIso, statement } from './open.js';

export type AttachmentStatus = 'pending' | 'stored' | 'skipped' | 'failed';

export interface AttachmentRow {
  id: number;
  email_id: number;
  part_id: string;
  gmail_attachment_id: string | null;
  filename: string | null;
  content_type: string | null;
  size: number | null;
  content_id: string | null;
  is_inline: number;
  sha256: string | null;
  storage_path: string | null;
  status: AttachmentStatus;
  attempts: number;
  error: string | null;
}

export interface AttachmentStub {
  emailId: number;
  partId: string;
  gmailAttachmentId: string | null;
  filename: string | null;
  contentType: string | null;
  size: number | null;
  contentId: string | null;
  inline: boolean;
}

/** Inserts the reference unless the part is already known; refreshes the Gmail id and size when it is. Returns the row id. */
export function upsertAttachmentStub(db: Db, stub: AttachmentStub): number {
  statement(db, 
    `INSERT INTO email_attachments (email_id, part_id, gmail_attachment_id, filename, content_type, size, content_id, is_inline, status, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
     ON CONFLICT (email_id, part_id) DO UPDATE SET
       gmail_attachment_id = coalesce(excluded.gmail_attachment_id, gmail_attachment_id),
       size = CASE WHEN status = 'stored' THEN size ELSE coalesce(excluded.size, size) END,
       updated_at = excluded.updated_at`,
  ).run(stub.emailId, stub.partId, stub.gmailAttachmentId, stub.filename, stub.contentType, stub.size, stub.contentId, stub.inline ? 1 : 0, nowIso());
  return (statement(db, 'SELECT id FROM email_attachments WHERE email_id = ? AND part_id = ?').get(stub.emailId, stub.partId) as { id: number }).id;
}

export function getAttachment(db: Db, id: number): AttachmentRow | undefined {
  return statement(db, 'SELECT * FROM email_attachments WHERE id = ?').get(id) as AttachmentRow | undefined;
}

export function attachmentsOfEmail(db: Db, emailId: number): AttachmentRow[] {
  return statement(db, 'SELECT * FROM email_attachments WHERE email_id = ? ORDER BY id').all(emailId) as AttachmentRow[];
}

export function markAttachmentStored(db: Db, id: number, stored: { sha256: string; path: string; size: number }): void {
  statement(db, "UPDATE email_attachments SET status = 'stored', sha256 = ?, storage_path = ?, size = ?, error = NULL, updated_at = ? WHERE id = ?").run(
    stored.sha256,
    stored.path,
    stored.size,
    nowIso(),
    id,
  );
}

export function markAttachmentSkipped(db: Db, id: number, size: number, reason: string): void {
  statement(db, "UPDATE email_attachments SET status = 'skipped', size = ?, error = ?, updated_at = ? WHERE id = ?").run(size, reason, nowIso(), id);
}

export function markAttachmentFailed(db: Db, id: number, error: string): void {
  statement(db, "UPDATE email_attachments SET status = 'failed', attempts = attempts + 1, error = ?, updated_at = ? WHERE id = ?").run(error.slice(0, 500), nowIso(), id);
}

export function setGmailAttachmentId(db: Db, id: number, gmailAttachmentId: string | null): void {
  statement(db, 'UPDATE email_attachments SET gmail_attachment_id = ?, updated_at = ? WHERE id = ?').run(gmailAttachmentId, nowIso(), id);
}

export interface PendingAttachment {
  id: number;
  emailId: number;
  gmailId: string;
  partId: string;
  gmailAttachmentId: string | null;
  size: number | null;
  attempts: number;
}

/** Attachments of an account still to download: pending, or failed fewer than maxAttempts times; live copies only. */
export function listPendingAttachments(db: Db, accountId: number, maxAttempts: number, limit = 10_000): PendingAttachment[] {
  return statement(db, 
      `SELECT a.id, a.email_id AS emailId, e.gmail_id AS gmailId, a.part_id AS partId, a.gmail_attachment_id AS gmailAttachmentId, a.size, a.attempts
       FROM email_attachments a JOIN emails e ON e.id = a.email_id
       WHERE e.account_id = ? AND e.deleted_at IS NULL AND (a.status = 'pending' OR (a.status = 'failed' AND a.attempts < ?))
       ORDER BY a.id LIMIT ?`,
    )
    .all(accountId, maxAttempts, limit) as PendingAttachment[];
}

/** Stored references to a blob (dedup: one file, many rows). */
export function countReferencesToBlob(db: Db, sha256: string): number {
  return (statement(db, "SELECT count(*) AS n FROM email_attachments WHERE sha256 = ? AND status = 'stored'").get(sha256) as { n: number }).n;
}

export function attachmentStatusCounts(db: Db, accountId?: number): Record<AttachmentStatus, number> {
  const rows = statement(db, 
      `SELECT a.status, count(*) AS n FROM email_attachments a JOIN emails e ON e.id = a.email_id
       ${accountId === undefined ? '' : 'WHERE e.account_id = ?'} GROUP BY a.status`,
    )
    .all(...(accountId === undefined ? [] : [accountId])) as Array<{ status: AttachmentStatus; n: number }>;
  const counts: Record<AttachmentStatus, number> = { pending: 0, stored: 0, skipped: 0, failed: 0 };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

export interface FailedAttachmentSummary {
  failed: number;
  /** Failed on two runs or more: not a passing hiccup. */
  repeated: number;
  lastError: string | null;
}

/** The account's failed attachment downloads, for status. */
export function failedAttachmentSummary(db: Db, accountId: number): FailedAttachmentSummary {
  const row = statement(db,
    `SELECT count(*) AS failed, sum(CASE WHEN a.attempts >= 2 THEN 1 ELSE 0 END) AS repeated,
            (SELECT a2.error FROM email_attachments a2 JOIN emails e2 ON e2.id = a2.email_id
              WHERE e2.account_id = ? AND a2.status = 'failed' ORDER BY a2.updated_at DESC, a2.id DESC LIMIT 1) AS lastError
       FROM email_attachments a JOIN emails e ON e.id = a.email_id
      WHERE e.account_id = ? AND e.deleted_at IS NULL AND a.status = 'failed'`,
  ).get(accountId, accountId) as { failed: number; repeated: number | null; lastError: string | null };
  return { failed: row.failed, repeated: row.repeated ?? 0, lastError: row.lastError };
}
