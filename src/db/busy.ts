/**
 * Waiting out the CRM's write lock. The CRM's web server writes the same file in rollback-journal
 * mode (crm-mail never changes the journal mode of a file it does not own), so only one connection
 * writes at a time. SQLite's busy timeout covers short locks; a longer one ends a statement with
 * SQLITE_BUSY. Then the whole transaction is tried again after a pause, until the lock wait runs out.
 * The pauses are asynchronous so quota timers and the lease renewal keep running between attempts.
 */
import { DatabaseBusyError } from '../errors.js';
import type { Db } from './open.js';

export interface LockWait {
  /** How long, in all, a transaction is retried while the database stays locked (0: one attempt). */
  waitMs: number;
  /** Told once per transaction, when it first finds the database locked. */
  onWait?: (line: string) => void;
}

const FIRST_PAUSE_MS = 50;
const LONGEST_PAUSE_MS = 2000;

/** SQLITE_BUSY (another connection holds the lock) or SQLITE_LOCKED (a conflict inside one connection's shared cache). */
export function isDatabaseBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The pause before attempt `attempt + 1`: doubling from 50 ms up to 2 s, with jitter so two waiters do not retry in step. */
function pauseBefore(attempt: number): number {
  const base = Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** attempt);
  return Math.round(base * (0.75 + 0.5 * Math.random()));
}

/**
 * Runs `work` (one transaction, or one statement) and runs it again while the database is locked.
 * `work` must be safe to repeat: a locked attempt has been rolled back whole. Gives up with
 * DatabaseBusyError (naming the file and `what`) once `wait.waitMs` has passed.
 */
export async function retryWhileBusy<T>(db: Db, what: string, work: () => T, wait: LockWait = { waitMs: 0 }): Promise<T> {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const started = Date.now();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return work();
    } catch (error) {
      if (!isDatabaseBusy(error)) throw error;
      const waited = Date.now() - started;
      const pause = pauseBefore(attempt);
      if (waited + pause > wait.waitMs) throw new DatabaseBusyError(db.name, waited, what, { cause: error, reason: (error as { code: string }).code });
      if (attempt === 0) {
        wait.onWait?.(`note: the CRM database ${db.name} is locked by another writer (the CRM); ${what} waits for it (up to ${formatSeconds(wait.waitMs)}).`);
      }
      await sleep(pause);
    }
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
