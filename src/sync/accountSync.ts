/**
 * One account's sync run: choose the path (resume a listing, backfill, incremental, or the bounded
 * re-list when the cursor is lost or stale), walk it, download attachments, and record the run.
 * Never throws: a failure becomes the run's error and the account's last error, so one account
 * failing never stops the others.
 */
import type { Db } from '../db/open.js';
import type { Account } from '../db/accounts.js';
import { nowIso } from '../db/open.js';
import {
  advanceCursor,
  completeBackfill,
  getAccount,
  recordAccountFailure,
  recordAccountSuccess,
  setBackfillCheckpoint,
} from '../db/accounts.js';
import { emptyCounts, finishRun, saveRunProgress, setRunKind, startRun, type RunCounts, type RunKind, type RunStatus } from '../db/syncRuns.js';
import { CrmMailError, HistoryExpiredError, LeaseLostError } from '../errors.js';
import { retryWhileBusy } from '../db/busy.js';
import { databaseFault } from '../db/faults.js';
import { parseCheckpoint, quotaTimeLeftMs, serializeCheckpoint, type ListingCheckpoint } from './checkpoint.js';
import { walkHistory } from './history.js';
import { LISTING_CHUNK, walkListing, type ListingProgress } from './listing.js';
import { deferredSummary, listDeferred } from '../db/deferred.js';
import { forgetUnsearchableBefore, listUnsearchableTerms } from '../db/unsearchable.js';
import { leasedCommit, storeNewMessages } from './storePage.js';
import type { AttachmentOutcome, MatchIndex, QuotaRate } from './ports.js';
import { copyApiStats, gmailRunFigures, pageContextFor, searchesFor, type MailboxWork, type PageContext } from './storePage.js';

/** How far before the last good sync a re-list starts, so nothing at the edge of the gap is missed. */
export const RELIST_OVERLAP_MS = 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface AccountProgress {
  phase: 'deferred' | 'backfill' | 'relist' | 'incremental' | 'attachments';
  listed: number;
  stored: number;
  /** Messages of the listing settled so far, across runs (backfill and re-list). */
  handled?: number;
  estimate?: number;
  /** Time left, from the messages left and the account's quota budget (one get each). */
  etaMs?: number;
}

export interface AccountSyncInput extends MailboxWork {
  historyStaleDays: number;
  /** Epoch ms after which the run starts no new chunk or page: it ends ok and the next run resumes. */
  deadline?: number;
  downloadAttachments?: () => Promise<AttachmentOutcome>;
  onProgress?: (progress: AccountProgress) => void;
  now?: () => Date;
}

export interface AccountSyncResult {
  account: string;
  accountId: number;
  runId: number;
  kind: RunKind;
  status: Exclude<RunStatus, 'running'>;
  counts: RunCounts;
  durationMs: number;
  error?: string;
  errorKind?: string;
  details: Record<string, unknown>;
}

/** What a run of this account starts as: the listing it resumes, else backfill or incremental. */
export function runKindFor(account: Pick<Account, 'backfillCheckpoint' | 'historyId'>): 'backfill' | 'relist' | 'incremental' {
  return parseCheckpoint(account.backfillCheckpoint)?.kind ?? (account.historyId ? 'incremental' : 'backfill');
}

