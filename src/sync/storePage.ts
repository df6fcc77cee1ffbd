/**
 * The one path every new message takes, whether backfill, history or re-list found it: skip what is
 * already stored, fetch headers, match, fetch the full message only for mail worth keeping, then
 * store the whole page and move the checkpoint or cursor in ONE transaction. A run killed before the
 * commit leaves nothing of the page behind; a run killed after it never fetches the page again.
 */
import type { Account } from '../db/accounts.js';
import type { Db } from '../db/open.js';
import type { RunCounts } from '../db/syncRuns.js';
import { NotFoundError, TransientError } from '../errors.js';
import type { GmailMessage, MailboxClient, MailStore, MatchIndex, MatchOutcome, ParsedMessage } from './ports.js';

export interface PageContext {
  db: Db;
  accountId: number;
  accountEmail: string;
  client: MailboxClient;
  store: MailStore;
  index: MatchIndex;
  /** 'all' keeps every message in full; 'matched' keeps investor mail only. */
  capture: 'matched' | 'all';
  counts: RunCounts;
}

/** What each operation on one mailbox (sync, remote rematch, verify) is given. */
export interface MailboxWork {
  db: Db;
  account: Account;
  client: MailboxClient;
  store: MailStore;
  index: MatchIndex;
  capture: 'matched' | 'all';
  pageSize: number;
}

/** The page context of one mailbox's run, counting into `counts`. */
export function pageContextFor(work: Omit<MailboxWork, 'pageSize'>, counts: RunCounts): PageContext {
  const { db, account, client, store, index, capture } = work;
  return { db, accountId: account.id, accountEmail: account.email, client, store, index, capture, counts };
}

/** Copies the client's Gmail call counts so far into a run's counts (they are saved with its progress). */
export function copyApiStats(client: MailboxClient, counts: RunCounts): void {
  const stats = client.stats();
  Object.assign(counts, { apiCalls: stats.calls, apiUnits: stats.units, retries: stats.retries, throttled: stats.throttled });
}

/**
 * Mail never captured: Spam and Trash (messages.list leaves them out by default, so history must
 * too), drafts (unsent, and every autosave is a new message id) and chats.
 */
export const IGNORED_LABELS = new Set(['SPAM', 'TRASH', 'DRAFT', 'CHAT']);

/** Excluded mail (spouse, doctor, lawyers) is never kept, whatever the capture mode. */
function isKept(match: MatchOutcome, capture: 'matched' | 'all'): boolean {
  if (match.excluded) return false;
  if (capture === 'all') return true;
  return match.investors.length > 0;
}

/**
 * Fetches the given ids in one format; a 404 means the message is gone (deleted since it was listed)
 * and is simply left out. Any other per-message error fails the page, so the checkpoint does not move
 * past a message that was never stored: the next run retries the page.
 */
async function fetchPresent(context: PageContext, ids: string[], format: 'metadata' | 'full'): Promise<Map<string, GmailMessage>> {
  const present = new Map<string, GmailMessage>();
  if (ids.length === 0) return present;
  const results = await context.client.getMessages(ids, format);
  for (const id of ids) {
    const result = results.get(id);
    if (result === undefined) throw new TransientError(`messages.get (${format}) returned no answer for ${id}; the page will be retried.`);
    if (result instanceof NotFoundError || (result instanceof Error && (result as { kind?: string }).kind === 'not_found')) continue;
    if (result instanceof Error) throw result;
    present.set(id, result);
  }
  context.counts.fetched += format === 'metadata' ? present.size : 0;
  return present;
}

export interface StoredPage {
  stored: number;
  matched: number;
  skippedStored: number;
  gone: number;
}

/**
 * Stores the new messages among `ids` and runs `alsoInTransaction` (checkpoint, cursor, deletions,
 * labels) in the same transaction.
 */
export async function storeNewMessages(context: PageContext, ids: string[], alsoInTransaction: () => void = () => {}): Promise<StoredPage> {
  const unique = [...new Set(ids)];
  const known = context.store.storedGmailIds(context.accountId, unique);
  const fresh = unique.filter((id) => !known.has(id));

  const headers = await fetchPresent(context, fresh, 'metadata');
  const wanted: string[] = [];
  for (const [id, message] of headers) {
    if ((message.labelIds ?? []).some((label) => IGNORED_LABELS.has(label))) continue;
    const match = context.index.match(await context.store.parse(message), context.accountEmail);
    if (isKept(match, context.capture)) wanted.push(id);
  }
  const full = await fetchPresent(context, wanted, 'full');

  const ready: Array<{ parsed: ParsedMessage; match: MatchOutcome }> = [];
  for (const id of wanted) {
    const message = full.get(id);
    if (!message) continue;
    const parsed = await context.store.parse(message);
    // Match again on the full message: it is what gets stored, and its headers are complete.
    const match = context.index.match(parsed, context.accountEmail);
    if (!isKept(match, context.capture)) continue;
    ready.push({ parsed, match });
  }

  let stored = 0;
  let matched = 0;
  try {
    context.db.transaction(() => {
      for (const item of ready) {
        const result = context.store.capture(context.accountId, item.parsed, item.match, 'full');
        if (!result.inserted) continue;
        stored += 1;
        if (item.match.investors.length > 0) matched += 1;
      }
      // Counted before the hook, so a run record written by it includes this page.
      context.counts.stored += stored;
      context.counts.matched += matched;
      alsoInTransaction();
    })();
  } catch (error) {
    context.counts.stored -= stored;
    context.counts.matched -= matched;
    throw error;
  }
  return { stored, matched, skippedStored: known.size, gone: fresh.length - headers.size };
}
