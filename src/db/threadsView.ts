/**
 * Read queries behind `crm-mail threads` and `crm-mail thread <id>`: conversations as the partners
 * see them. A thread absorbed by another (merged_into) is shown as part of the one that absorbed
 * it, and the copies of one logical message in several mailboxes count once.
 */
import type { Db } from './open.js';
import { getThread as getThreadRow, liveThreadId } from './threads.js';

/** Every thread mapped to the thread that finally absorbed it (itself when never merged). */
export const THREAD_ROOTS_CTE = `
  WITH RECURSIVE roots(id, root) AS (
    SELECT id, id FROM email_threads WHERE merged_into IS NULL
    UNION ALL
    SELECT t.id, r.root FROM email_threads t JOIN roots r ON t.merged_into = r.id
  )`;

export interface InvestorRef {
  id: number;
  name: string;
}

/** `--investor NAME|ID`: an id, else the exact name (any case), else every name containing it. */
export function findInvestors(db: Db, term: string): InvestorRef[] {
  const trimmed = term.trim();
  if (/^\d+$/.test(trimmed)) {
    return db.prepare('SELECT id, name FROM investors WHERE id = ?').all(Number(trimmed)) as InvestorRef[];
  }
  const exact = db.prepare('SELECT id, name FROM investors WHERE lower(name) = lower(?) ORDER BY id').all(trimmed) as InvestorRef[];
  if (exact.length > 0) return exact;
  const pattern = `%${trimmed.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  return db.prepare("SELECT id, name FROM investors WHERE name LIKE ? ESCAPE '\\' ORDER BY name, id").all(pattern) as InvestorRef[];
}

export interface ThreadFilter {
  /** Only threads that involve one of these investors. */
  investorIds?: readonly number[];
  /** Only threads with a message at or after this time (epoch ms, Gmail internalDate). */
  sinceMs?: number;
  /** Include threads matched to no investor (with CRM_GMAIL_CAPTURE=all they exist). */
  includeUnmatched?: boolean;
  limit?: number;
}

export interface Person {
  address: string;
  name: string | null;
}

export interface ThreadSummary {
  id: number;
  subject: string | null;
  messages: number;
  firstMessageMs: number;
  lastMessageMs: number;
  /** Every message is bulk mail (a newsletter, an automated notice). */
  bulk: boolean;
  /** No subject is shown because every copy that had one is held back by its mailbox's sharing level. */
  subjectWithheld: boolean;
  investors: InvestorRef[];
  /** The firm's people whose mailboxes hold a copy. */
  partners: Person[];
  /** Everyone else on the conversation (senders and recipients outside the enrolled mailboxes). */
  participants: Person[];
}

interface SummaryRow {
  id: number;
  messages: number;
  first_ms: number;
  last_ms: number;
  all_bulk: number;
}

export function countThreads(db: Db, filter: ThreadFilter): number {
  const { where, params } = filterSql(filter);
  const row = db
    .prepare(
      `${THREAD_ROOTS_CTE}
       SELECT count(*) AS n FROM (
         SELECT r.root FROM emails e JOIN roots r ON r.id = e.thread_id
           LEFT JOIN email_investor_matches m ON m.email_id = e.id
          GROUP BY r.root ${where})`,
    )
    .get(params) as { n: number };
  return row.n;
}

/** Conversations, most recent activity first. */
export function listThreads(db: Db, filter: ThreadFilter): ThreadSummary[] {
  const { where, params } = filterSql(filter);
  const rows = db
    .prepare(
      `${THREAD_ROOTS_CTE}
       SELECT r.root AS id,
              count(DISTINCT e.message_key) AS messages,
              min(e.internal_date_ms) AS first_ms,
              max(e.internal_date_ms) AS last_ms,
              min(e.is_bulk) AS all_bulk
         FROM emails e JOIN roots r ON r.id = e.thread_id
         LEFT JOIN email_investor_matches m ON m.email_id = e.id
        GROUP BY r.root
        ${where}
        ORDER BY last_ms DESC, r.root DESC
        LIMIT @limit`,
    )
    .all({ ...params, limit: filter.limit ?? -1 }) as SummaryRow[];
  const ids = JSON.stringify(rows.map((row) => row.id));
  // The thread's own subject, else its first message's (a thread row may have none).
  const subjects = new Map(
    (
      db
        .prepare(
          `${THREAD_ROOTS_CTE}
           SELECT j.value AS thread,
                  coalesce(t.subject, (SELECT e.subject FROM emails e JOIN roots r ON r.id = e.thread_id
                                        WHERE r.root = j.value ORDER BY e.internal_date_ms, e.id LIMIT 1)) AS subject,
                  EXISTS (SELECT 1 FROM emails e JOIN roots r ON r.id = e.thread_id WHERE r.root = j.value AND e.withheld = 'subject') AS withheld
             FROM json_each(?) j JOIN email_threads t ON t.id = j.value`,
        )
        .all(ids) as Array<{ thread: number; subject: string | null; withheld: number }>
    ).map((row) => [row.thread, row]),
  );
  const investors = groupByThread(
    db
      .prepare(
        `${THREAD_ROOTS_CTE}
         SELECT DISTINCT r.root AS thread, i.id, i.name
           FROM emails e JOIN roots r ON r.id = e.thread_id
           JOIN json_each(?) j ON j.value = r.root
           JOIN email_investor_matches m ON m.email_id = e.id
           JOIN investors i ON i.id = m.investor_id
          ORDER BY i.name, i.id`,
      )
      .all(ids) as Array<InvestorRef & { thread: number }>,
    (row) => ({ id: row.id, name: row.name }),
  );
  const partners = groupByThread(
    db
      .prepare(
        `${THREAD_ROOTS_CTE}
         SELECT r.root AS thread, a.email AS address, u.name AS name
           FROM emails e JOIN roots r ON r.id = e.thread_id
           JOIN json_each(?) j ON j.value = r.root
           JOIN email_accounts a ON a.id = e.account_id
           LEFT JOIN users u ON u.id = a.user_id
          GROUP BY r.root, a.id
          ORDER BY a.email`,
      )
      .all(ids) as Array<Person & { thread: number }>,
    (row) => ({ address: row.address, name: row.name }),
  );
  const participants = groupByThread(
    db
      .prepare(
        `${THREAD_ROOTS_CTE}
         SELECT r.root AS thread, p.address AS address, max(p.name) AS name
           FROM emails e JOIN roots r ON r.id = e.thread_id
           JOIN json_each(?) j ON j.value = r.root
           JOIN email_participants p ON p.email_id = e.id
          WHERE p.address NOT IN (SELECT email FROM email_accounts)
          GROUP BY r.root, p.address
          ORDER BY min(e.internal_date_ms), p.address`,
      )
      .all(ids) as Array<Person & { thread: number }>,
    (row) => ({ address: row.address, name: row.name }),
  );
  return rows.map((row) => ({
    id: row.id,
    subject: subjects.get(row.id)?.subject ?? null,
    subjectWithheld: (subjects.get(row.id)?.subject ?? null) === null && subjects.get(row.id)?.withheld === 1,
    messages: row.messages,
    firstMessageMs: row.first_ms,
    lastMessageMs: row.last_ms,
    bulk: row.all_bulk === 1,
    investors: investors.get(row.id) ?? [],
    partners: partners.get(row.id) ?? [],
    participants: participants.get(row.id) ?? [],
  }));
}

/** HAVING clauses over one root's rows (emails left-joined to their matches). */
function filterSql(filter: ThreadFilter): { where: string; params: Record<string, unknown> } {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.investorIds !== undefined) {
    conditions.push('sum(m.investor_id IN (SELECT value FROM json_each(@investors))) > 0');
    params.investors = JSON.stringify(filter.investorIds);
  } else if (!filter.includeUnmatched) {
    conditions.push('count(m.investor_id) > 0');
  }
  if (filter.sinceMs !== undefined) {
    conditions.push('max(e.internal_date_ms) >= @since');
    params.since = filter.sinceMs;
  }
  return { where: conditions.length > 0 ? `HAVING ${conditions.join(' AND ')}` : '', params };
}

function groupByThread<Row extends { thread: number }, Value>(rows: Row[], pick: (row: Row) => Value): Map<number, Value[]> {
  const map = new Map<number, Value[]>();
  for (const row of rows) {
    const list = map.get(row.thread) ?? [];
    list.push(pick(row));
    map.set(row.thread, list);
  }
  return map;
}

/** The thread that absorbed `id` (itself when never merged); undefined when no such thread. */
export function resolveThread(db: Db, id: number): number | undefined {
  const live = liveThreadId(db, id);
  // liveThreadId stops at a missing row or after its hop limit; only a real unmerged thread counts.
  const row = getThreadRow(db, live);
  return row && row.merged_into === null ? live : undefined;
}

export interface ThreadMessageCopy {
  emailId: number;
  account: string;
  accountName: string | null;
  messageKey: string;
  rfcMessageId: string | null;
  subject: string | null;
  fromAddress: string | null;
  fromName: string | null;
  toJson: string | null;
  ccJson: string | null;
  dateHeader: string | null;
  internalDateMs: number;
  direction: string | null;
  bodyText: string | null;
  contentLevel: 'metadata' | 'full';
  /** What the mailbox's sharing level or the retention period held back ('body' or 'subject'), else null. */
  withheld: 'body' | 'subject' | null;
  withheldReason: 'sharing' | 'retention' | null;
  isBulk: number;
  deletedAt: string | null;
  parseProblems: string | null;
}

export interface ThreadAttachment {
  emailId: number;
  partId: string;
  filename: string | null;
  contentType: string | null;
  size: number | null;
  isInline: number;
  sha256: string | null;
  storagePath: string | null;
  status: string;
}

export interface ThreadDetail {
  id: number;
  subject: string | null;
  /** Every mailbox copy, oldest first. */
  copies: ThreadMessageCopy[];
  attachments: ThreadAttachment[];
  /** Investors matched, per mailbox copy. */
  matches: Array<{ emailId: number; investorId: number; name: string; strategy: string; matchedAddress: string }>;
}

/** One conversation with every mailbox copy of every message in it (the caller folds copies). */
export function getThread(db: Db, rootId: number): ThreadDetail | undefined {
  const thread = db.prepare('SELECT id, subject FROM email_threads WHERE id = ?').get(rootId) as { id: number; subject: string | null } | undefined;
  if (!thread) return undefined;
  // The root and every thread merged into it, directly or through another merged thread.
  const inThread = `WITH RECURSIVE members(id) AS (
      SELECT @root UNION SELECT t.id FROM email_threads t JOIN members m ON t.merged_into = m.id)`;
  const copies = db
    .prepare(
      `${inThread}
       SELECT e.id AS emailId, a.email AS account, u.name AS accountName, e.message_key AS messageKey,
              e.rfc_message_id AS rfcMessageId, e.subject, e.from_address AS fromAddress, e.from_name AS fromName,
              e.to_json AS toJson, e.cc_json AS ccJson, e.date_header AS dateHeader,
              e.internal_date_ms AS internalDateMs, e.direction, e.body_text AS bodyText,
              e.content_level AS contentLevel, e.withheld, e.withheld_reason AS withheldReason, e.is_bulk AS isBulk, e.deleted_at AS deletedAt,
              e.parse_problems AS parseProblems
         FROM emails e
         JOIN email_accounts a ON a.id = e.account_id
         LEFT JOIN users u ON u.id = a.user_id
        WHERE e.thread_id IN (SELECT id FROM members)
        ORDER BY e.internal_date_ms, e.id`,
    )
    .all({ root: rootId }) as ThreadMessageCopy[];
  const attachments = db
    .prepare(
      `${inThread}
       SELECT t.email_id AS emailId, t.part_id AS partId, t.filename, t.content_type AS contentType, t.size,
              t.is_inline AS isInline, t.sha256, t.storage_path AS storagePath, t.status
         FROM email_attachments t JOIN emails e ON e.id = t.email_id
        WHERE e.thread_id IN (SELECT id FROM members)
        ORDER BY t.email_id, t.part_id`,
    )
    .all({ root: rootId }) as ThreadAttachment[];
  const matches = db
    .prepare(
      `${inThread}
       SELECT m.email_id AS emailId, m.investor_id AS investorId, i.name, m.strategy, m.matched_address AS matchedAddress
         FROM email_investor_matches m JOIN emails e ON e.id = m.email_id JOIN investors i ON i.id = m.investor_id
        WHERE e.thread_id IN (SELECT id FROM members)
        ORDER BY i.name`,
    )
    .all({ root: rootId }) as ThreadDetail['matches'];
  return { id: thread.id, subject: thread.subject, copies, attachments, matches };
}

/** The conversation a message (by RFC Message-ID, angle brackets or not) ended up in. */
export function threadOfMessage(db: Db, messageId: string): number | undefined {
  const bare = messageId.trim().replace(/^<|>$/g, '');
  const row = db
    .prepare('SELECT thread_id AS id FROM emails WHERE (rfc_message_id = ? OR rfc_message_id = ? OR message_key = ? OR message_key = ?) AND thread_id IS NOT NULL ORDER BY id LIMIT 1')
    .get(bare, `<${bare}>`, bare, `<${bare}>`) as { id: number } | undefined;
  return row === undefined ? undefined : resolveThread(db, row.id);
}

export interface InvestorActivity {
  id: number;
  name: string;
  conversations: number;
  messages: number;
  partners: Person[];
  lastMessageMs: number;
}

/** `threads --by-investor`: per investor with captured mail, how many conversations and messages, and who at the firm was involved. */
export function listInvestorActivity(db: Db, filter: Pick<ThreadFilter, 'investorIds' | 'sinceMs'>): InvestorActivity[] {
  const params: Record<string, unknown> = { investors: JSON.stringify(filter.investorIds ?? null), since: filter.sinceMs ?? null };
  const rows = db
    .prepare(
      `${THREAD_ROOTS_CTE}
       SELECT i.id, i.name, count(DISTINCT r.root) AS conversations, count(DISTINCT e.message_key) AS messages, max(e.internal_date_ms) AS last_ms
         FROM email_investor_matches m
         JOIN investors i ON i.id = m.investor_id
         JOIN emails e ON e.id = m.email_id
         JOIN roots r ON r.id = e.thread_id
        WHERE (@investors = 'null' OR i.id IN (SELECT value FROM json_each(@investors)))
        GROUP BY i.id
       HAVING @since IS NULL OR max(e.internal_date_ms) >= @since
        ORDER BY last_ms DESC, i.name`,
    )
    .all(params) as Array<{ id: number; name: string; conversations: number; messages: number; last_ms: number }>;
  const partners = db
    .prepare(
      `SELECT DISTINCT m.investor_id AS investor, a.email AS address, u.name AS name
         FROM email_investor_matches m JOIN emails e ON e.id = m.email_id
         JOIN email_accounts a ON a.id = e.account_id LEFT JOIN users u ON u.id = a.user_id
        ORDER BY a.email`,
    )
    .all() as Array<Person & { investor: number }>;
  const byInvestor = new Map<number, Person[]>();
  for (const row of partners) byInvestor.set(row.investor, [...(byInvestor.get(row.investor) ?? []), { address: row.address, name: row.name }]);
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    conversations: row.conversations,
    messages: row.messages,
    partners: byInvestor.get(row.id) ?? [],
    lastMessageMs: row.last_ms,
  }));
}
