/**
 * Walks a listing checkpoint to its end: for each search, page by page, and each page in chunks,
 * store the chunk's new messages and move the checkpoint in the same transaction. Used by backfill,
 * by the bounded re-list after a lost cursor, and (without a stored checkpoint) by rematch --remote.
 * A run with a time budget stops at a chunk boundary; the checkpoint says exactly where, so the next
 * run neither skips nor fetches again any message.
 */
import { setBackfillCheckpoint } from '../db/accounts.js';
import { PermanentError } from '../errors.js';
import { listingTotalEstimate, serializeCheckpoint, windowedQuery, type ListingCheckpoint } from './checkpoint.js';
import { leasedCommit, storeNewMessages, type PageContext } from './storePage.js';
import { isRefusedSearch, replacementsFor } from './searches.js';
import { recordUnsearchableTerm } from '../db/unsearchable.js';

/**
 * Messages per transaction. A 500-id page costs 10,000 units of gets under the 2026 quota model,
 * nearly two minutes of an account's budget: committing every 100 keeps what a stop or a kill can
 * cost to one chunk, and lets a time budget end a run within seconds of its limit.
 */
export const LISTING_CHUNK = 100;

export interface ListingProgress {
  /** Messages listed so far in this run. */
  listed: number;
  /** Messages of the listing settled so far, across runs. */
  handled: number;
  /** Best guess of the total to list, from Gmail's resultSizeEstimate (may be absent or rough). */
  estimate?: number;
  query: number;
  queries: number;
}

export interface ListingOptions {
  pageSize: number;
  /** Persist the checkpoint after every chunk (false for one-shot listings such as rematch --remote). */
  persist: boolean;
  onPage?: (progress: ListingProgress) => void;
  /** Run bookkeeping, written inside each chunk's transaction (one commit per chunk, not two). */
  inTransaction?: () => void;
  /** Epoch ms after which no new chunk starts: the walk returns incomplete, the checkpoint saved. */
  deadline?: number;
  now?: () => number;
}

export interface ListingOutcome {
  checkpoint: ListingCheckpoint;
  /** false when the time budget ran out first. */
  complete: boolean;
}

