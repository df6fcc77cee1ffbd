/**
 * Full-text search over the captured mail: the FTS5 table `email_search` (migration 0008), kept in
 * step with `emails` by triggers, over subjects, body text and participants' names and addresses.
 * One result per logical message (its mailbox copies fold into one), newest first.
 */
import type { Db } from './open.js';
import { UsageError } from '../errors.js';

/** Where snippet() marks a matched term; private-use characters no email text needs. */
export const HIT_START = '\uE000';
export const HIT_END = '\uE001';

/**
 * Turns what a person types into an FTS5 query that cannot be a syntax error: every word becomes a
 * quoted string (so "@", "-", ":" and the like are just separators inside it), "quoted phrases"
 * stay phrases, a trailing * keeps a prefix search, and a bare OR between two terms stays OR.
 * All other terms must all match.
 */
export function toMatchQuery(text: string): string {
  const terms: string[] = [];
  const pattern = /"([^"]*)"?|(\S+)/g;
  for (let found = pattern.exec(text); found !== null; found = pattern.exec(text)) {
    if (found[1] !== undefined) {
      const phrase = found[1].trim();
      if (phrase !== '' && /[\p{L}\p{N}]/u.test(phrase)) terms.push(`"${phrase}"`);
      continue;
    }
    const word = found[2]!;
    if (word === 'OR') {
      if (terms.length > 0 && terms[terms.length - 1] !== 'OR') terms.push('OR');
      continue;
    }
    const prefix = word.endsWith('*');
    const bare = word.replace(/\*+$/, '');
    if (!/[\p{L}\p{N}]/u.test(bare)) continue;
    terms.push(`"${bare.replace(/"/g, '')}"${prefix ? '*' : ''}`);
  }
  while (terms[terms.length - 1] === 'OR') terms.pop();
  if (terms.length === 0) throw new UsageError('the search needs at least one word or "quoted phrase" with letters or digits.');
  return terms.join(' ');
}

export interface SearchFilter {
  query: string;
  investorIds?: readonly number[];
  /** Only mail in this partner's mailbox. */
  partnerEmail?: string;
  sinceMs?: number;
  /** Exclusive. */
  untilMs?: number;
  /** Newsletters and other bulk mail are left out unless asked for. */
  includeBulk?: boolean;
  limit: number;
}

export interface SearchHit {
  messageKey: string;
  emailId: number;
  dateMs: number;
  subject: string | null;
  fromAddress: string | null;
  fromName: string | null;
  direction: string | null;
  isBulk: boolean;
  threadId: number | null;
  /** Matched terms between HIT_START and HIT_END; from the body when it matched, else the subject, else the people. */
  snippet: string;
  investors: Array<{ id: number; name: string }>;
  partners: Array<{ address: string; name: string | null }>;
}

function filterSql(filter: SearchFilter): { where: string; params: Record<string, unknown> } {
  const where = ['email_search MATCH @match'];
  const params: Record<string, unknown> = { match: toMatchQuery(filter.query) };
  if (!filter.includeBulk) where.push('e.is_bulk = 0');
  if (filter.investorIds !== undefined) {
    where.push('e.id IN (SELECT m.email_id FROM email_investor_matches m JOIN json_each(@investors) j ON j.value = m.investor_id)');
    params.investors = JSON.stringify(filter.investorIds);
  }
  if (filter.partnerEmail !== undefined) {
    where.push('e.account_id IN (SELECT id FROM email_accounts WHERE lower(email) = @partner)');
    params.partner = filter.partnerEmail.trim().toLowerCase();
  }
  if (filter.sinceMs !== undefined) {
    where.push('e.internal_date_ms >= @since');
    params.since = filter.sinceMs;
  }
  if (filter.untilMs !== undefined) {
    where.push('e.internal_date_ms < @until');
    params.until = filter.untilMs;
  }
  return { where: where.join(' AND '), params };
}

interface KeyRow {
  message_key: string;
  email_id: number;
  date_ms: number;
  total: number;
}

