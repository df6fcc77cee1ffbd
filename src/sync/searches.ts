/**
 * Searches Gmail refuses. Gmail documents no limit on `q`, so the length crm-mail packs a search to
 * is a guess; a search answered 400 is halved by its terms and each half tried, until every part is
 * accepted or one term alone is refused. That term is recorded as unsearchable and the rest goes on:
 * one bad or over-long investor address never blocks a mailbox's listing.
 */
import { PermanentError } from '../errors.js';
import { recordUnsearchableTerm } from '../db/unsearchable.js';
import type { Db } from '../db/open.js';
import type { MailboxClient, MatchIndex, MessageListPage } from './ports.js';

/** Gmail refused the search itself: 400 (invalid query), or the URL it made too long (413/414). */
export function isRefusedSearch(error: unknown): error is PermanentError {
  return error instanceof PermanentError && (error.status === 400 || error.status === 413 || error.status === 414);
}

/** What a refused search becomes: the searches to try in its place, and the term given up on, if any. */
export function replacementsFor(index: MatchIndex, query: string): { queries: string[]; unsearchable?: string } | undefined {
  const split = index.splitSearch(query);
  if (!split) return undefined;
  return 'term' in split ? { queries: [], unsearchable: split.term } : { queries: split.parts };
}

/**
 * Every page of `query`, splitting it whenever Gmail refuses a first page (verify's listing, which
 * keeps no checkpoint). Terms refused alone are recorded for the account and skipped.
 */
export async function* acceptedSearchPages(
  work: { db: Db; accountId: number; client: MailboxClient; index: MatchIndex },
  query: string,
  pageSize: number,
  refused: (term: string) => void = () => {},
): AsyncGenerator<MessageListPage> {
  const pending = [query];
  while (pending.length > 0) {
    const current = pending.shift()!;
    let pages = 0;
    try {
      for await (const page of work.client.listMessages({ q: current === '' ? undefined : current, pageSize })) {
        pages += 1;
        yield page;
      }
    } catch (error) {
      if (pages > 0 || !isRefusedSearch(error)) throw error;
      const replacement = replacementsFor(work.index, current);
      if (!replacement) throw error;
      if (replacement.unsearchable !== undefined) {
        recordUnsearchableTerm(work.db, work.accountId, replacement.unsearchable, error.message);
        refused(replacement.unsearchable);
      }
      pending.unshift(...replacement.queries);
    }
  }
}
