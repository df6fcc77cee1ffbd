/**
 * The listing checkpoint stored in email_accounts.backfill_checkpoint. A listing (backfill, or the
 * bounded re-list after a lost cursor) is a fixed list of searches walked page by page; the
 * checkpoint says which search and which page come next, and which history id becomes the cursor
 * when the listing ends. The searches are frozen in the checkpoint so a resumed run walks exactly
 * the listing it started, even if the investor list changed in between.
 */
export type ListingKind = 'backfill' | 'relist';

export interface ListingCheckpoint {
  version: 1;
  kind: ListingKind;
  /** Profile historyId read before the first page: the incremental cursor once the listing ends. */
  cursor: string;
  startedAt: string;
  queries: string[];
  /** Index terms the queries cover (searched_terms once the listing ends). */
  terms: string[];
  queryIndex: number;
  /** The token of the page being worked through (null: the search's first page). */
  pageToken: string | null;
  pagesDone: number;
  /** Ids of that page already settled (stored, dropped, deferred): a resumed run skips them unfetched. */
  pageDone?: string[];
  /** Ids settled over the whole listing, across runs (progress). */
  handled?: number;
  /**
   * Per search begun so far: Gmail's resultSizeEstimate while it is being listed, replaced by the
   * count actually listed once it ends (progress and time-left estimates).
   */
  estimates?: number[];
  /** Ids listed so far in the current search. */
  searchListed?: number;
  /** Re-list only: epoch ms the window starts at (mail since the last good sync, with overlap). */
  sinceMs?: number;
  /** Why a re-list runs: 'history_expired' or 'cursor_stale'. */
  reason?: string;
}

export function serializeCheckpoint(checkpoint: ListingCheckpoint): string {
  return JSON.stringify(checkpoint);
}

/** Reads a stored checkpoint; anything unreadable counts as none (the listing starts over, losing nothing). */
export function parseCheckpoint(text: string | null | undefined): ListingCheckpoint | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ListingCheckpoint>;
    if (value.version !== 1 || (value.kind !== 'backfill' && value.kind !== 'relist')) return undefined;
    if (typeof value.cursor !== 'string' || !Array.isArray(value.queries) || typeof value.queryIndex !== 'number') return undefined;
    return {
      version: 1,
      kind: value.kind,
      cursor: value.cursor,
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : new Date().toISOString(),
      queries: value.queries.filter((query): query is string => typeof query === 'string'),
      terms: Array.isArray(value.terms) ? value.terms.filter((term): term is string => typeof term === 'string') : [],
      queryIndex: value.queryIndex,
      pageToken: typeof value.pageToken === 'string' ? value.pageToken : null,
      pagesDone: typeof value.pagesDone === 'number' ? value.pagesDone : 0,
      pageDone: Array.isArray(value.pageDone) ? value.pageDone.filter((id): id is string => typeof id === 'string') : [],
      handled: typeof value.handled === 'number' ? value.handled : 0,
      estimates: Array.isArray(value.estimates) ? value.estimates.filter((n): n is number => typeof n === 'number') : [],
      searchListed: typeof value.searchListed === 'number' ? value.searchListed : 0,
      sinceMs: typeof value.sinceMs === 'number' ? value.sinceMs : undefined,
      reason: typeof value.reason === 'string' ? value.reason : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * How many messages the whole listing will go through, as far as Gmail's estimates tell: searches
 * not begun yet are taken as large as the average of those begun.
 */
export function listingTotalEstimate(checkpoint: ListingCheckpoint): number | undefined {
  const estimates = checkpoint.estimates ?? [];
  if (estimates.length === 0) return undefined;
  const seen = estimates.reduce((sum, value) => sum + value, 0);
  const remaining = Math.max(0, checkpoint.queries.length - estimates.length);
  return Math.max(checkpoint.handled ?? 0, Math.round(seen + (seen / estimates.length) * remaining));
}

/** How long fetching `messages` more takes at a quota rate, one get each (undefined without a rate). */
export function quotaTimeLeftMs(messages: number, rate: { unitsPerGet: number; unitsPerMinute: number } | undefined): number | undefined {
  if (messages <= 0) return 0;
  if (!rate) return undefined;
  return Math.round(((messages * rate.unitsPerGet) / rate.unitsPerMinute) * 60_000);
}

/** Restricts a search to mail received since `sinceMs` (epoch seconds: exact, no time-zone guess). */
export function windowedQuery(query: string, sinceMs: number | undefined): string {
  if (sinceMs === undefined) return query;
  const seconds = Math.max(0, Math.floor(sinceMs / 1000));
  return query.trim() === '' ? `after:${seconds}` : `(${query}) after:${seconds}`;
}