export async function syncAccount(input: AccountSyncInput): Promise<AccountSyncResult> {
  const now = input.now ?? (() => new Date());
  const started = now();
  const counts = emptyCounts();
  const details: Record<string, unknown> = {};
  const account = input.account;
  const initialCheckpoint = parseCheckpoint(account.backfillCheckpoint);
  let kind: RunKind = runKindFor(account);
  // The run's own bookkeeping waits out the CRM's write lock like the pages do.
  const write = <T>(what: string, work: () => T): Promise<T> => retryWhileBusy(input.db, `${what} of ${account.email}`, work, input.lockWait);
  // A cursor or checkpoint moves only while this sync still holds the lease, checked in the same transaction.
  const writeLeased = <T>(what: string, work: () => T): Promise<T> =>
    write(what, () =>
      input.db.transaction(() => {
        input.confirmLease?.();
        return work();
      }).immediate(),
    );
  let runId: number;
  try {
    runId = await write('the start of the sync run', () => startRun(input.db, account.id, kind, nowIso(started)));
  } catch (error) {
    return unrecordedFailure(input, kind, started, counts, details, error);
  }

  const context = pageContextFor(input, counts);
  const refreshStats = (): void => {
    copyApiStats(input.client, counts);
    const gmail = gmailRunFigures(input.client);
    if (gmail) details.gmail = gmail;
  };
  const recordProgress = (): void => {
    refreshStats();
    saveRunProgress(input.db, runId, counts, details);
  };
  const onListing = (phase: 'backfill' | 'relist') => (progress: ListingProgress) =>
    input.onProgress?.({
      phase,
      listed: progress.listed,
      stored: counts.stored,
      handled: progress.handled,
      estimate: progress.estimate,
      etaMs: progress.estimate === undefined ? undefined : quotaTimeLeftMs(progress.estimate - progress.handled, input.client.quotaRate?.()),
    });
  let complete = true;
  const stopForTime = (): void => {
    complete = false;
    details.stopped = 'time budget reached; the next run resumes here';
  };

  const walk = async (checkpoint: ListingCheckpoint): Promise<void> => {
    if (checkpoint.pagesDone > 0 || checkpoint.queryIndex > 0 || (checkpoint.pageDone?.length ?? 0) > 0) {
      details.resumedFrom = { query: checkpoint.queryIndex, pagesDone: checkpoint.pagesDone, settledInPage: checkpoint.pageDone?.length ?? 0 };
    }
    const outcome = await walkListing(context, checkpoint, { pageSize: input.pageSize, persist: true, inTransaction: recordProgress, onPage: onListing(checkpoint.kind), deadline: input.deadline });
    if (!outcome.complete) return stopForTime();
    // The searches as Gmail accepted them (a refused one is replaced by its halves in the checkpoint).
    if (checkpoint.kind === 'relist') await reconcileAfterRelist(context, outcome.checkpoint.queries, checkpoint.sinceMs ?? 0, input.pageSize);
    await writeLeased('the end of the listing', () => finishListing(input.db, account.id, outcome.checkpoint));
  };

  const startListing = async (
    listingKind: 'backfill' | 'relist',
    extra: Partial<ListingCheckpoint> = {},
    known?: { historyId?: string | null },
  ): Promise<ListingCheckpoint> => {
    // The cursor comes first: anything that changes while we list is replayed by the next incremental run.
    const profile = known ?? (await input.client.getProfile());
    if (!profile.historyId) throw new CrmMailError('permanent', `Gmail returned no historyId in the profile of ${account.email}.`);
    const checkpoint: ListingCheckpoint = {
      version: 1,
      kind: listingKind,
      cursor: String(profile.historyId),
      startedAt: nowIso(now()),
      queries: searchesFor(input.index, input.capture),
      terms: input.index.terms(),
      queryIndex: 0,
      pageToken: null,
      pagesDone: 0,
      ...extra,
    };
    await writeLeased('the listing checkpoint', () => setBackfillCheckpoint(input.db, account.id, serializeCheckpoint(checkpoint)));
    details.searches = checkpoint.queries.length;
    return checkpoint;
  };

  const relist = async (reason: string, profile?: { historyId?: string | null }): Promise<void> => {
    const reference = account.historyIdAt ?? account.lastSuccessAt;
    kind = 'relist';
    await write('the run kind', () => setRunKind(input.db, runId, kind));
    details.path = `${reason} -> relist`;
    const sinceMs = reference ? Date.parse(reference) - RELIST_OVERLAP_MS : undefined;
    details.relistSince = sinceMs === undefined ? null : new Date(sinceMs).toISOString();
    const checkpoint = await startListing('relist', { sinceMs, reason }, profile);
    await walk(checkpoint);
  };

  try {
    // The account is under way from here (a terminal shows it as started, not as waiting).
    input.onProgress?.({ phase: kind, listed: 0, stored: 0 });
    const retried = await retryDeferred(context, { deadline: input.deadline, inTransaction: recordProgress, onProgress: () => input.onProgress?.({ phase: 'deferred', listed: counts.listed, stored: counts.stored }) });
    if (retried.tried > 0) details.deferredRetried = retried;
    if (retried.outOfTime) stopForTime();
    else if (initialCheckpoint) {
      details.path = `resume ${initialCheckpoint.kind}`;
      await walk(initialCheckpoint);
    } else if (!account.historyId) {
      details.path = 'backfill';
      await walk(await startListing('backfill'));
    } else if (account.historyIdAt && now().getTime() - Date.parse(account.historyIdAt) > input.historyStaleDays * DAY_MS) {
      await relist('cursor_stale');
    } else {
      details.path = 'incremental';
      try {
        const walked = await walkHistory(context, account.historyId, {
          inTransaction: recordProgress,
          onPage: () => input.onProgress?.({ phase: 'incremental', listed: counts.listed, stored: counts.stored }),
          deadline: input.deadline,
        });
        // No changes at all still proves the cursor is good today: refresh its age.
        await writeLeased('the history cursor', () => advanceCursor(input.db, account.id, walked.cursor));
        if (!walked.complete) stopForTime();
      } catch (error) {
        if (!(error instanceof HistoryExpiredError)) throw error;
        // Gmail also refuses a quiet mailbox's cursor once its last change is old enough (lieer #203):
        // history ids grow with every change, so a current id still equal to the cursor means nothing
        // changed since it, and a re-list would only fetch the same id back and loop.
        const profile = await input.client.getProfile();
        if (profile.historyId && String(profile.historyId) === account.historyId) {
          details.path = 'incremental (quiet mailbox: Gmail refused the unchanged cursor; nothing to re-list)';
          await writeLeased('the history cursor', () => advanceCursor(input.db, account.id, account.historyId!));
        } else {
          await relist('history_expired', profile);
        }
      }
    }
    if (input.downloadAttachments && complete) {
      input.onProgress?.({ phase: 'attachments', listed: counts.listed, stored: counts.stored });
      const attachments = await input.downloadAttachments();
      counts.attachmentsStored += attachments.stored;
      if (attachments.failed > 0) details.attachmentsFailed = attachments.failed;
      if (attachments.reason) details.attachmentsError = attachments.reason;
      if (attachments.notAttempted) details.attachmentsNotAttempted = true;
      if (attachments.skipped > 0) details.attachmentsSkipped = attachments.skipped;
    }
    const stillDeferred = deferredSummary(input.db, account.id);
    if (stillDeferred.count > 0) details.deferredWaiting = stillDeferred.count;
    const unsearched = unsearchedTerms(input.db, account.id, input.index);
    if (unsearched > 0) details.unsearchedTerms = unsearched;
    const unsearchable = listUnsearchableTerms(input.db, account.id).map((item) => item.term);
    if (unsearchable.length > 0) details.unsearchable = unsearchable;
    refreshStats();
    const finished = now();
    await write('the run record', () => input.db.transaction(() => {
      finishRun(input.db, runId, { status: 'ok', counts, details, finishedAt: finished });
      recordAccountSuccess(input.db, account.id, nowIso(finished));
    }).immediate());
    return { account: account.email, accountId: account.id, runId, kind, status: 'ok', counts, durationMs: finished.getTime() - started.getTime(), details };
  } catch (caught) {
    // A bare SQLite lock error from a statement outside the retried ones is still the typed one.
    const error = caught instanceof CrmMailError ? caught : (databaseFault(caught, input.db.name) ?? caught);
    refreshStats();
    const finished = now();
    let message = error instanceof Error ? error.message : String(error);
    const errorKind = error instanceof CrmMailError ? error.kind : 'unexpected';
    const status = counts.stored > 0 || counts.deleted > 0 || counts.labelChanges > 0 ? 'partial' : 'error';
    const needsConsent = account.authMethod === 'oauth' && error instanceof CrmMailError && error.kind === 'auth' && error.reason === 'invalid_grant';
    try {
      await write('the failed run record', () => input.db.transaction(() => {
        finishRun(input.db, runId, { status, counts, error: message, details, finishedAt: finished });
        // The account is not failing: the sync that took the lease over is working on it.
        if (!(error instanceof LeaseLostError)) recordAccountFailure(input.db, account.id, message, { needsConsent });
      }).immediate());
    } catch (unrecorded) {
      // The row stays 'running'; the next sync closes it as interrupted. The failure is still reported.
      message += ` (${unrecordedNote(unrecorded)})`;
    }
    return { account: account.email, accountId: account.id, runId, kind, status, counts, durationMs: finished.getTime() - started.getTime(), error: message, errorKind, details };
  }
}

