/**
 * The stored mail as `crm-mail messages` exports it: one row per mailbox copy, with the investors
 * it matched. Scripts rely on this shape (the --json export), so fields are only ever added.
 */
import type { Db } from './open.js';
import { MATCHED_TO_INVESTOR } from './emails.js';

export interface ExportedAddress {
  address: string;
  name?: string;
}

export interface ExportedMatch {
  investorId: number;
  investorName: string | null;
  strategy: 'exact' | 'domain';
  address: string;
}

export interface ExportedMessage {
  account: string;
  gmailId: string;
  messageId: string | null;
  messageKey: string;
  gmailThreadId: string | null;
  threadId: number | null;
  date: string;
  internalDateMs: number;
  direction: string | null;
  subject: string | null;
  from: ExportedAddress | null;
  to: ExportedAddress[];
  cc: ExportedAddress[];
  labels: string[];
  deleted: boolean;
  investors: ExportedMatch[];
}

export interface ExportFilter {
  /** Only copies matched to one of these investors. */
  investorIds?: readonly number[];
  accountEmail?: string;
  sinceMs?: number;
  includeDeleted?: boolean;
  limit?: number;
}

interface Row {
  id: number;
  account: string;
  gmail_id: string;
  rfc_message_id: string | null;
  message_key: string;
  gmail_thread_id: string | null;
  thread_id: number | null;
  internal_date_ms: number;
  direction: string | null;
  subject: string | null;
  from_address: string | null;
  from_name: string | null;
  to_json: string | null;
  cc_json: string | null;
  label_ids: string | null;
  deleted_at: string | null;
}

function jsonList<T>(text: string | null): T[] {
  if (!text) return [];
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}

function addresses(text: string | null): ExportedAddress[] {
  return jsonList<{ address?: unknown; name?: unknown }>(text)
    .filter((item) => item && typeof item.address === 'string')
    .map((item) => (typeof item.name === 'string' && item.name !== '' ? { address: item.address as string, name: item.name } : { address: item.address as string }));
}

/** Newest first. Streams rows so a large export does not sit in memory twice. */
export function* exportMessages(db: Db, filter: ExportFilter = {}): Generator<ExportedMessage> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (!filter.includeDeleted) where.push('e.deleted_at IS NULL');
  if (filter.accountEmail) {
    where.push('a.email = ? COLLATE NOCASE');
    args.push(filter.accountEmail.trim());
  }
  if (filter.sinceMs !== undefined) {
    where.push('e.internal_date_ms >= ?');
    args.push(filter.sinceMs);
  }
  if (filter.investorIds !== undefined) {
    where.push(filter.investorIds.length === 0 ? '0' : `(${filter.investorIds.map(() => MATCHED_TO_INVESTOR).join(' OR ')})`);
    args.push(...filter.investorIds);
  }
  const sql = `SELECT e.id, a.email AS account, e.gmail_id, e.rfc_message_id, e.message_key, e.gmail_thread_id, e.thread_id,
      e.internal_date_ms, e.direction, e.subject, e.from_address, e.from_name, e.to_json, e.cc_json, e.label_ids, e.deleted_at
    FROM emails e JOIN email_accounts a ON a.id = e.account_id
    ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''}
    ORDER BY e.internal_date_ms DESC, e.id DESC ${filter.limit !== undefined ? 'LIMIT ' + Math.max(0, Math.floor(filter.limit)) : ''}`;
  const matches = db.prepare(
    `SELECT m.investor_id, i.name, m.strategy, m.matched_address FROM email_investor_matches m
       LEFT JOIN investors i ON i.id = m.investor_id WHERE m.email_id = ? ORDER BY m.investor_id`,
  );
  // A second statement cannot run while an iterate() is open on the same connection, so rows are read first.
  const rows = db.prepare(sql).all(...args) as Row[];
  for (const row of rows) {
    const found = matches.all(row.id) as Array<{ investor_id: number; name: string | null; strategy: 'exact' | 'domain'; matched_address: string }>;
    yield {
      account: row.account,
      gmailId: row.gmail_id,
      messageId: row.rfc_message_id,
      messageKey: row.message_key,
      gmailThreadId: row.gmail_thread_id,
      threadId: row.thread_id,
      date: new Date(row.internal_date_ms).toISOString(),
      internalDateMs: row.internal_date_ms,
      direction: row.direction,
      subject: row.subject,
      from: row.from_address ? (row.from_name ? { address: row.from_address, name: row.from_name } : { address: row.from_address }) : null,
      to: addresses(row.to_json),
      cc: addresses(row.cc_json),
      labels: jsonList<string>(row.label_ids).filter((label) => typeof label === 'string'),
      deleted: row.deleted_at !== null,
      investors: found.map((match) => ({ investorId: match.investor_id, investorName: match.name, strategy: match.strategy, address: match.matched_address })),
    };
  }
}
