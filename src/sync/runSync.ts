/**
 * `crm-mail sync`: take the lease, sync every active account (a bounded number at once, each on its
 * own quota), then run the post-sync hook (propose). One account's failure never stops the others.
 */
import { hostname } from 'node:os';
import type { Db } from '../db/open.js';
import { getAccountByEmail, listAccounts, recordAccountFailure, type Account } from '../db/accounts.js';
import { acquireLease, currentLease, pidIsAlive, releaseLease, renewLease, type LeaseHolder, type LeaseOptions, type TakeoverReason } from '../db/lease.js';
import { retryWhileBusy, type LockWait } from '../db/busy.js';
import { closeInterruptedRuns, emptyCounts, finishRun, startRun } from '../db/syncRuns.js';
import { DatabaseBusyError, LeaseLostError, NotFoundError, UsageError } from '../errors.js';
import { runKindFor, syncAccount, type AccountProgress, type AccountSyncResult } from './accountSync.js';
import type { AttachmentOutcome, MailboxClient, MailStore, MatchIndex } from './ports.js';

export const LEASE_TTL_MS = 5 * 60 * 1000;
/** Renewals per lease lifetime: a holder has to miss this many in a row to lose it. */
const RENEWALS_PER_LEASE = 10;

/**
 * The lease as its holder sees it while working. A page (or a cursor move) calls `confirm()` inside
 * its transaction: that renews the lease atomically with the page, or throws LeaseLostError when
 * another process has taken it over, so the page is rolled back whole and the holder stops there.
 */
export interface HeldLease {
  tookOverFrom?: LeaseHolder;
  takeoverReason?: TakeoverReason;
  /** False once a renewal found the lease gone. */
  holds(): boolean;
  confirm(): void;
}

export interface SyncEnvironment {
  db: Db;
  capture: 'matched' | 'all';
  pageSize: number;
  historyStaleDays: number;
  accountConcurrency: number;
  buildIndex(): MatchIndex;
  store: MailStore;
  openClient(account: Account): Promise<MailboxClient>;
  downloadAttachments?(account: Account, client: MailboxClient): Promise<AttachmentOutcome>;
  /** Finishes attachment-file removals an interrupted purge left queued; runs under the lease, before any account. */
  sweepRemovedFiles?(): number;
  /** Removes half-written attachment files of interrupted downloads; returns how many. */
  sweepAttachmentTemp?(): number;
  /** Lifetime of the sync lease (CRM_GMAIL_LEASE_SECONDS); default LEASE_TTL_MS. */
  leaseTtlMs?: number;
  /** How long each transaction waits out the CRM's write lock (CRM_GMAIL_DB_LOCK_WAIT_SEC); default one attempt. */
  lockWait?: LockWait;
  /** A line for the person watching (stderr): waiting for the CRM's lock, giving up. */
  notice?(line: string): void;
  reporter: SyncReporter;
}

export interface SyncReporter {
  starting(accounts: Account[]): void;
  progress(account: Account, progress: AccountProgress): void;
  finished(account: Account, result: AccountSyncResult): void;
  close(): void;
}

export interface SyncOptions {
  account?: string;
  /** Epoch ms: accounts start no new chunk or page after it (sync --max-minutes); the next run resumes. */
  deadline?: number;
  pid?: number;
  host?: string;
}

export type SyncOutcome =
  | { ran: false; holder: LeaseHolder }
  | { ran: true; results: AccountSyncResult[]; interruptedRunsClosed: number; tempFilesSwept: number; tookOverFrom?: LeaseHolder; takeoverReason?: TakeoverReason };

/**
 * Holds the sync lease for the duration of `work`, renewing it. When another process holds it, this
 * returns at once (sync under cron), or keeps trying for `waitMs` first (verify, rematch).
 */
