/**
 * fundraising_state, a CRM table: approve appends one line to an investor's notes. The append is
 * done by SQL inside the caller's transaction, never read-modify-write in the application, so a
 * concurrent edit of the notes by the CRM's web app is never overwritten.
 */
import type { Db } from './open.js';

/**
 * Appends `line` at the bottom of the investor's notes, creating the row if there is none. Call it
 * inside an IMMEDIATE transaction: the write lock is then held from the UPDATE to the INSERT, so
 * no other writer can slip a row in between (and no unique index on investor_id is assumed).
 */
export function appendInvestorNote(db: Db, investorId: number, line: string, userId: number, at: string): void {
  const updated = db
    .prepare(
      `UPDATE fundraising_state
          SET notes = CASE WHEN notes IS NULL OR notes = '' THEN ? ELSE notes || char(10) || ? END,
              updated_at = ?, updated_by = ?
        WHERE investor_id = ?`,
    )
    .run(line, line, at, userId, investorId).changes;
  if (updated === 0) {
    db.prepare('INSERT INTO fundraising_state (investor_id, notes, updated_at, updated_by) VALUES (?, ?, ?, ?)').run(investorId, line, at, userId);
  }
}