export async function walkListing(context: PageContext, checkpoint: ListingCheckpoint, options: ListingOptions): Promise<ListingOutcome> {
  let state: ListingCheckpoint = { ...checkpoint, pageDone: checkpoint.pageDone ?? [], handled: checkpoint.handled ?? 0, estimates: [...(checkpoint.estimates ?? [])] };
  const now = options.now ?? Date.now;
  // A chunk that could not even get its quota before the deadline is not started.
  const outOfTime = (gets = 0): boolean => {
    if (options.deadline === undefined) return false;
    const at = now();
    return at >= options.deadline || at + (gets > 0 ? (context.client.waitForGets?.(gets) ?? 0) : 0) > options.deadline;
  };
  let listed = 0;
  let restartedQuery = -1;
  let storing = false;
  const commit = async (ids: string[], next: ListingCheckpoint): Promise<void> => {
    storing = true;
    await storeNewMessages(context, ids, 'search', () => {
      if (options.persist) setBackfillCheckpoint(context.db, context.accountId, serializeCheckpoint(next));
      options.inTransaction?.();
    });
    storing = false;
    state = next;
    options.onPage?.({ listed, handled: state.handled ?? 0, estimate: listingTotalEstimate(state), query: Math.min(state.queryIndex + 1, state.queries.length), queries: state.queries.length });
  };
  while (state.queryIndex < state.queries.length) {
    if (outOfTime()) return { checkpoint: state, complete: false };
    const queryIndex = state.queryIndex;
    const query = windowedQuery(state.queries[queryIndex]!, state.sinceMs);
    try {
      for await (const page of context.client.listMessages({ q: query === '' ? undefined : query, pageSize: options.pageSize, pageToken: state.pageToken ?? undefined })) {
        const settled = new Set(state.pageDone);
        const todo = page.messages.map((message) => message.id).filter((id) => !settled.has(id));
        listed += todo.length;
        context.counts.listed += todo.length;
        const searchListed = (state.searchListed ?? 0) + todo.length;
        const estimate = Math.max(searchListed, page.resultSizeEstimate ?? 0);
        state = { ...state, searchListed, estimates: withEstimate(state.estimates ?? [], queryIndex, estimate) };
        const afterPage: ListingCheckpoint = page.nextPageToken
          ? { ...state, pageToken: page.nextPageToken, pagesDone: state.pagesDone + 1, pageDone: [] }
          : { ...searchEnded(state, queryIndex), pagesDone: state.pagesDone + 1 };
        if (todo.length === 0) await commit([], afterPage);
        for (let start = 0; start < todo.length; start += LISTING_CHUNK) {
          const chunk = todo.slice(start, start + LISTING_CHUNK);
          if (outOfTime(chunk.length)) return { checkpoint: state, complete: false };
          const handled = (state.handled ?? 0) + chunk.length;
          const last = start + LISTING_CHUNK >= todo.length;
          await commit(chunk, last ? { ...afterPage, handled } : { ...state, handled, pageDone: [...(state.pageDone ?? []), ...chunk] });
        }
        if (!page.nextPageToken) break;
        if (outOfTime()) return { checkpoint: state, complete: false };
      }
    } catch (error) {
      // Gmail refused the search itself (its first page): try its halves in its place, or give up on
      // the one term it holds; the checkpoint keeps the replacement, so a resumed run walks the same.
      if (!storing && isRefusedSearch(error) && state.pageToken === null && (state.searchListed ?? 0) === 0) {
        const replacement = replacementsFor(context.index, state.queries[queryIndex]!);
        if (replacement) {
          state = await replaceSearch(context, state, queryIndex, replacement, error.message, options.persist);
          continue;
        }
      }
      // A page token saved by an earlier process that Gmail no longer accepts: list that search again
      // from its start. Stored ids are skipped, so this costs listing calls only.
      if (!storing && error instanceof PermanentError && state.pageToken !== null && restartedQuery !== queryIndex) {
        restartedQuery = queryIndex;
        state = { ...state, pageToken: null, pageDone: [] };
        continue;
      }
      throw error;
    }
    // The listing of this search ended without a final page (an empty answer): move on all the same.
    if (state.queryIndex === queryIndex) await commit([], searchEnded(state, queryIndex));
  }
  return { checkpoint: state, complete: true };
}

/** The checkpoint with search `index` replaced by its halves (or dropped), committed with the unsearchable term. */
async function replaceSearch(
  context: PageContext,
  state: ListingCheckpoint,
  index: number,
  replacement: { queries: string[]; unsearchable?: string },
  error: string,
  persist: boolean,
): Promise<ListingCheckpoint> {
  const queries = [...state.queries];
  queries.splice(index, 1, ...replacement.queries);
  const estimates = [...(state.estimates ?? [])];
  if (estimates.length > index) estimates.splice(index, 1, ...replacement.queries.map(() => 0));
  const next: ListingCheckpoint = { ...state, queries, estimates };
  await leasedCommit(context, `the searches of ${context.accountEmail}`, () => {
    if (replacement.unsearchable !== undefined) recordUnsearchableTerm(context.db, context.accountId, replacement.unsearchable, error);
    if (persist) setBackfillCheckpoint(context.db, context.accountId, serializeCheckpoint(next));
  });
  return next;
}

/** Sets the estimate of search `index` (Gmail's while it is listed, the real count once it ended). */
function withEstimate(estimates: number[], index: number, estimate: number): number[] {
  const next = [...estimates];
  while (next.length < index) next.push(0);
  next[index] = estimate;
  return next;
}

/** The checkpoint once search `index` is listed to its end: its estimate becomes what it really held. */
function searchEnded(state: ListingCheckpoint, index: number): ListingCheckpoint {
  return {
    ...state,
    queryIndex: index + 1,
    pageToken: null,
    pageDone: [],
    estimates: withEstimate(state.estimates ?? [], index, state.searchListed ?? 0),
    searchListed: 0,
  };
}
