/**
 * Reads of the CRM tables crm-mail does not own (users, investors) and of the exclusion list, plus
 * a fixture writer for tests and the demo. The CRM's own rows are never altered here.
 */
import type { Db } from './open.js';
import type { InvestorRecord } from '../match/investorIndex.js';

/** Every investor, as the matcher's index needs them. */
export function listInvestors(db: Db): InvestorRecord[] {
  return db.prepare('SELECT id, name, email, firm FROM investors ORDER BY id').all() as InvestorRecord[];
}

/** Patterns (addresses or domains) from the email_exclusions table, lower case. */
export function listExclusions(db: Db): string[] {
  return (db.prepare('SELECT pattern FROM email_exclusions ORDER BY pattern').all() as Array<{ pattern: string }>).map((row) => row.pattern.trim().toLowerCase());
}

export function addExclusion(db: Db, pattern: string, reason?: string): void {
  db.prepare('INSERT INTO email_exclusions (pattern, reason) VALUES (?, ?) ON CONFLICT (pattern) DO UPDATE SET reason = excluded.reason').run(pattern.trim().toLowerCase(), reason ?? null);
}

export interface CrmFixture {
  users?: Array<{ id?: number; email: string; name?: string | null; isActive?: boolean }>;
  investors?: Array<{ id?: number; name: string; email?: string | null; firm?: string | null }>;
  notes?: Array<{ investorId: number; notes: string | null; updatedAt?: string | null; updatedBy?: number | null }>;
}

/** Writes users, investors and fundraising notes in one transaction; returns the new ids. */
export function insertCrmFixture(db: Db, fixture: CrmFixture): { userIds: number[]; investorIds: number[] } {
  const insertUser = db.prepare('INSERT INTO users (id, email, name, is_active) VALUES (?, ?, ?, ?)');
  const insertInvestor = db.prepare('INSERT INTO investors (id, name, email, firm) VALUES (?, ?, ?, ?)');
  const insertNote = db.prepare('INSERT INTO fundraising_state (investor_id, notes, updated_at, updated_by) VALUES (?, ?, ?, ?)');
  return db.transaction(() => {
    const userIds = (fixture.users ?? []).map((user) =>
      Number(insertUser.run(user.id ?? null, user.email, user.name ?? null, user.isActive === false ? 0 : 1).lastInsertRowid),
    );
    const investorIds = (fixture.investors ?? []).map((investor) =>
      Number(insertInvestor.run(investor.id ?? null, investor.name, investor.email ?? null, investor.firm ?? null).lastInsertRowid),
    );
    for (const note of fixture.notes ?? []) insertNote.run(note.investorId, note.notes, note.updatedAt ?? null, note.updatedBy ?? null);
    return { userIds, investorIds };
  })();
}