export async function withSyncLease<T>(
  db: Db,
  identity: { pid?: number; host?: string; waitMs?: number; lockWait?: LockWait; ttlMs?: number },
  work: (lease: HeldLease) => Promise<T>,
): Promise<{ ran: false; holder: LeaseHolder } | { ran: true; value: T }> {
  const lease = { pid: identity.pid ?? process.pid, host: identity.host ?? hostname(), ttlMs: identity.ttlMs ?? LEASE_TTL_MS, isAlive: pidIsAlive };
  const deadline = Date.now() + (identity.waitMs ?? 0);
  const acquire = () => retryWhileBusy(db, 'taking the sync lease', () => acquireLease(db, lease), identity.lockWait);
  let attempt = await acquire();
  while (!attempt.acquired && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(5000, Math.max(50, deadline - Date.now()))));
    attempt = await acquire();
  }
  if (!attempt.acquired) return { ran: false, holder: attempt.holder };
  let lost = false;
  const timer = setInterval(() => {
    try {
      if (!renewLease(db, lease)) lost = true;
    } catch {
      // Never thrown from a timer (nothing would catch it; the process would die mid-page). A locked
      // file: the lease lasts ten renewals, the next tick renews it. Anything else: the next page's
      // confirm() renews inside its own transaction and fails there, through the run's error path.
    }
  }, Math.max(1000, Math.floor(lease.ttlMs / RENEWALS_PER_LEASE)));
  timer.unref();
  const held: HeldLease = {
    tookOverFrom: attempt.tookOverFrom,
    takeoverReason: attempt.takeoverReason,
    holds: () => !lost,
    confirm: () => {
      if (!lost && renewLease(db, lease)) return;
      lost = true;
      throw new LeaseLostError(leaseLostMessage(lease, currentLease(db)));
    },
  };
  try {
    return { ran: true, value: await work(held) };
  } finally {
    clearInterval(timer);
    try {
      await retryWhileBusy(db, 'releasing the sync lease', () => releaseLease(db, lease), identity.lockWait);
    } catch (error) {
      // A lease that cannot be released runs out by itself (LEASE_TTL_MS); the run's own outcome stands.
      if (!(error instanceof DatabaseBusyError)) throw error;
    }
  }
}

function leaseLostMessage(lease: LeaseOptions, holder: LeaseHolder | undefined): string {
  const taker = holder ? `pid ${holder.pid} on ${holder.host} took it over at ${holder.acquiredAt}` : 'another sync took it over and has already finished';
  return (
    `this sync (pid ${lease.pid} on ${lease.host}) lost its lease: it was not renewed within ${Math.round(lease.ttlMs / 1000)} s ` +
    `(the process was stalled) and ${taker}. It stopped at a page boundary: the pages it committed stay, the page in hand ` +
    'was not written, and the checkpoint and cursor are as the other sync leaves them.'
  );
}

export function accountsToSync(db: Db, email?: string): Account[] {
  if (!email) return listAccounts(db, { status: 'active' });
  const account = getAccountByEmail(db, email);
  if (!account) throw new NotFoundError(`${email} is not enrolled: run \`crm-mail enroll ${email}\` first.`);
  if (account.status === 'paused') throw new UsageError(`${account.email} is paused: run \`crm-mail accounts resume ${account.email}\` to sync it again.`);
  if (account.status === 'needs_consent') {
    throw new UsageError(`${account.email} needs OAuth consent again: run \`crm-mail auth oauth ${account.email}\`.`);
  }
  return [account];
}

/** Runs `task` over `items` with at most `limit` in flight, keeping the input order in the results. */
export async function mapBounded<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

export async function runSync(env: SyncEnvironment, options: SyncOptions = {}): Promise<SyncOutcome> {
  const accounts = accountsToSync(env.db, options.account);
  let accountsStarted = false;
  let leased;
  try {
    leased = await withSyncLease(env.db, { ...options, lockWait: env.lockWait, ttlMs: env.leaseTtlMs }, async (lease) => {
      const interruptedRunsClosed = await retryWhileBusy(env.db, 'closing interrupted runs', () => closeInterruptedRuns(env.db), env.lockWait);
      env.sweepRemovedFiles?.();
      // Under the lease no other sync downloads: a .part file of a process that is gone is garbage.
      const tempFilesSwept = env.sweepAttachmentTemp?.() ?? 0;
      accountsStarted = true;
      const results = await syncAccounts(env, accounts, lease, options.deadline);
      return { results, interruptedRunsClosed, tempFilesSwept, tookOverFrom: lease.tookOverFrom, takeoverReason: lease.takeoverReason };
    });
  } catch (error) {
    if (accountsStarted || !(error instanceof DatabaseBusyError)) throw error;
    return { ran: true, results: await recordLockedOut(env, accounts, error), interruptedRunsClosed: 0, tempFilesSwept: 0 };
  }
  if (!leased.ran) return leased;
  return { ran: true, ...leased.value };
}

/**
 * The CRM held its write lock through the whole wait before any account began: every account's run
 * is recorded as failed (so `status` and email_sync_runs say why nothing was synced) once the lock is
 * released, waiting for that as long again. Cursors and checkpoints are untouched.
 */
