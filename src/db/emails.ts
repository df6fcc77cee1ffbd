/**
 * SQL for mailbox copies of messages (emails), their participants and their investor matches.
 */
import type { Db } from './open.js';
import { nowIso, statement } from './open.js';
import type { Address } from '../mail/addresses.js';
import type { SenderCheck } from '../mail/senderAuth.js';
import type { InvestorMatch, Direction } from '../match/investorIndex.js';
import type { Withheld, WithheldReason } from './privacy.js';

export interface EmailRow {
  id: number;
  account_id: number;
  gmail_id: string;
  gmail_thread_id: string | null;
  thread_id: number | null;
  message_key: string;
  rfc_message_id: string | null;
  in_reply_to: string | null;
  references_ids: string | null;
  subject: string | null;
  from_address: string | null;
  from_name: string | null;
  to_json: string | null;
  cc_json: string | null;
  bcc_json: string | null;
  reply_to_json: string | null;
  date_header: string | null;
  sent_ms: number | null;
  internal_date_ms: number;
  direction: Direction | null;
  label_ids: string | null;
  snippet: string | null;
  body_text: string | null;
  size_estimate: number | null;
  gmail_history_id: string | null;
  is_bulk: number;
  bulk_signals: string | null;
  parse_problems: string | null;
  content_level: 'metadata' | 'full';
  body_digest: string | null;
  copies_differ: number;
  sender_auth: SenderCheck | null;
  withheld: Withheld | null;
  withheld_reason: WithheldReason | null;
  deleted_at: string | null;
  stored_at: string;
}

/** The columns of one mailbox copy, as capture writes them. */
export interface EmailValues {
  accountId: number;
  gmailId: string;
  gmailThreadId: string | null;
  threadId: number;
  messageKey: string;
  rfcMessageId: string | null;
  inReplyTo: string | null;
  references: readonly string[];
  subject: string | null;
  from: Address | null;
  to: readonly Address[];
  cc: readonly Address[];
  bcc: readonly Address[];
  replyTo: readonly Address[];
  dateHeader: string | null;
  sentMs: number | null;
  internalDateMs: number;
  direction: Direction;
  labelIds: readonly string[];
  snippet: string | null;
  bodyText: string | null;
  sizeEstimate: number | null;
  historyId: string | null;
  isBulk: boolean;
  bulkSignals: object | null;
  parseProblems: readonly string[];
  contentLevel: 'metadata' | 'full';
  /** Digest of the body text (null without a body): copies of one message are compared by it. */
  bodyDigest: string | null;
  /** What the mailbox's sharing level held back (NULL: nothing). */
  withheld: Withheld | null;
  /** Who vouches for the sender: the SENT label, DKIM/SPF for the From domain, or nothing. */
  senderAuth: SenderCheck;
}

/** emails.sender_auth (migration 0013). */

function params(values: EmailValues): unknown[] {
  return [
    values.gmailThreadId,
    values.threadId,
    values.messageKey,
    values.rfcMessageId,
    values.inReplyTo,
    values.references.length > 0 ? values.references.join(' ') : null,
    values.subject,
    values.from?.address ?? null,
    values.from?.name ?? null,
    JSON.stringify(values.to),
    JSON.stringify(values.cc),
    JSON.stringify(values.bcc),
    JSON.stringify(values.replyTo),
    values.dateHeader,
    values.sentMs,
    values.internalDateMs,
    values.direction,
    JSON.stringify(values.labelIds),
    values.snippet,
    values.bodyText,
    values.sizeEstimate,
    values.historyId,
    values.isBulk ? 1 : 0,
    values.bulkSignals ? JSON.stringify(values.bulkSignals) : null,
    values.parseProblems.length > 0 ? JSON.stringify(values.parseProblems) : null,
    values.contentLevel,
    values.bodyDigest,
    values.withheld,
    values.withheld === null ? null : 'sharing',
    values.senderAuth,
  ];
}

const COLUMNS =
  'gmail_thread_id, thread_id, message_key, rfc_message_id, in_reply_to, references_ids, subject, from_address, from_name, ' +
  'to_json, cc_json, bcc_json, reply_to_json, date_header, sent_ms, internal_date_ms, direction, label_ids, snippet, body_text, ' +
  'size_estimate, gmail_history_id, is_bulk, bulk_signals, parse_problems, content_level, body_digest, withheld, withheld_reason, sender_auth';

export function insertEmail(db: Db, values: EmailValues): number {
  const placeholders = COLUMNS.split(',').map(() => '?').join(', ');
  const info = statement(db, `INSERT INTO emails (account_id, gmail_id, ${COLUMNS}) VALUES (?, ?, ${placeholders})`)
    .run(values.accountId, values.gmailId, ...params(values));
  return Number(info.lastInsertRowid);
}

