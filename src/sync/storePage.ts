/**
 * The one path every new message takes, whether backfill, history or re-list found it: skip what is
 * already stored, fetch (once, in full, for mail the searches found; headers first for history),
 * match, then store the chunk and move the checkpoint or cursor in ONE transaction. A run killed
 * before the commit leaves nothing of the chunk behind; a run killed after it never fetches it again.
 */
import type { Account } from '../db/accounts.js';
import type { Db } from '../db/open.js';
import type { RunCounts } from '../db/syncRuns.js';
import { clearDeferred, deferMessages, type DeferredSource } from '../db/deferred.js';
import { NotFoundError, TransientError } from '../errors.js';
import { retryWhileBusy, type LockWait } from '../db/busy.js';
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
  /** How long a page's transaction waits out the CRM's write lock; default one attempt. */
  lockWait?: LockWait;
  /** Renews the sync lease inside a page's transaction, or throws LeaseLostError (the page is then rolled back). */
  confirmLease?: () => void;
}

/**
 * Commits `work` as one transaction of this sync's: the lease is confirmed first (a holder whose
 * lease was taken over writes nothing more: no page half-stored, no checkpoint moved), the CRM's
 * write lock is waited out, and the counts a rolled-back attempt made are put back. IMMEDIATE: the
 * write lock is taken (or waited for) first; a deferred transaction that has read gets SQLITE_BUSY
 * at its first write without waiting at all while the CRM holds the lock.
 */
export async function leasedCommit(context: Pick<PageContext, 'db' | 'counts' | 'lockWait' | 'confirmLease'>, what: string, work: () => void): Promise<void> {
  const commit = context.db.transaction(() => {
    context.confirmLease?.();
    work();
  });
  await retryWhileBusy(context.db, what, () => {
    const before = { ...context.counts };
    try {
      commit.immediate();
    } catch (error) {
      Object.assign(context.counts, before);
      throw error;
    }
  }, context.lockWait);
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
  lockWait?: LockWait;
  confirmLease?: () => void;
}

/** The page context of one mailbox's run, counting into `counts`. */
export function pageContextFor(work: Omit<MailboxWork, 'pageSize'>, counts: RunCounts): PageContext {
  const { db, account, client, store, index, capture, lockWait, confirmLease } = work;
  return { db, accountId: account.id, accountEmail: account.email, client, store, index, capture, counts, lockWait, confirmLease };
}

/** Copies the client's Gmail call counts so far into a run's counts (they are saved with its progress). */
export function copyApiStats(client: MailboxClient, counts: RunCounts): void {
  const stats = client.stats();
  Object.assign(counts, { apiCalls: stats.calls, apiUnits: stats.units, retries: stats.retries, throttled: stats.throttled });
}

/** One Gmail method's share of a run, as `--verbose` shows it and the run's details keep it. */
export interface MethodFigures {
  calls: number;
  units: number;
  retries: number;
  throttled: number;
}

export interface GmailRunFigures {
  byMethod: Record<string, MethodFigures>;
  quotaWaitMs: number;
  rateLimitWaits: number;
}

/**
 * The per-method figures of a run, kept in its details so `status --verbose` can show the last
 * run's after the fact; undefined for a client that does not count per method.
 */
export function gmailRunFigures(client: MailboxClient): GmailRunFigures | undefined {
  const stats = client.stats();
  if (!stats.byMethod) return undefined;
  const byMethod: Record<string, MethodFigures> = {};
  const methods = new Set([...Object.keys(stats.byMethod), ...Object.keys(stats.setbacksByMethod ?? {})]);
  for (const method of [...methods].sort()) {
    const used = stats.byMethod[method];
    const setbacks = stats.setbacksByMethod?.[method];
    byMethod[method] = { calls: used?.calls ?? 0, units: used?.units ?? 0, retries: setbacks?.retries ?? 0, throttled: setbacks?.throttled ?? 0 };
  }
  return { byMethod, quotaWaitMs: stats.quotaWaitMs ?? 0, rateLimitWaits: stats.rateLimitWaits ?? 0 };
}

/**
 * Mail never captured: Spam and Trash (messages.list leaves them out by default, so history must
 * too), drafts (unsent, and every autosave is a new message id) and chats.
 */
export const IGNORED_LABELS = new Set(['SPAM', 'TRASH', 'DRAFT', 'CHAT']);

/** The searches a listing walks: the investor searches, or with capture=all the whole mailbox but excluded people's mail. */
export function searchesFor(index: MatchIndex, capture: 'matched' | 'all'): string[] {
  return capture === 'all' ? [index.exclusionSearch()] : index.searchQueries();
}

/** Excluded mail (spouse, doctor, lawyers) is never kept, whatever the capture mode. */
function isKept(match: MatchOutcome, capture: 'matched' | 'all'): boolean {
  if (match.excluded) return false;
  if (capture === 'all') return true;
  return match.investors.length > 0;
}

/** What fetching a list of ids gave: the messages, the ids Gmail no longer has, and those that failed. */
interface Fetched {
  present: Map<string, GmailMessage>;
  gone: string[];
  failed: Map<string, Error>;
}

