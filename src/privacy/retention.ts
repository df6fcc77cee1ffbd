/**
 * Retention: bodies, snippets and attachments of mail older than a number of days are dropped;
 * headers, participants, investor links, subjects, threads and approved notes stay. Safe to run
 * every night: a copy already stripped is not touched again, and queued file removals left by an
 * interrupted run are finished first.
 */
import type { Db } from '../db/open.js';
import { copiesWithContentBefore } from '../db/privacy.js';
import { purgeCopies, removeQueuedFiles, type PurgeOptions, type PurgeReport } from './purge.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionResult {
  olderThanDays: number;
  /** Mail received before this instant was purged. */
  before: string;
  purged: PurgeReport;
}

export function purgeOlderThan(db: Db, days: number, options: Omit<PurgeOptions, 'proposalReason' | 'alsoInTransaction'> & { now?: Date }): RetentionResult {
  const beforeMs = (options.now ?? new Date()).getTime() - days * DAY_MS;
  if (!options.dryRun) removeQueuedFiles(db, options.store);
  const ids = copiesWithContentBefore(db, beforeMs);
  const purged = purgeCopies(db, ids, { kind: 'strip', withheld: 'body', reason: 'retention' }, { ...options, proposalReason: `older than ${days} days` });
  return { olderThanDays: days, before: new Date(beforeMs).toISOString(), purged };
}