/** Rewrites every column of an existing copy (a metadata row upgraded to full, or a refetch). */
export function updateEmail(db: Db, id: number, values: EmailValues): void {
  const assignments = COLUMNS.split(',').map((column) => `${column.trim()} = ?`).join(', ');
  statement(db, `UPDATE emails SET ${assignments}, deleted_at = NULL WHERE id = ?`).run(...params(values), id);
}

export function getEmail(db: Db, id: number): EmailRow | undefined {
  return statement(db, 'SELECT * FROM emails WHERE id = ?').get(id) as EmailRow | undefined;
}

export function findEmailByGmailId(db: Db, accountId: number, gmailId: string): EmailRow | undefined {
  return statement(db, 'SELECT * FROM emails WHERE account_id = ? AND gmail_id = ?').get(accountId, gmailId) as EmailRow | undefined;
}

/**
 * Flags every copy of a logical message when its live copies do not all carry the same body (a
 * list footer, an altered resend under the same Message-ID), and clears the flag when they do.
 */
export function flagDifferingCopies(db: Db, messageKey: string): void {
  statement(
    db,
    `UPDATE emails SET copies_differ =
       (SELECT count(DISTINCT body_digest) > 1 FROM emails WHERE message_key = @key AND deleted_at IS NULL AND body_digest IS NOT NULL)
      WHERE message_key = @key`,
  ).run({ key: messageKey });
}

/**
 * A logical message the firm sent is 'sent' in every mailbox: once one copy is known sent (the
 * sender's own, SENT-labelled), its colleagues' copies of it, judged 'received' from their own
 * labels, are corrected.
 */
export function settleSentDirection(db: Db, messageKey: string): void {
  statement(
    db,
    `UPDATE emails SET direction = 'sent'
      WHERE message_key = @key AND direction = 'received'
        AND EXISTS (SELECT 1 FROM emails s WHERE s.message_key = @key AND s.deleted_at IS NULL AND s.direction = 'sent')`,
  ).run({ key: messageKey });
}

/** Copies of one logical message across mailboxes. */
export function emailsByMessageKey(db: Db, messageKey: string): EmailRow[] {
  return statement(db, 'SELECT * FROM emails WHERE message_key = ? ORDER BY id').all(messageKey) as EmailRow[];
}

/** Which of these Gmail ids the account already has (deleted ones included). */
export function storedGmailIds(db: Db, accountId: number, ids: readonly string[]): Set<string> {
  const found = new Set<string>();
  const chunk = 500;
  for (let i = 0; i < ids.length; i += chunk) {
    const slice = ids.slice(i, i + chunk);
    const rows = statement(db, `SELECT gmail_id FROM emails WHERE account_id = ? AND gmail_id IN (${slice.map(() => '?').join(', ')})`)
      .all(accountId, ...slice) as Array<{ gmail_id: string }>;
    for (const row of rows) found.add(row.gmail_id);
  }
  return found;
}

/** Marks a copy deleted in Gmail (kept for the record); returns whether a row changed. */
export function markDeleted(db: Db, accountId: number, gmailId: string): boolean {
  return statement(db, 'UPDATE emails SET deleted_at = ? WHERE account_id = ? AND gmail_id = ? AND deleted_at IS NULL').run(nowIso(), accountId, gmailId).changes > 0;
}

/** Replaces a copy's labels; returns whether a row changed. */
export function setLabels(db: Db, accountId: number, gmailId: string, labels: readonly string[]): boolean {
  return statement(db, 'UPDATE emails SET label_ids = ? WHERE account_id = ? AND gmail_id = ?').run(JSON.stringify(labels), accountId, gmailId).changes > 0;
}

export function replaceParticipants(
  db: Db,
  emailId: number,
  participants: { from: Address | null; to: readonly Address[]; cc: readonly Address[]; bcc: readonly Address[]; replyTo: readonly Address[] },
): void {
  statement(db, 'DELETE FROM email_participants WHERE email_id = ?').run(emailId);
  const insert = statement(db, 'INSERT OR IGNORE INTO email_participants (email_id, role, address, name) VALUES (?, ?, ?, ?)');
  const roles: Array<[string, readonly Address[]]> = [
    ['from', participants.from ? [participants.from] : []],
    ['to', participants.to],
    ['cc', participants.cc],
    ['bcc', participants.bcc],
    ['reply_to', participants.replyTo],
  ];
  for (const [role, list] of roles) for (const a of list) insert.run(emailId, role, a.address, a.name ?? null);
}

