/**
 * email_activity_proposals and the reads behind them: which logical messages still need a
 * proposal, the mailbox copy to draft from, the queue a reviewer works through, and the
 * once-only decision. Uniqueness of (message_key, investor_id) is the schema's job: inserts use
 * ON CONFLICT DO NOTHING, decisions use `WHERE status = 'pending'`, never check-then-write.
 */
import type { Db } from './open.js';

/** 'withdrawn': the mail it was drafted from was purged (an exclusion, a lowered sharing level); kept for audit. */
export type ProposalStatus = 'pending' | 'approved' | 'dismissed' | 'withdrawn';
export type MessageDirection = 'sent' | 'received' | 'internal';

// A logical message (message_key) matched to an investor is a candidate when some live copy that is
// not bulk mail is dated at or after the cutoff and went between the firm and the outside
// (sent/received), no live copy is dated before the cutoff, and the pair has no proposal yet. Bulk
// is a property of a copy, not of the message: a mailing-list copy of an investor's own mail must
// not hide the person-to-person copy beside it.
const ELIGIBLE = `
  SELECT e.message_key AS messageKey, m.investor_id AS investorId, MIN(e.internal_date_ms) AS dateMs
    FROM emails e
    JOIN email_investor_matches m ON m.email_id = e.id
   WHERE e.deleted_at IS NULL
     AND e.internal_date_ms >= @cutoffMs
     AND e.direction IN ('sent', 'received')
     AND e.is_bulk = 0
   GROUP BY e.message_key, m.investor_id
  HAVING NOT EXISTS (
           SELECT 1 FROM emails b
            WHERE b.message_key = e.message_key
              AND b.deleted_at IS NULL AND b.internal_date_ms < @cutoffMs)
     AND NOT EXISTS (
           SELECT 1 FROM email_activity_proposals p
            WHERE p.message_key = e.message_key AND p.investor_id = m.investor_id)`;

export interface CandidateKey {
  messageKey: string;
  investorId: number;
  dateMs: number;
}

/** The oldest `limit` candidates after the cutoff. */
export function selectCandidates(db: Db, cutoffMs: number, limit: number): CandidateKey[] {
  return db.prepare(`${ELIGIBLE} ORDER BY dateMs, messageKey, investorId LIMIT @limit`).all({ cutoffMs, limit }) as CandidateKey[];
}

export function countCandidates(db: Db, cutoffMs: number): number {
  return (db.prepare(`SELECT count(*) AS n FROM (${ELIGIBLE})`).get({ cutoffMs }) as { n: number }).n;
}

/** One row of loadSourceEmail's query. */
interface SourceRow {
  emailId: number;
  messageKey: string;
  rfcMessageId: string | null;
  subject: string | null;
  fromAddress: string | null;
  fromName: string | null;
  toJson: string | null;
  ccJson: string | null;
  direction: MessageDirection | null;
  internalDateMs: number;
  bodyText: string | null;
  snippet: string | null;
  /** What the copy's mailbox sharing level (or retention) held back; null when nothing. */
  withheld: 'body' | 'subject' | null;
  investorId: number;
  investorName: string;
  /** The investor's email cell as the CRM holds it (`"Ann Lee" <ann@x.com>; ops@x.com`): the contacts' names. */
  investorEmailCell: string | null;
}

/** The mailbox copy a note is drafted from, with what the line needs. */
export interface SourceEmail extends SourceRow {
  /** The investor's addresses that matched, across every live copy. */
  matchedAddresses: string[];
  /** Names of the users whose mailboxes hold a live copy (used when no partner is a participant). */
  mailboxOwners: string[];
}

