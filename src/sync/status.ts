/**
 * The health of every account, as `crm-mail status` shows it and monitoring reads it: an account
 * alerts when its last run failed, when it needs consent, or when its last success is older than
 * twice the cron interval (a silent cron is a failure too).
 */
import type { Db } from '../db/open.js';
import { accountCounts, getAccountByEmail, listAccounts, type Account, type AccountCounts } from '../db/accounts.js';
import { lastRun, type SyncRun } from '../db/syncRuns.js';
import { currentLease } from '../db/lease.js';
import { deferredSummary } from '../db/deferred.js';
import { listUnsearchableTerms } from '../db/unsearchable.js';
import { failedAttachmentSummary, type FailedAttachmentSummary } from '../db/attachments.js';
import { listingTotalEstimate, parseCheckpoint, quotaTimeLeftMs } from './checkpoint.js';
import type { QuotaRate } from './ports.js';
import { formatDuration, runDetailLines } from './report.js';

/** A message deferred longer than this alerts: Gmail has refused it for a whole day of runs. */
export const DEFERRED_ALERT_MS = 24 * 60 * 60 * 1000;


export interface BackfillProgress {
  /** Messages of the listing settled so far. */
  handled: number;
  /** Gmail's estimate of the listing's size (searches not begun: the average of those begun). */
  estimate: number | null;
  searchesDone: number;
  searches: number;
  /** Time left at the account's quota budget, one get per message left. */
  etaMs: number | null;
}

export type Health = 'ok' | 'syncing' | 'failing' | 'stale' | 'needs_consent' | 'paused' | 'pending';

export interface AccountStatusReport extends AccountCounts {
  email: string;
  status: Account['status'];
  authMethod: Account['authMethod'];
  health: Health;
  alert: boolean;
  /** Why the account alerts (or is not ok), in words. */
  reason?: string;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
  cursor: string | null;
  cursorAgeMs: number | null;
  backfill: 'done' | 'in_progress' | 'not_started';
  /** Where a backfill or re-list under way stands. */
  listing: BackfillProgress | null;
  /** Messages waiting for a later run because Gmail kept failing them. */
  deferred: number;
  deferredOldestAt: string | null;
  deferredLastError: string | null;
  /** Investor addresses and domains Gmail refuses to search in this mailbox, even alone: their older mail is not listed. */
  unsearchable: string[];
  /** Why attachments of this account are not being stored (the last run's reason, else the latest failed download's). */
  attachmentError: string | null;
  lastRun: Pick<SyncRun, 'kind' | 'status' | 'startedAt' | 'durationMs' | 'apiCalls' | 'apiUnits' | 'stored' | 'error'> | null;
}

export interface StatusReport {
  generatedAt: string;
  syncIntervalMin: number;
  accounts: AccountStatusReport[];
  alerts: number;
}

function ageMs(iso: string | null, now: Date): number | null {
  if (!iso) return null;
  const at = Date.parse(iso);
  return Number.isFinite(at) ? Math.max(0, now.getTime() - at) : null;
}

/**
 * `running`: a sync holding a live lease is working on this account right now (a long first backfill
 * is progress, not staleness).
 */
export function judgeHealth(account: Account, now: Date, syncIntervalMin: number, options: { running?: boolean } = {}): { health: Health; alert: boolean; reason?: string } {
  const limitMs = 2 * syncIntervalMin * 60_000;
  if (account.status === 'paused') return { health: 'paused', alert: false, reason: 'paused by an admin' };
  if (account.status === 'needs_consent') return { health: 'needs_consent', alert: true, reason: `OAuth consent missing or revoked: the partner must consent again (crm-mail auth oauth ${account.email})` };
  if (account.consecutiveFailures > 0) {
    return { health: 'failing', alert: true, reason: `last ${account.consecutiveFailures === 1 ? 'run' : `${account.consecutiveFailures} runs`} failed` };
  }
  if (options.running) return { health: 'syncing', alert: false, reason: 'a sync is working on it now' };
  const sinceSuccess = ageMs(account.lastSuccessAt, now);
  if (sinceSuccess === null) {
    const sinceEnrolled = ageMs(account.createdAt, now) ?? 0;
    if (sinceEnrolled > limitMs) return { health: 'stale', alert: true, reason: `never synced since enrollment ${Math.round(sinceEnrolled / 60_000)} min ago` };
    return { health: 'pending', alert: false, reason: 'enrolled; waiting for the first sync' };
  }
  if (sinceSuccess > limitMs) {
    return { health: 'stale', alert: true, reason: `last success ${Math.round(sinceSuccess / 60_000)} min ago, more than twice the ${syncIntervalMin}-minute interval` };
  }
  return { health: 'ok', alert: false };
}

function listingProgress(account: Account, rate: QuotaRate | undefined): BackfillProgress | null {
  const checkpoint = parseCheckpoint(account.backfillCheckpoint);
  if (!checkpoint) return null;
  const estimate = listingTotalEstimate(checkpoint) ?? null;
  const handled = checkpoint.handled ?? 0;
  const left = estimate === null ? null : Math.max(0, estimate - handled);
  return {
    handled,
    estimate,
    searchesDone: checkpoint.queryIndex,
    searches: checkpoint.queries.length,
    etaMs: left === null ? null : quotaTimeLeftMs(left, rate) ?? null,
  };
}

function withDeferred(judged: { health: Health; alert: boolean; reason?: string }, deferred: { count: number; oldestAt: string | null }, now: Date): { health: Health; alert: boolean; reason?: string } {
  const age = ageMs(deferred.oldestAt, now);
  if (deferred.count === 0 || age === null || age <= DEFERRED_ALERT_MS || judged.alert) return judged;
  const reason = `${deferred.count} message${deferred.count === 1 ? '' : 's'} deferred, the oldest for ${Math.floor(age / 3_600_000)} h: Gmail keeps failing ${deferred.count === 1 ? 'it' : 'them'} (see deferredLastError)`;
  return { health: 'failing', alert: true, reason };
}