/**
 * Fetches the given ids in one format. A 404 means the message is gone (deleted since it was
 * listed); any other per-message error, after the client's retries, is returned as failed so the
 * caller defers that message alone and the rest of the page goes on.
 */
async function fetchAll(context: PageContext, ids: string[], format: 'metadata' | 'full'): Promise<Fetched> {
  const fetched: Fetched = { present: new Map(), gone: [], failed: new Map() };
  if (ids.length === 0) return fetched;
  const results = await context.client.getMessages(ids, format);
  for (const id of ids) {
    const result = results.get(id);
    if (result === undefined) fetched.failed.set(id, new TransientError(`messages.get (${format}) returned no answer for ${id}.`));
    else if (result instanceof NotFoundError || (result instanceof Error && (result as { kind?: string }).kind === 'not_found')) fetched.gone.push(id);
    else if (result instanceof Error) fetched.failed.set(id, result);
    else fetched.present.set(id, result);
  }
  context.counts.fetched += fetched.present.size;
  return fetched;
}

/**
 * Where an id came from decides how it is fetched. Mail the investor searches found (or every
 * message, with capture=all) is fetched once, in full: the search already says it is wanted.
 * History reports every new message of the mailbox, most of it not investor mail, so its headers
 * come first and only matched mail is fetched in full.
 */
export type IdSource = DeferredSource;

export interface StoredPage {
  stored: number;
  matched: number;
  skippedStored: number;
  gone: number;
  deferred: number;
}

const isIgnored = (message: GmailMessage): boolean => (message.labelIds ?? []).some((label) => IGNORED_LABELS.has(label));

/** The message parsed and matched when it is worth keeping (not Spam/Trash/draft, an investor's, not excluded), else undefined. */
async function worthKeeping(context: PageContext, message: GmailMessage): Promise<{ parsed: ParsedMessage; match: MatchOutcome } | undefined> {
  if (isIgnored(message)) return undefined;
  const parsed = await context.store.parse(message);
  const match = context.index.match(parsed, context.accountEmail);
  return isKept(match, context.capture) ? { parsed, match } : undefined;
}

/** The full messages worth keeping; the rest is dropped here, in memory, never written. */
async function keepable(context: PageContext, messages: Iterable<GmailMessage>): Promise<Array<{ parsed: ParsedMessage; match: MatchOutcome }>> {
  const ready: Array<{ parsed: ParsedMessage; match: MatchOutcome }> = [];
  for (const message of messages) {
    const kept = await worthKeeping(context, message);
    if (kept) ready.push(kept);
  }
  return ready;
}

/** History ids: headers first, then the full message only for mail worth keeping. */
async function fetchByHeaders(context: PageContext, ids: string[]): Promise<Fetched> {
  const headers = await fetchAll(context, ids, 'metadata');
  const wanted: string[] = [];
  for (const [id, message] of headers.present) if (await worthKeeping(context, message)) wanted.push(id);
  const full = await fetchAll(context, wanted, 'full');
  return { present: full.present, gone: [...headers.gone, ...full.gone], failed: new Map([...headers.failed, ...full.failed]) };
}

/**
 * Stores the new messages among `ids` and runs `alsoInTransaction` (checkpoint, cursor, deletions,
 * labels) in the same transaction. Messages that failed are recorded as deferred in that same
 * transaction, so the checkpoint never moves past a message that is neither stored nor deferred.
 */
export async function storeNewMessages(context: PageContext, ids: string[], source: IdSource, alsoInTransaction: () => void = () => {}): Promise<StoredPage> {
  const unique = [...new Set(ids)];
  const known = context.store.storedGmailIds(context.accountId, unique);
  const fresh = unique.filter((id) => !known.has(id));

  const fetched = source === 'search' ? await fetchAll(context, fresh, 'full') : await fetchByHeaders(context, fresh);
  const ready = await keepable(context, fetched.present.values());
  const failures = [...fetched.failed].map(([gmailId, error]) => ({ gmailId, source, error: error.message }));

  let stored = 0;
  let matched = 0;
  await leasedCommit(context, `storing a page of ${context.accountEmail}`, () => {
    stored = 0;
    matched = 0;
    for (const item of ready) {
      const result = context.store.capture(context.accountId, item.parsed, item.match, 'full');
      if (!result.inserted) continue;
      stored += 1;
      if (item.match.investors.length > 0) matched += 1;
    }
    if (failures.length > 0) deferMessages(context.db, context.accountId, failures);
    // Whatever is settled (stored, dropped, already known, gone) is no longer deferred.
    clearDeferred(context.db, context.accountId, unique.filter((id) => !fetched.failed.has(id)));
    // Counted before the hook, so a run record written by it includes this page.
    context.counts.stored += stored;
    context.counts.matched += matched;
    context.counts.deferred += failures.length;
    alsoInTransaction();
  });
  return { stored, matched, skippedStored: known.size, gone: fetched.gone.length, deferred: failures.length };
}
