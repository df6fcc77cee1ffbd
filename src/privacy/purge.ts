/**
 * Removing what should no longer be stored: mailbox copies an exclusion would have refused
 * (deleted), or content a lowered sharing level or the retention period does not allow (stripped).
 *
 * One transaction does every database change: the copies, their threads (emptied ones go, the rest
 * get their keys, span and subject from the mail that remains), the pending proposals no remaining
 * copy supports (withdrawn, kept for audit), and a queue entry for each attachment file nothing
 * references any more. The files are removed only after the commit, from that queue: a crash in
 * between leaves entries the next sync or purge finishes, never a row pointing at a missing file.
 * A dry run is the same transaction rolled back, so its figures are exactly what a real run does.
 */
import { unlinkSync } from 'node:fs';
import type { Db } from '../db/open.js';
import { addThreadKeys, liveThreadId } from '../db/threads.js';
import {
  blobsOfCopies,
  countApproved,
  deleteCopies,
  deleteThread,
  deleteThreadKeys,
  dequeueBlobRemoval,
  factsOfCopies,
  queueBlobRemoval,
  queuedBlobRemovals,
  setThreadSummary,
  storedReferences,
  stripCopies,
  threadMembers,
  withdrawUnsupportedProposals,
  type Withheld,
  type WithheldReason,
} from '../db/privacy.js';
import { threadKeys } from '../threads.js';
import type { AttachmentStore } from '../attachments.js';

export type PurgeAction = { kind: 'delete' } | { kind: 'strip'; withheld: Withheld; reason: WithheldReason };

export interface PurgeReport {
  /** Mailbox copies deleted or stripped. */
  copies: number;
  /** Logical messages (Message-IDs) among them. */
  messages: number;
  participants: number;
  matches: number;
  bodies: number;
  subjects: number;
  attachments: number;
  /** Attachment files no stored message references any more (removed from disk). */
  files: number;
  threadsRemoved: number;
  proposalsWithdrawn: number;
  /** Approved notes drawn from this mail: they are in fundraising_state.notes and stay. */
  approvedNotesKept: number;
}

export interface PurgeOptions {
  store: AttachmentStore;
  dryRun?: boolean;
  /** Recorded on each withdrawn proposal. */
  proposalReason: string;
  /** Runs first inside the purge's transaction (the exclusion or sharing level it enforces commits with it). */
  alsoInTransaction?: () => void;
  /** Runs right after the commit, before any file is removed (the crash tests stop the process here). */
  afterCommit?: () => void;
}

class DryRunRollback extends Error {}

export function emptyPurgeReport(): PurgeReport {
  return { copies: 0, messages: 0, participants: 0, matches: 0, bodies: 0, subjects: 0, attachments: 0, files: 0, threadsRemoved: 0, proposalsWithdrawn: 0, approvedNotesKept: 0 };
}

/** Gives a thread that lost mail its keys, span and subject from the mail it still has; removes it when none is left. */
function repairThread(db: Db, threadId: number): boolean {
  const members = threadMembers(db, threadId);
  if (members.length === 0) {
    deleteThread(db, threadId);
    return true;
  }
  deleteThreadKeys(db, threadId);
  for (const member of members) {
    const keys = threadKeys({
      messageKey: member.messageKey,
      inReplyTo: member.inReplyTo ?? undefined,
      references: member.referencesIds ? member.referencesIds.split(' ').filter((id) => id !== '') : [],
    });
    addThreadKeys(db, threadId, keys);
  }
  const times = members.map((member) => member.messageMs);
  setThreadSummary(db, threadId, members.find((member) => member.subject)?.subject ?? null, Math.min(...times), Math.max(...times));
  return false;
}

/** Deletes or strips these copies (see the module comment); with dryRun, reports and changes nothing. */
export function purgeCopies(db: Db, ids: readonly number[], action: PurgeAction, options: PurgeOptions): PurgeReport {
  const report = emptyPurgeReport();
  const run = db.transaction(() => {
    options.alsoInTransaction?.();
    if (ids.length === 0) {
      if (options.dryRun) throw new DryRunRollback();
      return;
    }
    const facts = factsOfCopies(db, ids);
    const blobs = blobsOfCopies(db, ids);
    const messageKeys = [...new Set(facts.map((fact) => fact.messageKey))];
    const threadIds = [...new Set(facts.filter((fact) => fact.threadId !== null).map((fact) => liveThreadId(db, fact.threadId!)))];
    report.copies = facts.length;
    report.messages = messageKeys.length;
    report.attachments = facts.reduce((sum, fact) => sum + fact.attachments, 0);
    report.bodies = facts.filter((fact) => fact.hasBody).length;
    if (action.kind === 'delete') {
      report.participants = facts.reduce((sum, fact) => sum + fact.participants, 0);
      report.matches = facts.reduce((sum, fact) => sum + fact.matches, 0);
      report.subjects = facts.filter((fact) => fact.hasSubject).length;
      deleteCopies(db, ids);
      for (const threadId of threadIds) if (repairThread(db, threadId)) report.threadsRemoved++;
    } else {
      if (action.withheld === 'subject') report.subjects = facts.filter((fact) => fact.hasSubject).length;
      stripCopies(db, ids, action.withheld, action.reason);
      if (action.withheld === 'subject') for (const threadId of threadIds) repairThread(db, threadId);
    }
    // Retention drops old bodies the partner already had drafted from; those drafts stay reviewable.
    if (action.kind === 'delete' || action.reason === 'sharing') report.proposalsWithdrawn = withdraw(db, messageKeys, action, options.proposalReason);
    report.approvedNotesKept = countApproved(db, messageKeys);
    for (const sha256 of blobs.keys()) {
      if (storedReferences(db, sha256) > 0) continue;
      queueBlobRemoval(db, sha256);
      report.files++;
    }
    if (options.dryRun) throw new DryRunRollback();
  });
  try {
    run.immediate();
  } catch (error) {
    if (!(error instanceof DryRunRollback)) throw error;
    return report;
  }
  options.afterCommit?.();
  removeQueuedFiles(db, options.store);
  return report;
}

function withdraw(db: Db, messageKeys: string[], action: PurgeAction, reason: string): number {
  // Deleted mail leaves a proposal unsupported when no copy is matched to its investor any more;
  // stripped mail, when no copy holds the body it was drafted from.
  return withdrawUnsupportedProposals(db, messageKeys, action.kind === 'delete' ? 'matched' : 'body', reason);
}

/**
 * Removes the attachment files queued by purges whose last reference is gone; a file a new copy
 * references again is kept. Returns how many files were removed. Called after each purge and at
 * the start of each sync and purge, so an interrupted removal is finished by the next run.
 */
export function removeQueuedFiles(db: Db, store: AttachmentStore): number {
  let removed = 0;
  for (const sha256 of queuedBlobRemovals(db)) {
    if (storedReferences(db, sha256) === 0) {
      try {
        unlinkSync(store.absolutePath(sha256));
        removed++;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    dequeueBlobRemoval(db, sha256);
  }
  return removed;
}
