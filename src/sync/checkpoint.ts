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
  pageToken: string | null;
  pagesDone: number;
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
      sinceMs: typeof value.sinceMs === 'number' ? value.sinceMs : undefined,
      reason: typeof value.reason === 'string' ? value.reason : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Restricts a search to mail received since `sinceMs` (epoch seconds: exact, no time-zone guess). */
export function windowedQuery(query: string, sinceMs: number | undefined): string {
  if (sinceMs === undefined) return query;
  const seconds = Math.max(0, Math.floor(sinceMs / 1000));
  return query.trim() === '' ? `after:${seconds}` : `(${query}) after:${seconds}`;
}
