/**
 * A mailbox's sharing level: how much of its mail the CRM keeps. 'metadata' keeps headers and
 * participants (no subject, no body, no attachments), 'subject' adds the subject, 'full' keeps
 * everything. Capture applies the level as it writes a copy; lowering it strips what is stored the
 * way a purge does. Each copy holds what its own mailbox allows, so a message in several mailboxes
 * keeps, across its copies, the most they allow together (views and proposals use the fullest copy).
 */
import type { Db } from '../db/open.js';
import { copiesBeyondLevel, setShareLevel, shareLevelOf, type ShareLevel } from '../db/privacy.js';
import { UsageError } from '../errors.js';
import { purgeCopies, removeQueuedFiles, type PurgeOptions, type PurgeReport } from './purge.js';

export const SHARE_LEVELS: readonly ShareLevel[] = ['metadata', 'subject', 'full'];

export function parseShareLevel(text: string): ShareLevel {
  const level = text.trim().toLowerCase();
  if (!(SHARE_LEVELS as readonly string[]).includes(level)) throw new UsageError(`the sharing level must be metadata, subject or full (got ${JSON.stringify(text)}).`);
  return level as ShareLevel;
}

const rank = (level: ShareLevel): number => SHARE_LEVELS.indexOf(level);

export interface ShareChange {
  from: ShareLevel;
  to: ShareLevel;
  lowered: boolean;
  purged: PurgeReport;
}

/** Records the level (with who set it) and, when it is lower, strips what it no longer allows, in one transaction. */
export function changeShareLevel(
  db: Db,
  accountId: number,
  level: ShareLevel,
  setBy: string,
  options: Omit<PurgeOptions, 'proposalReason' | 'alsoInTransaction'>,
): ShareChange {
  const from = shareLevelOf(db, accountId);
  const lowered = rank(level) < rank(from);
  if (!options.dryRun) removeQueuedFiles(db, options.store);
  const ids = level === 'full' ? [] : copiesBeyondLevel(db, accountId, level);
  const purged = purgeCopies(db, ids, { kind: 'strip', withheld: level === 'metadata' ? 'subject' : 'body', reason: 'sharing' }, {
    ...options,
    proposalReason: `mailbox sharing lowered to ${level}`,
    alsoInTransaction: () => setShareLevel(db, accountId, level, setBy),
  });
  return { from, to: level, lowered, purged };
}
