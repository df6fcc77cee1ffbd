/**
 * Reads of the `email_investor_activity` view (migration 0008) behind `crm-mail investors`. The
 * figures come from the view itself, never recomputed here, so the command and the CRM's web app
 * that reads the view can never disagree.
 */
import type { Db } from './open.js';

/** One row of the view, as SQLite returns it. */
export interface InvestorActivityRow {
  investor_id: number;
  investor_name: string;
  last_inbound_ms: number | null;
  last_inbound_at: string | null;
  last_inbound_from_address: string | null;
  last_inbound_from_name: string | null;
  last_outbound_ms: number | null;
  last_outbound_at: string | null;
  last_outbound_partner_address: string | null;
  last_outbound_partner_name: string | null;
  last_two_way_ms: number | null;
  last_two_way_at: string | null;
  days_since_two_way: number | null;
  threads_90d: number;
  two_way_threads_12m: number;
  strongest_partner_address: string | null;
  strongest_partner_name: string | null;
  strongest_partner_threads: number | null;
  runner_up_partner_address: string | null;
  runner_up_partner_name: string | null;
  runner_up_partner_threads: number | null;
  pending_proposals: number;
  last_touch_ms: number;
}

export interface ActivityFilter {
  /** Only investors without a two-way exchange in at least this many days (never counts as stale). */
  staleDays?: number;
  /** Only investors this partner has counted mail with (their mailbox holds it, or they sent it). */
  partnerEmail?: string;
}

/**
 * The stalest first: never a two-way exchange, then the oldest exchange; within each, the oldest
 * last touch, then the name.
 */
export function listInvestorActivity(db: Db, filter: ActivityFilter = {}): InvestorActivityRow[] {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.staleDays !== undefined) {
    where.push('(a.days_since_two_way IS NULL OR a.days_since_two_way >= @staleDays)');
    params.staleDays = filter.staleDays;
  }
  if (filter.partnerEmail !== undefined) {
    where.push(`a.investor_id IN (
      SELECT m.investor_id FROM email_investor_matches m
        JOIN emails e ON e.id = m.email_id
        JOIN email_accounts acc ON acc.id = e.account_id
       WHERE e.is_bulk = 0 AND e.direction IN ('sent', 'received')
         AND (lower(acc.email) = @partner OR lower(e.from_address) = @partner))`);
    params.partner = filter.partnerEmail.trim().toLowerCase();
  }
  return db
    .prepare(
      `SELECT a.* FROM email_investor_activity a
        ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''}
        ORDER BY a.last_two_way_ms IS NOT NULL, a.last_two_way_ms, a.last_touch_ms, a.investor_name, a.investor_id`,
    )
    .all(params) as InvestorActivityRow[];
}

/** Whether an address is one of the firm's people: a CRM user or an enrolled mailbox. */
export function isFirmPerson(db: Db, email: string): boolean {
  const address = email.trim().toLowerCase();
  return (
    db.prepare('SELECT 1 FROM users WHERE lower(email) = ? UNION ALL SELECT 1 FROM email_accounts WHERE lower(email) = ? LIMIT 1').get(address, address) !==
    undefined
  );
}
