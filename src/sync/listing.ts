/**
 * Walks a listing checkpoint to its end: for each search, page by page, store the page's new
 * messages and move the checkpoint in the same transaction. Used by backfill, by the bounded re-list
 * after a lost cursor, and (without a stored checkpoint) by rematch --remote.
 */
import { setBackfillCheckpoint } from '../db/accounts.js';
import { PermanentError } from '../errors.js';
import { serializeCheckpoint, windowedQuery, type ListingCheckpoint } from './checkpoint.js';
import { storeNewMessages, type PageContext } from './storePage.js';

export interface ListingProgress {
  /** Messages listed so far in this run. */
  listed: number;
  /** Best guess of the total to list, from Gmail's resultSizeEstimate (may be absent or rough). */
  estimate?: number;
  query: number;
  queries: number;
}

export interface ListingOptions {
  pageSize: number;
  /** Persist the checkpoint after every page (false for one-shot listings such as rematch --remote). */
  persist: boolean;
  onPage?: (progress: ListingProgress) => void;
  /** Run bookkeeping, written inside each page's transaction (one commit per page, not two). */
  inTransaction?: () => void;
}

export async function walkListing(context: PageContext, checkpoint: ListingCheckpoint, options: ListingOptions): Promise<ListingCheckpoint> {
  let state = { ...checkpoint };
  const estimates = new Map<number, number>();
  let listed = 0;
  let restartedQuery = -1;
  let storing = false;
  const commit = async (ids: string[], next: ListingCheckpoint): Promise<void> => {
    storing = true;
    await storeNewMessages(context, ids, () => {
      if (options.persist) setBackfillCheckpoint(context.db, context.accountId, serializeCheckpoint(next));
      options.inTransaction?.();
    });
    storing = false;
    state = next;
    options.onPage?.({ listed, estimate: sumEstimates(estimates, state), query: Math.min(state.queryIndex + 1, state.queries.length), queries: state.queries.length });
  };
  while (state.queryIndex < state.queries.length) {
    const queryIndex = state.queryIndex;
    const query = windowedQuery(state.queries[queryIndex]!, state.sinceMs);
    try {
      for await (const page of context.client.listMessages({ q: query === '' ? undefined : query, pageSize: options.pageSize, pageToken: state.pageToken ?? undefined })) {
        if (typeof page.resultSizeEstimate === 'number' && !estimates.has(queryIndex)) estimates.set(queryIndex, page.resultSizeEstimate);
        const ids = page.messages.map((message) => message.id);
        listed += ids.length;
        context.counts.listed += ids.length;
        const next: ListingCheckpoint = page.nextPageToken
          ? { ...state, pageToken: page.nextPageToken, pagesDone: state.pagesDone + 1 }
          : { ...state, queryIndex: queryIndex + 1, pageToken: null, pagesDone: state.pagesDone + 1 };
        await commit(ids, next);
        if (!page.nextPageToken) break;
      }
    } catch (error) {
      // A page token saved by an earlier process that Gmail no longer accepts: list that search again
      // from its start. Stored ids are skipped, so this costs listing calls only.
      if (!storing && error instanceof PermanentError && state.pageToken !== null && restartedQuery !== queryIndex) {
        restartedQuery = queryIndex;
        state = { ...state, pageToken: null };
        continue;
      }
      throw error;
    }
    // The listing of this search ended without a final page (an empty answer): move on all the same.
    if (state.queryIndex === queryIndex) await commit([], { ...state, queryIndex: queryIndex + 1, pageToken: null });
  }
  return state;
}

function sumEstimates(estimates: Map<number, number>, state: ListingCheckpoint): number | undefined {
  if (estimates.size === 0) return undefined;
  let total = 0;
  for (const value of estimates.values()) total += value;
  // Unknown searches ahead are assumed as large as the average of those seen.
  const remaining = state.queries.length - estimates.size;
  return Math.round(total + (remaining > 0 ? (total / estimates.size) * remaining : 0));
}
