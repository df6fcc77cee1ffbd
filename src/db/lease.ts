/**
 * The sync lease (email_sync_lease): at most one sync at a time across processes and hosts that
 * share the CRM file. Acquiring is one atomic statement (insert, or take over a row whose lease ran
 * out), so two cron runs starting in the same instant cannot both win. A holder renews its lease while
 * it works; a crashed holder's lease simply expires. On the holder's own host a dead pid is noticed
 * at once, so a rerun after a crash does not wait for the expiry.
 */
import type { Db } from './open.js';
import { nowIso } from './open.js';

export interface LeaseHolder {
  pid: number;
  host: string;
  acquiredAt: string;
  expiresAt: string;
}

/** Why a lease held by another process was taken: its time ran out, or its process is gone from this host. */
export type TakeoverReason = 'expired' | 'not_running';

export type LeaseResult = { acquired: true; tookOverFrom?: LeaseHolder; takeoverReason?: TakeoverReason } | { acquired: false; holder: LeaseHolder };

export interface LeaseOptions {
  name?: string;
  pid: number;
  host: string;
  ttlMs: number;
  now?: Date;
  /** Whether a pid on this host is still running; a dead local holder is taken over at once. */
  isAlive?: (pid: number) => boolean;
}

interface LeaseRow {
  holder_pid: number;
  holder_host: string;
  acquired_at: string;
  expires_at: string;
}

function readHolder(db: Db, name: string): LeaseHolder | undefined {
  const row = db.prepare('SELECT holder_pid, holder_host, acquired_at, expires_at FROM email_sync_lease WHERE name = ?').get(name) as LeaseRow | undefined;
  return row ? { pid: row.holder_pid, host: row.holder_host, acquiredAt: row.acquired_at, expiresAt: row.expires_at } : undefined;
}

export function acquireLease(db: Db, options: LeaseOptions): LeaseResult {
  const name = options.name ?? 'sync';
  const now = options.now ?? new Date();
  const expires = nowIso(new Date(now.getTime() + options.ttlMs));
  const acquired = nowIso(now);
  // IMMEDIATE: take the write lock before reading, so the read-decide-write below is atomic
  // against another process doing the same.
  const attempt = db.transaction((): LeaseResult => {
    const inserted = db
      .prepare('INSERT OR IGNORE INTO email_sync_lease (name, holder_pid, holder_host, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, options.pid, options.host, acquired, expires);
    if (inserted.changes === 1) return { acquired: true };
    const holder = readHolder(db, name)!;
    const mine = holder.pid === options.pid && holder.host === options.host;
    const expired = Date.parse(holder.expiresAt) <= now.getTime();
    const deadLocal = holder.host === options.host && !mine && options.isAlive !== undefined && !options.isAlive(holder.pid);
    if (!mine && !expired && !deadLocal) return { acquired: false, holder };
    const taken = db
      .prepare(
        `UPDATE email_sync_lease SET holder_pid = ?, holder_host = ?, acquired_at = ?, expires_at = ?
           WHERE name = ? AND holder_pid = ? AND holder_host = ? AND expires_at = ?`,
      )
      .run(options.pid, options.host, acquired, expires, name, holder.pid, holder.host, holder.expiresAt);
    if (taken.changes !== 1) return { acquired: false, holder: readHolder(db, name)! };
    return mine ? { acquired: true } : { acquired: true, tookOverFrom: holder, takeoverReason: deadLocal ? 'not_running' : 'expired' };
  });
  return attempt.immediate();
}

/**
 * Extends the lease; false when it was lost (taken over by another process, or released by one that
 * took it over and finished). A lease that ran out but that nobody took is still this holder's.
 */
export function renewLease(db: Db, options: LeaseOptions): boolean {
  const name = options.name ?? 'sync';
  const now = options.now ?? new Date();
  const info = db
    .prepare('UPDATE email_sync_lease SET expires_at = ? WHERE name = ? AND holder_pid = ? AND holder_host = ?')
    .run(nowIso(new Date(now.getTime() + options.ttlMs)), name, options.pid, options.host);
  return info.changes === 1;
}

export function releaseLease(db: Db, options: { name?: string; pid: number; host: string }): void {
  db.prepare('DELETE FROM email_sync_lease WHERE name = ? AND holder_pid = ? AND holder_host = ?').run(options.name ?? 'sync', options.pid, options.host);
}

export function currentLease(db: Db, name = 'sync'): LeaseHolder | undefined {
  return readHolder(db, name);
}

/** Whether a process with this pid exists on this host (signal 0 probes without touching it). */
export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
