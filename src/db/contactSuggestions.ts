/**
 * Reads behind `crm-mail investors suggestions`: who appears in each investor's captured mail, and
 * which domains matched the investor by domain. Read-only: the CRM cell belongs to the CRM.
 */
import type { Db } from './open.js';

export interface ParticipantSighting {
  investorId: number;
  address: string;
  name: string | null;
  messageKey: string;
  dateMs: number;
}

export interface InvestorCell {
  id: number;
  name: string;
  email: string | null;
}

/** Participants (from, to, cc) of the investor mail that counts as a touch: bulk and internal-only left out. */
export function participantSightings(db: Db, investorIds?: readonly number[]): ParticipantSighting[] {
  return db
    .prepare(
      `SELECT m.investor_id AS investorId, p.address, p.name, e.message_key AS messageKey, e.internal_date_ms AS dateMs
         FROM email_investor_matches m
         JOIN emails e ON e.id = m.email_id
         JOIN email_participants p ON p.email_id = e.id
        WHERE e.is_bulk = 0 AND e.direction IN ('sent', 'received') AND p.role IN ('from', 'to', 'cc')
          ${investorIds ? 'AND m.investor_id IN (SELECT value FROM json_each(?))' : ''}`,
    )
    .all(...(investorIds ? [JSON.stringify(investorIds)] : [])) as ParticipantSighting[];
}

/** The addresses through which mail matched an investor by domain (not by an address in its cell). */
export function domainMatchedAddresses(db: Db): Array<{ investorId: number; address: string }> {
  return db.prepare("SELECT DISTINCT investor_id AS investorId, matched_address AS address FROM email_investor_matches WHERE strategy = 'domain'").all() as Array<{
    investorId: number;
    address: string;
  }>;
}

export function investorCells(db: Db): InvestorCell[] {
  return db.prepare('SELECT id, name, email FROM investors ORDER BY id').all() as InvestorCell[];
}