/** Sets a copy's investor matches to exactly these. */
export function replaceMatches(db: Db, emailId: number, matches: readonly InvestorMatch[]): void {
  statement(db, 'DELETE FROM email_investor_matches WHERE email_id = ?').run(emailId);
  const insert = statement(db, 'INSERT OR IGNORE INTO email_investor_matches (email_id, investor_id, strategy, matched_address, matched_at) VALUES (?, ?, ?, ?, ?)');
  const now = nowIso();
  for (const m of matches) insert.run(emailId, m.investorId, m.strategy, m.address, now);
}

export function matchesOf(db: Db, emailId: number): InvestorMatch[] {
  return (
    statement(db, 'SELECT investor_id, strategy, matched_address FROM email_investor_matches WHERE email_id = ? ORDER BY investor_id').all(emailId) as Array<{
      investor_id: number;
      strategy: 'exact' | 'domain';
      matched_address: string;
    }>
  ).map((row) => ({ investorId: row.investor_id, strategy: row.strategy, address: row.matched_address }));
}

/** What rematch needs of a stored copy: its participants and mailbox. */
export interface RematchCandidate {
  emailId: number;
  accountId: number;
  accountEmail: string;
  from?: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address[];
}

function parseList(json: string | null): Address[] {
  if (!json) return [];
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? (value.filter((a) => a && typeof a.address === 'string') as Address[]) : [];
  } catch {
    return [];
  }
}

/** Condition on an emails row `e`: matched to the investor bound to its `?`. */
export const MATCHED_TO_INVESTOR = 'EXISTS (SELECT 1 FROM email_investor_matches m WHERE m.email_id = e.id AND m.investor_id = ?)';

/**
 * Stored copies to match again (all, or those now matched to one investor), newest first. Read in
 * pages of `pageSize`, so the caller may write (replaceMatches) between items and a large mailbox
 * never sits in memory. Deleted copies are skipped.
 */
export function* listEmailsForRematch(db: Db, options: { investorId?: number; accountId?: number; pageSize?: number } = {}): Generator<RematchCandidate> {
  const where: string[] = ['e.deleted_at IS NULL', 'e.id < ?'];
  const args: unknown[] = [];
  if (options.investorId !== undefined) {
    where.push(MATCHED_TO_INVESTOR);
    args.push(options.investorId);
  }
  if (options.accountId !== undefined) {
    where.push('e.account_id = ?');
    args.push(options.accountId);
  }
  const page = statement(db, 
    `SELECT e.id, e.account_id, a.email AS account_email, e.from_address, e.from_name, e.to_json, e.cc_json, e.bcc_json, e.reply_to_json
     FROM emails e JOIN email_accounts a ON a.id = e.account_id WHERE ${where.join(' AND ')} ORDER BY e.id DESC LIMIT ?`,
  );
  let before = Number.MAX_SAFE_INTEGER;
  for (;;) {
    const rows = page.all(before, ...args, options.pageSize ?? 500) as Array<
      Pick<EmailRow, 'id' | 'account_id' | 'from_address' | 'from_name' | 'to_json' | 'cc_json' | 'bcc_json' | 'reply_to_json'> & { account_email: string }
    >;
    if (rows.length === 0) return;
    for (const row of rows) {
      const candidate: RematchCandidate = {
        emailId: row.id,
        accountId: row.account_id,
        accountEmail: row.account_email,
        to: parseList(row.to_json),
        cc: parseList(row.cc_json),
        bcc: parseList(row.bcc_json),
        replyTo: parseList(row.reply_to_json),
      };
      if (row.from_address) candidate.from = row.from_name ? { address: row.from_address, name: row.from_name } : { address: row.from_address };
      yield candidate;
    }
    before = rows[rows.length - 1]!.id;
  }
}

export interface AccountCounts {
  accountId: number;
  emails: number;
  matched: number;
  deleted: number;
  metadataOnly: number;
}

/** Per-account totals: copies stored, copies matched to an investor, deleted, headers-only. */
export function countByAccount(db: Db, accountId?: number): AccountCounts[] {
  const rows = statement(db, 
      `SELECT e.account_id AS accountId, count(*) AS emails,
              sum(CASE WHEN EXISTS (SELECT 1 FROM email_investor_matches m WHERE m.email_id = e.id) THEN 1 ELSE 0 END) AS matched,
              sum(CASE WHEN e.deleted_at IS NOT NULL THEN 1 ELSE 0 END) AS deleted,
              sum(CASE WHEN e.content_level = 'metadata' THEN 1 ELSE 0 END) AS metadataOnly
       FROM emails e ${accountId === undefined ? '' : 'WHERE e.account_id = ?'} GROUP BY e.account_id ORDER BY e.account_id`,
    )
    .all(...(accountId === undefined ? [] : [accountId])) as AccountCounts[];
  return rows;
}