function unrecordedNote(error: unknown): string {
  return `the run could not be recorded: ${error instanceof Error ? error.message : String(error)}`;
}

/** The run could not even be started in the database: the failure is reported, with nothing to record it in. */
function unrecordedFailure(input: AccountSyncInput, kind: RunKind, started: Date, counts: RunCounts, details: Record<string, unknown>, error: unknown): AccountSyncResult {
  const message = unrecordedNote(error);
  const errorKind = error instanceof CrmMailError ? error.kind : 'unexpected';
  return { account: input.account.email, accountId: input.account.id, runId: 0, kind, status: 'error', counts, durationMs: Date.now() - started.getTime(), error: message, errorKind, details };
}

/**
 * Messages earlier runs deferred, tried first: found by the searches they are fetched in full,
 * found by history headers first, exactly as the first time.
 */
async function retryDeferred(
  context: PageContext,
  options: { deadline?: number; inTransaction: () => void; onProgress: () => void },
): Promise<{ tried: number; stored: number; stillDeferred: number; outOfTime: boolean }> {
  const deferred = listDeferred(context.db, context.accountId);
  const result = { tried: 0, stored: 0, stillDeferred: 0, outOfTime: false };
  for (const source of ['search', 'history'] as const) {
    const ids = deferred.filter((message) => message.source === source).map((message) => message.gmailId);
    for (let start = 0; start < ids.length; start += LISTING_CHUNK) {
      if (options.deadline !== undefined && Date.now() >= options.deadline) return { ...result, outOfTime: true };
      const page = await storeNewMessages(context, ids.slice(start, start + LISTING_CHUNK), source, options.inTransaction);
      result.tried += Math.min(LISTING_CHUNK, ids.length - start);
      result.stored += page.stored;
      result.stillDeferred += page.deferred;
      options.onProgress();
    }
  }
  return result;
}