async function recordLockedOut(env: SyncEnvironment, accounts: Account[], error: DatabaseBusyError): Promise<AccountSyncResult[]> {
  if (accounts.length === 0) throw error;
  const waitMs = env.lockWait?.waitMs ?? 0;
  env.notice?.(`note: the CRM database ${error.path} stayed locked; no account was synced. Recording the failed run(s) once the lock is released (waiting up to ${Math.round(waitMs / 1000)} s).`);
  const started = new Date();
  const kinds = accounts.map((account) => runKindFor(account));
  const details = { path: 'not started: the CRM database was locked' };
  let runIds: number[] | undefined;
  let message = error.message;
  try {
    runIds = await retryWhileBusy(
      env.db,
      'recording the failed runs',
      () =>
        env.db.transaction(() =>
          accounts.map((account, index) => {
            const runId = startRun(env.db, account.id, kinds[index]!, started.toISOString());
            finishRun(env.db, runId, { status: 'error', counts: emptyCounts(), error: message, details, finishedAt: new Date() });
            recordAccountFailure(env.db, account.id, message);
            return runId;
          }),
        ).immediate(),
      env.lockWait,
    );
  } catch (unrecorded) {
    if (!(unrecorded instanceof DatabaseBusyError)) throw unrecorded;
    message += ' The run could not be recorded either: the database was still locked.';
  }
  const results = accounts.map((account, index): AccountSyncResult => ({
    account: account.email,
    accountId: account.id,
    runId: runIds?.[index] ?? 0,
    kind: kinds[index]!,
    status: 'error',
    counts: emptyCounts(),
    durationMs: Date.now() - started.getTime(),
    error: message,
    errorKind: error.kind,
    details,
  }));
  env.reporter.starting(accounts);
  for (const [index, account] of accounts.entries()) env.reporter.finished(account, results[index]!);
  env.reporter.close();
  return results;
}

async function syncAccounts(env: SyncEnvironment, accounts: Account[], lease: HeldLease, deadline?: number): Promise<AccountSyncResult[]> {
  if (accounts.length === 0) return [];
  const index = env.buildIndex();
  env.reporter.starting(accounts);
  try {
    return await mapBounded(accounts, env.accountConcurrency, async (account) => {
      // A lost lease stops the run: accounts not yet begun are left to the sync that holds it now.
      const result = lease.holds() ? await syncOne(env, account, index, lease, deadline) : notStartedLeaseLost(account);
      env.reporter.finished(account, result);
      return result;
    });
  } finally {
    env.reporter.close();
  }
}

function notStartedLeaseLost(account: Account): AccountSyncResult {
  const error = 'not started: this sync lost its lease to another sync, which goes on with this account.';
  return { account: account.email, accountId: account.id, runId: 0, kind: runKindFor(account), status: 'error', counts: emptyCounts(), durationMs: 0, error, errorKind: 'lease_lost', details: {} };
}

async function syncOne(env: SyncEnvironment, account: Account, index: MatchIndex, lease: HeldLease, deadline?: number): Promise<AccountSyncResult> {
  let client: MailboxClient;
  try {
    client = await env.openClient(account);
  } catch (error) {
    // Credentials that cannot even be built (bad key file, missing consent) fail this account only.
    client = failingClient(error);
  }
  return syncAccount({
    db: env.db,
    account,
    client,
    store: env.store,
    index,
    capture: env.capture,
    pageSize: env.pageSize,
    historyStaleDays: env.historyStaleDays,
    lockWait: env.lockWait,
    confirmLease: lease.confirm,
    deadline,
    downloadAttachments: env.downloadAttachments ? () => env.downloadAttachments!(account, client) : undefined,
    onProgress: (progress) => env.reporter.progress(account, progress),
  });
}

/** A client whose every call fails with the error that prevented building it, so the run records it. */
function failingClient(error: unknown): MailboxClient {
  const fail = (): never => {
    throw error;
  };
  return {
    getProfile: async () => fail(),
    listMessages: () => ({ [Symbol.asyncIterator]: () => ({ next: async () => fail() }) }),
    getMessages: async () => fail(),
    listHistory: () => ({ [Symbol.asyncIterator]: () => ({ next: async () => fail() }) }),
    stats: () => ({ calls: 0, units: 0, retries: 0, throttled: 0 }),
  };
}
