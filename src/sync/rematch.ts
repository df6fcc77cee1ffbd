/**
 * Matching again after investors or exclusions changed: locally over the stored mail (matches added
 * and removed), and with --remote a targeted backfill that searches each mailbox only for the
 * addresses and domains new to the index since its last search.
 */
import type { Db } from '../db/open.js';
import { nowIso } from '../db/open.js';
import { getAccount, setSearchedTerms, type Account } from '../db/accounts.js';
import { getEmail, listEmailsForRematch, matchesOf, replaceMatches, type RematchCandidate } from '../db/emails.js';
import { emptyCounts, finishRun, saveRunProgress, startRun } from '../db/syncRuns.js';
import { CrmMailError } from '../errors.js';
import type { AccountSyncResult } from './accountSync.js';
import { mergeTerms, readTerms } from './accountSync.js';
import type { ListingCheckpoint } from './checkpoint.js';
import { walkListing } from './listing.js';
import type { InvestorMatch, MatchIndex } from './ports.js';
import { copyApiStats, pageContextFor, type MailboxWork } from './storePage.js';

export interface MatchDifference {
  emailId: number;
  gmailId: string;
  account: string;
  before: InvestorMatch[];
  after: InvestorMatch[];
}

export interface LocalRematchResult {
  examined: number;
  changed: number;
  /** Investor links added and removed (one per message and investor). */
  added: number;
  removed: number;
  differences: MatchDifference[];
}

const key = (match: InvestorMatch): string => `${match.investorId}|${match.strategy}|${match.address}`;

function sameMatches(a: InvestorMatch[], b: InvestorMatch[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(key));
  return b.every((match) => keys.has(key(match)));
}

/**
 * Recomputes every stored copy's matches from its stored participants. With `investorId`, only
 * that investor's links change; the others stay as they are. `dryRun` changes nothing (verify).
 */
export function rematchStored(
  db: Db,
  index: Pick<MatchIndex, 'match'>,
  options: { investorId?: number; accountId?: number; dryRun?: boolean; keepExamples?: number } = {},
): LocalRematchResult {
  // Read everything first: better-sqlite3 cannot write while a read cursor is open on the connection.
  const candidates: RematchCandidate[] = [...listEmailsForRematch(db, { accountId: options.accountId })];
  const result: LocalRematchResult = { examined: 0, changed: 0, added: 0, removed: 0, differences: [] };
  const updates: Array<{ emailId: number; after: InvestorMatch[] }> = [];
  for (const candidate of candidates) {
    result.examined += 1;
    const before = matchesOf(db, candidate.emailId);
    const outcome = index.match(candidate, candidate.accountEmail);
    let after: InvestorMatch[] = outcome.excluded ? [] : outcome.investors;
    if (options.investorId !== undefined) {
      after = [...before.filter((match) => match.investorId !== options.investorId), ...after.filter((match) => match.investorId === options.investorId)].sort(
        (a, b) => a.investorId - b.investorId,
      );
    }
    if (sameMatches(before, after)) continue;
    result.changed += 1;
    const beforeIds = new Set(before.map((match) => match.investorId));
    const afterIds = new Set(after.map((match) => match.investorId));
    result.added += [...afterIds].filter((id) => !beforeIds.has(id)).length;
    result.removed += [...beforeIds].filter((id) => !afterIds.has(id)).length;
    updates.push({ emailId: candidate.emailId, after });
    if (result.differences.length < (options.keepExamples ?? 20)) {
      result.differences.push({ emailId: candidate.emailId, gmailId: getEmail(db, candidate.emailId)?.gmail_id ?? '', account: candidate.accountEmail, before, after });
    }
  }
  if (!options.dryRun && updates.length > 0) {
    db.transaction(() => {
      for (const update of updates) replaceMatches(db, update.emailId, update.after);
    })();
  }
  return result;
}

/** Index terms this account's mailbox has never been searched for. */
export function newTermsFor(account: Account, index: Pick<MatchIndex, 'terms'>): string[] {
  const searched = new Set(readTerms(account.searchedTerms));
  return index.terms().filter((term) => !searched.has(term));
}

export type RemoteRematchInput = MailboxWork;

/** Searches one mailbox for the new terms only, storing what matches; the run is recorded as remote_rematch. */
export async function remoteRematchAccount(input: RemoteRematchInput): Promise<AccountSyncResult & { terms: number }> {
  const started = new Date();
  const counts = emptyCounts();
  const terms = newTermsFor(input.account, input.index);
  const details: Record<string, unknown> = { terms: terms.length };
  const runId = startRun(input.db, input.account.id, 'remote_rematch', nowIso(started));
  const context = pageContextFor(input, counts);
  const refresh = (): void => copyApiStats(input.client, counts);
  const base = { account: input.account.email, accountId: input.account.id, runId, kind: 'remote_rematch' as const, counts, details, terms: terms.length };
  try {
    if (terms.length > 0) {
      const listing: ListingCheckpoint = {
        version: 1,
        kind: 'backfill',
        cursor: '',
        startedAt: nowIso(started),
        queries: input.index.queriesForTerms(terms),
        terms,
        queryIndex: 0,
        pageToken: null,
        pagesDone: 0,
      };
      details.searches = listing.queries.length;
      await walkListing(context, listing, { pageSize: input.pageSize, persist: false, inTransaction: () => (refresh(), saveRunProgress(input.db, runId, counts, details)) });
      const fresh = getAccount(input.db, input.account.id);
      setSearchedTerms(input.db, input.account.id, mergeTerms(fresh?.searchedTerms ?? null, terms));
    }
    refresh();
    const finished = new Date();
    finishRun(input.db, runId, { status: 'ok', counts, details, finishedAt: finished });
    return { ...base, status: 'ok', durationMs: finished.getTime() - started.getTime() };
  } catch (error) {
    refresh();
    const finished = new Date();
    const message = error instanceof Error ? error.message : String(error);
    const status = counts.stored > 0 ? 'partial' : 'error';
    finishRun(input.db, runId, { status, counts, error: message, details, finishedAt: finished });
    return { ...base, status, durationMs: finished.getTime() - started.getTime(), error: message, errorKind: error instanceof CrmMailError ? error.kind : 'unexpected' };
  }
}