/** The listing is complete: its cursor becomes the incremental cursor, and the checkpoint goes. */
function finishListing(db: Db, accountId: number, checkpoint: ListingCheckpoint): void {
  db.transaction(() => {
    const account = getAccount(db, accountId)!;
    const terms = mergeTerms(account.searchedTerms, checkpoint.terms);
    // This listing covered every term: a term refused before but not in it is searchable again.
    forgetUnsearchableBefore(db, accountId, checkpoint.startedAt);
    if (checkpoint.kind === 'backfill') {
      completeBackfill(db, accountId, checkpoint.cursor, terms);
    } else {
      advanceCursor(db, accountId, checkpoint.cursor);
      setBackfillCheckpoint(db, accountId, null);
    }
  }).immediate();
}

export function mergeTerms(stored: string | null, added: string[]): string {
  return JSON.stringify([...new Set([...readTerms(stored), ...added])].sort());
}

export function readTerms(stored: string | null): string[] {
  if (!stored) return [];
  try {
    const value = JSON.parse(stored) as unknown;
    return Array.isArray(value) ? value.filter((term): term is string => typeof term === 'string') : [];
  } catch {
    return [];
  }
}

function unsearchedTerms(db: Db, accountId: number, index: MatchIndex): number {
  const account = getAccount(db, accountId);
  if (!account?.backfillCompletedAt) return 0;
  const searched = new Set(readTerms(account.searchedTerms));
  return index.terms().filter((term) => !searched.has(term)).length;
}

/**
 * After a re-list: while the cursor was lost, stored mail may have been deleted or relabelled. The
 * re-list fetched only the window, so two cheap checks close the gap: an id-only listing of the same
 * searches without the window (5 units per 500 ids) finds stored copies Gmail no longer lists, at any
 * age; and every stored copy inside the window is looked at for label changes. Each candidate costs
 * one minimal get: a 404 marks it deleted, an answer replaces its labels.
 */
async function reconcileAfterRelist(context: PageContext, queries: string[], sinceMs: number, pageSize: number): Promise<void> {
  const listed = new Set<string>();
  for (const query of queries) {
    for await (const page of context.client.listMessages({ q: query === '' ? undefined : query, pageSize: Math.max(pageSize, 500) })) {
      for (const message of page.messages) listed.add(message.id);
    }
  }
  const live = context.store.activeGmailIdsSince(context.accountId, 0);
  const recent = new Set(context.store.activeGmailIdsSince(context.accountId, sinceMs));
  const check = live.filter((id) => !listed.has(id) || recent.has(id));
  const chunk = 100;
  for (let start = 0; start < check.length; start += chunk) {
    const part = check.slice(start, start + chunk);
    const answers = await context.client.getMessages(part, 'minimal');
    const gone: string[] = [];
    const labels: Array<[string, string[]]> = [];
    for (const id of part) {
      const answer = answers.get(id);
      if (answer instanceof Error) {
        if ((answer as { kind?: string }).kind === 'not_found') gone.push(id);
        else throw answer;
      } else if (answer) {
        labels.push([id, answer.labelIds ?? []]);
      }
    }
    await leasedCommit(context, `deletions and label changes of ${context.accountEmail}`, () => {
      if (gone.length > 0) context.counts.deleted += context.store.markDeleted(context.accountId, gone);
      for (const [id, labelIds] of labels) if (context.store.setLabels(context.accountId, id, labelIds)) context.counts.labelChanges += 1;
    });
  }
}