/** The best live copy of a logical message for an investor: full content first, then one with its subject, then the earliest. */
export function loadSourceEmail(db: Db, messageKey: string, investorId: number): SourceEmail | undefined {
  const row = db
    .prepare(
      `SELECT e.id AS emailId, e.message_key AS messageKey, e.rfc_message_id AS rfcMessageId, e.subject,
              e.from_address AS fromAddress, e.from_name AS fromName, e.to_json AS toJson, e.cc_json AS ccJson,
              e.direction, e.internal_date_ms AS internalDateMs, e.body_text AS bodyText, e.snippet, e.withheld,
              i.id AS investorId, i.name AS investorName, i.email AS investorEmailCell
         FROM emails e
         JOIN email_investor_matches m ON m.email_id = e.id AND m.investor_id = @investorId
         JOIN investors i ON i.id = m.investor_id
        WHERE e.message_key = @messageKey AND e.deleted_at IS NULL
        ORDER BY e.is_bulk, (e.content_level = 'full') DESC, (e.body_text IS NOT NULL) DESC, (e.subject IS NOT NULL) DESC, e.internal_date_ms, e.id
        LIMIT 1`,
    )
    .get({ messageKey, investorId }) as SourceRow | undefined;
  if (!row) return undefined;
  const matchedAddresses = (
    db
      .prepare(
        `SELECT DISTINCT lower(m.matched_address) AS address
           FROM email_investor_matches m JOIN emails e ON e.id = m.email_id
          WHERE e.message_key = ? AND m.investor_id = ? AND e.deleted_at IS NULL
          ORDER BY address`,
      )
      .all(messageKey, investorId) as Array<{ address: string }>
  ).map((item) => item.address);
  const mailboxOwners = (
    db
      .prepare(
        `SELECT DISTINCT coalesce(u.name, u.email) AS name
           FROM emails e JOIN email_accounts a ON a.id = e.account_id JOIN users u ON u.id = a.user_id
          WHERE e.message_key = ? AND e.deleted_at IS NULL
          ORDER BY e.id`,
      )
      .all(messageKey) as Array<{ name: string }>
  ).map((item) => item.name);
  return { ...row, matchedAddresses, mailboxOwners };
}

export interface CrmUser {
  id: number;
  email: string;
  name: string | null;
  isActive: boolean;
}

export function findUserByEmail(db: Db, email: string): CrmUser | undefined {
  const row = db.prepare('SELECT id, email, name, is_active AS isActive FROM users WHERE lower(email) = lower(?)').get(email.trim()) as
    | { id: number; email: string; name: string | null; isActive: number }
    | undefined;
  return row && { ...row, isActive: row.isActive === 1 };
}

/** CRM users among a list of addresses (the firm's partners on a message), keyed by lower-case address. */
export function usersByAddress(db: Db, addresses: string[]): Map<string, CrmUser> {
  const result = new Map<string, CrmUser>();
  const lookup = db.prepare('SELECT id, email, name, is_active AS isActive FROM users WHERE lower(email) = ?');
  for (const address of new Set(addresses.map((item) => item.toLowerCase()))) {
    const row = lookup.get(address) as { id: number; email: string; name: string | null; isActive: number } | undefined;
    if (row) result.set(address, { ...row, isActive: row.isActive === 1 });
  }
  return result;
}

export interface NewProposal {
  messageKey: string;
  emailId: number;
  investorId: number;
  direction: MessageDirection;
  messageDateMs: number;
  draftedNote: string;
  drafter: string;
  model: string | null;
  tokensIn: number | null;
  tokensOut: number | null;
  createdAt: string;
}

const INSERT_PROPOSAL = `
  INSERT INTO email_activity_proposals
    (message_key, email_id, investor_id, direction, message_date_ms, drafted_note, drafter, model, tokens_in, tokens_out, created_at)
  VALUES (@messageKey, @emailId, @investorId, @direction, @messageDateMs, @draftedNote, @drafter, @model, @tokensIn, @tokensOut, @createdAt)
  ON CONFLICT (message_key, investor_id) DO NOTHING`;

/**
 * Inserts several in one transaction (one disk sync instead of one per row); for each, whether
 * this call created it (false: another run proposed the pair first).
 */
export function insertProposals(db: Db, list: readonly NewProposal[]): boolean[] {
  const insert = db.prepare(INSERT_PROPOSAL);
  return db.transaction(() => list.map((proposal) => insert.run(proposal).changes === 1)).immediate();
}

export interface Proposal {
  id: number;
  status: ProposalStatus;
  investorId: number;
  investorName: string;
  messageKey: string;
  emailId: number | null;
  rfcMessageId: string | null;
  subject: string | null;
  direction: MessageDirection | null;
  messageDateMs: number | null;
  draftedNote: string;
  editedNote: string | null;
  finalNote: string | null;
  drafter: string;
  model: string | null;
  tokensIn: number | null;
  tokensOut: number | null;
  createdAt: string;
  decidedBy: number | null;
  decidedByName: string | null;
  decidedByEmail: string | null;
  decidedAt: string | null;
  withdrawnReason: string | null;
  withdrawnAt: string | null;
  /** 1 when the mailbox copies of the message do not all read the same. */
  copiesDiffer: number;
  /** 1 when no copy's sender is vouched for (no SENT label, no DKIM/SPF pass for the From domain). */
  unverifiedSender: number;
}

