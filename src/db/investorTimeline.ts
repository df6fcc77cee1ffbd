/**
 * Reads behind `crm-mail investor <id|name>`: one investor's conversations, approved notes and
 * pending proposals. Threads count as in the activity view (migration 0008): bulk and internal-only
 * copies are left out, merged threads are one, and a message's mailbox copies are one message.
 */
import type { Db } from './open.js';

/**
 * The root of each of the investor's threads, walked up from those threads only: the firm-wide
 * roots CTE of threadsView visits every thread in the file, which on a large store costs more than
 * the whole timeline. The depth guard keeps a (corrupt) merge cycle from looping forever.
 */
const INVESTOR_ROOTS = `
  WITH RECURSIVE
    mine AS MATERIALIZED (
      SELECT DISTINCT e.thread_id AS id
        FROM email_investor_matches m JOIN emails e ON e.id = m.email_id
       WHERE m.investor_id = @investor AND e.thread_id IS NOT NULL
    ),
    up(start, cur, next, depth) AS (
      SELECT t.id, t.id, t.merged_into, 0 FROM email_threads t JOIN mine ON mine.id = t.id
      UNION ALL
      SELECT up.start, t.id, t.merged_into, up.depth + 1 FROM up JOIN email_threads t ON t.id = up.next WHERE up.depth < 1000
    ),
    roots(id, root) AS (SELECT start, cur FROM up WHERE next IS NULL)`;

export interface TimelinePerson {
  address: string;
  name: string | null;
}

export interface TimelineThread {
  threadId: number | null;
  subject: string | null;
  firstMs: number;
  lastMs: number;
  messages: number;
  inbound: number;
  outbound: number;
  attachments: number;
  /** The firm's people whose mailboxes hold the conversation. */
  partners: TimelinePerson[];
  /** The investor's people on it: the addresses that matched the investor. */
  people: TimelinePerson[];
}

export interface TimelineProposal {
  id: number;
  status: 'approved' | 'pending';
  messageDateMs: number | null;
  createdAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  note: string;
}

interface ThreadRow {
  thread: number;
  first_ms: number;
  last_ms: number;
  messages: number;
  inbound: number;
  outbound: number;
}

/** The investor's conversations, oldest activity first. */
export function investorThreads(db: Db, investorId: number): TimelineThread[] {
  const base = `${INVESTOR_ROOTS},
    copies AS MATERIALIZED (
      SELECT e.id, e.message_key, e.direction, e.internal_date_ms AS ms, e.account_id, m.matched_address,
             coalesce(r.root, -e.id) AS thread
        FROM email_investor_matches m JOIN emails e ON e.id = m.email_id
        LEFT JOIN roots r ON r.id = e.thread_id
       WHERE m.investor_id = @investor AND e.is_bulk = 0 AND e.direction IN ('sent', 'received')
    )`;
  const rows = db
    .prepare(
      `${base}
       SELECT thread, min(ms) AS first_ms, max(ms) AS last_ms, count(DISTINCT message_key) AS messages,
              count(DISTINCT CASE WHEN direction = 'received' THEN message_key END) AS inbound,
              count(DISTINCT CASE WHEN direction = 'sent' THEN message_key END) AS outbound
         FROM copies GROUP BY thread ORDER BY last_ms, thread`,
    )
    .all({ investor: investorId }) as ThreadRow[];
  const subjects = new Map(
    (
      db
        .prepare(
          `${base}
           SELECT c.thread, coalesce(t.subject, (SELECT e.subject FROM copies c2 JOIN emails e ON e.id = c2.id WHERE c2.thread = c.thread ORDER BY c2.ms, c2.id LIMIT 1)) AS subject
             FROM (SELECT DISTINCT thread FROM copies) c LEFT JOIN email_threads t ON t.id = c.thread`,
        )
        .all({ investor: investorId }) as Array<{ thread: number; subject: string | null }>
    ).map((row) => [row.thread, row.subject]),
  );
  const attachments = new Map(
    (
      db
        .prepare(
          `${base}
           SELECT c.thread, count(DISTINCT coalesce(a.sha256, c.message_key || '/' || a.part_id)) AS n
             FROM copies c JOIN email_attachments a ON a.email_id = c.id
            WHERE a.is_inline = 0 GROUP BY c.thread`,
        )
        .all({ investor: investorId }) as Array<{ thread: number; n: number }>
    ).map((row) => [row.thread, row.n]),
  );
  const partners = groupBy(
    db
      .prepare(
        `${base}
         SELECT DISTINCT c.thread, acc.email AS address, u.name
           FROM copies c JOIN email_accounts acc ON acc.id = c.account_id LEFT JOIN users u ON u.id = acc.user_id
          ORDER BY acc.email`,
      )
      .all({ investor: investorId }) as Array<TimelinePerson & { thread: number }>,
  );
  const people = groupBy(
    db
      .prepare(
        `${base}
         SELECT c.thread, c.matched_address AS address,
                (SELECT p.name FROM email_participants p WHERE p.address = c.matched_address AND p.name IS NOT NULL AND p.name <> '' LIMIT 1) AS name
           FROM copies c GROUP BY c.thread, c.matched_address ORDER BY c.matched_address`,
      )
      .all({ investor: investorId }) as Array<TimelinePerson & { thread: number }>,
  );
  return rows.map((row) => ({
    threadId: row.thread > 0 ? row.thread : null,
    subject: subjects.get(row.thread) ?? null,
    firstMs: row.first_ms,
    lastMs: row.last_ms,
    messages: row.messages,
    inbound: row.inbound,
    outbound: row.outbound,
    attachments: attachments.get(row.thread) ?? 0,
    partners: partners.get(row.thread) ?? [],
    people: people.get(row.thread) ?? [],
  }));
}

function groupBy(rows: Array<TimelinePerson & { thread: number }>): Map<number, TimelinePerson[]> {
  const result = new Map<number, TimelinePerson[]>();
  for (const row of rows) {
    const list = result.get(row.thread) ?? [];
    list.push({ address: row.address, name: row.name });
    result.set(row.thread, list);
  }
  return result;
}

/** Approved notes and pending proposals of the investor (dismissed ones are not part of its story). */
export function investorProposals(db: Db, investorId: number): TimelineProposal[] {
  return db
    .prepare(
      `SELECT p.id, p.status, p.message_date_ms AS messageDateMs, p.created_at AS createdAt, p.decided_at AS decidedAt,
              coalesce(u.name, u.email) AS decidedBy,
              CASE WHEN p.status = 'approved' THEN coalesce(p.final_note, p.edited_note, p.drafted_note) ELSE coalesce(p.edited_note, p.drafted_note) END AS note
         FROM email_activity_proposals p LEFT JOIN users u ON u.id = p.decided_by
        WHERE p.investor_id = ? AND p.status IN ('approved', 'pending')
        ORDER BY coalesce(p.message_date_ms, 0), p.id`,
    )
    .all(investorId) as TimelineProposal[];
}