/** What the last run and the failed rows say about attachments that are not being stored. */
export interface AttachmentTrouble {
  /** The last run found the folder unwritable and tried nothing. */
  folderProblem?: string;
  failed: FailedAttachmentSummary;
  /** Attachments the last run reported as not stored (failed or not attempted). */
  lastRunFailed: number;
}

export function attachmentTrouble(run: SyncRun | undefined, failed: FailedAttachmentSummary): AttachmentTrouble {
  const details = run?.details ?? {};
  const folderProblem = details.attachmentsNotAttempted === true && typeof details.attachmentsError === 'string' ? details.attachmentsError : undefined;
  const lastRunFailed = typeof details.attachmentsFailed === 'number' ? details.attachmentsFailed : 0;
  return { folderProblem, failed, lastRunFailed };
}

/**
 * Attachments that keep failing alert: an unwritable folder at once (every run fails the same way),
 * a download once it has failed on two runs.
 */
export function withAttachments(judged: { health: Health; alert: boolean; reason?: string }, trouble: AttachmentTrouble): { health: Health; alert: boolean; reason?: string } {
  if (judged.alert || judged.health === 'paused') return judged;
  if (trouble.folderProblem) {
    return { health: 'failing', alert: true, reason: `${trouble.lastRunFailed} attachment${trouble.lastRunFailed === 1 ? '' : 's'} not stored: ${trouble.folderProblem}` };
  }
  if (trouble.failed.repeated > 0) {
    const count = trouble.failed.repeated;
    return { health: 'failing', alert: true, reason: `${count} attachment download${count === 1 ? '' : 's'} failed on two runs or more: ${trouble.failed.lastError ?? 'no reason recorded'}` };
  }
  return judged;
}

export function buildStatus(db: Db, options: { syncIntervalMin: number; now?: Date; account?: string; quota?: QuotaRate }): StatusReport {
  const now = options.now ?? new Date();
  const accounts = listAccounts(db).filter((account) => !options.account || account.email === options.account.toLowerCase());
  const lease = currentLease(db);
  const leaseLive = lease !== undefined && Date.parse(lease.expiresAt) > now.getTime();
  const reports = accounts.map((account): AccountStatusReport => {
    const run = lastRun(db, account.id);
    const deferred = deferredSummary(db, account.id);
    const trouble = attachmentTrouble(run, failedAttachmentSummary(db, account.id));
    const judged = withAttachments(withDeferred(judgeHealth(account, now, options.syncIntervalMin, { running: leaseLive && run?.status === 'running' }), deferred, now), trouble);
    const checkpoint = parseCheckpoint(account.backfillCheckpoint);
    return {
      email: account.email,
      status: account.status,
      authMethod: account.authMethod,
      ...judged,
      lastSuccessAt: account.lastSuccessAt,
      lastError: account.lastError,
      lastErrorAt: account.lastErrorAt,
      consecutiveFailures: account.consecutiveFailures,
      cursor: account.historyId,
      cursorAgeMs: ageMs(account.historyIdAt, now),
      backfill: account.backfillCompletedAt ? 'done' : checkpoint?.kind === 'backfill' ? 'in_progress' : 'not_started',
      listing: listingProgress(account, options.quota),
      deferred: deferred.count,
      deferredOldestAt: deferred.oldestAt,
      deferredLastError: deferred.lastError,
      unsearchable: listUnsearchableTerms(db, account.id).map((item) => item.term),
      attachmentError: trouble.folderProblem ?? (trouble.failed.failed > 0 ? trouble.failed.lastError : null),
      ...accountCounts(db, account.id),
      lastRun: run
        ? { kind: run.kind, status: run.status, startedAt: run.startedAt, durationMs: run.durationMs, apiCalls: run.apiCalls, apiUnits: run.apiUnits, stored: run.stored, error: run.error }
        : null,
    };
  });
  return { generatedAt: now.toISOString(), syncIntervalMin: options.syncIntervalMin, accounts: reports, alerts: reports.filter((report) => report.alert).length };
}

/**
 * What `status --verbose` adds on stderr: per account, its last run as recorded (when, the path it
 * took, each Gmail method's figures, quota waits) and the messages deferred now.
 */
export function statusDetailLines(db: Db, report: StatusReport): string[] {
  const lines: string[] = [];
  for (const row of report.accounts) {
    const account = getAccountByEmail(db, row.email);
    const run = account ? lastRun(db, account.id) : undefined;
    if (!run) {
      lines.push(`${row.email} last run: none yet`);
      continue;
    }
    const took = run.durationMs === null ? 'still running or interrupted' : `took ${formatDuration(run.durationMs)}`;
    lines.push(`${row.email} last run: #${run.id} started ${run.startedAt}, ${took}`);
    lines.push(...runDetailLines(row.email, run).filter((line) => !line.startsWith(`${row.email} deferred:`)));
    const oldest = row.deferredOldestAt ? `, the oldest since ${row.deferredOldestAt}` : '';
    const why = row.deferredLastError ? ` (last error: ${row.deferredLastError})` : '';
    lines.push(`${row.email} deferred now: ${row.deferred} message${row.deferred === 1 ? '' : 's'}${oldest}${why}`);
  }
  return lines;
}

/** "3m", "2h 5m", "4d 1h": ages in a table cell. */
export function formatAge(ms: number | null): string {
  if (ms === null) return '-';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)}s`;
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