const PROPOSAL_SELECT = `
  SELECT p.id, p.status, p.investor_id AS investorId, i.name AS investorName, p.message_key AS messageKey,
         p.email_id AS emailId, e.rfc_message_id AS rfcMessageId, e.subject, p.direction,
         p.message_date_ms AS messageDateMs, p.drafted_note AS draftedNote, p.edited_note AS editedNote,
         p.final_note AS finalNote, p.drafter, p.model, p.tokens_in AS tokensIn, p.tokens_out AS tokensOut,
         p.created_at AS createdAt, p.decided_by AS decidedBy, u.name AS decidedByName, u.email AS decidedByEmail,
         p.decided_at AS decidedAt, p.withdrawn_reason AS withdrawnReason, p.withdrawn_at AS withdrawnAt,
         EXISTS (SELECT 1 FROM emails c WHERE c.message_key = p.message_key AND c.copies_differ = 1) AS copiesDiffer,
         (EXISTS (SELECT 1 FROM emails c WHERE c.message_key = p.message_key AND c.sender_auth = 'none')
          AND NOT EXISTS (SELECT 1 FROM emails c WHERE c.message_key = p.message_key AND c.sender_auth IN ('sent', 'dkim', 'spf'))) AS unverifiedSender
    FROM email_activity_proposals p
    JOIN investors i ON i.id = p.investor_id
    LEFT JOIN emails e ON e.id = p.email_id
    LEFT JOIN users u ON u.id = p.decided_by`;

/** Proposals, oldest first (by message date, then creation), optionally of one status. */
export function listProposals(db: Db, options: { status?: ProposalStatus; limit?: number } = {}): Proposal[] {
  const where = options.status ? 'WHERE p.status = @status' : '';
  return db
    .prepare(`${PROPOSAL_SELECT} ${where} ORDER BY coalesce(p.message_date_ms, 0), p.created_at, p.id LIMIT @limit`)
    .all({ status: options.status ?? null, limit: options.limit ?? -1 }) as Proposal[];
}

export function getProposal(db: Db, id: number): Proposal | undefined {
  return db.prepare(`${PROPOSAL_SELECT} WHERE p.id = ?`).get(id) as Proposal | undefined;
}

export interface Decision {
  id: number;
  status: 'approved' | 'dismissed';
  userId: number;
  at: string;
  finalNote: string | null;
  editedNote: string | null;
}

/** Records a decision only if the proposal is still pending; false when someone decided first. */
export function decideProposal(db: Db, decision: Decision): boolean {
  return (
    db
      .prepare(
        `UPDATE email_activity_proposals
            SET status = @status, decided_by = @userId, decided_at = @at, final_note = @finalNote, edited_note = @editedNote
          WHERE id = @id AND status = 'pending'`,
      )
      .run(decision).changes === 1
  );
}

export interface StoredEmail {
  id: number;
  subject: string | null;
  fromAddress: string | null;
  fromName: string | null;
  toJson: string | null;
  ccJson: string | null;
  dateHeader: string | null;
  internalDateMs: number;
  direction: MessageDirection | null;
  bodyText: string | null;
  snippet: string | null;
  rfcMessageId: string | null;
}

/** The copy a proposal was drafted from, or any live copy of the same message if that one is gone. */
export function loadProposalEmail(db: Db, proposal: Pick<Proposal, 'emailId' | 'messageKey'>): StoredEmail | undefined {
  const columns = `id, subject, from_address AS fromAddress, from_name AS fromName, to_json AS toJson, cc_json AS ccJson,
                   date_header AS dateHeader, internal_date_ms AS internalDateMs, direction, body_text AS bodyText, snippet,
                   rfc_message_id AS rfcMessageId`;
  if (proposal.emailId !== null) {
    const row = db.prepare(`SELECT ${columns} FROM emails WHERE id = ?`).get(proposal.emailId) as StoredEmail | undefined;
    if (row) return row;
  }
  return db
    .prepare(`SELECT ${columns} FROM emails WHERE message_key = ? ORDER BY (deleted_at IS NULL) DESC, (body_text IS NOT NULL) DESC, id LIMIT 1`)
    .get(proposal.messageKey) as StoredEmail | undefined;
}
