/**
 * SQL for conversations: email_threads and the keys that join mail to them (see threads.ts for the
 * rules). A merged thread keeps its row with merged_into set, so an id handed out earlier still
 * leads to the live conversation.
 */
import { statement, type Db } from './open.js';

export interface ThreadRow {
  id: number;
  subject: string | null;
  first_message_ms: number | null;
  last_message_ms: number | null;
  merged_into: number | null;
}

/** Thread ids for the keys that exist, key -> thread id (possibly a merged one). */
export function threadIdsForKeys(db: Db, keys: readonly string[]): Map<string, number> {
  const found = new Map<string, number>();
  const select = statement(db, 'SELECT thread_id FROM email_thread_keys WHERE key = ?');
  for (const key of keys) {
    const row = select.get(key) as { thread_id: number } | undefined;
    if (row) found.set(key, row.thread_id);
  }
  return found;
}

export function getThread(db: Db, id: number): ThreadRow | undefined {
  return statement(db, 'SELECT id, subject, first_message_ms, last_message_ms, merged_into FROM email_threads WHERE id = ?').get(id) as ThreadRow | undefined;
}

/** The live thread an id leads to, following merged_into. */
export function liveThreadId(db: Db, id: number): number {
  const select = statement(db, 'SELECT merged_into FROM email_threads WHERE id = ?');
  let current = id;
  for (let hops = 0; hops < 1000; hops++) {
    const row = select.get(current) as { merged_into: number | null } | undefined;
    if (!row || row.merged_into === null) return current;
    current = row.merged_into;
  }
  return current;
}

export function createThread(db: Db, subject: string | null, messageMs: number | null): number {
  const info = statement(db, 'INSERT INTO email_threads (subject, first_message_ms, last_message_ms) VALUES (?, ?, ?)').run(subject, messageMs, messageMs);
  return Number(info.lastInsertRowid);
}

export function addThreadKeys(db: Db, threadId: number, keys: readonly string[]): void {
  const insert = statement(db, 'INSERT INTO email_thread_keys (key, thread_id) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET thread_id = excluded.thread_id');
  for (const key of keys) insert.run(key, threadId);
}

/** Widens the thread's time span; the subject is the earliest message's (or the first one known). */
export function touchThread(db: Db, threadId: number, subject: string | null, messageMs: number | null): void {
  const row = getThread(db, threadId);
  if (!row) return;
  const earlier = messageMs !== null && (row.first_message_ms === null || messageMs < row.first_message_ms);
  const later = messageMs !== null && (row.last_message_ms === null || messageMs > row.last_message_ms);
  const takeSubject = Boolean(subject) && (!row.subject || earlier);
  if (!earlier && !later && !takeSubject) return;
  statement(db, 'UPDATE email_threads SET subject = ?, first_message_ms = ?, last_message_ms = ? WHERE id = ?').run(
    takeSubject ? subject : row.subject,
    earlier ? messageMs : row.first_message_ms,
    later ? messageMs : row.last_message_ms,
    threadId,
  );
}

/** Folds the absorbed threads into target: mail, keys and earlier merges re-pointed, span widened. */
export function mergeThreadsInto(db: Db, targetId: number, absorbedIds: readonly number[]): void {
  const absorbed = absorbedIds.filter((id) => id !== targetId);
  if (absorbed.length === 0) return;
  const repointEmails = statement(db, 'UPDATE emails SET thread_id = ? WHERE thread_id = ?');
  const repointKeys = statement(db, 'UPDATE email_thread_keys SET thread_id = ? WHERE thread_id = ?');
  const repointMerged = statement(db, 'UPDATE email_threads SET merged_into = ? WHERE merged_into = ?');
  const markMerged = statement(db, 'UPDATE email_threads SET merged_into = ? WHERE id = ?');
  for (const id of absorbed) {
    const row = getThread(db, id);
    repointEmails.run(targetId, id);
    repointKeys.run(targetId, id);
    repointMerged.run(targetId, id);
    markMerged.run(targetId, id);
    if (row) {
      touchThread(db, targetId, row.subject, row.first_message_ms);
      if (row.last_message_ms !== null) touchThread(db, targetId, null, row.last_message_ms);
    }
  }
}

/** Keys that lead to a thread (tests, diagnostics). */
export function keysOfThread(db: Db, threadId: number): string[] {
  return (statement(db, 'SELECT key FROM email_thread_keys WHERE thread_id = ? ORDER BY key').all(threadId) as Array<{ key: string }>).map((row) => row.key);
}