export interface SearchResult {
  /** Logical messages that match, for "20 of 1,234". */
  total: number;
  /** The newest `limit` of them. */
  hits: SearchHit[];
}

/**
 * The newest matching messages, and how many match in all. The total comes from the same grouped
 * scan (a window count over the groups) instead of a second query: for a common word the scan is
 * most of the cost. Snippets are made only for the messages returned.
 */
export function searchMail(db: Db, filter: SearchFilter): SearchResult {
  const { where, params } = filterSql(filter);
  const keys = db
    .prepare(
      `SELECT message_key, email_id, date_ms, count(*) OVER () AS total
         FROM (SELECT e.message_key, min(e.id) AS email_id, max(e.internal_date_ms) AS date_ms
                 FROM email_search JOIN emails e ON e.id = email_search.rowid
                WHERE ${where}
                GROUP BY e.message_key)
        ORDER BY date_ms DESC, email_id DESC
        LIMIT @limit`,
    )
    .all({ ...params, limit: filter.limit }) as KeyRow[];
  if (keys.length === 0) return { total: 0, hits: [] };
  // The CAST matters: better-sqlite3 binds a JS number as a REAL, and FTS5 (SQLite 3.53) then
  // ignores a rowid = ? constraint beside MATCH and returns every matching row.
  const snippetOf = db.prepare(
    `SELECT snippet(email_search, 1, @start, @end, '…', 12) AS body, snippet(email_search, 0, @start, @end, '…', 12) AS subject,
            snippet(email_search, 2, @start, @end, '…', 12) AS people
       FROM email_search WHERE email_search MATCH @match AND rowid = CAST(@id AS INTEGER)`,
  );
  const copyOf = db.prepare('SELECT subject, from_address, from_name, direction, is_bulk, thread_id FROM emails WHERE id = ?');
  const investorsOf = db.prepare(
    `SELECT DISTINCT i.id, i.name FROM emails e JOIN email_investor_matches m ON m.email_id = e.id JOIN investors i ON i.id = m.investor_id
      WHERE e.message_key = ? ORDER BY i.name, i.id`,
  );
  const partnersOf = db.prepare(
    `SELECT DISTINCT a.email AS address, u.name AS name FROM emails e JOIN email_accounts a ON a.id = e.account_id LEFT JOIN users u ON u.id = a.user_id
      WHERE e.message_key = ? ORDER BY a.email`,
  );
  const hits = keys.map((key) => {
    const snippets = snippetOf.get({ match: params.match, id: key.email_id, start: HIT_START, end: HIT_END }) as { body: string | null; subject: string | null; people: string | null };
    const copy = copyOf.get(key.email_id) as { subject: string | null; from_address: string | null; from_name: string | null; direction: string | null; is_bulk: number; thread_id: number | null };
    const marked = [snippets.body, snippets.subject].find((text) => text?.includes(HIT_START));
    return {
      messageKey: key.message_key,
      emailId: key.email_id,
      dateMs: key.date_ms,
      subject: copy.subject,
      fromAddress: copy.from_address,
      fromName: copy.from_name,
      direction: copy.direction,
      isBulk: copy.is_bulk === 1,
      threadId: copy.thread_id,
      // The people column is crm-mail's JSON of the recipients: shown without its brackets and quotes.
      snippet: marked ?? (snippets.people ?? '').replace(/[[\]{}",]+/g, ' ').replace(/\s+/g, ' ').trim(),
      investors: investorsOf.all(key.message_key) as Array<{ id: number; name: string }>,
      partners: partnersOf.all(key.message_key) as Array<{ address: string; name: string | null }>,
    };
  });
  return { total: keys[0]!.total, hits };
}

/** The index's share of the file: its shadow tables' pages over all pages (needs the dbstat table). */
export function searchIndexBytes(db: Db): number {
  const row = db.prepare("SELECT sum(pgsize) AS bytes FROM dbstat WHERE name LIKE 'email\\_search\\_%' ESCAPE '\\' AND name <> 'email_search_source'").get() as { bytes: number | null };
  return row.bytes ?? 0;
}
